//! What the claims read: [`ClaimData`], the analysis tables indexed once (every metric
//! per seed, every node's per-class activation fractions per seed), and [`Evidence`], a
//! view of it through a set of seeds and a set of thresholds. The robustness assessment
//! builds many views of one `ClaimData`: one per threshold value and per seed subset.

use super::thresholds::Thresholds;
use crate::results::{FractionRow, MetricRow, NetKey};
use std::collections::{BTreeMap, BTreeSet};

/// (network, snapshot, layer, system, split, metric) of an all-classes metric.
type MetricKey = (NetKey, String, usize, String, String, String);

/// Per seed, per node, per class: the share of the class's train samples that switch
/// the node on.
type NodeFractions = Vec<(i64, Vec<Vec<f64>>)>;

/// Per seed, per node: (class, fraction) pairs as read, before sorting by class.
type BySeed = BTreeMap<i64, BTreeMap<usize, Vec<(usize, f64)>>>;

/// The analysis tables as the claims read them.
#[derive(Debug, Default)]
pub struct ClaimData {
    metrics: BTreeMap<MetricKey, Vec<(i64, f64)>>,
    fractions: BTreeMap<(NetKey, String, usize), NodeFractions>,
    /// Per network (sorted), the snapshots analysed and the seeds that have each.
    snapshots: BTreeMap<NetKey, BTreeMap<String, BTreeSet<i64>>>,
    /// Every training seed in the tables.
    pub seeds: BTreeSet<i64>,
    /// The configured datasets, in order.
    pub datasets: Vec<String>,
    /// Mean number of test samples per class, per dataset (the ceiling of perplexity).
    pub class_size: BTreeMap<String, f64>,
    /// The seeds of each network whose training reached the epoch cap before its stopping
    /// rule fired (from the train entries; empty where unknown).
    pub capped: BTreeMap<NetKey, Vec<i64>>,
}

impl ClaimData {
    /// Indexes the all-classes metric rows and the train-split activation fractions.
    pub fn new(
        rows: &[MetricRow],
        fractions: &[FractionRow],
        datasets: Vec<String>,
        class_size: BTreeMap<String, f64>,
    ) -> ClaimData {
        let mut d = ClaimData {
            datasets,
            class_size,
            ..ClaimData::default()
        };
        for r in rows.iter().filter(|r| r.class < 0) {
            d.metrics
                .entry((
                    r.net.clone(),
                    r.snapshot.clone(),
                    r.layer,
                    r.system.clone(),
                    r.split.clone(),
                    r.metric.clone(),
                ))
                .or_default()
                .push((r.seed, r.value));
            d.seeds.insert(r.seed);
            d.snapshots
                .entry(r.net.clone())
                .or_default()
                .entry(r.snapshot.clone())
                .or_default()
                .insert(r.seed);
        }
        let mut nodes: BTreeMap<(NetKey, String, usize), BySeed> = BTreeMap::new();
        for f in fractions
            .iter()
            .filter(|f| f.split == "train" && f.layer <= f.net.depth)
        {
            nodes
                .entry((f.net.clone(), f.snapshot.clone(), f.layer))
                .or_default()
                .entry(f.seed)
                .or_default()
                .entry(f.node)
                .or_default()
                .push((f.class, f.value));
        }
        for (k, seeds) in nodes {
            let per_seed = seeds
                .into_iter()
                .map(|(seed, nodes)| {
                    let nodes = nodes
                        .into_values()
                        .map(|mut classes| {
                            classes.sort_by_key(|c| c.0);
                            classes.into_iter().map(|c| c.1).collect()
                        })
                        .collect();
                    (seed, nodes)
                })
                .collect();
            d.fractions.insert(k, per_seed);
        }
        d
    }
}

/// How many of a layer's nodes are of each kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeCounts {
    pub nodes: usize,
    pub selective: usize,
    pub mixed: usize,
}

impl ClaimData {
    /// Per network, seed, snapshot and hidden layer with activation fractions: how many
    /// nodes are selective and how many mixed at `level`.
    pub fn node_counts(&self, level: f64) -> Vec<(&NetKey, i64, &str, usize, NodeCounts)> {
        let mut out = Vec::new();
        for ((net, snapshot, layer), seeds) in &self.fractions {
            for (seed, nodes) in seeds {
                let mut c = NodeCounts {
                    nodes: nodes.len(),
                    ..NodeCounts::default()
                };
                for classes in nodes {
                    match node_kind(classes, level) {
                        NodeKind::Selective => c.selective += 1,
                        NodeKind::Mixed => c.mixed += 1,
                        NodeKind::Other => {}
                    }
                }
                if c.nodes > 0 {
                    out.push((net, *seed, snapshot.as_str(), *layer, c));
                }
            }
        }
        out
    }
}

/// The tables seen through a set of seeds (every metric is the mean over those seeds
/// that have it) and a set of thresholds.
pub struct Evidence<'a> {
    pub data: &'a ClaimData,
    pub seeds: BTreeSet<i64>,
    pub t: Thresholds,
    /// The snapshot each network is judged by: `best` (the paper's early stopping on
    /// validation error), or `final` (the protocol variant without it).
    pub kept: &'a str,
    /// The networks with a kept snapshot from one of the seeds, sorted.
    pub nets: Vec<NetKey>,
    pub datasets: &'a [String],
}

/// How a node behaves on the classes: class-selective, undecided on several classes, or
/// neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Selective,
    Mixed,
    Other,
}

/// A node is selective if every class's fraction is at most `level` or at least 1 -
/// `level`, and it is on for some class and off for another (a node off, or on, for
/// everything tells no classes apart); mixed if it is undecided (strictly between) on
/// two or more classes.
pub fn node_kind(classes: &[f64], level: f64) -> NodeKind {
    let on = classes.iter().any(|&f| f >= 1.0 - level);
    let off = classes.iter().any(|&f| f <= level);
    let undecided = classes
        .iter()
        .filter(|&&f| f > level && f < 1.0 - level)
        .count();
    if undecided == 0 && on && off {
        NodeKind::Selective
    } else if undecided >= 2 {
        NodeKind::Mixed
    } else {
        NodeKind::Other
    }
}

impl<'a> Evidence<'a> {
    pub fn new(data: &'a ClaimData, seeds: BTreeSet<i64>, t: Thresholds, kept: &'a str) -> Self {
        let nets = data
            .snapshots
            .iter()
            .filter(|(_, snaps)| {
                snaps
                    .get(kept)
                    .is_some_and(|have| have.iter().any(|s| seeds.contains(s)))
            })
            .map(|(n, _)| n.clone())
            .collect();
        Evidence {
            data,
            seeds,
            t,
            kept,
            nets,
            datasets: &data.datasets,
        }
    }

    /// One metric of a network's snapshot over all classes, mean over the seeds.
    pub fn metric(
        &self,
        net: &NetKey,
        snapshot: &str,
        layer: usize,
        system: &str,
        split: &str,
        metric: &str,
    ) -> Option<f64> {
        let key = (
            net.clone(),
            snapshot.to_string(),
            layer,
            system.to_string(),
            split.to_string(),
            metric.to_string(),
        );
        let values: Vec<f64> = self
            .data
            .metrics
            .get(&key)?
            .iter()
            .filter(|(s, _)| self.seeds.contains(s))
            .map(|(_, v)| *v)
            .collect();
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    }

    /// Mean test perplexity of a hidden layer (kept snapshot).
    pub fn perplexity(&self, net: &NetKey, layer: usize) -> Option<f64> {
        self.metric(net, self.kept, layer, "patterns", "test", "mean_perplexity")
    }

    /// The best snapshot's test perplexity of every hidden layer, if all are there.
    pub fn profile(&self, net: &NetKey) -> Option<Vec<f64>> {
        (1..=net.depth).map(|l| self.perplexity(net, l)).collect()
    }

    /// Test accuracy of a system in a layer (the network's own: layer depth + 1).
    pub fn accuracy(&self, net: &NetKey, layer: usize, system: &str) -> Option<f64> {
        self.metric(net, self.kept, layer, system, "test", "accuracy")
    }

    /// The network's own test accuracy (best snapshot).
    pub fn network_accuracy(&self, net: &NetKey) -> Option<f64> {
        self.accuracy(net, net.depth + 1, "network")
    }

    /// The network's own test error (best snapshot).
    pub fn test_error(&self, net: &NetKey) -> Option<f64> {
        Some(1.0 - self.network_accuracy(net)?)
    }

    /// The snapshots analysed for a network.
    pub fn snapshots(&self, net: &NetKey) -> BTreeSet<&str> {
        self.data
            .snapshots
            .get(net)
            .into_iter()
            .flat_map(|snaps| snaps.keys())
            .map(|s| s.as_str())
            .collect()
    }

    /// The share of a layer's nodes of `kind` (at the configured selectivity level),
    /// mean over the seeds.
    pub fn node_share(
        &self,
        net: &NetKey,
        snapshot: &str,
        layer: usize,
        kind: NodeKind,
    ) -> Option<f64> {
        let level = self.t.selective_fraction.value;
        let per_seed: Vec<f64> = self
            .data
            .fractions
            .get(&(net.clone(), snapshot.to_string(), layer))?
            .iter()
            .filter(|(s, nodes)| self.seeds.contains(s) && !nodes.is_empty())
            .map(|(_, nodes)| {
                let n = nodes.iter().filter(|c| node_kind(c, level) == kind).count();
                n as f64 / nodes.len() as f64
            })
            .collect();
        (!per_seed.is_empty()).then(|| per_seed.iter().sum::<f64>() / per_seed.len() as f64)
    }

    /// The share of class-selective nodes.
    pub fn selective(&self, net: &NetKey, snapshot: &str, layer: usize) -> Option<f64> {
        self.node_share(net, snapshot, layer, NodeKind::Selective)
    }

    /// The dataset's networks of the paper's sweeps (its activation, loss, optimiser).
    pub fn paper_nets<'e>(&'e self, dataset: &'e str) -> impl Iterator<Item = &'e NetKey> {
        self.nets
            .iter()
            .filter(move |n| n.dataset == dataset && n.is_paper_default())
    }

    /// Those deep and wide enough for the late-layer claims.
    pub fn deep_nets<'e>(&'e self, dataset: &'e str) -> impl Iterator<Item = &'e NetKey> {
        self.paper_nets(dataset)
            .filter(|n| n.depth >= self.t.deep_min_depth && n.width >= self.t.wide_min_width)
    }

    /// "networks of depth >= 4 and width >= 100", as claims name their networks.
    pub fn deep_text(&self) -> String {
        format!(
            "networks of depth >= {} and width >= {}",
            self.t.deep_min_depth, self.t.wide_min_width
        )
    }

    /// The dataset's sweep over `vary` (depth or width): the paper networks that share
    /// the value of the other dimension held by the most networks, at least 3, sorted
    /// along the sweep. Ties go to the larger held value.
    pub fn sweep<'e>(&'e self, dataset: &'e str, vary_width: bool) -> Vec<&'e NetKey> {
        let held = |n: &NetKey| if vary_width { n.depth } else { n.width };
        let varied = |n: &NetKey| if vary_width { n.width } else { n.depth };
        let mut groups: BTreeMap<usize, Vec<&NetKey>> = BTreeMap::new();
        for n in self.paper_nets(dataset) {
            groups.entry(held(n)).or_default().push(n);
        }
        let Some((_, mut nets)) = groups
            .into_iter()
            .filter(|(_, v)| v.len() >= 3)
            .max_by_key(|(h, v)| (v.len(), *h))
        else {
            return Vec::new();
        };
        nets.sort_by_key(|n| varied(n));
        nets
    }

    pub fn class_size(&self, dataset: &str) -> Option<f64> {
        self.data.class_size.get(dataset).copied()
    }

    pub fn has_dataset(&self, dataset: &str) -> bool {
        self.datasets.iter().any(|d| d == dataset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_are_selective_mixed_or_neither() {
        // On for one class, off for the other: selective.
        assert_eq!(node_kind(&[0.01, 0.99], 0.05), NodeKind::Selective);
        // Off (or on) for everything tells no classes apart.
        assert_eq!(node_kind(&[0.0, 0.02], 0.05), NodeKind::Other);
        assert_eq!(node_kind(&[1.0, 0.97], 0.05), NodeKind::Other);
        // Undecided on one class only: neither.
        assert_eq!(node_kind(&[0.01, 0.5, 0.99], 0.05), NodeKind::Other);
        // Undecided on two classes: mixed.
        assert_eq!(node_kind(&[0.3, 0.5, 0.99], 0.05), NodeKind::Mixed);
        // The level decides: 0.08 is undecided at 5%, extreme at 10%.
        assert_eq!(node_kind(&[0.08, 0.92], 0.05), NodeKind::Mixed);
        assert_eq!(node_kind(&[0.08, 0.92], 0.10), NodeKind::Selective);
    }
}
