//! The panel shared by the node-classifier figures (Figs. 4-7, 9, 10): per-layer accuracy
//! of the systems, and the network's own; and the two ways those figures split their rows
//! into panels (one per snapshot, one per network).

use super::figure::{series, Built};
use crate::plots::chart::share_y_range;
use crate::plots::{Mark, Panel, Series};
use crate::results::derived::nets_of;
use crate::results::network::snapshot_order;
use crate::results::{mean, MetricRow, NetKey};

/// The three systems; a system's colour is its position here.
pub const SYSTEMS: [&str; 3] = ["discrete", "continuous", "combined"];

/// Per-layer accuracy lines of the given systems (train solid, test dashed) and the
/// network's test accuracy as a dotted line, for the rows of one network and snapshot.
fn systems_panel(title: String, rows: &[&MetricRow], systems: &[&str], with_train: bool) -> Panel {
    let mut lines = Vec::new();
    let depth = rows.first().map_or(1, |r| r.net.depth);
    let splits: &[&str] = if with_train {
        &["train", "test"]
    } else {
        &["test"]
    };
    for (i, sys) in systems.iter().enumerate() {
        let colour = SYSTEMS.iter().position(|s| s == sys).unwrap_or(i);
        for &split in splits {
            let pts = rows
                .iter()
                .filter(|r| {
                    r.system == *sys
                        && r.split == split
                        && r.metric == "accuracy"
                        && r.layer <= depth
                })
                .map(|r| (r.layer as f64, r.value));
            let mark = if split == "train" {
                Mark::Line
            } else {
                Mark::Dashed
            };
            lines.push(series(format!("{sys} ({split})"), pts, mark, colour));
        }
    }
    if let Some(net) = mean(&network_test(rows)) {
        lines.push(Series::new(
            "network (test)",
            vec![(0.6, net), (depth as f64 + 0.4, net)],
            Mark::Dotted,
            9,
        ));
    }
    Panel::new(title, "layer", "accuracy")
        .with_integer_x()
        .with_series(lines)
}

/// The network's test accuracy values among some rows.
fn network_test(rows: &[&MetricRow]) -> Vec<f64> {
    rows.iter()
        .filter(|r| r.system == "network" && r.split == "test")
        .map(|r| r.value)
        .collect()
}

/// One panel per snapshot (Figs. 4, 5), in training order, with all three systems.
pub fn over_snapshots(rows: &[MetricRow], id: &str, title: &str, with_train: bool) -> Built {
    let mut snaps: Vec<&str> = rows.iter().map(|r| r.snapshot.as_str()).collect();
    snaps.sort_by_key(|s| snapshot_order(s));
    snaps.dedup();
    if snaps.is_empty() {
        return Built::no_data(id, title);
    }
    let mut findings = Vec::new();
    let mut panels: Vec<Panel> = snaps
        .iter()
        .map(|snap| {
            let these: Vec<&MetricRow> = rows.iter().filter(|r| r.snapshot == *snap).collect();
            let depth = these.first().map_or(0, |r| r.net.depth);
            let last_combined: Vec<f64> = these
                .iter()
                .filter(|r| r.system == "combined" && r.split == "test" && r.layer == depth)
                .map(|r| r.value)
                .collect();
            if let (Some(c), Some(n)) = (mean(&last_combined), mean(&network_test(&these))) {
                findings.push(format!(
                    "{snap}: combined system {c:.3} in the last hidden layer, network {n:.3}"
                ));
            }
            let label = match snap.split_once('-') {
                Some(("step", n)) => format!("after step {n}"),
                Some(("epoch", n)) => format!("after epoch {n}"),
                _ => format!("{snap} snapshot"),
            };
            systems_panel(label, &these, &SYSTEMS, with_train)
        })
        .collect();
    share_y_range(&mut panels);
    Built::lines(id, title, panels, 3, findings)
}

/// How [`per_network`] labels and orders its panels.
pub struct PerNetwork<'a> {
    pub id: &'a str,
    pub title: &'a str,
    /// The panel's label after the dataset.
    pub label: fn(&NetKey) -> String,
    /// Panels are sorted by this.
    pub order: fn(&NetKey) -> usize,
    pub with_train: bool,
    pub systems: &'a [&'a str],
}

/// One panel per network (Figs. 6, 7, 9, 10).
pub fn per_network(rows: &[MetricRow], how: &PerNetwork) -> Built {
    let mut nets = nets_of(rows);
    if nets.is_empty() {
        return Built::no_data(how.id, how.title);
    }
    nets.sort_by_key(how.order);
    let mut findings = Vec::new();
    let mut panels: Vec<Panel> = nets
        .iter()
        .map(|n| {
            let these: Vec<&MetricRow> = rows.iter().filter(|r| &r.net == n).collect();
            let acc = |sys: &str, layer: usize| {
                let v: Vec<f64> = these
                    .iter()
                    .filter(|r| {
                        r.system == sys
                            && r.split == "test"
                            && r.layer == layer
                            && r.metric == "accuracy"
                    })
                    .map(|r| r.value)
                    .collect();
                mean(&v)
            };
            let parts: Vec<String> = how
                .systems
                .iter()
                .filter_map(|s| Some(format!("{s} {:.3}/{:.3}", acc(s, 1)?, acc(s, n.depth)?)))
                .collect();
            let label = (how.label)(n);
            findings.push(format!(
                "{} {label}: test accuracy first/last hidden layer: {}; network {:.3}",
                n.dataset,
                parts.join(", "),
                mean(&network_test(&these)).unwrap_or(f64::NAN)
            ));
            systems_panel(
                format!("{} {label}", n.dataset),
                &these,
                how.systems,
                how.with_train,
            )
        })
        .collect();
    share_y_range(&mut panels);
    Built::lines(how.id, how.title, panels, 3, findings)
}
