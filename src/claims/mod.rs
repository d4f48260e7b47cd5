//! The paper's findings, checked automatically against the analysis tables of the best
//! snapshots. Each claim states its measured value and the threshold used; a claim whose
//! networks the configuration does not train is "not measured", never silently dropped.
//!
//! One function per finding, each returning its verdict rows; [`CLAIMS`] lists them in
//! the report's order.

mod evidence;
mod perplexity;
mod saturation;
mod systems;

pub use evidence::{Claim, Evidence};

/// A check of one of the paper's findings: its verdict rows.
pub type Check = fn(&Evidence) -> Vec<Claim>;

/// Every check, in the report's order (the report runs each on one [`Evidence`]).
pub const CLAIMS: [Check; 6] = [
    perplexity::last_layer_near_one,
    perplexity::first_layer_near_class_size,
    perplexity::sharp_transition,
    systems::match_network_late,
    systems::combined_best_in_first_layer,
    saturation::error_saturates,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{MetricRow, NetKey};

    fn row(net: &NetKey, layer: usize, system: &str, metric: &str, value: f64) -> MetricRow {
        MetricRow {
            net: net.clone(),
            seed: 1,
            snapshot: "best".into(),
            epoch: 3,
            step: 0,
            layer,
            system: system.into(),
            split: "test".into(),
            class: -1,
            metric: metric.into(),
            value,
        }
    }

    #[test]
    fn without_networks_every_claim_is_not_measured() {
        let evidence = Evidence::new(&[], 1000.0, 2.0);
        let rows: Vec<Claim> = CLAIMS.iter().flat_map(|c| c(&evidence)).collect();
        assert_eq!(rows.len(), 7, "one row per claim, two for saturation");
        assert!(rows.iter().all(|c| c.verdict == "not measured"), "{rows:?}");
    }

    #[test]
    fn a_network_with_the_papers_profile_reproduces_the_perplexity_claims() {
        let net = NetKey::new("mnist", 4, 100);
        let mut rows: Vec<MetricRow> = [950.0, 600.0, 30.0, 1.5]
            .iter()
            .enumerate()
            .map(|(l, &p)| row(&net, l + 1, "patterns", "mean_perplexity", p))
            .collect();
        rows.push(row(&net, 4, "combined", "accuracy", 0.975));
        rows.push(row(&net, 5, "network", "accuracy", 0.97));
        let evidence = Evidence::new(&rows, 1000.0, 2.0);
        let verdicts: Vec<String> = CLAIMS[..4]
            .iter()
            .flat_map(|c| c(&evidence))
            .map(|c| c.verdict)
            .collect();
        assert_eq!(
            verdicts,
            ["reproduced", "reproduced", "reproduced", "reproduced"]
        );
        let transition = &CLAIMS[2](&evidence)[0];
        assert!(
            transition.measured.contains("first reached in layers 4"),
            "{transition:?}"
        );
    }
}
