//! The paper's findings, checked automatically against the analysis tables. Each claim
//! says in this project's words what the paper states and where (section, figure), the
//! threshold it is held to (from `[claims]` in `pipeline.toml`), and a verdict per
//! dataset: a claim reproduces only if every dataset that measures it agrees. Claims read
//! the best snapshots, except those about training, which say which snapshots they read.
//! A claim the configuration cannot measure says "not measured" and why; nothing is
//! dropped.
//!
//! One module per group of findings; [`CLAIMS`] lists them in the report's order.

mod design;
mod evidence;
mod perplexity;
mod saturation;
mod selectivity;
mod systems;
mod thresholds;

pub use evidence::{Claim, Evidence, Row, Verdict};
pub use thresholds::Thresholds;

use crate::results::derived::selective_shares;
use crate::results::{spearman, FractionRow, NetKey};
use std::collections::{BTreeMap, BTreeSet};

/// A check of one of the paper's findings.
pub type Check = fn(&Evidence) -> Claim;

/// Every check, in the report's order (the paper's order of sections).
pub const CLAIMS: [Check; 19] = [
    selectivity::late_nodes_selective,
    saturation::error_saturates_with_depth,
    saturation::error_saturates_with_width,
    perplexity::first_layers_near_class_size,
    perplexity::last_layer_near_one,
    perplexity::sharp_transition,
    perplexity::gradual_for_fashion,
    perplexity::sharper_when_wider,
    perplexity::narrow_lower_early,
    systems::systems_agree_late,
    systems::match_network_late,
    systems::combined_best_in_first_layer,
    systems::late_layers_improve_more,
    systems::first_epoch_does_most,
    systems::narrow_early_underperform,
    systems::continuous_falls_with_width,
    systems::mnist_converges_earlier,
    systems::sigmoid_two_systems,
    design::non_adaptive_optimiser_raises_perplexity,
];

/// Every claim checked on `evidence`.
pub fn check_all(evidence: &Evidence) -> Vec<Claim> {
    CLAIMS.iter().map(|check| check(evidence)).collect()
}

/// One row per configured dataset.
fn per_dataset(e: &Evidence, row: impl Fn(&str) -> Row) -> Vec<Row> {
    e.datasets.iter().map(|ds| row(ds)).collect()
}

/// A trend along the dataset's width sweep: the rank correlation of width with `value`,
/// held to `[claims] rank_correlation_min` in the direction of `sign` (+1: rising with
/// width, -1: falling).
fn width_trend(
    e: &Evidence,
    ds: &str,
    value: impl Fn(&NetKey) -> Option<f64>,
    sign: f64,
    what: &str,
) -> Row {
    let sweep = e.sweep(ds, true);
    let pairs: Vec<(f64, f64)> = sweep
        .iter()
        .filter_map(|n| Some((n.width as f64, value(n)?)))
        .collect();
    match spearman(&pairs) {
        None => Row::not_measured(ds, "no width sweep of 3 or more networks"),
        Some(rho) => Row::measured(
            ds,
            format!(
                "rank correlation {rho:+.2} over {} widths ({} to {}, depth {}); {what}: {}",
                pairs.len(),
                sweep[0].width,
                sweep[sweep.len() - 1].width,
                sweep[0].depth,
                pairs
                    .iter()
                    .map(|p| format!("{:.3}", p.1))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            sign * rho >= e.t.rank_correlation_min,
        ),
    }
}

/// The share of class-selective nodes per (network, snapshot, layer), mean over seeds.
pub type SelectiveShares = BTreeMap<(NetKey, String, usize), f64>;

/// [`SelectiveShares`] from the train-split activation fractions.
pub fn selective_by_snapshot(fractions: &[FractionRow], threshold: f64) -> SelectiveShares {
    let snapshots: BTreeSet<&str> = fractions.iter().map(|r| r.snapshot.as_str()).collect();
    let mut out = BTreeMap::new();
    for snapshot in snapshots {
        let rows = fractions.iter().filter(|r| r.snapshot == snapshot);
        for ((net, layer), shares) in selective_shares(rows, threshold) {
            let mean = shares.iter().sum::<f64>() / shares.len() as f64;
            out.insert((net, snapshot.to_string(), layer), mean);
        }
    }
    out
}

#[cfg(test)]
mod tests;
