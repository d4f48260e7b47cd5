//! Beyond the paper: the convergence study. For each network of
//! `[figures] convergence_networks`, every hidden layer's mean perplexity on the test and
//! the train split, and the accuracies of the network and of the last layer's systems,
//! against training epoch (log scale), with the best-validation epoch marked. It shows
//! how the late-layer perplexity claim depends on how long a network trains.

use super::figure::{dataset_name, perplexity_levels, series, Built, Def, Inputs, Text};
use crate::engine::stage::UnitError;
use crate::plots::{Mark, Panel, Series};
use crate::results::derived::seed_mean;
use crate::results::network::BEST;
use crate::results::{MetricRow, NetKey};
use serde_json::{json, Value};

pub(super) const DEF: Def = Def {
    id: "convergence",
    params: |t| json!({ "networks": t.convergence_networks, "transition_perplexity": t.transition_perplexity }),
    reads: |t, u| {
        (u.is_epoch() || u.is_best()) && t.convergence_networks.iter().any(|n| u.net.selects(n))
    },
    build,
    text: |select| {
        Text {
        title: "Beyond the paper: convergence study",
        caption: format!(
            "For {}: mean perplexity of every hidden layer on the test split (left) and the train split (middle), and test accuracy of the network and of the last hidden layer's systems with the network's train accuracy (right), after each snapshot epoch (log scale). The vertical dotted line marks the epoch kept as best (lowest validation error up to the stop).",
            names(select)
        ),
        claim: "The paper reports late-layer perplexity very near 1 for networks trained to training-set convergence and stopped at their best validation error (Sec. 3.1, 3.2).",
    }
    },
};

fn selected(select: &Value) -> Vec<NetKey> {
    serde_json::from_value(select["networks"].clone()).unwrap_or_default()
}

fn names(select: &Value) -> String {
    let names: Vec<String> = selected(select)
        .iter()
        .map(|n| format!("{} {}", dataset_name(&n.dataset), n.shape()))
        .collect();
    if names.is_empty() {
        "no network".into()
    } else {
        names.join(" and ")
    }
}

/// (epoch, value) of one metric over the epoch snapshots of a network.
fn over_epochs<'a>(
    rows: &'a [MetricRow],
    net: &'a NetKey,
    layer: usize,
    system: &'a str,
    split: &'a str,
    metric: &'a str,
) -> impl Iterator<Item = (f64, f64)> + 'a {
    rows.iter()
        .filter(move |r| {
            &r.net == net
                && r.snapshot.starts_with("epoch-")
                && r.layer == layer
                && r.system == system
                && r.split == split
                && r.metric == metric
                && r.class < 0
        })
        .map(|r| (r.epoch as f64, r.value))
}

/// The epoch of the network's best snapshot (the lowest seed's, if seeds differ).
fn best_epoch(rows: &[MetricRow], net: &NetKey) -> Option<i64> {
    rows.iter()
        .filter(|r| &r.net == net && r.snapshot == "best")
        .min_by_key(|r| r.seed)
        .map(|r| r.epoch)
}

/// A vertical dotted line at the best epoch spanning the panel's values.
fn best_marker(epoch: i64, lines: &[Series]) -> Option<Series> {
    let ys = lines.iter().flat_map(|s| s.points.iter().map(|p| p.1));
    let (lo, hi) = ys.fold((f64::MAX, f64::MIN), |(a, b), y| (a.min(y), b.max(y)));
    (lo <= hi && epoch > 0).then(|| {
        Series::new(
            format!("best (epoch {epoch})"),
            vec![(epoch as f64, lo), (epoch as f64, hi)],
            Mark::Dotted,
            9,
        )
    })
}

fn build(inputs: &Inputs) -> Result<Built, UnitError> {
    let title = "Beyond the paper: perplexity and accuracy against training length";
    let rows = &inputs.rows;
    let threshold = inputs.select["transition_perplexity"]
        .as_f64()
        .unwrap_or(2.0);
    let mut panels = Vec::new();
    let mut findings = Vec::new();
    for wanted in selected(inputs.select) {
        let Some(net) = rows.iter().map(|r| &r.net).find(|n| n.selects(&wanted)) else {
            continue;
        };
        let name = format!("{} {}", dataset_name(&net.dataset), net.shape());
        let best = best_epoch(rows, net);
        for split in ["test", "train"] {
            let mut lines: Vec<Series> = (1..=net.depth)
                .map(|l| {
                    series(
                        format!("layer {l}"),
                        over_epochs(rows, net, l, "patterns", split, "mean_perplexity"),
                        Mark::Line,
                        l - 1,
                    )
                })
                .collect();
            lines.retain(|s| !s.points.is_empty());
            if let Some(marker) = best.and_then(|b| best_marker(b, &lines)) {
                lines.push(marker);
            }
            panels.push(
                Panel::new(
                    format!("{name}: {split} perplexity per layer"),
                    "epoch",
                    format!("mean {split} perplexity"),
                )
                .with_log_x()
                .with_log_y()
                .with_reference_y(&perplexity_levels(inputs, &net.dataset, split))
                .with_series(lines),
            );
        }
        let output = net.depth + 1;
        let mut lines = vec![
            series(
                "network, train".into(),
                over_epochs(rows, net, output, "network", "train", "accuracy"),
                Mark::Dashed,
                0,
            ),
            series(
                "network, test".into(),
                over_epochs(rows, net, output, "network", "test", "accuracy"),
                Mark::Line,
                0,
            ),
        ];
        for (i, system) in ["discrete", "continuous", "combined"].iter().enumerate() {
            lines.push(series(
                format!("{system}, layer {}, test", net.depth),
                over_epochs(rows, net, net.depth, system, "test", "accuracy"),
                Mark::Line,
                i + 1,
            ));
        }
        lines.retain(|s| !s.points.is_empty());
        if let Some(marker) = best.and_then(|b| best_marker(b, &lines)) {
            lines.push(marker);
        }
        panels.push(
            Panel::new(format!("{name}: accuracy"), "epoch", "accuracy")
                .with_log_x()
                .with_series(lines),
        );
        findings.extend(late_layer_finding(rows, net, &name, best, threshold));
    }
    if panels.is_empty() {
        return Ok(Built::no_data("convergence", title));
    }
    Ok(Built::lines("convergence", title, panels, 3, findings))
}

/// How the last hidden layer's test perplexity moves with training, in numbers.
fn late_layer_finding(
    rows: &[MetricRow],
    net: &NetKey,
    name: &str,
    best: Option<i64>,
    threshold: f64,
) -> Option<String> {
    let (points, _) = crate::results::aggregate(over_epochs(
        rows,
        net,
        net.depth,
        "patterns",
        "test",
        "mean_perplexity",
    ));
    let (first, last) = (points.first()?, points.last()?);
    // The best snapshot of the same seeds as the curve (the study's snapshots are of
    // fewer seeds than the network's best), so that the two numbers are comparable.
    let seeds: std::collections::BTreeSet<i64> = rows
        .iter()
        .filter(|r| &r.net == net && r.snapshot.starts_with("epoch-"))
        .map(|r| r.seed)
        .collect();
    let at_best = seed_mean(
        rows.iter()
            .filter(|r| r.snapshot == BEST && seeds.contains(&r.seed)),
        net,
        net.depth,
        "patterns",
        "test",
        "mean_perplexity",
    )?;
    let seeds_text = seeds
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let below: Vec<String> = points
        .iter()
        .filter(|p| p.1 <= threshold)
        .map(|p| format!("{:.0}", p.0))
        .collect();
    Some(format!(
        "{name} (seed {seeds_text}), last hidden layer's test perplexity: {:.2} after epoch {:.0}, {:.2} at the best epoch ({}), {:.2} after epoch {:.0}; at or below {threshold} after epochs: {}",
        first.1,
        first.0,
        at_best,
        best.map_or("?".into(), |b| b.to_string()),
        last.1,
        last.0,
        if below.is_empty() { "none".into() } else { below.join(", ") }
    ))
}
