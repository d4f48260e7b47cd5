//! File formats read and written by the stages.

pub mod activations;
pub mod idx;
pub mod npy;
pub mod table;
