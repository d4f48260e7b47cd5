//! Quantities derived from the analysis rows: means and ranges over seeds, medians,
//! the layer where perplexity falls below a threshold, the share of class-selective nodes.

use super::network::{NetKey, BEST};
use super::tables::{FractionRow, MetricRow};
use std::collections::BTreeMap;

/// (x, y) points of a line.
pub type Points = Vec<(f64, f64)>;
/// (x, low, high) of a band.
pub type Band = Vec<(f64, f64, f64)>;

/// The mean of the finite values at each x (x to 1/1000), and their min-max band; the
/// band is empty when there is no spread (a single seed).
pub fn aggregate(values: impl IntoIterator<Item = (f64, f64)>) -> (Points, Band) {
    let mut by_x: BTreeMap<i64, (f64, Vec<f64>)> = BTreeMap::new();
    for (x, y) in values {
        if y.is_finite() {
            by_x.entry((x * 1000.0).round() as i64)
                .or_insert((x, Vec::new()))
                .1
                .push(y);
        }
    }
    let mut points = Vec::new();
    let mut band = Vec::new();
    for (x, ys) in by_x.into_values() {
        let mean = ys.iter().sum::<f64>() / ys.len() as f64;
        let lo = ys.iter().copied().fold(f64::MAX, f64::min);
        let hi = ys.iter().copied().fold(f64::MIN, f64::max);
        points.push((x, mean));
        band.push((x, lo, hi));
    }
    if band.iter().all(|b| b.1 == b.2) {
        band.clear();
    }
    (points, band)
}

pub fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// Median (the mean of the middle pair for an even count), range and count of some
/// values. Infinite values count (a network that never reaches a level), NaN does not.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub n: usize,
}

impl Summary {
    pub fn of(mut values: Vec<f64>) -> Option<Summary> {
        values.retain(|v| !v.is_nan());
        values.sort_by(f64::total_cmp);
        let n = values.len();
        let median = match n {
            0 => return None,
            _ if n % 2 == 1 => values[n / 2],
            // The middle pair of [.., x, inf, ..] has an infinite mean, as it should.
            _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
        };
        Some(Summary {
            median,
            min: values[0],
            max: values[n - 1],
            n,
        })
    }
}

/// Spearman's rank correlation of (x, y) pairs (ties get their mean rank); None for fewer
/// than 3 pairs or when either side is constant.
pub fn spearman(pairs: &[(f64, f64)]) -> Option<f64> {
    if pairs.len() < 3 {
        return None;
    }
    let ranks = |values: Vec<f64>| -> Vec<f64> {
        let mut order: Vec<usize> = (0..values.len()).collect();
        order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
        let mut ranks = vec![0.0; values.len()];
        let mut i = 0;
        while i < order.len() {
            let mut j = i;
            while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
                j += 1;
            }
            // Positions i..=j tie: each gets the mean of ranks i+1..=j+1.
            let rank = (i + j) as f64 / 2.0 + 1.0;
            for &k in &order[i..=j] {
                ranks[k] = rank;
            }
            i = j + 1;
        }
        ranks
    };
    let rx = ranks(pairs.iter().map(|p| p.0).collect());
    let ry = ranks(pairs.iter().map(|p| p.1).collect());
    let n = rx.len() as f64;
    let (mx, my) = (rx.iter().sum::<f64>() / n, ry.iter().sum::<f64>() / n);
    let cov: f64 = rx.iter().zip(&ry).map(|(a, b)| (a - mx) * (b - my)).sum();
    let vx: f64 = rx.iter().map(|a| (a - mx).powi(2)).sum();
    let vy: f64 = ry.iter().map(|b| (b - my).powi(2)).sum();
    (vx > 0.0 && vy > 0.0).then(|| cov / (vx * vy).sqrt())
}

/// The distinct networks of some rows, sorted.
pub fn nets_of(rows: &[MetricRow]) -> Vec<NetKey> {
    let mut nets: Vec<NetKey> = rows.iter().map(|r| r.net.clone()).collect();
    nets.sort();
    nets.dedup();
    nets
}

/// The rows of the best snapshots.
pub fn best(rows: &[MetricRow]) -> Vec<&MetricRow> {
    rows.iter().filter(|r| r.snapshot == BEST).collect()
}

/// The mean perplexity rows of the hidden layers on one split.
pub fn mean_perplexity<'a>(
    rows: &'a [MetricRow],
    split: &'a str,
) -> impl Iterator<Item = &'a MetricRow> {
    rows.iter().filter(move |r| {
        r.metric == "mean_perplexity" && r.split == split && r.layer <= r.net.depth
    })
}

/// The network's own test accuracy rows.
pub fn network_test_accuracy(rows: &[MetricRow]) -> impl Iterator<Item = &MetricRow> {
    rows.iter()
        .filter(|r| r.system == "network" && r.split == "test" && r.metric == "accuracy")
}

/// One metric of one network, layer, system and split over all classes, as the mean
/// over the rows (the seeds) that have it.
pub fn seed_mean<'a>(
    rows: impl IntoIterator<Item = &'a MetricRow>,
    net: &NetKey,
    layer: usize,
    system: &str,
    split: &str,
    metric: &str,
) -> Option<f64> {
    let v: Vec<f64> = rows
        .into_iter()
        .filter(|r| {
            &r.net == net
                && r.layer == layer
                && r.system == system
                && r.split == split
                && r.metric == metric
                && r.class < 0
        })
        .map(|r| r.value)
        .collect();
    mean(&v)
}

/// The first hidden layer whose mean test perplexity (mean over the rows' seeds and
/// snapshots) is below the threshold, or None.
pub fn transition_layer(rows: &[MetricRow], net: &NetKey, threshold: f64) -> Option<f64> {
    let (points, _) = aggregate(
        mean_perplexity(rows, "test")
            .filter(|r| &r.net == net)
            .map(|r| (r.layer as f64, r.value)),
    );
    points.iter().find(|p| p.1 < threshold).map(|p| p.0)
}

/// Per network and hidden layer, the share of nodes (one value per seed) that are
/// class-selective on the train split: every class's activation fraction is at most
/// `threshold` or at least 1 - `threshold`, and the node tells classes apart (on for some
/// class, off for another). A node off, or on, for every sample of every class (common in
/// deep layers at initialisation) is not selective. The rows should come from one snapshot
/// per network.
pub fn selective_shares<'a>(
    rows: impl IntoIterator<Item = &'a FractionRow>,
    threshold: f64,
) -> BTreeMap<(NetKey, usize), Vec<f64>> {
    // (every class extreme, some class on, some class off) of a node so far.
    type Seen = (bool, bool, bool);
    let mut seen: BTreeMap<(&NetKey, i64, usize, usize), Seen> = BTreeMap::new();
    for r in rows {
        if r.split != "train" || r.layer > r.net.depth {
            continue;
        }
        let (on, off) = (r.value >= 1.0 - threshold, r.value <= threshold);
        let e = seen
            .entry((&r.net, r.seed, r.layer, r.node))
            .or_insert((true, false, false));
        e.0 &= on || off;
        e.1 |= on;
        e.2 |= off;
    }
    let nodes = seen
        .into_iter()
        .map(|(k, (extreme, on, off))| (k, extreme && on && off));
    let mut per_seed: BTreeMap<(&NetKey, i64, usize), (usize, usize)> = BTreeMap::new();
    for ((net, seed, layer, _), selective) in nodes {
        let e = per_seed.entry((net, seed, layer)).or_insert((0, 0));
        e.0 += selective as usize;
        e.1 += 1;
    }
    let mut share: BTreeMap<(NetKey, usize), Vec<f64>> = BTreeMap::new();
    for ((net, _, layer), (s, n)) in per_seed {
        share
            .entry((net.clone(), layer))
            .or_default()
            .push(s as f64 / n as f64);
    }
    share
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(seed: i64, layer: usize, value: f64) -> MetricRow {
        MetricRow {
            net: NetKey::new("mnist", 3, 10),
            seed,
            snapshot: BEST.into(),
            epoch: 0,
            step: 0,
            layer,
            system: "patterns".into(),
            split: "test".into(),
            class: -1,
            metric: "mean_perplexity".into(),
            value,
        }
    }

    #[test]
    fn seeds_are_averaged_and_spread_into_a_band() {
        let (points, band) = aggregate([(1.0, 2.0), (1.0, 4.0), (2.0, f64::NAN), (2.0, 1.0)]);
        assert_eq!(points, [(1.0, 3.0), (2.0, 1.0)]);
        assert_eq!(band, [(1.0, 2.0, 4.0), (2.0, 1.0, 1.0)]);
        let (_, band) = aggregate([(1.0, 2.0), (2.0, 3.0)]);
        assert!(band.is_empty(), "no spread, no band");
    }

    #[test]
    fn the_transition_is_the_first_layer_below_the_threshold_on_average() {
        let rows = vec![
            row(1, 1, 900.0),
            row(1, 2, 1.5),
            row(2, 2, 3.0),
            row(1, 3, 1.2),
            row(2, 3, 1.0),
        ];
        let net = NetKey::new("mnist", 3, 10);
        assert_eq!(transition_layer(&rows, &net, 2.0), Some(3.0));
        assert_eq!(transition_layer(&rows, &net, 1.0), None);
        let refs: Vec<&MetricRow> = rows.iter().collect();
        assert_eq!(
            seed_mean(
                refs.iter().copied(),
                &net,
                2,
                "patterns",
                "test",
                "mean_perplexity"
            ),
            Some(2.25)
        );
    }

    #[test]
    fn a_median_of_an_even_count_is_the_mean_of_the_middle_pair() {
        let s = Summary::of(vec![3.0, 1.0, 4.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.n), (2.5, 1.0, 4.0, 4));
        assert_eq!(Summary::of(vec![5.0, 1.0, 3.0]).unwrap().median, 3.0);
        let never = Summary::of(vec![2.0, f64::INFINITY, f64::INFINITY, 1.0]).unwrap();
        assert_eq!(never.median, f64::INFINITY, "half never transition");
        assert!(Summary::of(vec![f64::NAN]).is_none());
        assert!(Summary::of(Vec::new()).is_none());
    }

    #[test]
    fn spearman_matches_hand_computed_rank_correlations() {
        // Monotone but not linear: +1 and -1.
        assert_eq!(spearman(&[(1.0, 1.0), (2.0, 8.0), (3.0, 27.0)]), Some(1.0));
        assert_eq!(spearman(&[(1.0, 3.0), (2.0, 2.0), (3.0, 1.0)]), Some(-1.0));
        // y ranks 1, 3, 2, 4 against x ranks 1..4: d^2 = 0 + 1 + 1 + 0 = 2, so
        // rho = 1 - 6 * 2 / (4 * 15) = 0.8.
        let rho = spearman(&[(1.0, 10.0), (2.0, 30.0), (3.0, 20.0), (4.0, 40.0)]).unwrap();
        assert!((rho - 0.8).abs() < 1e-12, "{rho}");
        // Ties share their mean rank: y ranks 1.5, 1.5, 3 -> rho = 0.866.
        let rho = spearman(&[(1.0, 5.0), (2.0, 5.0), (3.0, 9.0)]).unwrap();
        assert!((rho - 0.75f64.sqrt()).abs() < 1e-12, "{rho}");
        assert_eq!(spearman(&[(1.0, 1.0), (2.0, 1.0), (3.0, 1.0)]), None);
        assert_eq!(spearman(&[(1.0, 1.0), (2.0, 2.0)]), None);
    }

    #[test]
    fn a_node_is_selective_if_every_class_is_near_0_or_1_and_classes_differ() {
        let frac = |node, class, value| FractionRow {
            net: NetKey::new("mnist", 1, 2),
            seed: 1,
            snapshot: BEST.into(),
            layer: 1,
            node,
            class,
            split: "train".into(),
            value,
        };
        // Node 0 separates the classes; node 1 is undecided on class 1; node 2 is off for
        // everything and node 3 on for everything: neither tells classes apart.
        let rows = vec![
            frac(0, 0, 0.01),
            frac(0, 1, 0.99),
            frac(1, 0, 0.01),
            frac(1, 1, 0.5),
            frac(2, 0, 0.0),
            frac(2, 1, 0.02),
            frac(3, 0, 1.0),
            frac(3, 1, 0.97),
        ];
        let shares = selective_shares(&rows, 0.05);
        assert_eq!(shares[&(NetKey::new("mnist", 1, 2), 1)], [0.25]);
    }
}
