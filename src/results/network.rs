//! Which networks a reader looks at: the network identity the tables carry, sweeps, and
//! the analysis units (snapshots of trained networks) a figure reads.

use crate::model::settings::{training_label, Activation, Loss, NetworkParams, Optimizer};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// A network as the analysis tables name it: the training unit without its seed. Seeds
/// of one network are averaged; networks trained any other way differently (optimiser,
/// learning rate, stopping rule...) are kept apart.
///
/// It is also how `[figures]` names a network: activation, loss and optimiser default to
/// the paper's (`relu`, `mse`, `adam`), and a selection never names `training` (empty:
/// whatever the configuration trains; see [`NetKey::selects`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetKey {
    pub dataset: String,
    pub depth: usize,
    pub width: usize,
    #[serde(default)]
    pub activation: Activation,
    #[serde(default)]
    pub loss: Loss,
    #[serde(default)]
    pub optimizer: Optimizer,
    /// The other training settings as one label ([`training_label`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub training: String,
}

impl NetKey {
    /// The network a train unit's parameters describe, without its seed.
    pub fn of(p: &NetworkParams) -> Self {
        NetKey {
            dataset: p.dataset.clone(),
            depth: p.depth,
            width: p.width,
            activation: p.activation,
            loss: p.settings.loss,
            optimizer: p.settings.optimizer,
            training: training_label(p),
        }
    }

    /// Whether this network is the one a selection names: the same dataset, shape,
    /// activation, loss and optimiser, and the same training label unless the selection
    /// leaves it empty.
    pub fn selects(&self, selection: &NetKey) -> bool {
        self.dataset == selection.dataset
            && self.depth == selection.depth
            && self.width == selection.width
            && self.activation == selection.activation
            && self.loss == selection.loss
            && self.optimizer == selection.optimizer
            && (selection.training.is_empty() || self.training == selection.training)
    }

    /// A network with the paper's activation and loss.
    pub fn new(dataset: &str, depth: usize, width: usize) -> Self {
        NetKey {
            dataset: dataset.into(),
            depth,
            width,
            activation: Activation::default(),
            loss: Loss::default(),
            optimizer: Optimizer::default(),
            training: String::new(),
        }
    }

    /// Trained with the paper's default activation, loss and optimiser (the networks of
    /// its sweeps).
    pub fn is_paper_default(&self) -> bool {
        self.activation == Activation::default()
            && self.loss == Loss::default()
            && self.optimizer == Optimizer::default()
    }

    /// Depth x width, as figures and claims label a network.
    pub fn shape(&self) -> String {
        format!("{}x{}", self.depth, self.width)
    }

    /// Networks sort by dataset, depth, width, then activation, loss and optimiser by
    /// name, then training label.
    fn order(
        &self,
    ) -> (
        &str,
        usize,
        usize,
        &'static str,
        &'static str,
        &'static str,
        &str,
    ) {
        (
            &self.dataset,
            self.depth,
            self.width,
            self.activation.name(),
            self.loss.name(),
            self.optimizer.name(),
            &self.training,
        )
    }
}

impl Ord for NetKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.order().cmp(&other.order())
    }
}

impl PartialOrd for NetKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The dimension a sweep varies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    Depth,
    Width,
}

impl Axis {
    pub const BOTH: [Axis; 2] = [Axis::Depth, Axis::Width];

    pub fn name(self) -> &'static str {
        match self {
            Axis::Depth => "depth",
            Axis::Width => "width",
        }
    }

    /// The network's value along this axis.
    pub fn of(self, net: &NetKey) -> usize {
        match self {
            Axis::Depth => net.depth,
            Axis::Width => net.width,
        }
    }

    pub fn other(self) -> Axis {
        match self {
            Axis::Depth => Axis::Width,
            Axis::Width => Axis::Depth,
        }
    }
}

/// A sweep: networks that vary along `axis` with the other dimension held at `fixed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sweep {
    pub axis: Axis,
    pub fixed: usize,
}

impl Sweep {
    /// The depth sweep at this width.
    pub fn over_depth(width: usize) -> Self {
        Sweep {
            axis: Axis::Depth,
            fixed: width,
        }
    }

    /// The width sweep at this depth.
    pub fn over_width(depth: usize) -> Self {
        Sweep {
            axis: Axis::Width,
            fixed: depth,
        }
    }

    /// Whether the network lies on the sweep (whatever its activation and loss).
    pub fn holds(&self, net: &NetKey) -> bool {
        self.axis.other().of(net) == self.fixed
    }

    /// The network's position along the sweep.
    pub fn x(&self, net: &NetKey) -> usize {
        self.axis.of(net)
    }

    /// "width 100", "depth 10": what the sweep holds fixed.
    pub fn held(&self) -> String {
        format!("{} {}", self.axis.other().name(), self.fixed)
    }

    /// "depth 4", "width 100": the network as a line of the sweep.
    pub fn label(&self, net: &NetKey) -> String {
        format!("{} {}", self.axis.name(), self.x(net))
    }
}

/// The snapshot every figure and claim reads unless it says otherwise.
pub const BEST: &str = "best";

/// Sorts snapshot labels in training order: init, steps, epochs, then `best`.
pub fn snapshot_order(label: &str) -> (u8, i64) {
    match label.split_once('-') {
        Some(("step", n)) => (0, n.parse().unwrap_or(0)),
        Some(("epoch", n)) => (1, n.parse().unwrap_or(0)),
        _ if label == "init" => (0, -1),
        _ => (2, 0),
    }
}

/// An analysis unit: one snapshot of one trained network.
#[derive(Debug, Clone)]
pub struct AnalysisUnit<'a> {
    pub id: &'a str,
    pub net: NetKey,
    pub snapshot: &'a str,
}

impl<'a> AnalysisUnit<'a> {
    /// The analysis units among `ids` (`TRAIN_UNIT@SNAPSHOT`) whose training unit is one of
    /// `nets`, in the order of `ids`.
    pub fn list(
        ids: impl IntoIterator<Item = &'a str>,
        nets: &BTreeMap<&str, NetKey>,
    ) -> Vec<AnalysisUnit<'a>> {
        ids.into_iter()
            .filter_map(|id| {
                let (train_id, snapshot) = id.split_once('@')?;
                Some(AnalysisUnit {
                    id,
                    net: nets.get(train_id)?.clone(),
                    snapshot,
                })
            })
            .collect()
    }

    pub fn is_best(&self) -> bool {
        self.snapshot == BEST
    }

    pub fn is_init(&self) -> bool {
        self.snapshot == "init"
    }

    /// A snapshot after a whole epoch (`epoch-E`).
    pub fn is_epoch(&self) -> bool {
        self.snapshot.starts_with("epoch-")
    }

    /// A snapshot after an optimiser step of the first epoch (`step-S`).
    pub fn is_step(&self) -> bool {
        self.snapshot.starts_with("step-")
    }

    /// The best snapshot of a network of the paper's sweeps that lies on `sweep`.
    pub fn best_on(&self, sweep: Sweep) -> bool {
        self.is_best() && self.net.is_paper_default() && sweep.holds(&self.net)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_sort_by_the_names_of_activation_and_loss() {
        let mut ce = NetKey::new("mnist", 4, 100);
        ce.loss = Loss::Ce;
        let mse = NetKey::new("mnist", 4, 100);
        // "ce" < "mse", as the tables' text columns sort.
        assert!(ce < mse);
        assert!(NetKey::new("mnist", 2, 100) < NetKey::new("mnist", 4, 20));
    }

    #[test]
    fn a_selection_in_the_configuration_defaults_to_the_paper() {
        let net: NetKey = serde_json::from_value(
            serde_json::json!({"dataset": "mnist", "depth": 6, "width": 100}),
        )
        .unwrap();
        assert_eq!(net, NetKey::new("mnist", 6, 100));
        assert!(net.is_paper_default());
        let bad =
            serde_json::json!({"dataset": "mnist", "depth": 6, "width": 100, "activation": "tanh"});
        assert!(serde_json::from_value::<NetKey>(bad).is_err());
    }

    #[test]
    fn sweeps_and_snapshots() {
        let net = NetKey::new("mnist", 4, 60);
        assert!(Sweep::over_width(4).holds(&net) && !Sweep::over_depth(100).holds(&net));
        assert_eq!(Sweep::over_width(4).label(&net), "width 60");
        assert_eq!(Sweep::over_width(4).held(), "depth 4");
        let mut labels = vec!["best", "epoch-2", "step-10", "init", "epoch-1", "step-1"];
        labels.sort_by_key(|s| snapshot_order(s));
        assert_eq!(
            labels,
            ["init", "step-1", "step-10", "epoch-1", "epoch-2", "best"]
        );
        let nets = BTreeMap::from([("n1", net.clone())]);
        let units = AnalysisUnit::list(["n1@best", "n2@best", "n1@step-1", "bad"], &nets);
        assert_eq!(units.len(), 2);
        assert!(units[0].best_on(Sweep::over_width(4)) && units[1].is_step());
    }
}
