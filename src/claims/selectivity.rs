//! Sec. 2, Fig. 1: nodes of later layers become class-selective; those of the first
//! layers, and of an initialised network, are not.

use super::evidence::{Claim, Evidence, Row};
use super::per_dataset;
use crate::results::Summary;

pub fn late_nodes_selective(e: &Evidence) -> Claim {
    let t = &e.t;
    let rows = per_dataset(e, |ds| {
        let share = |snapshot: &str, layer: fn(usize) -> usize| {
            Summary::of(
                e.deep_nets(ds)
                    .filter_map(|n| {
                        e.selective
                            .get(&(n.clone(), snapshot.to_string(), layer(n.depth)))
                            .copied()
                    })
                    .collect(),
            )
        };
        let (Some(late), Some(first), Some(init)) = (
            share("best", |depth| depth),
            share("best", |_| 1),
            share("init", |depth| depth),
        ) else {
            return Row::not_measured(
                ds,
                format!("no {} with best and init snapshots analysed", e.deep_text()),
            );
        };
        Row::measured(
            ds,
            format!(
                "median share of selective nodes: last hidden layer {:.0}%, first layer {:.0}%, last layer at initialisation {:.0}% ({} networks)",
                100.0 * late.median,
                100.0 * first.median,
                100.0 * init.median,
                late.n
            ),
            late.median >= t.selective_late_min
                && first.median <= t.selective_early_max
                && init.median <= t.selective_early_max,
        )
    });
    Claim::new(
        "late-nodes-selective",
        "Sec. 2, Fig. 1",
        "Nodes in later layers are class-selective (active for none or virtually all samples of each class); nodes in the first layers, and in an untrained network, are not.",
        format!(
            "a node is selective if every class's train activation fraction is <= {:.0}% or >= {:.0}% and it is on for some class and off for another; median share of selective nodes >= {:.0}% in the last hidden layer, <= {:.0}% in layer 1 and in the last layer at initialisation ({})",
            100.0 * t.selective_fraction,
            100.0 * (1.0 - t.selective_fraction),
            100.0 * t.selective_late_min,
            100.0 * t.selective_early_max,
            e.deep_text()
        ),
        rows,
    )
}
