//! The node-based systems of the trained networks (Sec. 5.2, Figs. 4, 6, Sec. 7): the
//! three agree in the later layers and reach the network, their spread shrinks through
//! the layers and with depth, the combined system leads in the first layer, and every
//! layer can classify.

use super::evidence::Evidence;
use super::verdict::{Claim, Row};
use super::{median_row, per_dataset, points, trend};
use crate::results::{Axis, NetKey, Summary};

pub const SYSTEMS: [&str; 3] = ["discrete", "continuous", "combined"];

/// The later half of a network's hidden layers.
pub fn later_layers(depth: usize) -> std::ops::RangeInclusive<usize> {
    depth / 2 + 1..=depth
}

/// The spread (max - min) of the three systems' test accuracies in a layer.
pub fn spread(e: &Evidence, n: &NetKey, layer: usize) -> Option<f64> {
    let acc: Vec<f64> = SYSTEMS
        .iter()
        .map(|s| e.accuracy(n, layer, s))
        .collect::<Option<_>>()?;
    let hi = acc.iter().copied().fold(f64::MIN, f64::max);
    let lo = acc.iter().copied().fold(f64::MAX, f64::min);
    Some(hi - lo)
}

/// A median over networks, held to `ok`, with the largest value's network named.
fn median_of(
    e: &Evidence,
    ds: &str,
    values: Vec<(f64, &NetKey)>,
    what: &str,
    ok: impl Fn(f64) -> bool,
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
        Some(s.median),
        ok(s.median),
    )
}

pub fn systems_agree_later_layers(e: &Evidence) -> Claim {
    let max = e.t.systems_spread_max.value;
    let rows = per_dataset(e, |ds| {
        let spreads = e
            .deep_nets(ds)
            .filter_map(|n| {
                let s: Vec<f64> = later_layers(n.depth)
                    .map(|l| spread(e, n, l))
                    .collect::<Option<_>>()?;
                Some((s.into_iter().fold(f64::MIN, f64::max), n))
            })
            .collect();
        median_of(e, ds, spreads, "largest later-layer spread", |m| m <= max)
    });
    Claim::new(
        "systems-agree-later-layers",
        "Sec. 5.2, Figs. 4, 6",
        "In the later hidden layers the discrete, continuous and combined systems are virtually identical in accuracy.",
        format!(
            "median over networks of the largest spread (highest - lowest of the three systems' test accuracies) over the later half of the hidden layers <= {} points ({})",
            points(max),
            e.deep_text()
        ),
        rows,
    )
    .sweeping(&e.t, &["systems_spread_max"])
}

pub fn spread_shrinks_with_layer(e: &Evidence) -> Claim {
    let rows = per_dataset(e, |ds| {
        let shrink: Vec<f64> = e
            .deep_nets(ds)
            .filter_map(|n| Some(spread(e, n, 1)? - spread(e, n, n.depth)?))
            .collect();
        {
            // A comparison with 0: no threshold, so no value for the figure.
            let mut row = median_row(
                ds,
                shrink,
                || format!("no {}", e.deep_text()),
                (
                    "the spread shrinks by a median ",
                    " points from layer 1 to the last hidden layer",
                ),
                points,
                |m| m > 0.0,
            );
            row.value = None;
            row
        }
    });
    Claim::new(
        "spread-shrinks-with-layer",
        "Sec. 5.2, Fig. 4",
        "The difference in accuracy among the three systems becomes smaller in later layers.",
        format!(
            "median over networks of (spread in layer 1 - spread in the last hidden layer) > 0 ({})",
            e.deep_text()
        ),
        rows,
    )
}

/// In the first layer the combined system is the most accurate of the three.
pub fn combined_best_in_first_layer(e: &Evidence) -> Claim {
    let min = e.t.combined_first_share_min.value;
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
            Some(share),
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
    .sweeping(&e.t, &["combined_first_share_min"])
}

pub fn systems_reach_network(e: &Evidence) -> Claim {
    let max = e.t.network_gap_max.value;
    let rows = per_dataset(e, |ds| {
        // Per split: per network, how far the weakest system falls short of the network
        // in the last hidden layer (negative: above it).
        let shortfall = |split: &str| -> Vec<(f64, &NetKey)> {
            e.deep_nets(ds)
                .filter_map(|n| {
                    let network = e.metric(n, e.kept, n.depth + 1, "network", split, "accuracy")?;
                    let weakest = SYSTEMS
                        .iter()
                        .map(|s| e.metric(n, e.kept, n.depth, s, split, "accuracy"))
                        .collect::<Option<Vec<f64>>>()?
                        .into_iter()
                        .fold(f64::MAX, f64::min);
                    Some((network - weakest, n))
                })
                .collect()
        };
        let test = Summary::of(shortfall("test").iter().map(|v| v.0).collect());
        let train = Summary::of(shortfall("train").iter().map(|v| v.0).collect());
        let Some(test) = test else {
            return Row::not_measured(ds, format!("no {}", e.deep_text()));
        };
        let worst = train.map_or(test.median, |t| t.median.max(test.median));
        Row::measured(
            ds,
            format!(
                "the weakest system is a median {} points below the network on test{} (negative: above), over {} networks",
                points(test.median),
                train.map_or(String::new(), |t| format!(", {} on train", points(t.median))),
                test.n
            ),
            Some(worst),
            worst <= max,
        )
    });
    Claim::new(
        "systems-reach-network",
        "Sec. 5.2, Fig. 4",
        "In the later layers every system reaches the same, or slightly better, accuracy as the network itself, on the train and the test set.",
        format!(
            "median over networks of (network accuracy - the lowest of the three systems' accuracies in the last hidden layer), signed, <= {} points on the test split and, where analysed, the train split ({})",
            points(max),
            e.deep_text()
        ),
        rows,
    )
    .sweeping(&e.t, &["network_gap_max"])
}

pub fn layers_solve_task(e: &Evidence) -> Claim {
    let min = e.t.layer_solves_min.value;
    let rows = per_dataset(e, |ds| {
        let ratios: Vec<f64> = e
            .deep_nets(ds)
            .filter_map(|n| {
                let network = e.network_accuracy(n)?;
                let worst = (1..=n.depth)
                    .map(|l| {
                        SYSTEMS
                            .iter()
                            .filter_map(|s| e.accuracy(n, l, s))
                            .reduce(f64::max)
                    })
                    .collect::<Option<Vec<f64>>>()?
                    .into_iter()
                    .fold(f64::MAX, f64::min);
                Some(worst / network)
            })
            .collect();
        match Summary::of(ratios) {
            None => Row::not_measured(ds, format!("no {}", e.deep_text())),
            Some(s) => Row::measured(
                ds,
                format!(
                    "the weakest layer's best system reaches a median {:.1}% of the network's accuracy, over {} networks (lowest {:.1}%)",
                    100.0 * s.median,
                    s.n,
                    100.0 * s.min
                ),
                Some(s.median),
                s.median >= min,
            ),
        }
    });
    Claim::new(
        "layers-solve-task",
        "Sec. 5.2",
        "The nodes of every layer, in collaboration, can solve the classification task.",
        format!(
            "median over networks of min over hidden layers of (the best system's test accuracy / the network's) >= {:.0}% ({})",
            100.0 * min,
            e.deep_text()
        ),
        rows,
    )
    .sweeping(&e.t, &["layer_solves_min"])
}

pub fn later_layers_classify_better(e: &Evidence) -> Claim {
    let rows = per_dataset(e, |ds| {
        let gains: Vec<f64> = e
            .deep_nets(ds)
            .filter_map(|n| {
                Some(e.accuracy(n, n.depth, "combined")? - e.accuracy(n, 1, "combined")?)
            })
            .collect();
        {
            let mut row = median_row(
                ds,
                gains,
                || format!("no {}", e.deep_text()),
                (
                    "the last hidden layer's combined system is a median ",
                    " points above layer 1's",
                ),
                points,
                |m| m > 0.0,
            );
            row.value = None;
            row
        }
    });
    Claim::new(
        "later-layers-classify-better",
        "Sec. 7",
        "Later feature spaces classify better than earlier ones.",
        format!(
            "median over networks of (combined-system test accuracy in the last hidden layer - in layer 1) > 0 ({})",
            e.deep_text()
        ),
        rows,
    )
}

pub fn overlap_with_depth(e: &Evidence) -> Claim {
    let rows = per_dataset(e, |ds| {
        trend(
            e,
            ds,
            Axis::Depth,
            |n| spread(e, n, n.depth),
            -1.0,
            "last-layer spreads",
        )
    });
    Claim::new(
        "overlap-with-depth",
        "Sec. 5.2, Fig. 6",
        "The three systems start to overlap once there is enough depth, and struggle to before.",
        format!(
            "rank correlation of depth with the spread of the three systems' test accuracies in the last hidden layer <= -{} over the depth sweep",
            e.t.rank_correlation_min.value
        ),
        rows,
    )
    .sweeping(&e.t, &["rank_correlation_min"])
}
