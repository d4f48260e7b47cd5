//! What determines a trained network, as plain data: the activation, loss, optimiser and
//! training settings, and the train stage's unit parameters. Kept apart from the network
//! (`mlp.rs`) and the training loop (`train.rs`) so that code reading a network's
//! parameters (activations, figures, results) does not take the loop, the shuffle or
//! libtorch into its code fingerprint.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// The paper's default.
    #[default]
    Relu,
    Sigmoid,
}

impl Activation {
    pub const ALL: [Activation; 2] = [Activation::Relu, Activation::Sigmoid];

    /// The name used in configurations, unit ids and tables (as serialised).
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Sigmoid => "sigmoid",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Loss {
    /// Linear outputs, mean squared error against one-hot targets (the paper's default).
    #[default]
    Mse,
    /// Softmax outputs with cross-entropy.
    Ce,
}

impl Loss {
    pub const ALL: [Loss; 2] = [Loss::Mse, Loss::Ce];

    /// The name used in configurations, unit ids and tables (as serialised).
    pub fn name(self) -> &'static str {
        match self {
            Loss::Mse => "mse",
            Loss::Ce => "ce",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Optimizer {
    Adam,
    Sgd,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSettings {
    pub loss: Loss,
    pub optimizer: Optimizer,
    pub lr: f64,
    pub batch_size: usize,
    pub max_epochs: usize,
    /// Stop once validation error has not improved for this many epochs.
    pub patience: Option<usize>,
    pub seed: u64,
    /// Save the weights after these epochs (0 is the initialisation).
    pub snapshot_epochs: Vec<usize>,
    /// Save the weights after these optimiser steps of the first epoch (1-based).
    pub snapshot_steps: Vec<usize>,
}

/// Everything that determines one trained network: the unit's parameters. The training
/// settings are embedded (flattened: the unit's parameters keep one flat object).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkParams {
    pub dataset: String,
    pub depth: usize,
    pub width: usize,
    pub activation: Activation,
    /// Train on the first N samples of the `train` split only (0: all of it).
    pub train_subset: usize,
    #[serde(flatten)]
    pub settings: TrainSettings,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_serialised_forms() {
        for a in Activation::ALL {
            assert_eq!(serde_json::to_value(a).unwrap(), a.name());
        }
        for l in Loss::ALL {
            assert_eq!(serde_json::to_value(l).unwrap(), l.name());
        }
    }
}
