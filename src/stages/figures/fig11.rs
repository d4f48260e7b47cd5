//! Fig. 11: per-class histograms of one first-layer node's pre-activation.

use super::figure::{network_name, Built, Def, Inputs, Text};
use crate::engine::stage::UnitError;
use crate::plots::{Mark, Panel, Series};
use crate::results::{load_histograms, Histogram};
use serde_json::json;

pub(super) const DEF: Def = Def {
    id: "fig11",
    params: |t| json!(t.histogram_network),
    reads: |t, u| u.is_best() && u.net.selects(&t.histogram_network),
    build,
    text: |select| {
        Text {
        title: "Fig. 11: class activation distributions",
        caption: format!(
            "Per-class histograms of the pre-activation of one first-layer node on the training split, on bins shared by all classes; {}.",
            network_name(select)
        ),
        claim: "A node's pre-activation distributions differ by class; the continuous value carries information the on/off state discards.",
    }
    },
};

fn build(inputs: &Inputs) -> Result<Built, UnitError> {
    let title = "Fig. 11: per-class distributions of one first-layer node's pre-activation";
    let histograms = load_histograms(&inputs.dirs)?;
    // The lowest seed's (the first of equals).
    let mut lowest: Option<&Histogram> = None;
    for h in &histograms {
        if lowest.is_none_or(|l| h.seed < l.seed) {
            lowest = Some(h);
        }
    }
    let Some(h) = lowest else {
        return Ok(Built::no_data("fig11", title));
    };
    let classes = h.bins.iter().map(|b| b.class).max().unwrap_or(0) + 1;
    let series: Vec<Series> = (0..classes)
        .map(|c| {
            let total: i64 = h
                .bins
                .iter()
                .filter(|b| b.class == c)
                .map(|b| b.count)
                .sum();
            let pts = h
                .bins
                .iter()
                .filter(|b| b.class == c)
                .map(|b| ((b.lo + b.hi) / 2.0, b.count as f64 / total.max(1) as f64))
                .collect();
            Series::new(format!("class {c}"), pts, Mark::Line, c)
        })
        .collect();
    let (layer, node) = (h.layer, h.node);
    let panel = Panel::new(
        format!("layer {layer}, node {node} (seed {}, train split)", h.seed),
        "pre-activation z",
        "fraction of the class's samples",
    )
    .with_series(series);
    let findings = vec![format!(
        "node {node} of layer {layer}: the node whose class means differ most, unless configured"
    )];
    Ok(Built::lines("fig11", title, vec![panel], 1, findings))
}
