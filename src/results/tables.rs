//! Loading the tidy tables of a set of analysis entries (see [`super::files`]) into typed
//! rows. A missing column or a value of the wrong type names the file.

use super::files::{FRACTIONS, HISTOGRAM, METRICS};
use super::network::NetKey;
use crate::formats::table::{Column, Table};
use crate::model::settings::{Activation, Loss, Optimizer};
use std::path::Path;

pub type LoadError = Box<dyn std::error::Error + Send + Sync>;

/// One row of `metrics.arrow`.
#[derive(Debug, Clone)]
pub struct MetricRow {
    pub net: NetKey,
    pub seed: i64,
    pub snapshot: String,
    pub epoch: i64,
    pub step: i64,
    /// 1..=depth: hidden layers; depth + 1: the output layer.
    pub layer: usize,
    /// `patterns`, `discrete`, `continuous`, `combined` or `network`.
    pub system: String,
    pub split: String,
    /// -1: all classes.
    pub class: i64,
    /// `perplexity`, `mean_perplexity` or `accuracy`.
    pub metric: String,
    pub value: f64,
}

/// One row of `fractions.arrow`: the share of a class's samples that switch a node on.
#[derive(Debug, Clone)]
pub struct FractionRow {
    pub net: NetKey,
    pub seed: i64,
    pub snapshot: String,
    pub layer: usize,
    pub node: usize,
    pub class: usize,
    pub split: String,
    pub value: f64,
}

/// One bin of a class's histogram.
#[derive(Debug, Clone, Copy)]
pub struct Bin {
    pub class: usize,
    pub lo: f64,
    pub hi: f64,
    pub count: i64,
}

/// `histogram.arrow` of one entry: one node's per-class histograms.
#[derive(Debug, Clone)]
pub struct Histogram {
    pub net: NetKey,
    pub seed: i64,
    pub layer: usize,
    pub node: usize,
    pub bins: Vec<Bin>,
}

/// One analysis table, with its file for messages.
struct Loaded {
    table: Table,
    file: std::path::PathBuf,
}

impl Loaded {
    fn read(dir: &Path, name: &str) -> Result<Self, LoadError> {
        let file = dir.join(name);
        let table = Table::read_ipc(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        Ok(Loaded { table, file })
    }

    fn missing(&self, kind: &str, name: &str) -> LoadError {
        format!("{}: no {kind} column `{name}`", self.file.display()).into()
    }

    fn text(&self, name: &str) -> Result<&Vec<String>, LoadError> {
        match self.table.column(name) {
            Some(Column::Text(v)) => Ok(v),
            _ => Err(self.missing("text", name)),
        }
    }

    fn int(&self, name: &str) -> Result<&Vec<i64>, LoadError> {
        match self.table.column(name) {
            Some(Column::Int(v)) => Ok(v),
            _ => Err(self.missing("integer", name)),
        }
    }

    fn float(&self, name: &str) -> Result<&Vec<f64>, LoadError> {
        match self.table.column(name) {
            Some(Column::Float(v)) => Ok(v),
            _ => Err(self.missing("float", name)),
        }
    }

    /// The network, seed and snapshot of row `i`.
    fn identity(&self, i: usize) -> Result<(NetKey, i64, String), LoadError> {
        let activation = &self.text("activation")?[i];
        let loss = &self.text("loss")?[i];
        let optimizer = &self.text("optimizer")?[i];
        let unknown = |what: &str, v: &str| -> LoadError {
            format!("{}: unknown {what} `{v}`", self.file.display()).into()
        };
        Ok((
            NetKey {
                dataset: self.text("dataset")?[i].clone(),
                depth: self.int("depth")?[i] as usize,
                width: self.int("width")?[i] as usize,
                activation: Activation::ALL
                    .into_iter()
                    .find(|a| a.name() == activation)
                    .ok_or_else(|| unknown("activation", activation))?,
                loss: Loss::ALL
                    .into_iter()
                    .find(|l| l.name() == loss)
                    .ok_or_else(|| unknown("loss", loss))?,
                optimizer: Optimizer::ALL
                    .into_iter()
                    .find(|o| o.name() == optimizer)
                    .ok_or_else(|| unknown("optimizer", optimizer))?,
                training: self.text("training")?[i].clone(),
            },
            self.int("seed")?[i],
            self.text("snapshot")?[i].clone(),
        ))
    }
}

/// Every metric row of the given analysis entries, entry by entry.
pub fn load_metrics(dirs: &[&Path]) -> Result<Vec<MetricRow>, LoadError> {
    let mut rows = Vec::new();
    for dir in dirs {
        let t = Loaded::read(dir, METRICS)?;
        let (epoch, step, layer) = (t.int("epoch")?, t.int("step")?, t.int("layer")?);
        let (system, split, metric) = (t.text("system")?, t.text("split")?, t.text("metric")?);
        let (class, value) = (t.int("class")?, t.float("value")?);
        for i in 0..t.table.rows() {
            let (net, seed, snapshot) = t.identity(i)?;
            rows.push(MetricRow {
                net,
                seed,
                snapshot,
                epoch: epoch[i],
                step: step[i],
                layer: layer[i] as usize,
                system: system[i].clone(),
                split: split[i].clone(),
                class: class[i],
                metric: metric[i].clone(),
                value: value[i],
            });
        }
    }
    Ok(rows)
}

/// Every class activation fraction of the given analysis entries, entry by entry.
pub fn load_fractions(dirs: &[&Path]) -> Result<Vec<FractionRow>, LoadError> {
    let mut rows = Vec::new();
    for dir in dirs {
        let t = Loaded::read(dir, FRACTIONS)?;
        let (layer, node, class) = (t.int("layer")?, t.int("node")?, t.int("class")?);
        let (split, value) = (t.text("split")?, t.float("value")?);
        for i in 0..t.table.rows() {
            let (net, seed, snapshot) = t.identity(i)?;
            rows.push(FractionRow {
                net,
                seed,
                snapshot,
                layer: layer[i] as usize,
                node: node[i] as usize,
                class: class[i] as usize,
                split: split[i].clone(),
                value: value[i],
            });
        }
    }
    Ok(rows)
}

/// The histogram of each given analysis entry that has one, entry by entry.
pub fn load_histograms(dirs: &[&Path]) -> Result<Vec<Histogram>, LoadError> {
    let mut out = Vec::new();
    for dir in dirs {
        let t = Loaded::read(dir, HISTOGRAM)?;
        let (layer, node, class) = (t.int("layer")?, t.int("node")?, t.int("class")?);
        let (lo, hi, count) = (t.float("bin_lo")?, t.float("bin_hi")?, t.int("count")?);
        if t.table.rows() == 0 {
            continue;
        }
        let (net, seed, _) = t.identity(0)?;
        out.push(Histogram {
            net,
            seed,
            layer: layer[0] as usize,
            node: node[0] as usize,
            bins: (0..t.table.rows())
                .map(|i| Bin {
                    class: class[i] as usize,
                    lo: lo[i],
                    hi: hi[i],
                    count: count[i],
                })
                .collect(),
        });
    }
    Ok(out)
}
