//! What a claim reports ([`Claim`], one [`Row`] per dataset) and what it reads
//! ([`Evidence`]).

use super::thresholds::Thresholds;
use crate::results::derived::{best, seed_mean};
use crate::results::{MetricRow, NetKey};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Reproduced,
    NotReproduced,
    NotMeasured,
}

impl Verdict {
    pub fn of(ok: bool) -> Verdict {
        if ok {
            Verdict::Reproduced
        } else {
            Verdict::NotReproduced
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            Verdict::Reproduced => "reproduced",
            Verdict::NotReproduced => "not reproduced",
            Verdict::NotMeasured => "not measured",
        }
    }
}

/// One claim's verdict on one dataset (or on a comparison of datasets).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// The dataset, or "mnist vs fashion-mnist" for a comparison.
    pub scope: String,
    pub measured: String,
    pub verdict: Verdict,
    pub verdict_text: &'static str,
}

impl Row {
    pub fn measured(scope: &str, measured: String, ok: bool) -> Row {
        let verdict = Verdict::of(ok);
        Row {
            scope: scope.into(),
            measured,
            verdict,
            verdict_text: verdict.text(),
        }
    }

    /// Not measurable on this dataset, and why.
    pub fn not_measured(scope: &str, why: impl Into<String>) -> Row {
        Row {
            scope: scope.into(),
            measured: why.into(),
            verdict: Verdict::NotMeasured,
            verdict_text: Verdict::NotMeasured.text(),
        }
    }
}

/// One of the paper's findings: what it says (in this project's words), where, the
/// threshold, and a verdict per dataset. The claim is reproduced only if every dataset
/// that measures it reproduces it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Claim {
    pub id: &'static str,
    pub statement: String,
    /// Where the paper says it: section and figure.
    pub cite: &'static str,
    pub threshold: String,
    pub rows: Vec<Row>,
    pub verdict: Verdict,
    pub verdict_text: &'static str,
}

impl Claim {
    pub fn new(
        id: &'static str,
        cite: &'static str,
        statement: impl Into<String>,
        threshold: impl Into<String>,
        rows: Vec<Row>,
    ) -> Claim {
        let verdict = if rows.iter().any(|r| r.verdict == Verdict::NotReproduced) {
            Verdict::NotReproduced
        } else if rows.iter().any(|r| r.verdict == Verdict::Reproduced) {
            Verdict::Reproduced
        } else {
            Verdict::NotMeasured
        };
        Claim {
            id,
            statement: statement.into(),
            cite,
            threshold: threshold.into(),
            rows,
            verdict,
            verdict_text: verdict.text(),
        }
    }
}

/// What the claims read: the analysis rows, the datasets and their class sizes, the
/// share of class-selective nodes, and the thresholds.
pub struct Evidence<'a> {
    /// Every row of the analysis units read (all snapshots).
    pub rows: &'a [MetricRow],
    /// The rows of the best snapshots.
    pub best: Vec<&'a MetricRow>,
    /// The networks that have a best snapshot, sorted.
    pub nets: Vec<NetKey>,
    /// The configured datasets, in order.
    pub datasets: Vec<String>,
    /// Mean number of test samples per class, per dataset (the ceiling of perplexity).
    pub class_size: BTreeMap<String, f64>,
    /// Share of class-selective nodes per (network, snapshot, layer), mean over seeds.
    pub selective: super::SelectiveShares,
    pub t: Thresholds,
}

impl<'a> Evidence<'a> {
    pub fn new(
        rows: &'a [MetricRow],
        datasets: Vec<String>,
        class_size: BTreeMap<String, f64>,
        selective: super::SelectiveShares,
        t: Thresholds,
    ) -> Self {
        let best = best(rows);
        let mut nets: Vec<NetKey> = best.iter().map(|r| r.net.clone()).collect();
        nets.sort();
        nets.dedup();
        Evidence {
            rows,
            best,
            nets,
            datasets,
            class_size,
            selective,
            t,
        }
    }

    /// One metric of a network's snapshot over all classes, mean over seeds.
    pub fn metric(
        &self,
        net: &NetKey,
        snapshot: &str,
        layer: usize,
        system: &str,
        split: &str,
        metric: &str,
    ) -> Option<f64> {
        seed_mean(
            self.rows.iter().filter(|r| r.snapshot == snapshot),
            net,
            layer,
            system,
            split,
            metric,
        )
    }

    /// Mean test perplexity of a hidden layer (best snapshot).
    pub fn perplexity(&self, net: &NetKey, layer: usize) -> Option<f64> {
        self.metric(net, "best", layer, "patterns", "test", "mean_perplexity")
    }

    /// The best snapshot's test perplexity of every hidden layer, if all are there.
    pub fn profile(&self, net: &NetKey) -> Option<Vec<f64>> {
        (1..=net.depth).map(|l| self.perplexity(net, l)).collect()
    }

    /// Test accuracy of a system in a layer (the network's own: layer depth + 1).
    pub fn accuracy(&self, net: &NetKey, layer: usize, system: &str) -> Option<f64> {
        self.metric(net, "best", layer, system, "test", "accuracy")
    }

    /// The network's own test error (best snapshot).
    pub fn test_error(&self, net: &NetKey) -> Option<f64> {
        Some(1.0 - self.accuracy(net, net.depth + 1, "network")?)
    }

    /// The snapshots analysed for a network.
    pub fn snapshots(&self, net: &NetKey) -> BTreeSet<&str> {
        self.rows
            .iter()
            .filter(|r| &r.net == net)
            .map(|r| r.snapshot.as_str())
            .collect()
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
        self.class_size.get(dataset).copied()
    }
}
