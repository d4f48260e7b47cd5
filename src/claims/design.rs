//! Sec. 6: other design choices. With sigmoid activations and cross-entropy the
//! discrete system still emerges, a little behind the continuous one; choices that add
//! noise to training, such as a non-adaptive optimiser, raise layer perplexities and
//! reduce the saturation of hidden units.

use super::evidence::Evidence;
use super::systems::later_layers;
use super::verdict::{Claim, Row};
use super::{pct, per_dataset, points};
use crate::model::settings::Optimizer;
use crate::results::NetKey;

fn sigmoid_nets<'e>(e: &'e Evidence, ds: &'e str) -> Vec<&'e NetKey> {
    e.nets
        .iter()
        .filter(|n| n.dataset == ds && n.activation.name() == "sigmoid")
        .collect()
}

/// The sigmoid network's continuous system ahead of the discrete one by a small margin
/// in the deeper layers.
pub fn sigmoid_continuous_ahead(e: &Evidence) -> Claim {
    let max = e.t.sigmoid_gap_max.value;
    let rows = per_dataset(e, |ds| {
        let gaps: Vec<(f64, &NetKey)> = sigmoid_nets(e, ds)
            .into_iter()
            .filter_map(|n| {
                let g: Vec<f64> = later_layers(n.depth)
                    .map(|l| Some(e.accuracy(n, l, "continuous")? - e.accuracy(n, l, "discrete")?))
                    .collect::<Option<_>>()?;
                Some((g.iter().sum::<f64>() / g.len() as f64, n))
            })
            .collect();
        if gaps.is_empty() {
            return Row::not_measured(ds, "no sigmoid network");
        }
        let largest = gaps.iter().map(|g| g.0).fold(f64::MIN, f64::max);
        Row::measured(
            ds,
            gaps.iter()
                .map(|(g, n)| {
                    format!(
                        "{} {}-{}: continuous - discrete {:+.2} points (mean over layers {} to {})",
                        n.shape(),
                        n.activation.name(),
                        n.loss.name(),
                        100.0 * g,
                        later_layers(n.depth).start(),
                        n.depth
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
            Some(largest),
            gaps.iter().all(|(g, _)| *g > 0.0 && *g <= max),
        )
    });
    Claim::new(
        "sigmoid-continuous-ahead",
        "Sec. 6, Fig. 7",
        "With sigmoid activations (on: above 0.5) and cross-entropy, the continuous system outperforms the discrete one by a small margin in the deeper layers.",
        format!(
            "mean over the later half of the hidden layers of (continuous - discrete test accuracy) above 0 and at most {} points, for every sigmoid network",
            points(max)
        ),
        rows,
    )
    .sweeping(&e.t, &["sigmoid_gap_max"])
}

/// The sigmoid network's discrete system emerges clearly.
pub fn sigmoid_discrete_emerges(e: &Evidence) -> Claim {
    let min = e.t.layer_solves_min.value;
    let rows = per_dataset(e, |ds| {
        let ratios: Vec<(f64, &NetKey)> = sigmoid_nets(e, ds)
            .into_iter()
            .filter_map(|n| {
                Some((
                    e.accuracy(n, n.depth, "discrete")? / e.network_accuracy(n)?,
                    n,
                ))
            })
            .collect();
        if ratios.is_empty() {
            return Row::not_measured(ds, "no sigmoid network");
        }
        let lowest = ratios.iter().map(|r| r.0).fold(f64::MAX, f64::min);
        Row::measured(
            ds,
            ratios
                .iter()
                .map(|(r, n)| {
                    format!(
                        "{}: discrete system at {:.1}% of the network's accuracy",
                        n.shape(),
                        100.0 * r
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
            Some(lowest),
            lowest >= min,
        )
    });
    Claim::new(
        "sigmoid-discrete-emerges",
        "Sec. 6, Fig. 7",
        "With sigmoid activations the discrete system still emerges very clearly.",
        format!(
            "the discrete system's test accuracy in the last hidden layer >= {} of the network's, for every sigmoid network",
            pct(min)
        ),
        rows,
    )
    .sweeping(&e.t, &["layer_solves_min"])
}

/// Each network trained with another optimiser, with its Adam twin.
fn twins<'e>(e: &'e Evidence, ds: &str) -> Vec<(&'e NetKey, &'e NetKey)> {
    e.nets
        .iter()
        .filter(|n| n.dataset == ds && n.optimizer != Optimizer::Adam)
        .filter_map(|other| {
            let adam = e.nets.iter().find(|a| {
                a.optimizer == Optimizer::Adam
                    && a.dataset == other.dataset
                    && a.depth == other.depth
                    && a.width == other.width
                    && a.activation == other.activation
                    && a.loss == other.loss
            })?;
            Some((other, adam))
        })
        .collect()
}

const NO_TWIN: &str = "no network trained with another optimiser beside its Adam twin";

/// The geometric mean of a network's hidden-layer test perplexities (best snapshot).
fn geometric_mean_perplexity(e: &Evidence, n: &NetKey) -> Option<f64> {
    let profile = e.profile(n)?;
    Some((profile.iter().map(|p| p.ln()).sum::<f64>() / profile.len() as f64).exp())
}

/// A row comparing each network trained with another optimiser with its Adam twin:
/// `value` of both, shown with `show`, reproduced if `holds(other, adam)` for every pair.
fn twin_row(
    e: &Evidence,
    ds: &str,
    value: impl Fn(&NetKey) -> Option<f64>,
    show: impl Fn(f64) -> String,
    what: &str,
    holds: impl Fn(f64, f64) -> bool,
) -> Row {
    let pairs: Vec<(&NetKey, &NetKey, f64, f64)> = twins(e, ds)
        .into_iter()
        .filter_map(|(other, adam)| Some((other, adam, value(other)?, value(adam)?)))
        .collect();
    if pairs.is_empty() {
        return Row::not_measured(ds, NO_TWIN);
    }
    // A comparison of set-ups means little if one side never converged: say so.
    let capped = |n: &NetKey| {
        e.data.capped.get(n).filter(|s| !s.is_empty()).map(|seeds| {
            format!(
                " ({} reached the epoch cap unconverged, seed {})",
                n.optimizer.name(),
                seeds
                    .iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
    };
    Row::measured(
        ds,
        pairs
            .iter()
            .map(|(n, adam_net, other, adam)| {
                format!(
                    "{} {}: {}{what} vs Adam {}{}{}",
                    n.shape(),
                    n.optimizer.name(),
                    show(*other),
                    show(*adam),
                    capped(n).unwrap_or_default(),
                    capped(adam_net).unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
        None,
        pairs.iter().all(|(_, _, other, adam)| holds(*other, *adam)),
    )
}

pub fn non_adaptive_optimiser_raises_perplexity(e: &Evidence) -> Claim {
    let rows = per_dataset(e, |ds| {
        twin_row(
            e,
            ds,
            |n| geometric_mean_perplexity(e, n),
            |v| format!("{v:.1}"),
            "",
            |other, adam| other > adam,
        )
    });
    Claim::new(
        "noise-raises-perplexity",
        "Sec. 6",
        "Choices that add noise to training, such as a non-adaptive optimiser, generally raise layer perplexities.",
        "geometric mean of the hidden layers' test perplexities higher with the non-adaptive optimiser (SGD) than with Adam, for every network trained both ways",
        rows,
    )
}

pub fn noise_reduces_saturation(e: &Evidence) -> Claim {
    let rows = per_dataset(e, |ds| {
        twin_row(
            e,
            ds,
            |n| e.selective(n, e.kept, n.depth),
            pct,
            " of last-layer nodes selective",
            |other, adam| other < adam,
        )
    });
    Claim::new(
        "noise-reduces-saturation",
        "Sec. 6",
        "Choices that add noise to training, such as a non-adaptive optimiser, reduce the saturation of hidden units.",
        format!(
            "share of class-selective (saturated: every class's fraction within {} of 0 or 1) nodes in the last hidden layer lower with SGD than with Adam, for every network trained both ways",
            e.t.selective_fraction.value
        ),
        rows,
    )
    .sweeping(&e.t, &["selective_fraction"])
}
