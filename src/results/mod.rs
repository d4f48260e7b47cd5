//! What the analysis stage's tables mean to their readers (the figures, the claims and
//! the report read them only through this module):
//!
//! - [`files`]: the tables' file names in an analysis entry;
//! - [`data_entry`]: the class sizes of a data entry, the ceiling of perplexity;
//! - [`tables`]: loading the tidy tables of a set of analysis units into typed rows;
//! - [`network`]: the network identity (a training unit without its seed) and
//!   selections of analysis units: the best snapshot, a sweep, a dataset;
//! - [`derived`]: quantities computed from the rows: means over seeds, medians,
//!   transition layers, the share of class-selective nodes.
//!
//! It sits beside [`crate::analysis`] and below [`crate::stages`]: it imports neither
//! the stages nor the claims.

pub mod data_entry;
pub mod derived;
pub mod files;
pub mod lr_entry;
pub mod network;
pub mod tables;

pub use derived::{aggregate, mean, spearman, transition_layer, Band, Points, Summary};
pub use network::{AnalysisUnit, Axis, NetKey, Sweep};
pub use tables::{
    load_fractions, load_histograms, load_metrics, FractionRow, Histogram, LoadError, MetricRow,
};
