//! Reviewing results: the machine-readable files a report carries beside its HTML
//! ([`results`]: its effective configuration, claims and metric summary), and what changed
//! between two reports ([`diff`], behind `repro diff`).

pub mod crate_meta;
pub mod diff;
pub mod results;
pub mod zip;
