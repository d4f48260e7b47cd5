//! The paper's findings, checked automatically against the analysis tables. Each claim
//! says in this project's words what the paper states and where (section, figure), what
//! exactly is measured and the threshold it is held to (from `[claims]` in
//! `pipeline.toml`), and a verdict per dataset: a claim reproduces only if every dataset
//! that measures it agrees. Claims read the best snapshots, except those about training,
//! which say which snapshots they read. A claim the configuration cannot measure says
//! "not measured" and why; nothing is dropped. Each verdict comes with its robustness
//! ([`robustness`]); statements that cannot be measured with the grid are listed in
//! [`unmeasured`].
//!
//! One module per group of findings; [`CLAIMS`] lists them in the report's order.

mod comparison;
mod design;
mod evidence;
pub mod external;
pub mod partial;
mod performance;
mod perplexity;
pub mod robustness;
mod selectivity;
mod systems;
mod thresholds;
mod training;
mod transition;
pub mod unmeasured;
mod verdict;
mod width;

pub use evidence::{node_kind, ClaimData, Evidence, NodeKind};
pub use thresholds::{Threshold, Thresholds};
pub use verdict::{Claim, RobustClass, Robustness, Row, Swept, Variant, Verdict};

use crate::results::{spearman, Axis, NetKey};

/// A check of one of the paper's findings.
pub type Check = fn(&Evidence) -> Claim;

/// Every check, in the report's order (the paper's order of sections).
pub const CLAIMS: [Check; 40] = [
    selectivity::late_nodes_selective,
    selectivity::early_nodes_mixed,
    selectivity::init_not_selective,
    selectivity::selectivity_needs_size,
    performance::error_falls_with_depth,
    performance::error_saturates_with_depth,
    performance::depth_does_not_degrade,
    performance::error_falls_with_width,
    performance::error_saturates_with_width,
    perplexity::first_layers_near_class_size,
    perplexity::last_layer_near_one,
    transition::sharp_transition,
    transition::transition_similar,
    transition::transition_uneven,
    transition::stays_low_after_transition,
    transition::monotone_transition,
    transition::early_compression,
    comparison::gradual_for_fashion,
    perplexity::sharper_when_wider,
    perplexity::narrow_lower_early,
    systems::systems_agree_later_layers,
    systems::spread_shrinks_with_layer,
    systems::combined_best_in_first_layer,
    systems::systems_reach_network,
    systems::layers_solve_task,
    training::late_layers_improve_more,
    training::first_epoch_does_most,
    training::continuous_poor_initially,
    systems::overlap_with_depth,
    width::narrow_early_underperform,
    width::later_accuracy_rises_with_width,
    width::continuous_falls_with_width,
    comparison::mnist_converges_earlier,
    comparison::mnist_higher_accuracy,
    comparison::mnist_narrow_discrete_anomaly,
    systems::later_layers_classify_better,
    design::sigmoid_continuous_ahead,
    design::sigmoid_discrete_emerges,
    design::non_adaptive_optimiser_raises_perplexity,
    design::noise_reduces_saturation,
];

/// Every claim checked on `data` at the thresholds `t`, the networks judged by their
/// best snapshots (the paper's protocol), each row with its robustness.
pub fn check_all(data: &ClaimData, t: &Thresholds) -> Vec<Claim> {
    check_all_kept(data, t, crate::results::network::BEST)
}

/// The same with the networks judged by another snapshot (`final`: no early stopping).
pub fn check_all_kept(data: &ClaimData, t: &Thresholds, kept: &str) -> Vec<Claim> {
    CLAIMS
        .iter()
        .map(|&check| robustness::assess(check, data, t, kept))
        .collect()
}

/// Records on every row of `paper` its verdict under another protocol (`variant`, from
/// `other`, the same claims checked another way), and whether that changes it.
pub fn add_variant(paper: &mut [Claim], other: &[Claim], variant: &str) {
    for (c, o) in paper.iter_mut().zip(other) {
        debug_assert_eq!(c.id, o.id);
        for r in &mut c.rows {
            let Some(or) = o.rows.iter().find(|x| x.scope == r.scope) else {
                continue;
            };
            r.variants.push(verdict::Variant {
                protocol: variant.to_string(),
                verdict: or.verdict,
                verdict_text: or.verdict_text,
                measured: or.measured.clone(),
                changes: or.verdict != r.verdict,
            });
        }
    }
}

/// One row per configured dataset.
fn per_dataset(e: &Evidence, row: impl Fn(&str) -> Row) -> Vec<Row> {
    e.datasets.iter().map(|ds| row(ds)).collect()
}

/// A row from a median over networks: "{lead}{median}{what}, over N networks (range min
/// to max)", the values printed with `show`, its value the median, held to `ok`; `none`
/// says why there is no value at all.
fn median_row(
    ds: &str,
    values: Vec<f64>,
    none: impl FnOnce() -> String,
    (lead, what): (&str, &str),
    show: impl Fn(f64) -> String,
    ok: impl Fn(f64) -> bool,
) -> Row {
    match crate::results::Summary::of(values) {
        None => Row::not_measured(ds, none()),
        Some(s) => Row::measured(
            ds,
            format!(
                "{lead}{}{what}, over {} networks (range {} to {})",
                show(s.median),
                s.n,
                show(s.min),
                show(s.max)
            ),
            Some(s.median),
            ok(s.median),
        ),
    }
}

/// A share as a percentage: "67%" ("never" for the infinite share of a network that
/// never gets there).
fn pct(v: f64) -> String {
    if v.is_finite() {
        format!("{:.0}%", 100.0 * v)
    } else {
        "never".into()
    }
}

/// An accuracy difference in percentage points: "1.25".
fn points(v: f64) -> String {
    format!("{:.2}", 100.0 * v)
}

/// A trend along the dataset's sweep over `axis`: the rank correlation of depth or width
/// with `value`, held to `[claims] rank_correlation_min` in the direction of `sign` (+1:
/// rising, -1: falling). The row's value is the correlation in that direction.
fn trend(
    e: &Evidence,
    ds: &str,
    axis: Axis,
    value: impl Fn(&NetKey) -> Option<f64>,
    sign: f64,
    what: &str,
) -> Row {
    let name = axis.name();
    let sweep = e.sweep(ds, axis == Axis::Width);
    let pairs: Vec<(f64, f64)> = sweep
        .iter()
        .filter_map(|n| Some((axis.of(n) as f64, value(n)?)))
        .collect();
    match spearman(&pairs) {
        None => Row::not_measured(ds, format!("no {name} sweep of 3 or more networks")),
        Some(rho) => Row::measured(
            ds,
            format!(
                "rank correlation {rho:+.2} over {} {name}s ({} to {}); {what}: {}",
                pairs.len(),
                axis.of(sweep[0]),
                axis.of(sweep[sweep.len() - 1]),
                pairs
                    .iter()
                    .map(|p| format!("{:.3}", p.1))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Some(sign * rho),
            sign * rho >= e.t.rank_correlation_min.value,
        ),
    }
}

#[cfg(test)]
mod tests;
