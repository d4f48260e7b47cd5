//! The systems during training (Sec. 5.2, Figs. 4, 5): later layers gain more than
//! earlier ones, much is learnt in the first epoch, and the continuous system trails the
//! discrete one in the first mini-batch updates.

use super::evidence::Evidence;
use super::systems::SYSTEMS;
use super::verdict::{Claim, Row};
use super::{pct, per_dataset};
use crate::results::{network::snapshot_order, NetKey, Summary};

/// The paper networks of a dataset with all of `snapshots` analysed.
fn with_snapshots<'e>(e: &'e Evidence, ds: &'e str, snapshots: &[&str]) -> Vec<&'e NetKey> {
    e.paper_nets(ds)
        .filter(|n| {
            let have = e.snapshots(n);
            snapshots.iter().all(|s| have.contains(s))
        })
        .collect()
}

/// Later layers improve more over training than earlier ones.
pub fn late_layers_improve_more(e: &Evidence) -> Claim {
    let rows = per_dataset(e, |ds| {
        let gains: Vec<(f64, f64, &NetKey)> = with_snapshots(e, ds, &["epoch-1", e.kept])
            .into_iter()
            .filter(|n| n.depth >= 2)
            .filter_map(|n| {
                let gain = |layer: usize| {
                    Some(
                        e.metric(n, e.kept, layer, "combined", "test", "accuracy")?
                            - e.metric(n, "epoch-1", layer, "combined", "test", "accuracy")?,
                    )
                };
                Some((gain(1)?, gain(n.depth)?, n))
            })
            .collect();
        if gains.is_empty() {
            return Row::not_measured(ds, "no network with an epoch-1 snapshot analysed");
        }
        let text: Vec<String> = gains
            .iter()
            .map(|(first, last, n)| {
                format!(
                    "{}: layer 1 {:+.2}, layer {} {:+.2} points",
                    n.shape(),
                    100.0 * first,
                    n.depth,
                    100.0 * last
                )
            })
            .collect();
        Row::measured(
            ds,
            format!("from epoch 1 to best: {}", text.join("; ")),
            None,
            gains.iter().all(|(first, last, _)| last > first),
        )
    });
    Claim::new(
        "late-layers-improve-more",
        "Sec. 5.2, Fig. 4",
        "Over training, the systems' accuracies in the later layers improve visibly more than in the earlier layers.",
        "combined-system test accuracy gains more from epoch 1 to best in the last hidden layer than in layer 1, in every network with an epoch-1 snapshot",
        rows,
    )
}

/// Much of the training happens within the first epoch: for the network and for each
/// system of the last hidden layer.
pub fn first_epoch_does_most(e: &Evidence) -> Claim {
    let min = e.t.first_epoch_share_min.value;
    let rows = per_dataset(e, |ds| {
        let mut shares = Vec::new();
        for n in with_snapshots(e, ds, &["init", "epoch-1", e.kept]) {
            let mut readers: Vec<(usize, &str)> = vec![(n.depth + 1, "network")];
            readers.extend(SYSTEMS.iter().map(|s| (n.depth, *s)));
            for (layer, system) in readers {
                let acc = |s: &str| e.metric(n, s, layer, system, "test", "accuracy");
                if let (Some(init), Some(one), Some(best)) =
                    (acc("init"), acc("epoch-1"), acc(e.kept))
                {
                    if best > init {
                        shares.push((
                            (one - init) / (best - init),
                            format!("{} {system}", n.shape()),
                        ));
                    }
                }
            }
        }
        let Some(s) = Summary::of(shares.iter().map(|v| v.0).collect()) else {
            return Row::not_measured(ds, "no network with init and epoch-1 snapshots analysed");
        };
        Row::measured(
            ds,
            format!(
                "median {} of the gain ({})",
                pct(s.median),
                shares
                    .iter()
                    .map(|(v, what)| format!("{what} {}", pct(*v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Some(s.median),
            s.median >= min,
        )
    });
    Claim::new(
        "first-epoch-does-most",
        "Sec. 5.2, Figs. 4, 5",
        "Significant training has already happened by the end of the first epoch.",
        format!(
            "after epoch 1 the network and the three systems of its last hidden layer have at least {} of their test-accuracy gain from initialisation to best (median)",
            pct(min)
        ),
        rows,
    )
    .sweeping(&e.t, &["first_epoch_share_min"])
}

/// The continuous system trails the discrete one in the first mini-batch updates.
pub fn continuous_poor_initially(e: &Evidence) -> Claim {
    let rows = per_dataset(e, |ds| {
        let mut lags = Vec::new();
        for n in e.paper_nets(ds) {
            let Some(first) = e
                .snapshots(n)
                .into_iter()
                .filter(|s| s.starts_with("step-"))
                .min_by_key(|s| snapshot_order(s))
            else {
                continue;
            };
            let gaps: Vec<f64> = (1..=n.depth)
                .filter_map(|l| {
                    Some(
                        e.metric(n, first, l, "continuous", "test", "accuracy")?
                            - e.metric(n, first, l, "discrete", "test", "accuracy")?,
                    )
                })
                .collect();
            if let Some(s) = Summary::of(gaps) {
                lags.push((s.median, format!("{} after {first}", n.shape())));
            }
        }
        if lags.is_empty() {
            return Row::not_measured(ds, "no network with mini-batch (step) snapshots analysed");
        }
        Row::measured(
            ds,
            format!(
                "median over hidden layers of continuous - discrete: {}",
                lags.iter()
                    .map(|(g, what)| format!("{what} {:+.2} points", 100.0 * g))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            None,
            lags.iter().all(|(g, _)| *g < 0.0),
        )
    });
    Claim::new(
        "continuous-poor-initially",
        "Sec. 5.2, Fig. 5",
        "In the first mini-batch updates the continuous system performs poorly relative to the discrete one.",
        "at the earliest step snapshot, the median over hidden layers of (continuous - discrete test accuracy) < 0, in every network with step snapshots",
        rows,
    )
}
