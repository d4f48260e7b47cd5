//! The analysis kernels: every number of "DNNs as Layers of Cooperating
//! Classifiers" (Davel et al. 2020), following section 2 of the analysis
//! spec (`../shared/design/analysis-spec.md`) literally.
//!
//! Pure computation on slices: no I/O, so the kernels can be tested on small
//! hand-checkable data and reused by any front end. Matrices are row-major
//! `f32` (`n_rows x n_cols`, one row per sample), labels `u8`. Inputs are
//! validated: shape mismatches, NaN/inf values and labels out of range are
//! [`KernelError`]s naming the culprit.
//!
//! - [`patterns`]: on/off patterns and layer perplexity (exact counting).
//! - [`fractions`]: class activation fractions f(c, j).
//! - [`bandwidth`]: Silverman's bandwidth exactly as the spec defines it.
//! - [`kde`]: Gaussian KDE log-density, a fast grid/FFT method with exact
//!   log-space fallback, and the direct-sum reference.
//! - [`posterior`]: floored node log posteriors from log joint values.
//! - [`classifiers`]: the discrete, continuous and combined node classifiers
//!   and their layer accuracies.
//! - [`histogram`]: per-class histograms of a node on shared bins.
//! - [`network`]: the network's own accuracy from its output layer.
//!
//! Parallelism (rayon) is used inside the classifiers only: over nodes when
//! fitting and over chunks of samples when evaluating. Each sample's score is
//! summed over nodes in a fixed order, so results do not depend on the
//! number of threads.

pub mod bandwidth;
pub mod classifiers;
mod error;
mod fft;
pub mod fractions;
pub mod histogram;
pub mod kde;
mod kde_grid;
mod mathx;
pub mod network;
mod node_model;
pub mod patterns;
pub mod posterior;
mod posterior_table;
mod table_plan;

pub use bandwidth::{silverman_bandwidth, MIN_BANDWIDTH};
pub use classifiers::{Evaluation, LayerClassifiers, System, SystemEvaluation};
pub use error::{KernelError, Result};
pub use fractions::{activation_fractions, ActivationFractions};
pub use histogram::{class_histograms, node_class_histograms, ClassHistograms};
pub use kde::{log_density_exact, Kde};
pub use network::output_accuracy;
pub use patterns::{layer_perplexity, LayerPerplexity, Patterns};
