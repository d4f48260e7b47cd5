//! The paper's findings, checked automatically against the analysis tables of the best
//! snapshots. Each claim states its measured value and the threshold used; a claim whose
//! networks the configuration does not train is "not measured", never silently dropped.
//!
//! One function per finding, each returning its verdict rows; [`CLAIMS`] lists them in
//! the report's order.

mod evidence;
mod perplexity;
mod saturation;
mod systems;

pub use evidence::{Claim, Evidence};

/// A check of one of the paper's findings: its verdict rows.
pub type Check = fn(&Evidence) -> Vec<Claim>;

/// Every check, in the report's order (the report runs each on one [`Evidence`]).
pub const CLAIMS: [Check; 6] = [
    perplexity::last_layer_near_one,
    perplexity::first_layer_near_class_size,
    perplexity::sharp_transition,
    systems::match_network_late,
    systems::combined_best_in_first_layer,
    saturation::error_saturates,
];
