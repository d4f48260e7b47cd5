//! The `train` stage: one unit per network (dataset x depth x width x settings x seed).
//! Sweeps in `[[train.sweep]]` expand into networks; a network named by several sweeps is
//! one unit, trained once, with the union of their snapshot schedules.

use crate::data::{datasets, load_split};
use crate::engine::hash::sha256_hex;
use crate::engine::stage::{ConfigIssue, StageImpl, UnitError, UnitJob, UnitOutcome, UnitSpec};
use crate::engine::unit::UnitRef;
use crate::formats::table::{Column, Table};
use crate::model::train::EpochLog;
use crate::model::{
    device_name, train, Activation, Arch, Loss, Mlp, NetworkParams, Optimizer, Rate, Stop,
    TrainData, TrainSettings,
};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use tch::{Device, Kind, Tensor};

/// Settings that `[train]` gives every network and a sweep may override.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Knobs {
    activation: Option<Activation>,
    loss: Option<Loss>,
    optimizer: Option<Optimizer>,
    lr: Option<Rate>,
    batch_size: Option<usize>,
    max_epochs: Option<usize>,
    stop: Option<Stop>,
    seeds: Option<Vec<u64>>,
    /// Train on the first N samples of the `train` split only (0: all of it).
    train_subset: Option<usize>,
    snapshot_epochs: Option<Vec<usize>>,
    snapshot_steps: Option<Vec<usize>>,
}

impl Knobs {
    /// `self` with `over`'s settings taking precedence.
    fn then(&self, over: &Knobs) -> Knobs {
        Knobs {
            activation: over.activation.or(self.activation),
            loss: over.loss.or(self.loss),
            optimizer: over.optimizer.or(self.optimizer),
            lr: over.lr.or(self.lr),
            batch_size: over.batch_size.or(self.batch_size),
            max_epochs: over.max_epochs.or(self.max_epochs),
            stop: over.stop.clone().or_else(|| self.stop.clone()),
            seeds: over.seeds.clone().or_else(|| self.seeds.clone()),
            train_subset: over.train_subset.or(self.train_subset),
            snapshot_epochs: over
                .snapshot_epochs
                .clone()
                .or_else(|| self.snapshot_epochs.clone()),
            snapshot_steps: over
                .snapshot_steps
                .clone()
                .or_else(|| self.snapshot_steps.clone()),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
struct SweepHead {
    name: String,
    datasets: Vec<String>,
    depths: Vec<usize>,
    widths: Vec<usize>,
}

/// The readable part of a network's unit id; the optimiser is named where it is not the
/// paper's (Adam).
fn base_id(n: &NetworkParams) -> String {
    let optimizer = match n.settings.optimizer {
        Optimizer::Adam => String::new(),
        other => format!("-{}", other.name()),
    };
    format!(
        "{}-{}x{}-{}-{}{optimizer}-s{}",
        n.dataset,
        n.depth,
        n.width,
        n.activation.name(),
        n.settings.loss.name(),
        n.settings.seed
    )
}

/// The parameters that make two networks the same training run (snapshots aside).
fn identity(n: &NetworkParams) -> Value {
    let mut v = serde_json::to_value(n).expect("serialisable");
    v.as_object_mut().unwrap().remove("snapshot_epochs");
    v.as_object_mut().unwrap().remove("snapshot_steps");
    v
}

/// Splits an object into its `keys` (deserialised as `H`) and the rest (as [`Knobs`]),
/// naming any bad key under `prefix`.
fn split_table<H: serde::de::DeserializeOwned>(
    value: &Value,
    keys: &[&str],
    prefix: &str,
) -> Result<(Option<H>, Knobs), ConfigIssue> {
    let mut rest = value.as_object().cloned().unwrap_or_default();
    let mut head = serde_json::Map::new();
    for k in keys {
        if let Some(v) = rest.remove(*k) {
            head.insert(k.to_string(), v);
        }
    }
    let at = |e: serde_path_to_error::Error<serde_json::Error>| {
        let path = e.path().to_string();
        let path = if path == "." {
            prefix.to_string()
        } else {
            format!("{prefix}.{path}")
        };
        ConfigIssue::new(path, e.inner().to_string())
    };
    let knobs: Knobs = serde_path_to_error::deserialize(Value::Object(rest)).map_err(at)?;
    let head = if head.is_empty() {
        None
    } else {
        Some(serde_path_to_error::deserialize(Value::Object(head)).map_err(at)?)
    };
    Ok((head, knobs))
}

pub struct TrainStage {
    pub device: Device,
}

/// Expands the `[train]` table into networks, merging duplicates across sweeps.
pub fn expand_networks(
    tables: &Value,
    data_units: &[UnitSpec],
) -> Result<Vec<(String, NetworkParams)>, ConfigIssue> {
    let train = tables.get("train").cloned().unwrap_or(json!({}));
    // `sweep` and `lr_selection` (the lr stage's grid) are not settings of a network.
    let (_, defaults): (Option<Value>, Knobs) =
        split_table(&train, &["sweep", "lr_selection"], "train")?;
    let sweeps: Vec<Value> = match train.get("sweep") {
        None => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => {
            return Err(ConfigIssue::new(
                "train.sweep",
                "must be an array of tables ([[train.sweep]])",
            ))
        }
    };
    let base = Knobs {
        activation: Some(Activation::Relu),
        loss: Some(Loss::Mse),
        optimizer: Some(Optimizer::Adam),
        lr: Some(Rate::Fixed(1e-3)),
        batch_size: Some(128),
        max_epochs: Some(50),
        stop: Some(Stop::Epochs),
        seeds: Some(vec![1]),
        train_subset: Some(0),
        snapshot_epochs: Some(Vec::new()),
        snapshot_steps: Some(Vec::new()),
    }
    .then(&defaults);

    // identity -> (params) with merged snapshot lists, in first-seen order.
    let mut networks: Vec<NetworkParams> = Vec::new();
    for (i, sweep) in sweeps.iter().enumerate() {
        let at = format!("train.sweep[{i}]");
        let (head, over): (Option<SweepHead>, Knobs) =
            split_table(sweep, &["name", "datasets", "depths", "widths"], &at)?;
        let head = head.ok_or_else(|| {
            ConfigIssue::new(
                &at,
                "a sweep needs `name`, `datasets`, `depths` and `widths`",
            )
        })?;
        let k = base.then(&over);
        let check = |ok: bool, key: &str, msg: &str| {
            if ok {
                Ok(())
            } else {
                Err(ConfigIssue::new(format!("{at}.{key}"), msg))
            }
        };
        check(!head.name.is_empty(), "name", "must not be empty")?;
        check(
            !head.depths.is_empty() && head.depths.iter().all(|&d| d >= 1),
            "depths",
            "every depth must be at least 1",
        )?;
        check(
            !head.widths.is_empty() && head.widths.iter().all(|&w| w >= 1),
            "widths",
            "every width must be at least 1",
        )?;
        let lr = k.lr.unwrap();
        check(
            lr.fixed().is_none_or(|r| r.is_finite() && r > 0.0),
            "lr",
            "must be a positive number, or \"select\" (the lr stage chooses)",
        )?;
        check(
            k.batch_size.unwrap() >= 1,
            "batch_size",
            "must be at least 1",
        )?;
        let max_epochs = k.max_epochs.unwrap();
        check(max_epochs >= 1, "max_epochs", "must be at least 1")?;
        let stop = k.stop.clone().unwrap();
        match stop {
            Stop::Epochs => {}
            Stop::Patience { patience } => {
                check(patience >= 1, "stop.patience", "must be at least 1")?
            }
            Stop::Converged { window, tolerance } => {
                check(window >= 1, "stop.window", "must be at least 1")?;
                check(
                    tolerance.is_finite() && tolerance > 0.0 && tolerance < 1.0,
                    "stop.tolerance",
                    "must be a fraction between 0 and 1 (0.01 is 1%)",
                )?;
            }
        }
        let seeds = k.seeds.clone().unwrap();
        check(!seeds.is_empty(), "seeds", "list at least one seed")?;
        let mut snap_epochs = k.snapshot_epochs.clone().unwrap();
        if let Some(&e) = snap_epochs.iter().find(|&&e| e > max_epochs) {
            return Err(ConfigIssue::new(
                format!("{at}.snapshot_epochs"),
                format!("epoch {e} is beyond max_epochs = {max_epochs}"),
            ));
        }
        snap_epochs.retain(|&e| e != 0); // epoch 0 is the `init` snapshot, always saved
        let snap_steps = k.snapshot_steps.clone().unwrap();
        check(
            snap_steps.iter().all(|&s| s >= 1),
            "snapshot_steps",
            "steps count from 1",
        )?;
        for (j, dataset) in head.datasets.iter().enumerate() {
            let Some(data_unit) = data_units.iter().find(|u| &u.id == dataset) else {
                return Err(ConfigIssue::new(
                    format!("{at}.datasets[{j}]"),
                    format!(
                        "dataset `{dataset}` is not prepared by the data stage (data.datasets)"
                    ),
                ));
            };
            let available = datasets::builtin_train_images(dataset).map(|n| {
                n.saturating_sub(data_unit.params["val_size"].as_u64().unwrap_or(10_000) as usize)
            });
            if let (Some(want), Some(n)) = (k.train_subset.filter(|&s| s > 0), available) {
                if want > n {
                    return Err(ConfigIssue::new(
                        format!("{at}.train_subset"),
                        format!("{want} is more than the {n} training samples of `{dataset}`"),
                    ));
                }
            }
            let train_samples = k.train_subset.filter(|&s| s > 0).or(available);
            if let Some(n) = train_samples {
                let steps = n.div_ceil(k.batch_size.unwrap());
                if let Some(&s) = snap_steps.iter().find(|&&s| s > steps) {
                    return Err(ConfigIssue::new(
                        format!("{at}.snapshot_steps"),
                        format!(
                            "step {s} is beyond the first epoch ({steps} steps of {} samples)",
                            k.batch_size.unwrap()
                        ),
                    ));
                }
            }
            for &depth in &head.depths {
                for &width in &head.widths {
                    for &seed in &seeds {
                        let net = NetworkParams {
                            dataset: dataset.clone(),
                            depth,
                            width,
                            activation: k.activation.unwrap(),
                            train_subset: k.train_subset.unwrap(),
                            settings: TrainSettings {
                                loss: k.loss.unwrap(),
                                optimizer: k.optimizer.unwrap(),
                                lr,
                                batch_size: k.batch_size.unwrap(),
                                max_epochs,
                                stop: stop.clone(),
                                seed,
                                snapshot_epochs: snap_epochs.clone(),
                                snapshot_steps: snap_steps.clone(),
                            },
                        };
                        match networks.iter_mut().find(|n| identity(n) == identity(&net)) {
                            Some(existing) => {
                                let (into, from) = (&mut existing.settings, &net.settings);
                                into.snapshot_epochs.extend(&from.snapshot_epochs);
                                into.snapshot_steps.extend(&from.snapshot_steps);
                            }
                            None => networks.push(net),
                        }
                    }
                }
            }
        }
    }
    for n in &mut networks {
        let s = &mut n.settings;
        s.snapshot_epochs.sort_unstable();
        s.snapshot_epochs.dedup();
        s.snapshot_steps.sort_unstable();
        s.snapshot_steps.dedup();
    }
    // Readable ids; networks that differ only in settings outside the id get a short hash.
    let mut out = Vec::new();
    for n in &networks {
        let base = base_id(n);
        let clash = networks.iter().filter(|m| base_id(m) == base).count() > 1;
        let id = if clash {
            format!(
                "{base}-{}",
                &sha256_hex(identity(n).to_string().as_bytes())[..8]
            )
        } else {
            base
        };
        out.push((id, n.clone()));
    }
    Ok(out)
}

impl StageImpl for TrainStage {
    fn units(
        &self,
        tables: &Value,
        upstream: &BTreeMap<String, Vec<UnitSpec>>,
    ) -> Result<Vec<UnitSpec>, ConfigIssue> {
        let data_units = upstream.get("data").map(Vec::as_slice).unwrap_or(&[]);
        let mut tables = tables.clone();
        let threads = super::torch_threads::take(&mut tables, "train")?;
        Ok(expand_networks(&tables, data_units)?
            .into_iter()
            .map(|(id, net)| {
                // Besides the network: what else changes the weights, the device and the
                // intra-op thread count.
                let mut params = serde_json::to_value(&net).expect("serialisable");
                params["device"] = json!(device_name(self.device));
                params["threads"] = json!(threads);
                let mut inputs = vec![UnitRef::new("data", &net.dataset)];
                // A selected rate is the lr stage's choice for this configuration: that
                // entry is an input, so the choice enters the key through its bytes.
                if net.settings.lr.fixed().is_none() {
                    inputs.push(UnitRef::new(
                        "lr",
                        crate::results::lr_entry::selection_id(&net),
                    ));
                }
                UnitSpec {
                    id,
                    inputs,
                    params,
                    settings: Value::Null,
                }
            })
            .collect())
    }

    fn run(&self, job: &UnitJob) -> Result<UnitOutcome, UnitError> {
        let mut net: NetworkParams = serde_json::from_value(job.unit.params.clone())?;
        if net.settings.lr.fixed().is_none() {
            let entry = job
                .input_of("lr")
                .ok_or("the network's rate is `select` but the unit has no lr input")?;
            net.settings.lr = Rate::Fixed(crate::results::lr_entry::chosen_rate(entry)?);
        }
        let threads = job.unit.params["threads"].as_u64().unwrap_or(1) as i32;
        tch::set_num_threads(threads);
        let data_dir = job
            .input_of("data")
            .ok_or("the train unit has no data input")?;
        let device = self.device;
        let (data, features, classes) = load_training_data(data_dir, net.train_subset, device)?;
        let n_train = data.x_train.size()[0] as usize;
        let settings = &net.settings;
        let steps = n_train.div_ceil(settings.batch_size);
        if let Some(&s) = settings.snapshot_steps.iter().find(|&&s| s > steps) {
            return Err(
                format!("snapshot step {s} is beyond the first epoch ({steps} steps)").into(),
            );
        }
        let arch = Arch {
            inputs: features,
            depth: net.depth,
            width: net.width,
            classes,
            activation: net.activation,
        };
        let snap_dir = job.out_dir.join("snapshots");
        std::fs::create_dir_all(&snap_dir)?;
        let mut snapshots = Vec::new();
        let mut sink = |label: &str,
                        epoch: usize,
                        step: usize,
                        tensors: &[(String, Tensor)]|
         -> Result<(), String> {
            let file = format!("snapshots/{label}.safetensors");
            Mlp::save_safetensors(tensors, &job.out_dir.join(&file)).map_err(|e| e.to_string())?;
            snapshots.push(json!({ "label": label, "epoch": epoch, "step": step, "file": file }));
            Ok(())
        };
        job.progress.phase("epochs", settings.max_epochs as u64);
        let mut on_epoch = |epoch: usize, _: usize, row: &EpochLog| {
            job.progress.advance(epoch as u64);
            if epoch > 0 {
                job.progress.note(&format!(
                    "epoch {epoch}/{}: train loss {:.5}, val error {:.2}% ({:.1}s)",
                    settings.max_epochs,
                    row.train_loss,
                    100.0 * (1.0 - row.val_acc),
                    row.seconds
                ));
            }
        };
        let outcome = train(arch, settings, &data, device, &mut sink, &mut on_epoch)?;
        drop(data);
        let (x_test, y_test, _) = load_tensors(data_dir, "test", 0, device)?;
        let test_acc = crate::model::train::accuracy(&outcome.best, &x_test, &y_test);
        write_log(&outcome.log, &job.out_dir.join("log.arrow"))?;
        let trained_epochs: Vec<f64> = outcome.log.iter().skip(1).map(|r| r.seconds).collect();
        let mean_epoch_s = trained_epochs.iter().sum::<f64>() / trained_epochs.len().max(1) as f64;
        // Training loss and accuracy at the kept (best) epoch and at the stop, for the
        // report's training table: the protocol is auditable without the cache.
        let at = |epoch: usize| {
            outcome
                .log
                .iter()
                .find(|r| r.epoch == epoch)
                .map(|r| json!({ "train_loss": r.train_loss, "train_acc": r.train_acc }))
        };
        let summary = json!({
            "at_best": at(outcome.best_epoch),
            "at_stop": at(outcome.stopped.epoch),
            "params": net,
            "arch": arch,
            "snapshots": snapshots,
            "best_epoch": outcome.best_epoch,
            "best_step": outcome.best_step,
            "best_val_acc": outcome.best_val_acc,
            "test_acc": test_acc,
            "epochs_run": outcome.epochs_run,
            "stop_epoch": outcome.stopped.epoch,
            "stopped_by_rule": outcome.stopped.by_rule,
            "stop_reason": outcome.stopped.reason,
            "stop_rule": settings.stop.describe(settings.max_epochs),
            // The rate trained with: the configured one, or the lr stage's choice.
            "lr_used": settings.lr.fixed(),
            // Where the training loss rose over the convergence window (never a stop).
            "unstable_epochs": outcome.unstable_epochs,
            "threads": threads,
            "device": device_name(device),
        });
        std::fs::write(
            job.out_dir.join("network.json"),
            serde_json::to_string_pretty(&summary)?,
        )?;
        Ok(UnitOutcome {
            device: device_name(device),
            info: json!({
                "test_acc": test_acc,
                "best_epoch": outcome.best_epoch,
                "best_val_acc": outcome.best_val_acc,
                "epochs_run": outcome.epochs_run,
                "stop_reason": outcome.stopped.reason,
                // Timings vary from run to run: they live here, never in an output file.
                "mean_epoch_s": mean_epoch_s,
                "epoch_seconds": outcome.log.iter().map(|r| r.seconds).collect::<Vec<_>>(),
            }),
        })
    }
}

/// What training reads from a data entry, on `device`: the train split (its first
/// `subset` samples; 0: all of it) and the validation split, with the number of input
/// features and of classes.
pub fn load_training_data(
    data_dir: &Path,
    subset: usize,
    device: Device,
) -> Result<(TrainData, usize, usize), UnitError> {
    let info: Value =
        serde_json::from_str(&std::fs::read_to_string(data_dir.join("dataset.json"))?)?;
    let classes = info["classes"].as_u64().unwrap_or(10) as usize;
    let (x_train, y_train, features) = load_tensors(data_dir, "train", subset, device)?;
    let (x_val, y_val, _) = load_tensors(data_dir, "val", 0, device)?;
    let data = TrainData {
        x_train,
        y_train,
        x_val,
        y_val,
    };
    Ok((data, features, classes))
}

/// A split as (images [N, features] float, labels [N] int64) on `device`; `limit` > 0
/// keeps only the first `limit` samples.
pub fn load_tensors(
    entry: &Path,
    split: &str,
    limit: usize,
    device: Device,
) -> Result<(Tensor, Tensor, usize), UnitError> {
    let s = load_split(entry, split)?;
    let n = if limit > 0 { limit.min(s.len) } else { s.len };
    let x = Tensor::from_slice(&s.images[..n * s.features])
        .reshape([n as i64, s.features as i64])
        .to_device(device);
    let y = Tensor::from_slice(&s.labels[..n])
        .to_kind(Kind::Int64)
        .to_device(device);
    Ok((x, y, s.features))
}

fn write_log(log: &[EpochLog], path: &Path) -> Result<(), UnitError> {
    let ints = |f: fn(&EpochLog) -> usize| Column::Int(log.iter().map(|r| f(r) as i64).collect());
    let floats = |f: fn(&EpochLog) -> f64| Column::Float(log.iter().map(f).collect());
    Table::new()
        .with("epoch", ints(|r| r.epoch))
        .with("step", ints(|r| r.step))
        .with("train_loss", floats(|r| r.train_loss))
        .with("train_acc", floats(|r| r.train_acc))
        .with("val_acc", floats(|r| r.val_acc))
        .write_ipc(path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_one_flat_object_that_round_trips() {
        let net = NetworkParams {
            dataset: "mnist".into(),
            depth: 2,
            width: 8,
            activation: Activation::Relu,
            train_subset: 0,
            settings: TrainSettings {
                loss: Loss::Mse,
                optimizer: Optimizer::Adam,
                lr: Rate::Fixed(1e-3),
                batch_size: 128,
                max_epochs: 5,
                stop: Stop::Converged {
                    window: 3,
                    tolerance: 0.01,
                },
                seed: 1,
                snapshot_epochs: vec![1],
                snapshot_steps: vec![10],
            },
        };
        let v = serde_json::to_value(&net).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let flat = "activation batch_size dataset depth loss lr max_epochs optimizer seed snapshot_epochs snapshot_steps stop train_subset width";
        assert_eq!(keys.join(" "), flat);
        assert_eq!(serde_json::from_value::<NetworkParams>(v).unwrap(), net);
        let identity = identity(&net);
        assert!(identity.get("snapshot_epochs").is_none() && identity.get("seed").is_some());
        assert_eq!(base_id(&net), "mnist-2x8-relu-mse-s1");
        let sgd = NetworkParams {
            settings: TrainSettings {
                optimizer: Optimizer::Sgd,
                ..net.settings.clone()
            },
            ..net
        };
        assert_eq!(base_id(&sgd), "mnist-2x8-relu-mse-sgd-s1");
    }
}
