//! The `train` stage: one unit per network (dataset x depth x width x settings x seed).
//! Sweeps in `[[train.sweep]]` expand into networks; a network named by several sweeps is
//! one unit, trained once, with the union of their snapshot schedules.

use crate::data::load_split;
use crate::engine::stage::{ConfigIssue, StageImpl, UnitError, UnitJob, UnitOutcome, UnitSpec};
use crate::engine::unit::UnitRef;
use crate::formats::table::{Column, Table};
use crate::model::train::EpochLog;
use crate::model::{device_name, train, Arch, Mlp, NetworkParams, Rate, TrainData};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use tch::{Device, Kind, Tensor};

mod networks;

pub use networks::expand_networks;

pub struct TrainStage {
    pub device: Device,
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
