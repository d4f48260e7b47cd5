//! Sec. 6: design choices that add noise to training, such as a non-adaptive optimiser,
//! raise layer perplexities.

use super::evidence::{Claim, Evidence, Row};
use super::per_dataset;
use crate::model::settings::Optimizer;
use crate::results::NetKey;

/// The geometric mean of a network's hidden-layer test perplexities (best snapshot).
fn geometric_mean_perplexity(e: &Evidence, n: &NetKey) -> Option<f64> {
    let profile = e.profile(n)?;
    Some((profile.iter().map(|p| p.ln()).sum::<f64>() / profile.len() as f64).exp())
}

pub fn non_adaptive_optimiser_raises_perplexity(e: &Evidence) -> Claim {
    let rows = per_dataset(e, |ds| {
        let pairs: Vec<(&NetKey, f64, f64)> = e
            .nets
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
                Some((
                    other,
                    geometric_mean_perplexity(e, other)?,
                    geometric_mean_perplexity(e, adam)?,
                ))
            })
            .collect();
        if pairs.is_empty() {
            return Row::not_measured(
                ds,
                "no network trained with another optimiser beside its Adam twin",
            );
        }
        Row::measured(
            ds,
            pairs
                .iter()
                .map(|(n, other, adam)| {
                    format!(
                        "{} {}: {other:.1} vs Adam {adam:.1}",
                        n.shape(),
                        n.optimizer.name()
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
            pairs.iter().all(|(_, other, adam)| other > adam),
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
