//! Reviewing results: the machine-readable files a report carries beside its HTML
//! ([`results`]: its effective configuration, claims and metric summary), and what changed
//! between two reports ([`diff`], behind `repro diff`, and [`changes`], the published
//! report's section on what changed since the previous one).

pub mod changes;
pub mod crate_meta;
pub mod diff;
pub mod plots_diff;
pub mod provenance;
pub mod results;
pub mod runs;
pub mod timeline;
pub mod zip;
