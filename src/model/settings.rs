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

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Optimizer {
    /// The paper's default.
    #[default]
    Adam,
    Sgd,
}

impl Optimizer {
    pub const ALL: [Optimizer; 2] = [Optimizer::Adam, Optimizer::Sgd];

    /// The name used in configurations and tables (as serialised).
    pub fn name(self) -> &'static str {
        match self {
            Optimizer::Adam => "adam",
            Optimizer::Sgd => "sgd",
        }
    }
}

/// A global learning rate: a fixed number, or `"select"`, chosen by the `lr` stage for
/// the network's training configuration (the paper: "manually adjusted to ensure training
/// set convergence").
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Rate {
    Fixed(f64),
    Selected(Select),
}

/// The word that asks for a selected rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Select {
    Select,
}

impl Rate {
    /// The number, once fixed or resolved.
    pub fn fixed(self) -> Option<f64> {
        match self {
            Rate::Fixed(r) => Some(r),
            Rate::Selected(_) => None,
        }
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rate::Fixed(r) => write!(f, "{r}"),
            Rate::Selected(_) => f.write_str("select"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSettings {
    pub loss: Loss,
    pub optimizer: Optimizer,
    pub lr: Rate,
    pub batch_size: usize,
    /// The cap: no rule trains longer than this.
    pub max_epochs: usize,
    /// When training ends before `max_epochs`.
    pub stop: Stop,
    pub seed: u64,
    /// Save the weights after these epochs (0 is the initialisation).
    pub snapshot_epochs: Vec<usize>,
    /// Save the weights after these optimiser steps of the first epoch (1-based).
    pub snapshot_steps: Vec<usize>,
}

/// When training stops (always at `max_epochs` at the latest). Whatever the rule, the
/// network kept as `best` is the epoch with the smallest validation error up to the
/// stopping epoch, and `final` is the stopping epoch itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "lowercase", deny_unknown_fields)]
pub enum Stop {
    /// Train for `max_epochs`.
    Epochs,
    /// Stop once the validation error has not improved for `patience` epochs.
    Patience { patience: usize },
    /// The paper's rule (Sec. 3.1: training-set convergence): stop at the first epoch `e`
    /// where the mean training loss of the last `window` epochs (`e - window + 1 ..= e`)
    /// is less than `tolerance` (a fraction) below that of the `window` epochs before
    /// them. Means over a window, because the loss of single epochs is noisy once it
    /// is small.
    Converged { window: usize, tolerance: f64 },
}

impl Stop {
    /// The rule in words, as the report's methods state it.
    pub fn describe(&self, max_epochs: usize) -> String {
        match self {
            Stop::Epochs => format!("train for {max_epochs} epochs"),
            Stop::Patience { patience } => format!(
                "stop when the validation error has not improved for {patience} epochs (at most {max_epochs})"
            ),
            Stop::Converged { window, tolerance } => format!(
                "stop when the mean training loss of the last {window} epochs is less than {}% below that of the {window} epochs before (training-set convergence; at most {max_epochs} epochs)",
                100.0 * tolerance
            ),
        }
    }

    /// A short form for labels: `converged(10, 1%)`, `patience(10)`, `epochs`.
    pub fn short(&self) -> String {
        match self {
            Stop::Epochs => "epochs".into(),
            Stop::Patience { patience } => format!("patience({patience})"),
            Stop::Converged { window, tolerance } => {
                format!("converged({window}, {}%)", 100.0 * tolerance)
            }
        }
    }
}

/// The training settings of a network other than its dataset, shape, activation, loss,
/// optimiser and seed, as one canonical label: networks that differ only in their seed
/// share it, networks trained differently do not. The analysis tables carry it so that
/// readers group seeds of one training setup and nothing else.
pub fn training_label(p: &NetworkParams) -> String {
    let s = &p.settings;
    let subset = if p.train_subset == 0 {
        String::new()
    } else {
        format!(" subset={}", p.train_subset)
    };
    format!(
        "lr={} batch={} stop={} max_epochs={}{subset}",
        s.lr,
        s.batch_size,
        s.stop.short(),
        s.max_epochs
    )
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
        for o in Optimizer::ALL {
            assert_eq!(serde_json::to_value(o).unwrap(), o.name());
        }
    }
}
