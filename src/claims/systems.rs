//! The node-based systems (Sec. 5.2, Figs. 4-6, 9, 10): matching the network and each
//! other in late layers, the combined system best in the first, training mostly in the
//! first epoch and mostly in late layers, and the width trends of the first layer.

use super::evidence::{Claim, Evidence, Row};
use super::{per_dataset, width_trend};
use crate::results::{NetKey, Summary};

const SYSTEMS: [&str; 3] = ["discrete", "continuous", "combined"];

fn points(v: f64) -> String {
    format!("{:.2}", 100.0 * v)
}

/// The spread (max - min) of the three systems' test accuracies in a layer.
fn spread(e: &Evidence, n: &NetKey, layer: usize) -> Option<f64> {
    let acc: Vec<f64> = SYSTEMS
        .iter()
        .map(|s| e.accuracy(n, layer, s))
        .collect::<Option<_>>()?;
    let hi = acc.iter().copied().fold(f64::MIN, f64::max);
    let lo = acc.iter().copied().fold(f64::MAX, f64::min);
    Some(hi - lo)
}

/// A median over networks with the worst one named.
fn median_with_worst(
    e: &Evidence,
    ds: &str,
    values: Vec<(f64, &NetKey)>,
    max: f64,
    what: &str,
) -> Row {
    let Some(s) = Summary::of(values.iter().map(|v| v.0).collect()) else {
        return Row::not_measured(ds, format!("no {}", e.deep_text()));
    };
    let worst = values
        .iter()
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|v| v.1.shape())
        .unwrap_or_default();
    Row::measured(
        ds,
        format!(
            "median {what} {} points over {} networks (largest {} points, {worst})",
            points(s.median),
            s.n,
            points(s.max)
        ),
        s.median <= max,
    )
}

/// In the last hidden layer the combined system matches the network.
pub fn match_network_late(e: &Evidence) -> Claim {
    let max = e.t.network_gap_max;
    let rows = per_dataset(e, |ds| {
        let gaps = e
            .deep_nets(ds)
            .filter_map(|n| {
                let combined = e.accuracy(n, n.depth, "combined")?;
                let network = e.accuracy(n, n.depth + 1, "network")?;
                Some(((combined - network).abs(), n))
            })
            .collect();
        median_with_worst(e, ds, gaps, max, "gap")
    });
    Claim::new(
        "systems-match-network",
        "Sec. 5.2, Fig. 4",
        "In the later layers the node-based systems reach the network's own accuracy.",
        format!(
            "median absolute gap between the combined system's and the network's test accuracy in the last hidden layer <= {} points ({})",
            points(max),
            e.deep_text()
        ),
        rows,
    )
}

/// In the last hidden layer the three systems agree.
pub fn systems_agree_late(e: &Evidence) -> Claim {
    let max = e.t.systems_spread_max;
    let rows = per_dataset(e, |ds| {
        let spreads = e
            .deep_nets(ds)
            .filter_map(|n| Some((spread(e, n, n.depth)?, n)))
            .collect();
        median_with_worst(e, ds, spreads, max, "spread")
    });
    Claim::new(
        "systems-agree-late",
        "Sec. 5.2, Figs. 4, 6",
        "In the later layers the discrete, continuous and combined systems are virtually identical in accuracy.",
        format!(
            "median spread (highest - lowest) of the three systems' test accuracies in the last hidden layer <= {} points ({})",
            points(max),
            e.deep_text()
        ),
        rows,
    )
}

/// In the first layer the combined system is the most accurate of the three.
pub fn combined_best_in_first_layer(e: &Evidence) -> Claim {
    let min = e.t.combined_first_share_min;
    let rows = per_dataset(e, |ds| {
        let firsts: Vec<bool> = e
            .paper_nets(ds)
            .filter_map(|n| {
                let c = e.accuracy(n, 1, "combined")?;
                let d = e.accuracy(n, 1, "discrete")?;
                let k = e.accuracy(n, 1, "continuous")?;
                Some(c >= d && c >= k)
            })
            .collect();
        if firsts.is_empty() {
            return Row::not_measured(ds, "no network of the paper's sweeps");
        }
        let share = firsts.iter().filter(|&&b| b).count() as f64 / firsts.len() as f64;
        Row::measured(
            ds,
            format!("{:.0}% of {} networks", 100.0 * share, firsts.len()),
            share >= min,
        )
    });
    Claim::new(
        "combined-best-first",
        "Sec. 5.2, Fig. 4",
        "In the first layer the combined system is more accurate than the discrete and the continuous ones.",
        format!(
            "combined >= both others in layer-1 test accuracy in at least {:.0}% of the paper-sweep networks",
            100.0 * min
        ),
        rows,
    )
}

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
        let gains: Vec<(f64, f64, &NetKey)> = with_snapshots(e, ds, &["epoch-1", "best"])
            .into_iter()
            .filter(|n| n.depth >= 2)
            .filter_map(|n| {
                let gain = |layer: usize| {
                    Some(
                        e.metric(n, "best", layer, "combined", "test", "accuracy")?
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

/// Much of the training happens within the first epoch.
pub fn first_epoch_does_most(e: &Evidence) -> Claim {
    let min = e.t.first_epoch_share_min;
    let rows = per_dataset(e, |ds| {
        let shares: Vec<(f64, &NetKey)> = with_snapshots(e, ds, &["init", "epoch-1", "best"])
            .into_iter()
            .filter_map(|n| {
                let acc = |s: &str| e.metric(n, s, n.depth + 1, "network", "test", "accuracy");
                let (init, one, best) = (acc("init")?, acc("epoch-1")?, acc("best")?);
                (best > init).then(|| ((one - init) / (best - init), n))
            })
            .collect();
        let Some(s) = Summary::of(shares.iter().map(|v| v.0).collect()) else {
            return Row::not_measured(ds, "no network with init and epoch-1 snapshots analysed");
        };
        Row::measured(
            ds,
            format!(
                "median {:.0}% of the gain over {} networks ({})",
                100.0 * s.median,
                s.n,
                shares
                    .iter()
                    .map(|(v, n)| format!("{} {:.0}%", n.shape(), 100.0 * v))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            s.median >= min,
        )
    });
    Claim::new(
        "first-epoch-does-most",
        "Sec. 5.2, Fig. 5",
        "Significant training has already happened by the end of the first epoch.",
        format!(
            "after epoch 1 the network has at least {:.0}% of its test-accuracy gain from initialisation to best (median)",
            100.0 * min
        ),
        rows,
    )
}

/// Narrow networks' first layers underperform, the discrete system most.
pub fn narrow_early_underperform(e: &Evidence) -> Claim {
    let rows = per_dataset(e, |ds| {
        let sweep = e.sweep(ds, true);
        let (Some(narrow), Some(wide)) = (sweep.first(), sweep.last()) else {
            return Row::not_measured(ds, "no width sweep of 3 or more networks");
        };
        let deficits: Option<Vec<f64>> = SYSTEMS
            .iter()
            .map(|s| Some(e.accuracy(wide, 1, s)? - e.accuracy(narrow, 1, s)?))
            .collect();
        let Some(d) = deficits else {
            return Row::not_measured(ds, "the sweep's ends lack layer-1 accuracies");
        };
        Row::measured(
            ds,
            format!(
                "layer 1, width {} below width {}: discrete {}, continuous {}, combined {} points",
                narrow.width,
                wide.width,
                points(d[0]),
                points(d[1]),
                points(d[2])
            ),
            // The continuous system may gain from narrowness (the next claim), so only the
            // discrete system must fall short, and by the most.
            d[0] > 0.0 && d[0] >= d[1] && d[0] >= d[2],
        )
    });
    Claim::new(
        "narrow-early-underperform",
        "Sec. 5.2, Figs. 9, 10",
        "When layers lack width, the earlier layers' systems underperform, the discrete system most of all.",
        "in layer 1 the narrowest network of the width sweep has a lower discrete-system test accuracy than the widest, and that shortfall is the largest of the three systems'",
        rows,
    )
}

/// First-layer continuous accuracy falls with width.
pub fn continuous_falls_with_width(e: &Evidence) -> Claim {
    let min = e.t.rank_correlation_min;
    let rows = per_dataset(e, |ds| {
        width_trend(
            e,
            ds,
            |n| e.accuracy(n, 1, "continuous"),
            -1.0,
            "layer-1 continuous test accuracy",
        )
    });
    Claim::new(
        "continuous-falls-with-width",
        "Sec. 5.2, Figs. 9, 10",
        "The continuous system's accuracy in the first layer decreases as the width grows.",
        format!("rank correlation of width with layer-1 continuous test accuracy <= -{min} over the width sweep"),
        rows,
    )
}

/// The smallest depth from which every deeper network of the depth sweep has its three
/// systems within `max` in the last hidden layer; None if the deepest does not.
fn convergence_depth(e: &Evidence, ds: &str, max: f64) -> Option<Option<usize>> {
    let sweep = e.sweep(ds, false);
    if sweep.is_empty() {
        return None;
    }
    let mut depth = None;
    for n in sweep.iter().rev() {
        match spread(e, n, n.depth) {
            Some(s) if s <= max => depth = Some(n.depth),
            _ => break,
        }
    }
    Some(depth)
}

/// MNIST's systems converge at a smaller depth than Fashion-MNIST's.
pub fn mnist_converges_earlier(e: &Evidence) -> Claim {
    let max = e.t.systems_spread_max;
    let scope = "mnist vs fashion-mnist";
    let text = |d: Option<usize>| d.map_or("never".to_string(), |d| format!("depth {d}"));
    let row = match (
        convergence_depth(e, "mnist", max),
        convergence_depth(e, "fashion-mnist", max),
    ) {
        (Some(m), Some(f)) => Row::measured(
            scope,
            format!("MNIST from {}, Fashion-MNIST from {}", text(m), text(f)),
            match (m, f) {
                (Some(m), Some(f)) => m < f,
                (Some(_), None) => true,
                _ => false,
            },
        ),
        _ => Row::not_measured(
            scope,
            "needs a depth sweep of 3 or more networks on both datasets",
        ),
    };
    Claim::new(
        "mnist-converges-earlier",
        "Sec. 5.2",
        "The three systems come together at a smaller depth for MNIST than for Fashion-MNIST.",
        format!(
            "the smallest depth of the depth sweep from which every deeper network's three systems are within {} points in the last hidden layer is smaller for MNIST",
            points(max)
        ),
        vec![row],
    )
}

/// The sigmoid / cross-entropy network shows the same two systems.
pub fn sigmoid_two_systems(e: &Evidence) -> Claim {
    let max = e.t.sigmoid_gap_max;
    let rows = per_dataset(e, |ds| {
        let gaps: Vec<(f64, &NetKey)> = e
            .nets
            .iter()
            .filter(|n| n.dataset == ds && n.activation.name() == "sigmoid")
            .filter_map(|n| {
                Some((
                    e.accuracy(n, n.depth, "continuous")? - e.accuracy(n, n.depth, "discrete")?,
                    n,
                ))
            })
            .collect();
        if gaps.is_empty() {
            return Row::not_measured(ds, "no sigmoid network");
        }
        Row::measured(
            ds,
            gaps.iter()
                .map(|(g, n)| {
                    format!(
                        "{} {}-{}: continuous - discrete {:+.2} points in layer {}",
                        n.shape(),
                        n.activation.name(),
                        n.loss.name(),
                        100.0 * g,
                        n.depth
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
            gaps.iter().all(|(g, _)| g.abs() <= max),
        )
    });
    Claim::new(
        "sigmoid-two-systems",
        "Sec. 6, Fig. 7",
        "With sigmoid activations (on: above 0.5) and cross-entropy, the discrete system still emerges, close to the continuous one in the deeper layers.",
        format!(
            "absolute difference of the continuous and discrete systems' test accuracies in the last hidden layer <= {} points for every sigmoid network",
            points(max)
        ),
        rows,
    )
}
