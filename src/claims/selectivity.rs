//! Sec. 2, Fig. 1: nodes of later layers become class-selective; those of the first two
//! layers are undecided on several classes; an initialised network has no selective
//! last layer; and the pattern needs networks deep and wide enough.

use super::evidence::{Evidence, NodeKind};
use super::verdict::{Claim, Row};
use super::{median_row, pct, per_dataset};
use crate::results::Summary;

const SELECTIVE: &str = "a node is selective if every class's train activation fraction is at most selective_fraction or at least 1 - selective_fraction, and it is on for some class and off for another";

pub fn late_nodes_selective(e: &Evidence) -> Claim {
    let min = e.t.selective_late_min.value;
    let rows = per_dataset(e, |ds| {
        let shares = e
            .deep_nets(ds)
            .filter_map(|n| e.selective(n, e.kept, n.depth))
            .collect();
        median_row(
            ds,
            shares,
            || format!("no {} with activation fractions", e.deep_text()),
            ("median ", " of last-hidden-layer nodes selective"),
            pct,
            |m| m >= min,
        )
    });
    Claim::new(
        "late-nodes-selective",
        "Sec. 2, Fig. 1",
        "Nodes in the later layers are class-selective: each is active for none, or for virtually all, of a class's samples.",
        format!(
            "median share of selective nodes in the last hidden layer >= {} ({}; {SELECTIVE}, = {})",
            pct(min),
            e.deep_text(),
            e.t.selective_fraction.value
        ),
        rows,
    )
    .sweeping(&e.t, &["selective_late_min", "selective_fraction"])
}

pub fn early_nodes_mixed(e: &Evidence) -> Claim {
    let min = e.t.mixed_early_min.value;
    let rows = per_dataset(e, |ds| {
        let shares = e
            .deep_nets(ds)
            .filter_map(|n| {
                let one = e.node_share(n, e.kept, 1, NodeKind::Mixed)?;
                let two = e.node_share(n, e.kept, 2, NodeKind::Mixed)?;
                Some((one + two) / 2.0)
            })
            .collect();
        median_row(
            ds,
            shares,
            || format!("no {} with activation fractions", e.deep_text()),
            (
                "median ",
                " of layer-1 and layer-2 nodes undecided on two or more classes",
            ),
            pct,
            |m| m >= min,
        )
    });
    Claim::new(
        "early-nodes-mixed",
        "Sec. 2, Fig. 1",
        "Most nodes of the first two hidden layers are neither specific nor sensitive to a class: they are active for some of the samples of several classes.",
        format!(
            "median share (mean of layers 1 and 2) of nodes whose train activation fraction lies strictly between selective_fraction = {} and 1 minus it for two or more classes >= {} ({})",
            e.t.selective_fraction.value,
            pct(min),
            e.deep_text()
        ),
        rows,
    )
    .sweeping(&e.t, &["mixed_early_min", "selective_fraction"])
}

pub fn init_not_selective(e: &Evidence) -> Claim {
    let max = e.t.selective_init_max.value;
    let rows = per_dataset(e, |ds| {
        let shares = e
            .deep_nets(ds)
            .filter_map(|n| e.selective(n, "init", n.depth))
            .collect();
        match Summary::of(shares) {
            None => Row::not_measured(ds, format!("no {} with an initial snapshot analysed", e.deep_text())),
            Some(s) => Row::measured(
                ds,
                format!(
                    "median {} of last-hidden-layer nodes selective at initialisation, over {} networks (largest {})",
                    pct(s.median),
                    s.n,
                    pct(s.max)
                ),
                Some(s.median),
                s.median <= max,
            ),
        }
    });
    Claim::new(
        "init-not-selective",
        "Sec. 2, Fig. 1",
        "The selectivity arises from training, despite the random initialisation: an initialised network's last layer is not class-selective.",
        format!(
            "median share of selective nodes in the last hidden layer at initialisation <= {} ({}; {SELECTIVE})",
            pct(max),
            e.deep_text()
        ),
        rows,
    )
    .sweeping(&e.t, &["selective_init_max", "selective_fraction"])
}

pub fn selectivity_needs_size(e: &Evidence) -> Claim {
    let rows = per_dataset(e, |ds| {
        let (mut small, mut large) = (Vec::new(), Vec::new());
        for n in e.paper_nets(ds) {
            let Some(share) = e.selective(n, e.kept, n.depth) else {
                continue;
            };
            if n.depth >= e.t.deep_min_depth && n.width >= e.t.wide_min_width {
                large.push(share);
            } else {
                small.push(share);
            }
        }
        match (Summary::of(small), Summary::of(large)) {
            (Some(s), Some(l)) => Row::measured(
                ds,
                format!(
                    "median share of selective last-hidden-layer nodes: {} in {} smaller networks, {} in {} larger ones",
                    pct(s.median),
                    s.n,
                    pct(l.median),
                    l.n
                ),
                None,
                s.median < l.median,
            ),
            _ => Row::not_measured(ds, "needs networks both below and above the size criterion"),
        }
    });
    Claim::new(
        "selectivity-needs-size",
        "Sec. 2",
        "The selective pattern holds as long as the network has enough layers and nodes: smaller networks show less of it.",
        format!(
            "median share of selective nodes in the last hidden layer lower in the paper-sweep networks below depth {} or width {} than in those at or above both",
            e.t.deep_min_depth, e.t.wide_min_width
        ),
        rows,
    )
    .sweeping(&e.t, &["selective_fraction"])
}
