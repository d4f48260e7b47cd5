//! The node-based systems against the network: matching it in the last hidden layer, and
//! the combined system the best of the three in the first.

use super::evidence::{Claim, Evidence};
use crate::results::NetKey;

/// The systems match the network's accuracy in later layers.
pub fn match_network_late(e: &Evidence) -> Vec<Claim> {
    let name = "In the last hidden layer the node-based systems match the network's test accuracy (networks with 4 or more layers)";
    let threshold = "largest gap (combined system vs network) <= 1 percentage point";
    let gaps: Vec<(f64, &NetKey)> = e
        .nets
        .iter()
        .filter(|n| n.depth >= 4)
        .filter_map(|n| {
            let combined = e.accuracy(n, n.depth, "combined")?;
            let network = e.accuracy(n, n.depth + 1, "network")?;
            Some(((combined - network).abs(), n))
        })
        .collect();
    vec![match gaps.iter().max_by(|a, b| a.0.total_cmp(&b.0)) {
        None => Claim::not_measured(name, threshold, "no network"),
        Some((worst, n)) => Claim::measured(
            name,
            format!(
                "largest gap {:.2} points ({} {}), over {} networks",
                100.0 * worst,
                n.dataset,
                n.shape(),
                gaps.len()
            ),
            threshold,
            *worst <= 0.01,
        ),
    }]
}

/// The combined system is the most accurate in the first layer.
pub fn combined_best_in_first_layer(e: &Evidence) -> Vec<Claim> {
    let name = "In the first layer the combined system is the most accurate of the three";
    let threshold = "in at least 80% of the networks";
    let firsts: Vec<bool> = e
        .nets
        .iter()
        .filter_map(|n| {
            let c = e.accuracy(n, 1, "combined")?;
            let d = e.accuracy(n, 1, "discrete")?;
            let k = e.accuracy(n, 1, "continuous")?;
            Some(c >= d && c >= k)
        })
        .collect();
    if firsts.is_empty() {
        return vec![Claim::not_measured(name, threshold, "no network")];
    }
    let share = firsts.iter().filter(|&&b| b).count() as f64 / firsts.len() as f64;
    vec![Claim::measured(
        name,
        format!("{:.0}% of {} networks", 100.0 * share, firsts.len()),
        threshold,
        share >= 0.8,
    )]
}
