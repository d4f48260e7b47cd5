//! The analysis stage's tables, by file name inside an analysis entry. The analysis stage
//! writes them and lists this file among its sources, so renaming one re-runs it.

/// Per layer and system: perplexity, mean perplexity and accuracy (long format).
pub const METRICS: &str = "metrics.arrow";
/// Class activation fractions per layer, node, class and split.
pub const FRACTIONS: &str = "fractions.arrow";
/// Per-class histograms of one node.
pub const HISTOGRAM: &str = "histogram.arrow";
