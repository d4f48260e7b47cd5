//! Beyond the paper: a heat map of the share of class-selective nodes per layer, for the
//! networks of the depth sweep.

use super::figure::{param, Built, Chart, Def, Inputs, Text};
use crate::engine::stage::UnitError;
use crate::plots::heatmap::HeatMap;
use crate::results::derived::selective_shares;
use crate::results::network::BEST;
use crate::results::{load_fractions, mean, NetKey, Sweep};
use serde_json::json;

pub(super) const DEF: Def = Def {
    id: "selectivity",
    params: |t| json!({ "width": t.depth_sweep_width, "threshold": t.selective_threshold }),
    reads: |t, u| u.best_on(Sweep::over_depth(t.depth_sweep_width)),
    build,
    text: |select| {
        let t = threshold(select);
        Text {
            title: "Class-selective nodes (beyond the paper)",
            caption: format!(
                "For each network of the depth sweep (width {}) and each hidden layer, the share of class-selective nodes: training activation fraction at most {}% or at least {}% for every class, on for some class and off for another.",
                param(select, "width", 100),
                percent(t),
                percent(1.0 - t)
            ),
            claim: "Not in the paper: a compact view of how binary the nodes' behaviour becomes with depth.",
        }
    },
};

fn threshold(select: &serde_json::Value) -> f64 {
    select["threshold"].as_f64().unwrap_or(0.05)
}

/// A share as a percentage to one decimal, without a trailing `.0`.
fn percent(share: f64) -> f64 {
    (1000.0 * share).round() / 10.0
}

fn build(inputs: &Inputs) -> Result<Built, UnitError> {
    let title = "Beyond the paper: share of class-selective nodes per layer";
    let threshold = threshold(inputs.select);
    let fractions = load_fractions(&inputs.dirs)?;
    let share = selective_shares(fractions.iter().filter(|r| r.snapshot == BEST), threshold);
    if share.is_empty() {
        return Ok(Built::no_data("selectivity", title));
    }
    let mut nets: Vec<&NetKey> = share.keys().map(|k| &k.0).collect();
    nets.dedup();
    let max_depth = nets.iter().map(|n| n.depth).max().unwrap_or(1);
    let name = |n: &NetKey| format!("{} {}", n.dataset, n.shape());
    let mut csv = String::from("network,layer,share_selective\n");
    let mut findings = Vec::new();
    let values: Vec<Vec<f64>> = nets
        .iter()
        .map(|n| {
            (1..=max_depth)
                .map(|l| {
                    let v = share
                        .get(&((*n).clone(), l))
                        .and_then(|v| mean(v))
                        .unwrap_or(f64::NAN);
                    if v.is_finite() {
                        csv.push_str(&format!("{},{l},{v}\n", name(n)));
                    }
                    v
                })
                .collect()
        })
        .collect();
    for (n, row) in nets.iter().zip(&values) {
        let finite: Vec<f64> = row.iter().copied().filter(|v| v.is_finite()).collect();
        if let (Some(first), Some(last)) = (finite.first(), finite.last()) {
            findings.push(format!(
                "{}: {:.0}% selective nodes in layer 1, {:.0}% in layer {}",
                name(n),
                100.0 * first,
                100.0 * last,
                finite.len()
            ));
        }
    }
    let map = HeatMap {
        title: format!(
            "share of nodes with activation fraction <= {threshold} or >= {} for every class (and not the same for all)",
            1.0 - threshold
        ),
        x_label: "layer".into(),
        y_label: "network".into(),
        row_labels: nets.iter().map(|n| name(n)).collect(),
        column_labels: (1..=max_depth).map(|l| l.to_string()).collect(),
        values,
    };
    Ok(Built {
        chart: Chart::Heat(map, csv),
        findings,
        missing: None,
    })
}
