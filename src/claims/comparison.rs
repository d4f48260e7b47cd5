//! Claims that compare the datasets, or that the paper makes of one dataset only
//! (Sec. 3.2, 5.2, 7): Fashion-MNIST's more gradual fall, MNIST's earlier convergence of
//! the systems and its higher accuracies, and the anomaly of MNIST's width-20 network.

use super::evidence::Evidence;
use super::systems::{spread, SYSTEMS};
use super::transition::steepest_fall;
use super::verdict::{Claim, Row};
use super::{pct, points};
use crate::results::Summary;

const BOTH: &str = "mnist vs fashion-mnist";

fn both(e: &Evidence) -> bool {
    e.has_dataset("mnist") && e.has_dataset("fashion-mnist")
}

/// The median steepest fall between hidden layers of a dataset's deep networks.
fn median_steepest(e: &Evidence, ds: &str) -> Option<Summary> {
    Summary::of(
        e.deep_nets(ds)
            .filter_map(|n| steepest_fall(&e.profile(n)?))
            .collect(),
    )
}

pub fn gradual_for_fashion(e: &Evidence) -> Claim {
    let row = if !both(e) {
        Row::not_measured(BOTH, "needs both MNIST and Fashion-MNIST")
    } else {
        match (median_steepest(e, "mnist"), median_steepest(e, "fashion-mnist")) {
            (Some(m), Some(f)) => Row::measured(
                BOTH,
                format!(
                    "steepest fall between hidden layers: median factor {:.1} for Fashion-MNIST ({} networks), {:.1} for MNIST ({} networks)",
                    f.median, f.n, m.median, m.n
                ),
                None,
                f.median < m.median,
            ),
            _ => Row::not_measured(BOTH, format!("no {} for one of the datasets", e.deep_text())),
        }
    };
    Claim::new(
        "gradual-for-fashion",
        "Sec. 3.2, 7, Fig. 3",
        "The drop in perplexity is more gradual for Fashion-MNIST, the task with more class overlap, than for MNIST.",
        format!(
            "median steepest one-layer fall of test perplexity between hidden layers (a factor) smaller for Fashion-MNIST ({})",
            e.deep_text()
        ),
        vec![row],
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

pub fn mnist_converges_earlier(e: &Evidence) -> Claim {
    let max = e.t.systems_spread_max.value;
    let text = |d: Option<usize>| d.map_or("never".to_string(), |d| format!("depth {d}"));
    let row = match (
        convergence_depth(e, "mnist", max),
        convergence_depth(e, "fashion-mnist", max),
    ) {
        (Some(m), Some(f)) => Row::measured(
            BOTH,
            format!("MNIST from {}, Fashion-MNIST from {}", text(m), text(f)),
            None,
            match (m, f) {
                (Some(m), Some(f)) => m < f,
                (Some(_), None) => true,
                _ => false,
            },
        ),
        _ => Row::not_measured(
            BOTH,
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
    .sweeping(&e.t, &["systems_spread_max"])
}

pub fn mnist_higher_accuracy(e: &Evidence) -> Claim {
    let min = e.t.majority_share_min.value;
    let row = if !both(e) {
        Row::not_measured(BOTH, "needs both MNIST and Fashion-MNIST")
    } else {
        let (mut higher, mut total) = (0, 0);
        for m in e.paper_nets("mnist") {
            let Some(f) = e
                .paper_nets("fashion-mnist")
                .find(|f| f.depth == m.depth && f.width == m.width)
            else {
                continue;
            };
            let mut readers: Vec<(usize, &str)> = vec![(m.depth + 1, "network")];
            for l in 1..=m.depth {
                readers.extend(SYSTEMS.iter().map(|s| (l, *s)));
            }
            for (layer, system) in readers {
                if let (Some(a), Some(b)) =
                    (e.accuracy(m, layer, system), e.accuracy(f, layer, system))
                {
                    total += 1;
                    higher += (a > b) as usize;
                }
            }
        }
        if total == 0 {
            Row::not_measured(BOTH, "no network shape trained on both datasets")
        } else {
            let share = higher as f64 / total as f64;
            Row::measured(
                BOTH,
                format!(
                    "MNIST higher in {higher} of {total} comparisons ({})",
                    pct(share)
                ),
                Some(share),
                share >= min,
            )
        }
    };
    Claim::new(
        "mnist-higher-accuracy",
        "Sec. 5.2",
        "Accuracies are higher overall for MNIST than for Fashion-MNIST.",
        format!(
            "MNIST's test accuracy is higher in at least {} of the (network shape, layer, system) comparisons with the same shape trained on Fashion-MNIST (the network's own accuracy included)",
            pct(min)
        ),
        vec![row],
    )
    .sweeping(&e.t, &["majority_share_min"])
}

pub fn mnist_narrow_discrete_anomaly(e: &Evidence) -> Claim {
    let min = e.t.anomaly_min.value;
    let scope = "mnist";
    let row = if !e.has_dataset(scope) {
        Row::not_measured(scope, "MNIST is not in this run")
    } else {
        let sweep = e.sweep(scope, true);
        match sweep.first() {
            None => Row::not_measured(scope, "no MNIST width sweep of 3 or more networks"),
            Some(narrow) => {
                let acc: Option<Vec<f64>> = (1..=narrow.depth)
                    .map(|l| e.accuracy(narrow, l, "discrete"))
                    .collect();
                match acc {
                    Some(acc) if acc.len() >= 3 => {
                        let (dip, layer) = (1..acc.len() - 1)
                            .map(|i| (acc[i - 1].min(acc[i + 1]) - acc[i], i + 1))
                            .max_by(|a, b| a.0.total_cmp(&b.0))
                            .expect("3 or more layers");
                        Row::measured(
                            scope,
                            format!(
                                "{}: deepest dip of the discrete system {} points below both neighbours, at layer {layer}",
                                narrow.shape(),
                                points(dip)
                            ),
                            Some(dip),
                            dip >= min,
                        )
                    }
                    _ => Row::not_measured(
                        scope,
                        "the narrowest network has fewer than 3 hidden layers with accuracies",
                    ),
                }
            }
        }
    };
    Claim::new(
        "mnist-narrow-discrete-anomaly",
        "Sec. 5.2",
        "For MNIST, the discrete system of the narrowest (width 20) network shows an anomalously low accuracy at one of its layers.",
        format!(
            "in the narrowest network of MNIST's width sweep, some hidden layer's discrete-system test accuracy is at least {} points below both neighbouring layers'",
            points(min)
        ),
        vec![row],
    )
    .sweeping(&e.t, &["anomaly_min"])
}
