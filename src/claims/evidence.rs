//! What a claim reports ([`Claim`]) and what it reads ([`Evidence`]).

use crate::results::derived::{best, seed_mean};
use crate::results::{MetricRow, NetKey};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Claim {
    pub claim: String,
    pub measured: String,
    pub threshold: String,
    /// "reproduced", "not reproduced" or "not measured".
    pub verdict: String,
}

impl Claim {
    /// A claim measured here, reproduced when `ok`.
    pub(super) fn measured(claim: &str, measured: String, threshold: &str, ok: bool) -> Claim {
        Claim {
            claim: claim.into(),
            measured,
            threshold: threshold.into(),
            verdict: if ok { "reproduced" } else { "not reproduced" }.into(),
        }
    }

    /// A claim this configuration cannot measure, and why.
    pub(super) fn not_measured(claim: &str, threshold: &str, why: &str) -> Claim {
        Claim {
            claim: claim.into(),
            measured: why.into(),
            threshold: threshold.into(),
            verdict: "not measured".into(),
        }
    }
}

/// What the claims read: the analysis rows and the networks that have a best snapshot.
pub struct Evidence<'a> {
    /// Every row of the analysis units read.
    pub rows: &'a [MetricRow],
    /// The rows of the best snapshots.
    pub best: Vec<&'a MetricRow>,
    /// The networks of those rows, sorted.
    pub nets: Vec<NetKey>,
    /// Mean number of test samples per class (the ceiling of perplexity).
    pub class_size: f64,
    /// The perplexity below which a layer counts as past the transition.
    pub transition_threshold: f64,
}

impl<'a> Evidence<'a> {
    pub fn new(rows: &'a [MetricRow], class_size: f64, transition_threshold: f64) -> Self {
        let best = best(rows);
        let mut nets: Vec<NetKey> = best.iter().map(|r| r.net.clone()).collect();
        nets.sort();
        nets.dedup();
        Evidence {
            rows,
            best,
            nets,
            class_size,
            transition_threshold,
        }
    }

    /// Mean test perplexity of a hidden layer (best snapshot, mean over seeds).
    pub(super) fn perplexity(&self, net: &NetKey, layer: usize) -> Option<f64> {
        seed_mean(
            &self.best,
            net,
            layer,
            "patterns",
            "test",
            "mean_perplexity",
        )
    }

    /// Test accuracy of a system in a layer (the network's own: layer depth + 1; best
    /// snapshot, mean over seeds).
    pub(super) fn accuracy(&self, net: &NetKey, layer: usize, system: &str) -> Option<f64> {
        seed_mean(&self.best, net, layer, system, "test", "accuracy")
    }

    /// The network's own test error.
    pub(super) fn test_error(&self, net: &NetKey) -> Option<f64> {
        Some(1.0 - self.accuracy(net, net.depth + 1, "network")?)
    }

    /// The networks of the paper's sweeps (its activation and loss).
    pub(super) fn paper_nets(&self) -> impl Iterator<Item = &NetKey> {
        self.nets.iter().filter(|n| n.is_paper_default())
    }

    /// Those with 4 or more hidden layers.
    pub(super) fn deep_nets(&self) -> impl Iterator<Item = &NetKey> {
        self.paper_nets().filter(|n| n.depth >= 4)
    }
}
