//! Fig. 1: class activation fractions per node, at initialisation and trained.

use super::figure::{network_name, Built, Def, Inputs, Text};
use crate::engine::stage::UnitError;
use crate::plots::{Mark, Panel, Series};
use crate::results::{load_fractions, FractionRow};
use serde_json::json;
use std::collections::BTreeMap;

pub(super) const DEF: Def = Def {
    id: "fig1",
    params: |t| json!(t.fig1_network),
    reads: |t, u| u.net.selects(&t.fig1_network) && (u.is_best() || u.is_init()),
    build,
    text: |select| {
        Text {
        title: "Fig. 1: class activation fractions",
        caption: format!(
            "Percentage of each class's training samples that activate (z > 0) each node, all hidden nodes in order and then the output nodes, one colour per class; {} at initialisation and after training (best snapshot).",
            network_name(select)
        ),
        claim: "After training, nodes become class-selective: most nodes are active for almost all or almost none of the samples of a class.",
    }
    },
};

fn build(inputs: &Inputs) -> Result<Built, UnitError> {
    let title = "Fig. 1: class activation fractions per node";
    let rows = load_fractions(&inputs.dirs)?;
    // Per snapshot (init, best), the train fractions of the lowest seed.
    let mut per_snapshot: BTreeMap<&str, (i64, Vec<&FractionRow>)> = BTreeMap::new();
    for r in &rows {
        if r.split != "train" {
            continue;
        }
        let entry = per_snapshot
            .entry(r.snapshot.as_str())
            .or_insert((r.seed, Vec::new()));
        if r.seed < entry.0 {
            *entry = (r.seed, Vec::new());
        }
        if r.seed == entry.0 {
            entry.1.push(r);
        }
    }
    if per_snapshot.is_empty() {
        return Ok(Built::no_data("fig1", title));
    }
    let mut panels = Vec::new();
    let mut findings = Vec::new();
    for (snapshot, when, panel_title) in [
        ("init", "At initialisation", "at initialisation"),
        ("best", "Trained (best)", "trained (best snapshot)"),
    ] {
        let Some((_, points)) = per_snapshot.get(snapshot) else {
            continue;
        };
        let extreme = points
            .iter()
            .filter(|p| p.value <= 0.05 || p.value >= 0.95)
            .count() as f64
            / points.len().max(1) as f64;
        findings.push(format!(
            "{when}: {:.0}% of (node, class) fractions are below 5% or above 95%",
            100.0 * extreme
        ));
        panels.push(
            Panel::new(
                panel_title,
                "node (hidden layers in order, then the output layer; thin lines separate layers)",
                "% of the class's train samples with z > 0",
            )
            // Above 100%, a strip for the layer names.
            .with_y_range(-3.0, 112.0)
            .with_separators_x(&layer_boundaries(points))
            .with_labels_x(layer_names(points))
            .with_series(class_series(points)),
        );
    }
    // About 1.5 px per node, plus the axes and the legend.
    let nodes = per_snapshot
        .values()
        .map(|(_, pts)| node_count(pts))
        .max()
        .unwrap_or(0);
    let width = (1.5 * nodes as f64) as u32 + 260;
    Ok(Built::lines("fig1", title, panels, 1, findings).with_panel_size(width.max(640), 380))
}

/// Hidden and output nodes in all, over the layers present.
fn node_count(points: &[&FractionRow]) -> usize {
    layer_widths(points).values().sum()
}

/// Each layer's width (nodes 0..width).
fn layer_widths(points: &[&FractionRow]) -> BTreeMap<usize, usize> {
    points.iter().fold(BTreeMap::new(), |mut m, p| {
        let w = m.entry(p.layer).or_insert(0);
        *w = (*w).max(p.node + 1);
        m
    })
}

/// x positions between consecutive layers (half a node before each layer's first node).
fn layer_boundaries(points: &[&FractionRow]) -> Vec<f64> {
    let mut at = 0usize;
    let mut out = Vec::new();
    for w in layer_widths(points).values() {
        if at > 0 {
            out.push(at as f64 - 0.5);
        }
        at += w;
    }
    out
}

/// Each layer's name at the centre of its nodes: `layer 1`, ..., and `output` for the
/// last (the output layer is numbered depth + 1).
fn layer_names(points: &[&FractionRow]) -> Vec<(f64, String)> {
    let widths = layer_widths(points);
    let last = widths.keys().next_back().copied();
    let mut at = 0usize;
    widths
        .iter()
        .map(|(&layer, &w)| {
            let centre = at as f64 + (w as f64 - 1.0) / 2.0;
            at += w;
            let name = if Some(layer) == last && widths.len() > 1 {
                "output".to_string()
            } else {
                format!("layer {layer}")
            };
            (centre, name)
        })
        .collect()
}

/// One series of points per class: (node position over all layers, percentage).
fn class_series(points: &[&FractionRow]) -> Vec<Series> {
    let widths = layer_widths(points);
    let offset = |layer: usize| widths.range(..layer).map(|(_, w)| w).sum::<usize>();
    let classes = points.iter().map(|p| p.class).max().unwrap_or(0) + 1;
    (0..classes)
        .map(|c| {
            let pts = points
                .iter()
                .filter(|p| p.class == c)
                .map(|p| ((offset(p.layer) + p.node) as f64, 100.0 * p.value))
                .collect();
            Series::new(format!("class {c}"), pts, Mark::Points, c)
        })
        .collect()
}
