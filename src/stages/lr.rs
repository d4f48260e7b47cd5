//! The `lr` stage: the paper's "global learning rates are manually adjusted to ensure
//! training set convergence" (Sec. 3.1), done automatically and on the record. For each
//! training configuration (dataset x activation x loss x optimiser x batch size x subset)
//! that some network trains with `lr = "select"`, one unit trains a representative
//! architecture on one seed at every rate of a declared grid for a fixed number of epochs,
//! and chooses by a declared criterion:
//!
//! **the rate with the lowest final training loss (the mean of the last `window` epochs)
//! among the stable ones**, where a run is stable if its loss stays finite and the mean
//! training loss of no `window` epochs rises above that of the `window` before.
//!
//! Its entry holds `selection.json` (the grid, each run's final loss and stability, the
//! choice) and `curves.csv` (every run's training loss per epoch). Every network of that
//! configuration then trains at the chosen rate: the train unit reads the choice from this
//! entry, which is its input (a changed grid reruns the selection and the networks).

use super::train::{expand_networks, load_training_data};
use crate::engine::stage::{ConfigIssue, StageImpl, UnitError, UnitJob, UnitOutcome, UnitSpec};
use crate::engine::unit::UnitRef;
use crate::model::stopping::rise;
use crate::model::{
    device_name, train, Arch, NetworkParams, Rate, Stop, TrainError, TrainSettings,
};
use crate::results::lr_entry::{selection_id, SELECTION};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use tch::Device;

/// `[train.lr_selection]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grid {
    /// The global learning rates tried, each > 0.
    pub rates: Vec<f64>,
    /// Other grids for some optimisers (`{ sgd = [0.03, 0.1] }`): plain SGD needs far
    /// larger steps than Adam.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rates_by_optimizer: BTreeMap<String, Vec<f64>>,
    /// The representative architecture.
    pub depth: usize,
    pub width: usize,
    /// Epochs each rate trains (no early stopping).
    pub epochs: usize,
    pub seed: u64,
    /// Epochs per window of the stability test and of the final loss.
    pub window: usize,
}

impl Grid {
    fn check(&self) -> Result<(), ConfigIssue> {
        let at = |k: &str, m: &str| Err(ConfigIssue::new(format!("train.lr_selection.{k}"), m));
        let bad =
            |rates: &[f64]| rates.is_empty() || rates.iter().any(|r| !(r.is_finite() && *r > 0.0));
        if bad(&self.rates) {
            return at("rates", "list one or more positive rates");
        }
        for (optimizer, rates) in &self.rates_by_optimizer {
            if !crate::model::Optimizer::ALL
                .iter()
                .any(|o| o.name() == optimizer)
            {
                return at(
                    &format!("rates_by_optimizer.{optimizer}"),
                    "not an optimiser (adam, sgd)",
                );
            }
            if bad(rates) {
                return at(
                    &format!("rates_by_optimizer.{optimizer}"),
                    "list one or more positive rates",
                );
            }
        }
        if self.depth == 0 || self.width == 0 {
            return at(
                "depth",
                "the representative network needs depth and width >= 1",
            );
        }
        if self.window == 0 {
            return at("window", "must be at least 1");
        }
        if self.epochs < 2 * self.window {
            return at(
                "epochs",
                "must be at least 2 x window, to compare two windows",
            );
        }
        Ok(())
    }
}

/// One rate's run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trial {
    pub rate: f64,
    pub stable: bool,
    /// Mean training loss of the last `window` epochs (None if it diverged).
    pub final_loss: Option<f64>,
    pub why: String,
    pub losses: Vec<f64>,
}

/// Judges one rate's training losses (index 0: the initial network's).
pub fn judge(rate: f64, losses: Vec<f64>, window: usize) -> Trial {
    let epochs = losses.len().saturating_sub(1);
    let final_loss = (epochs >= window)
        .then(|| losses[losses.len() - window..].iter().sum::<f64>() / window as f64)
        .filter(|l| l.is_finite());
    let rule = Stop::Converged {
        window,
        tolerance: 0.0,
    };
    let rises: Vec<usize> = (2 * window..=epochs)
        .filter(|&e| rise(&rule, &losses, e).is_some())
        .collect();
    let (stable, why) = if final_loss.is_none() {
        (false, "the loss diverged".to_string())
    } else if let Some(e) = rises.first() {
        (
            false,
            format!(
                "the mean training loss rose over a {window}-epoch window ({} time(s), first at epoch {e})",
                rises.len()
            ),
        )
    } else {
        (true, "stable".to_string())
    };
    Trial {
        rate,
        stable,
        final_loss,
        why,
        losses,
    }
}

/// The stable trial with the lowest final loss (ties: the larger rate).
pub fn choose(trials: &[Trial]) -> Option<&Trial> {
    trials.iter().filter(|t| t.stable).min_by(|a, b| {
        a.final_loss
            .unwrap_or(f64::INFINITY)
            .total_cmp(&b.final_loss.unwrap_or(f64::INFINITY))
            .then(b.rate.total_cmp(&a.rate))
    })
}

pub struct LrStage {
    pub device: Device,
}

impl StageImpl for LrStage {
    fn units(
        &self,
        tables: &Value,
        upstream: &BTreeMap<String, Vec<UnitSpec>>,
    ) -> Result<Vec<UnitSpec>, ConfigIssue> {
        let data_units = upstream.get("data").map(Vec::as_slice).unwrap_or(&[]);
        let mut tables = tables.clone();
        let threads = super::torch_threads::take(&mut tables, "train")?;
        let selected: Vec<NetworkParams> = expand_networks(&tables, data_units)?
            .into_iter()
            .map(|(_, n)| n)
            .filter(|n| n.settings.lr.fixed().is_none())
            .collect();
        if selected.is_empty() {
            return Ok(Vec::new());
        }
        let grid: Grid = match tables["train"].get("lr_selection") {
            Some(v) => crate::engine::stage::parse_tables(v).map_err(|i| {
                ConfigIssue::new(format!("train.lr_selection.{}", i.path), i.message)
            })?,
            None => {
                return Err(ConfigIssue::new(
                    "train.lr_selection",
                    "missing: `lr = \"select\"` needs a [train.lr_selection] grid",
                ))
            }
        };
        grid.check()?;
        let mut units: BTreeMap<String, UnitSpec> = BTreeMap::new();
        for n in selected {
            // The unit's own grid: its optimiser's rates, and nothing about the others'
            // (changing SGD's grid must not rerun Adam's selection).
            let mut own = grid.clone();
            if let Some(rates) = grid.rates_by_optimizer.get(n.settings.optimizer.name()) {
                own.rates = rates.clone();
            }
            own.rates_by_optimizer.clear();
            units.entry(selection_id(&n)).or_insert_with(|| UnitSpec {
                id: selection_id(&n),
                params: json!({
                    "dataset": n.dataset,
                    "activation": n.activation,
                    "loss": n.settings.loss,
                    "optimizer": n.settings.optimizer,
                    "batch_size": n.settings.batch_size,
                    "train_subset": n.train_subset,
                    "grid": own,
                    "device": device_name(self.device),
                    "threads": threads,
                }),
                inputs: vec![UnitRef::new("data", &n.dataset)],
                settings: Value::Null,
            });
        }
        Ok(units.into_values().collect())
    }

    fn run(&self, job: &UnitJob) -> Result<UnitOutcome, UnitError> {
        let p = &job.unit.params;
        let grid: Grid = serde_json::from_value(p["grid"].clone())?;
        tch::set_num_threads(p["threads"].as_u64().unwrap_or(1) as i32);
        let data_dir = job
            .input_of("data")
            .ok_or("the lr unit has no data input")?;
        let subset = p["train_subset"].as_u64().unwrap_or(0) as usize;
        let (data, features, classes) = load_training_data(data_dir, subset, self.device)?;
        let arch = Arch {
            inputs: features,
            depth: grid.depth,
            width: grid.width,
            classes,
            activation: serde_json::from_value(p["activation"].clone())?,
        };
        job.progress.phase("rates", grid.rates.len() as u64);
        let mut trials = Vec::new();
        for (i, &rate) in grid.rates.iter().enumerate() {
            let settings = TrainSettings {
                loss: serde_json::from_value(p["loss"].clone())?,
                optimizer: serde_json::from_value(p["optimizer"].clone())?,
                lr: Rate::Fixed(rate),
                batch_size: p["batch_size"].as_u64().unwrap_or(128) as usize,
                max_epochs: grid.epochs,
                stop: Stop::Epochs,
                seed: grid.seed,
                snapshot_epochs: Vec::new(),
                snapshot_steps: Vec::new(),
            };
            let mut losses = Vec::new();
            let mut sink = |_: &str, _: usize, _: usize, _: &[(String, tch::Tensor)]| Ok(());
            let mut on_epoch = |_: usize, _: usize, row: &crate::model::train::EpochLog| {
                losses.push(row.train_loss);
            };
            match train(
                arch,
                &settings,
                &data,
                self.device,
                &mut sink,
                &mut on_epoch,
            ) {
                Ok(_) | Err(TrainError::NotFinite { .. }) => {}
                Err(e) => return Err(e.into()),
            }
            let t = judge(rate, losses, grid.window);
            job.progress.note(&format!(
                "lr {rate}: {} (final loss {})",
                t.why,
                t.final_loss.map_or("-".into(), |l| format!("{l:.5}"))
            ));
            job.progress.advance(i as u64 + 1);
            trials.push(t);
        }
        let chosen = choose(&trials).ok_or_else(|| {
            format!(
                "no rate of {:?} trains stably: add smaller rates to train.lr_selection.rates",
                grid.rates
            )
        })?;
        let selection = json!({
            "chosen": chosen.rate,
            "criterion": format!("the lowest mean training loss over the last {} of {} epochs among the stable rates (the loss finite, and no {}-epoch window's mean above the one before)", grid.window, grid.epochs, grid.window),
            "architecture": format!("{}x{}", grid.depth, grid.width),
            "seed": grid.seed,
            "trials": trials.iter().map(|t| json!({
                "rate": t.rate, "stable": t.stable, "final_loss": t.final_loss, "why": t.why,
            })).collect::<Vec<_>>(),
        });
        std::fs::write(
            job.out_dir.join(SELECTION),
            serde_json::to_string_pretty(&selection)?,
        )?;
        let mut csv = String::from("rate,epoch,train_loss\n");
        for t in &trials {
            for (e, l) in t.losses.iter().enumerate() {
                csv.push_str(&format!("{},{e},{l}\n", t.rate));
            }
        }
        std::fs::write(job.out_dir.join("curves.csv"), csv)?;
        Ok(UnitOutcome {
            device: device_name(self.device),
            info: json!({ "chosen": chosen.rate }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rising_or_diverging_run_is_unstable_and_the_lowest_stable_loss_wins() {
        // Window 2: epochs (1,2) vs (3,4): 0.8 -> 0.5; (2,3) vs (4,5): 0.65 -> 0.45, ...
        let falling = judge(0.001, vec![1.0, 0.9, 0.7, 0.6, 0.4, 0.3], 2);
        assert!(falling.stable, "{falling:?}");
        assert!((falling.final_loss.unwrap() - 0.35).abs() < 1e-12);
        // Lower at the end, but it rose on the way: epochs (1,2) = 0.45 vs (3,4) = 0.5.
        let bumpy = judge(0.01, vec![1.0, 0.6, 0.3, 0.6, 0.4, 0.2], 2);
        assert!(
            !bumpy.stable && bumpy.why.contains("first at epoch 4"),
            "{bumpy:?}"
        );
        let diverged = judge(0.1, vec![1.0, 0.5, f64::NAN], 2);
        assert!(!diverged.stable && diverged.final_loss.is_none());
        let slower = judge(0.0001, vec![1.0, 0.95, 0.9, 0.85, 0.8, 0.75], 2);
        let trials = [slower, falling, bumpy, diverged];
        assert_eq!(choose(&trials).unwrap().rate, 0.001);
        assert!(choose(&trials[2..]).is_none(), "no stable rate");
    }

    #[test]
    fn ties_go_to_the_larger_rate() {
        let a = judge(0.001, vec![1.0, 0.5, 0.4, 0.3, 0.2], 2);
        let b = judge(0.003, vec![1.0, 0.5, 0.4, 0.3, 0.2], 2);
        assert_eq!(choose(&[a, b]).unwrap().rate, 0.003);
    }
}
