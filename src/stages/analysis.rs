//! The `analysis` stage: one unit per activation file. Per layer (every hidden layer and
//! the output layer, numbered depth + 1): class activation fractions, layer perplexity,
//! and the train and test accuracy of the discrete, continuous and combined node
//! classifiers; plus the network's own accuracy and a per-class histogram of one node.
//! Results are tidy Arrow tables; the figure and report stages read only these.

use crate::analysis::{
    activation_fractions, layer_perplexity, node_class_histograms, output_accuracy,
    LayerClassifiers, System,
};
use crate::engine::stage::{
    parse_tables, ConfigIssue, StageImpl, UnitError, UnitJob, UnitOutcome, UnitSpec,
};
use crate::engine::unit::UnitRef;
use crate::formats::activations::{ActivationReader, Attributes, FILE as ACTIVATIONS_FILE};
use crate::formats::table::{Column, Table};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

use crate::results::files::{FRACTIONS, HISTOGRAM, METRICS};

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Tables {
    #[serde(default)]
    analysis: AnalysisTable,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnalysisTable {
    /// Layer (1-based) of the node whose per-class histogram is kept (paper Fig. 11).
    #[serde(default = "one")]
    histogram_layer: usize,
    /// The node; unset: the node whose class means differ most (largest between-class
    /// share of its variance on the train split).
    #[serde(default)]
    histogram_node: Option<usize>,
    #[serde(default = "default_bins")]
    histogram_bins: usize,
}

impl Default for AnalysisTable {
    fn default() -> Self {
        AnalysisTable {
            histogram_layer: 1,
            histogram_node: None,
            histogram_bins: default_bins(),
        }
    }
}

fn one() -> usize {
    1
}
fn default_bins() -> usize {
    40
}

pub struct AnalysisStage;

impl StageImpl for AnalysisStage {
    fn units(
        &self,
        tables: &Value,
        upstream: &BTreeMap<String, Vec<UnitSpec>>,
    ) -> Result<Vec<UnitSpec>, ConfigIssue> {
        let Tables { analysis: t } = parse_tables(tables)?;
        if t.histogram_layer == 0 {
            return Err(ConfigIssue::new(
                "analysis.histogram_layer",
                "layers count from 1",
            ));
        }
        if t.histogram_bins == 0 {
            return Err(ConfigIssue::new(
                "analysis.histogram_bins",
                "must be at least 1",
            ));
        }
        Ok(upstream
            .get("activations")
            .into_iter()
            .flatten()
            .map(|a| UnitSpec {
                id: a.id.clone(),
                params: json!({
                    "histogram_layer": t.histogram_layer,
                    "histogram_node": t.histogram_node,
                    "histogram_bins": t.histogram_bins,
                }),
                inputs: vec![UnitRef::new("activations", &a.id)],
                settings: Value::Null,
            })
            .collect())
    }

    fn run(&self, job: &UnitJob) -> Result<UnitOutcome, UnitError> {
        let dir = job.input_of("activations").ok_or("no activations input")?;
        let reader = ActivationReader::open(&dir.join(ACTIVATIONS_FILE))?;
        let a = reader.attrs.clone();
        let classes = reader.classes("test")?;
        let splits: Vec<&str> = ["train", "test", "val"]
            .into_iter()
            .filter(|s| reader.has_split(s))
            .collect();
        if !splits.contains(&"train") || !splits.contains(&"test") {
            return Err(format!(
                "{}: needs both /train and /test",
                dir.join(ACTIVATIONS_FILE).display()
            )
            .into());
        }
        let mut labels = BTreeMap::new();
        for s in &splits {
            labels.insert(*s, reader.labels(s, classes)?);
        }
        let (n_train, n_test) = (labels["train"].len(), labels["test"].len());
        let mut metrics = Rows::new(&a);
        let mut fractions = Rows::new(&a);
        let mut histogram = Rows::new(&a);
        let output_layer = a.depth + 1;

        // The network's own accuracy: argmax of the output layer.
        for s in &splits {
            let n = labels[s].len();
            let accuracy = output_accuracy(&reader.output(s, n, classes)?, n, classes, &labels[s])?;
            metrics.push_metric(output_layer, "network", s, -1, "accuracy", accuracy);
        }

        let p = &job.unit.params;
        let hist_layer = p["histogram_layer"].as_u64().unwrap_or(1) as usize;
        let hist_bins = p["histogram_bins"].as_u64().unwrap_or(40) as usize;
        job.progress.phase("layers", output_layer as u64);
        for layer in 1..=output_layer {
            let width = if layer == output_layer {
                classes
            } else {
                a.width
            };
            let load = |s: &str, n: usize| {
                if layer == output_layer {
                    reader.output(s, n, classes)
                } else {
                    reader.preact(s, layer, n)
                }
            };
            let z_train = load("train", n_train)?;
            let z_test = load("test", n_test)?;
            for (s, z, n) in [("train", &z_train, n_train), ("test", &z_test, n_test)] {
                let perplexity = layer_perplexity(z, n, width, &labels[s], classes)?;
                for (c, v) in perplexity.per_class.iter().enumerate() {
                    metrics.push_metric(layer, "patterns", s, c as i64, "perplexity", *v);
                }
                metrics.push_metric(layer, "patterns", s, -1, "mean_perplexity", perplexity.mean);
                let f = activation_fractions(z, n, width, &labels[s], classes)?;
                for node in 0..width {
                    for c in 0..classes {
                        fractions.push_fraction(layer, node, c, s, f.get(c, node));
                    }
                }
            }
            let fitted =
                LayerClassifiers::fit(&z_train, n_train, width, &labels["train"], classes)?;
            for (s, z, n) in [("train", &z_train, n_train), ("test", &z_test, n_test)] {
                let eval = fitted.evaluate(z, n, &labels[s])?;
                for system in [System::Discrete, System::Continuous, System::Combined] {
                    metrics.push_metric(
                        layer,
                        system_name(system),
                        s,
                        -1,
                        "accuracy",
                        eval.get(system).accuracy,
                    );
                }
            }
            if layer == hist_layer.min(output_layer) {
                let node = match p["histogram_node"].as_u64() {
                    Some(n) if (n as usize) < width => n as usize,
                    Some(n) => {
                        return Err(format!(
                            "analysis.histogram_node = {n} but layer {layer} has {width} nodes"
                        )
                        .into())
                    }
                    None => most_class_selective_node(
                        &z_train,
                        n_train,
                        width,
                        &labels["train"],
                        classes,
                    ),
                };
                let h = node_class_histograms(
                    &z_train,
                    n_train,
                    width,
                    node,
                    &labels["train"],
                    classes,
                    hist_bins,
                )?;
                for c in 0..classes {
                    for (b, &count) in h.class(c).iter().enumerate() {
                        histogram.push_histogram(layer, node, c, h.edges[b], h.edges[b + 1], count);
                    }
                }
            }
            job.progress.advance(layer as u64);
        }
        metrics.finish().write_ipc(&job.out_dir.join(METRICS))?;
        fractions.finish().write_ipc(&job.out_dir.join(FRACTIONS))?;
        histogram.finish().write_ipc(&job.out_dir.join(HISTOGRAM))?;
        Ok(UnitOutcome {
            device: "cpu".into(),
            info: json!({ "snapshot": a.snapshot, "layers": output_layer }),
        })
    }
}

pub fn system_name(s: System) -> &'static str {
    match s {
        System::Discrete => "discrete",
        System::Continuous => "continuous",
        System::Combined => "combined",
    }
}

/// The node whose class means differ most, relative to its overall variance: the most
/// informative single node to show as per-class histograms. Ties go to the lowest index.
fn most_class_selective_node(
    z: &[f32],
    n: usize,
    width: usize,
    labels: &[u8],
    classes: usize,
) -> usize {
    let mut best = (f64::MIN, 0);
    for node in 0..width {
        let mut sum = vec![0f64; classes];
        let mut count = vec![0f64; classes];
        let (mut total, mut total_sq) = (0f64, 0f64);
        for (row, &l) in labels.iter().enumerate().take(n) {
            let v = z[row * width + node] as f64;
            sum[l as usize] += v;
            count[l as usize] += 1.0;
            total += v;
            total_sq += v * v;
        }
        let mean = total / n as f64;
        let var = total_sq / n as f64 - mean * mean;
        if var <= 1e-12 {
            continue;
        }
        let between: f64 = (0..classes)
            .filter(|&c| count[c] > 0.0)
            .map(|c| count[c] * (sum[c] / count[c] - mean).powi(2))
            .sum::<f64>()
            / n as f64;
        if between / var > best.0 {
            best = (between / var, node);
        }
    }
    best.1
}

/// Builds a long table whose first columns name the network and snapshot.
struct Rows {
    attrs: Attributes,
    n: usize,
    cols: BTreeMap<&'static str, Column>,
    order: Vec<&'static str>,
}

impl Rows {
    fn new(attrs: &Attributes) -> Rows {
        Rows {
            attrs: attrs.clone(),
            n: 0,
            cols: BTreeMap::new(),
            order: Vec::new(),
        }
    }

    fn int(&mut self, name: &'static str, v: i64) {
        if !self.cols.contains_key(name) {
            self.order.push(name);
        }
        match self.cols.entry(name).or_insert(Column::Int(Vec::new())) {
            Column::Int(c) => c.push(v),
            _ => unreachable!("column {name} is an integer column"),
        }
    }

    fn float(&mut self, name: &'static str, v: f64) {
        if !self.cols.contains_key(name) {
            self.order.push(name);
        }
        match self.cols.entry(name).or_insert(Column::Float(Vec::new())) {
            Column::Float(c) => c.push(v),
            _ => unreachable!("column {name} is a float column"),
        }
    }

    fn text(&mut self, name: &'static str, v: &str) {
        if !self.cols.contains_key(name) {
            self.order.push(name);
        }
        match self.cols.entry(name).or_insert(Column::Text(Vec::new())) {
            Column::Text(c) => c.push(v.to_string()),
            _ => unreachable!("column {name} is a text column"),
        }
    }

    fn network(&mut self, layer: usize) {
        let a = self.attrs.clone();
        self.text("dataset", &a.dataset);
        self.int("depth", a.depth as i64);
        self.int("width", a.width as i64);
        self.text("activation", &a.activation);
        self.text("loss", &a.loss);
        self.text("optimizer", &a.optimizer);
        self.text("training", &a.training);
        self.int("seed", a.seed as i64);
        self.text("snapshot", &a.snapshot);
        self.int("epoch", a.epoch as i64);
        self.int("step", a.step as i64);
        self.int("layer", layer as i64);
        self.n += 1;
    }

    fn push_metric(
        &mut self,
        layer: usize,
        system: &str,
        split: &str,
        class: i64,
        metric: &str,
        value: f64,
    ) {
        self.network(layer);
        self.text("system", system);
        self.text("split", split);
        self.int("class", class);
        self.text("metric", metric);
        self.float("value", value);
    }

    fn push_fraction(&mut self, layer: usize, node: usize, class: usize, split: &str, value: f64) {
        self.network(layer);
        self.int("node", node as i64);
        self.int("class", class as i64);
        self.text("split", split);
        self.float("value", value);
    }

    fn push_histogram(
        &mut self,
        layer: usize,
        node: usize,
        class: usize,
        lo: f64,
        hi: f64,
        count: u64,
    ) {
        self.network(layer);
        self.int("node", node as i64);
        self.int("class", class as i64);
        self.float("bin_lo", lo);
        self.float("bin_hi", hi);
        self.int("count", count as i64);
    }

    fn finish(mut self) -> Table {
        let mut t = Table::new();
        for name in self.order.clone() {
            t = t.with(name, self.cols.remove(name).expect("column exists"));
        }
        debug_assert!(t.columns.iter().all(|(_, c)| c.len() == self.n));
        t
    }
}
