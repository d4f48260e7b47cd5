//! The `activations` stage: one unit per snapshot of every trained network. No-grad
//! forward passes over the `train` split (exactly the samples used for updates), `test`
//! and `val`, written in row blocks to one HDF5 file in the layout of the analysis spec.

use crate::data::load_split;
use crate::engine::stage::{
    parse_tables, ConfigIssue, StageImpl, UnitError, UnitJob, UnitOutcome, UnitSpec,
};
use crate::engine::unit::UnitRef;
use crate::formats::activations::{ActivationWriter, Attributes, Compression};
use crate::model::settings::{training_label, NetworkParams};
use crate::model::{device_name, Arch, Mlp};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use tch::{Device, Tensor};

pub use crate::formats::activations::FILE;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Tables {
    #[serde(default)]
    activations: ActivationsTable,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActivationsTable {
    #[serde(default = "default_splits")]
    splits: Vec<String>,
    #[serde(default = "default_compression")]
    compression: Compression,
    #[serde(default = "default_chunk_rows")]
    chunk_rows: usize,
    /// Samples per forward pass (in the key: another block size may round differently).
    #[serde(default = "default_batch")]
    batch_rows: usize,
    /// Also each network's `final` (stopping-epoch) snapshot: the claims' protocol variant
    /// without early stopping on validation error.
    #[serde(default)]
    final_snapshot: bool,
}

impl Default for ActivationsTable {
    fn default() -> Self {
        ActivationsTable {
            splits: default_splits(),
            compression: default_compression(),
            chunk_rows: default_chunk_rows(),
            batch_rows: default_batch(),
            final_snapshot: false,
        }
    }
}

fn default_splits() -> Vec<String> {
    vec!["train".into(), "test".into(), "val".into()]
}
fn default_compression() -> Compression {
    Compression::Lzf
}
fn default_chunk_rows() -> usize {
    1000
}
fn default_batch() -> usize {
    5000
}

/// The snapshot labels of a network that are analysed: those its training schedule
/// writes, `best`, and `final` if asked for.
pub fn snapshot_labels(net: &NetworkParams, with_final: bool) -> Vec<String> {
    let mut labels = vec!["init".to_string()];
    let settings = &net.settings;
    labels.extend(settings.snapshot_steps.iter().map(|s| format!("step-{s}")));
    labels.extend(
        settings
            .snapshot_epochs
            .iter()
            .map(|e| format!("epoch-{e}")),
    );
    labels.push("best".into());
    if with_final {
        labels.push("final".into());
    }
    labels
}

pub struct ActivationsStage {
    pub device: Device,
}

impl StageImpl for ActivationsStage {
    fn units(
        &self,
        tables: &Value,
        upstream: &BTreeMap<String, Vec<UnitSpec>>,
    ) -> Result<Vec<UnitSpec>, ConfigIssue> {
        let mut tables = tables.clone();
        let threads = super::torch_threads::take(&mut tables, "activations")?;
        let Tables { activations: t } = parse_tables(&tables)?;
        for (i, s) in t.splits.iter().enumerate() {
            if !["train", "test", "val"].contains(&s.as_str()) {
                return Err(ConfigIssue::new(
                    format!("activations.splits[{i}]"),
                    format!("unknown split `{s}` (train, test, val)"),
                ));
            }
        }
        if !t.splits.iter().any(|s| s == "train") || !t.splits.iter().any(|s| s == "test") {
            return Err(ConfigIssue::new(
                "activations.splits",
                "must include `train` and `test` (the analysis needs both)",
            ));
        }
        if t.chunk_rows == 0 || t.batch_rows == 0 {
            let key = if t.chunk_rows == 0 {
                "activations.chunk_rows"
            } else {
                "activations.batch_rows"
            };
            return Err(ConfigIssue::new(key, "must be at least 1"));
        }
        let mut units = Vec::new();
        for train in upstream.get("train").into_iter().flatten() {
            let net: NetworkParams =
                serde_json::from_value(train.params.clone()).expect("train params round-trip");
            for label in snapshot_labels(&net, t.final_snapshot) {
                units.push(UnitSpec {
                    id: format!("{}@{label}", train.id),
                    params: json!({
                        "network": train.id,
                        "snapshot": label,
                        "splits": t.splits,
                        "compression": t.compression,
                        "chunk_rows": t.chunk_rows,
                        // Forward passes over other row blocks, on another device or
                        // thread count, may round differently: all three are in the key.
                        "batch_rows": t.batch_rows,
                        "device": device_name(self.device),
                        "threads": threads,
                    }),
                    inputs: vec![
                        UnitRef::new("data", &net.dataset),
                        UnitRef::new("train", &train.id),
                    ],
                    settings: Value::Null,
                });
            }
        }
        Ok(units)
    }

    fn run(&self, job: &UnitJob) -> Result<UnitOutcome, UnitError> {
        let p = &job.unit.params;
        let label = p["snapshot"].as_str().ok_or("no snapshot label")?;
        let splits: Vec<String> = serde_json::from_value(p["splits"].clone())?;
        let compression: Compression = serde_json::from_value(p["compression"].clone())?;
        let chunk_rows = p["chunk_rows"].as_u64().unwrap_or(1000) as usize;
        let batch_rows = job.unit.params["batch_rows"].as_u64().unwrap_or(5000) as usize;
        tch::set_num_threads(job.unit.params["threads"].as_u64().unwrap_or(1) as i32);
        let train_dir = job.input_of("train").ok_or("no train input")?;
        let data_dir = job.input_of("data").ok_or("no data input")?;
        let network: Value =
            serde_json::from_str(&std::fs::read_to_string(train_dir.join("network.json"))?)?;
        let arch: Arch = serde_json::from_value(network["arch"].clone())?;
        let net: NetworkParams = serde_json::from_value(network["params"].clone())?;
        let snap = network["snapshots"]
            .as_array()
            .and_then(|a| a.iter().find(|s| s["label"] == label))
            .ok_or_else(|| format!("network {} has no snapshot `{label}`", p["network"]))?;
        let model = Mlp::load_safetensors(
            arch,
            self.device,
            &train_dir.join(snap["file"].as_str().unwrap_or_default()),
        )?;
        let attrs = Attributes {
            dataset: net.dataset.clone(),
            depth: arch.depth,
            width: arch.width,
            activation: arch.activation.name().into(),
            loss: net.settings.loss.name().into(),
            optimizer: net.settings.optimizer.name().into(),
            training: training_label(&net),
            seed: net.settings.seed,
            epoch: snap["epoch"].as_u64().unwrap_or(0) as usize,
            step: snap["step"].as_u64().unwrap_or(0) as usize,
            snapshot: label.to_string(),
        };
        let writer =
            ActivationWriter::create(&job.out_dir.join(FILE), &attrs, compression, chunk_rows)?;
        let mut rows_written = BTreeMap::new();
        for split in &splits {
            let data = load_split(data_dir, split)?;
            // The train split is exactly the samples the network was updated on.
            let n = if split == "train" && net.train_subset > 0 {
                net.train_subset.min(data.len)
            } else {
                data.len
            };
            let mut out = writer.split(split, n, arch.depth, arch.width, arch.classes)?;
            job.progress.phase(&format!("{split} rows"), n as u64);
            let mut start = 0;
            while start < n {
                let len = batch_rows.min(n - start);
                let x = Tensor::from_slice(
                    &data.images[start * data.features..(start + len) * data.features],
                )
                .reshape([len as i64, data.features as i64])
                .to_device(self.device);
                let (pre, output) = tch::no_grad(|| model.forward_all(&x));
                let to_vec = |t: &Tensor| -> Result<Vec<f32>, UnitError> {
                    Ok(Vec::<f32>::try_from(
                        t.to_device(Device::Cpu).contiguous().view(-1),
                    )?)
                };
                let pre: Vec<Vec<f32>> = pre.iter().map(to_vec).collect::<Result<_, _>>()?;
                out.write_block(&data.labels[start..start + len], &pre, &to_vec(&output)?)?;
                start += len;
                job.progress.advance(start as u64);
            }
            debug_assert!(out.is_complete());
            rows_written.insert(split.clone(), n);
        }
        writer.finish()?;
        Ok(UnitOutcome {
            device: device_name(self.device),
            info: json!({ "rows": rows_written, "snapshot": label, "network": p["network"] }),
        })
    }
}
