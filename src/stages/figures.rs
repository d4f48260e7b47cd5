//! The `figures` stage: one unit per figure of the paper (and two beyond it), each built
//! from the analysis tables only, rendered as PNG and SVG with the CSV of its data and a
//! `figure.json` (caption, the paper's claim, what this run found). Where several seeds
//! exist, lines are the mean and the shaded band spans min to max over seeds.

use crate::engine::stage::{
    parse_tables, ConfigIssue, StageImpl, UnitError, UnitJob, UnitOutcome, UnitSpec,
};
use crate::engine::UnitRef;
use crate::formats::table::{Column, Table};
use crate::plots::heatmap::HeatMap;
use crate::plots::{Figure, Mark, Panel, Series};
use crate::stages::analysis::{FRACTIONS, HISTOGRAM, METRICS};
use crate::stages::train::NetworkParams;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// Selects one network configuration (all its seeds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetSel {
    pub dataset: String,
    pub depth: usize,
    pub width: usize,
    #[serde(default = "relu")]
    pub activation: String,
    #[serde(default = "mse")]
    pub loss: String,
}

fn relu() -> String {
    "relu".into()
}
fn mse() -> String {
    "mse".into()
}

fn sel(dataset: &str, depth: usize, width: usize) -> NetSel {
    NetSel {
        dataset: dataset.into(),
        depth,
        width,
        activation: relu(),
        loss: mse(),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FiguresTable {
    #[serde(default = "d_fig1")]
    fig1_network: NetSel,
    /// Width of the depth sweep (Figs. 2, 3, 6 and the selectivity map).
    #[serde(default = "d_100")]
    depth_sweep_width: usize,
    /// Depth of the width sweeps (Figs. 2, 3, 9, 10).
    #[serde(default = "d_10")]
    width_sweep_depth: usize,
    #[serde(default = "d_epochs")]
    epochs_network: NetSel,
    #[serde(default = "d_sigmoid")]
    sigmoid_network: NetSel,
    #[serde(default = "d_fig1")]
    histogram_network: NetSel,
    #[serde(default = "d_fashion")]
    fig6_dataset: String,
    #[serde(default = "d_9")]
    fig6_max_depth: usize,
    #[serde(default = "d_fashion")]
    fig9_dataset: String,
    #[serde(default = "d_mnist")]
    fig10_dataset: String,
    /// A node is class-selective when its activation fraction is at most this or at least
    /// 1 minus this, for every class.
    #[serde(default = "d_threshold")]
    selective_threshold: f64,
    /// The perplexity below which a layer counts as past the transition.
    #[serde(default = "d_two")]
    transition_perplexity: f64,
}

fn d_fig1() -> NetSel {
    sel("mnist", 10, 100)
}
fn d_epochs() -> NetSel {
    sel("fashion-mnist", 6, 100)
}
fn d_sigmoid() -> NetSel {
    NetSel {
        activation: "sigmoid".into(),
        loss: "ce".into(),
        ..sel("fashion-mnist", 7, 100)
    }
}
fn d_100() -> usize {
    100
}
fn d_10() -> usize {
    10
}
fn d_9() -> usize {
    9
}
fn d_fashion() -> String {
    "fashion-mnist".into()
}
fn d_mnist() -> String {
    "mnist".into()
}
fn d_threshold() -> f64 {
    0.05
}
fn d_two() -> f64 {
    2.0
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Tables {
    #[serde(default)]
    figures: Option<FiguresTable>,
}

/// The figures, in report order.
pub const FIGURES: [&str; 12] = [
    "fig1",
    "fig2",
    "fig3",
    "fig4",
    "fig5",
    "fig6",
    "fig7",
    "fig9",
    "fig10",
    "fig11",
    "selectivity",
    "transition",
];

pub struct FiguresStage;

/// An analysis unit with the network it belongs to.
struct Candidate<'a> {
    id: &'a str,
    net: NetworkParams,
    snapshot: &'a str,
}

fn matches(net: &NetworkParams, s: &NetSel) -> bool {
    net.dataset == s.dataset
        && net.depth == s.depth
        && net.width == s.width
        && name(&net.activation) == s.activation
        && name(&net.loss) == s.loss
}

fn name<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

fn relu_mse(net: &NetworkParams) -> bool {
    name(&net.activation) == "relu" && name(&net.loss) == "mse"
}

impl StageImpl for FiguresStage {
    fn units(
        &self,
        tables: &Value,
        upstream: &BTreeMap<String, Vec<UnitSpec>>,
    ) -> Result<Vec<UnitSpec>, ConfigIssue> {
        let t = parse_tables::<Tables>(tables)?
            .figures
            .unwrap_or_else(|| parse_tables::<FiguresTable>(&json!({})).expect("defaults"));
        if !(0.0..0.5).contains(&t.selective_threshold) {
            return Err(ConfigIssue::new(
                "figures.selective_threshold",
                "must be in [0, 0.5)",
            ));
        }
        // A perplexity is at least 1; a threshold at or below it can never be crossed.
        if t.transition_perplexity <= 1.0 {
            return Err(ConfigIssue::new(
                "figures.transition_perplexity",
                "must be above 1 (the lowest possible perplexity)",
            ));
        }
        let nets: BTreeMap<&str, NetworkParams> = upstream
            .get("train")
            .into_iter()
            .flatten()
            .map(|u| {
                (
                    u.id.as_str(),
                    serde_json::from_value(u.params.clone()).expect("train params round-trip"),
                )
            })
            .collect();
        let candidates: Vec<Candidate> = upstream
            .get("analysis")
            .into_iter()
            .flatten()
            .filter_map(|u| {
                let (train_id, snapshot) = u.id.split_once('@')?;
                Some(Candidate {
                    id: &u.id,
                    net: nets.get(train_id)?.clone(),
                    snapshot,
                })
            })
            .collect();
        let pick = |f: &dyn Fn(&Candidate) -> bool| -> Vec<UnitRef> {
            candidates
                .iter()
                .filter(|c| f(c))
                .map(|c| UnitRef::new("analysis", c.id))
                .collect()
        };
        let best = |c: &Candidate| c.snapshot == "best";
        let in_sweeps = |c: &Candidate| {
            relu_mse(&c.net)
                && (c.net.width == t.depth_sweep_width || c.net.depth == t.width_sweep_depth)
        };
        let mut units = Vec::new();
        for id in FIGURES {
            let (params, inputs) = match id {
                "fig1" => (
                    json!(t.fig1_network),
                    pick(&|c| {
                        matches(&c.net, &t.fig1_network) && (best(c) || c.snapshot == "init")
                    }),
                ),
                "fig2" | "fig3" | "transition" => (
                    json!({ "depth_sweep_width": t.depth_sweep_width, "width_sweep_depth": t.width_sweep_depth, "transition_perplexity": t.transition_perplexity }),
                    pick(&|c| best(c) && in_sweeps(c)),
                ),
                "fig4" => (
                    json!(t.epochs_network),
                    pick(&|c| {
                        matches(&c.net, &t.epochs_network)
                            && (best(c) || c.snapshot.starts_with("epoch-"))
                    }),
                ),
                "fig5" => (
                    json!(t.epochs_network),
                    pick(&|c| {
                        matches(&c.net, &t.epochs_network) && c.snapshot.starts_with("step-")
                    }),
                ),
                "fig6" => (
                    json!({ "dataset": t.fig6_dataset, "width": t.depth_sweep_width, "max_depth": t.fig6_max_depth }),
                    pick(&|c| {
                        best(c)
                            && relu_mse(&c.net)
                            && c.net.dataset == t.fig6_dataset
                            && c.net.width == t.depth_sweep_width
                            && c.net.depth <= t.fig6_max_depth
                    }),
                ),
                "fig7" => (
                    json!(t.sigmoid_network),
                    pick(&|c| best(c) && matches(&c.net, &t.sigmoid_network)),
                ),
                "fig9" | "fig10" => {
                    let dataset = if id == "fig9" {
                        &t.fig9_dataset
                    } else {
                        &t.fig10_dataset
                    };
                    (
                        json!({ "dataset": dataset, "depth": t.width_sweep_depth }),
                        pick(&|c| {
                            best(c)
                                && relu_mse(&c.net)
                                && &c.net.dataset == dataset
                                && c.net.depth == t.width_sweep_depth
                        }),
                    )
                }
                "fig11" => (
                    json!(t.histogram_network),
                    pick(&|c| best(c) && matches(&c.net, &t.histogram_network)),
                ),
                "selectivity" => (
                    json!({ "width": t.depth_sweep_width, "threshold": t.selective_threshold }),
                    pick(&|c| best(c) && relu_mse(&c.net) && c.net.width == t.depth_sweep_width),
                ),
                _ => unreachable!("every figure is listed"),
            };
            units.push(UnitSpec {
                id: id.to_string(),
                params: json!({ "figure": id, "select": params }),
                inputs,
                settings: Value::Null,
            });
        }
        Ok(units)
    }

    fn run(&self, job: &UnitJob) -> Result<UnitOutcome, UnitError> {
        let id = job.unit.id.as_str();
        let select = &job.unit.params["select"];
        let dirs: Vec<&Path> = job.inputs.values().map(|p| p.as_path()).collect();
        let rows = load_metrics(&dirs)?;
        let out = job.out_dir;
        let built = match id {
            "fig1" => fig1(&dirs)?,
            "fig2" => fig2(&rows, select),
            "fig3" => fig3(&rows, select),
            "fig4" => fig_systems_over_snapshots(&rows, "fig4", true),
            "fig5" => fig_systems_over_snapshots(&rows, "fig5", false),
            "fig6" => fig_per_network(
                &rows,
                "fig6",
                |n| format!("depth {}", n.depth),
                |n| n.depth,
                false,
                &["discrete", "continuous", "combined"],
            ),
            "fig7" => fig_per_network(
                &rows,
                "fig7",
                |n| format!("{}x{} {} {}", n.depth, n.width, n.activation, n.loss),
                |n| n.depth,
                true,
                &["discrete", "continuous"],
            ),
            "fig9" | "fig10" => fig_per_network(
                &rows,
                id,
                |n| format!("width {}", n.width),
                |n| n.width,
                true,
                &["discrete", "continuous", "combined"],
            ),
            "fig11" => fig11(&dirs)?,
            "selectivity" => selectivity(&dirs, select)?,
            "transition" => transition(&rows, select),
            other => return Err(format!("unknown figure `{other}`").into()),
        };
        match &built.chart {
            Chart::Lines(fig) => {
                fig.render_png(&out.join(format!("{id}.png")))?;
                fig.render_svg(&out.join(format!("{id}.svg")))?;
                fig.write_csv(&out.join(format!("{id}.csv")))?;
            }
            Chart::Heat(map, csv) => {
                map.render_png(&out.join(format!("{id}.png")))?;
                map.render_svg(&out.join(format!("{id}.svg")))?;
                std::fs::write(out.join(format!("{id}.csv")), csv)?;
            }
        }
        let text = captions(id);
        let summary = json!({
            "id": id,
            "title": text.0,
            "caption": text.1,
            "claim": text.2,
            "findings": built.findings,
            "missing": built.missing,
            "inputs": job.inputs.len(),
        });
        std::fs::write(
            out.join("figure.json"),
            serde_json::to_string_pretty(&summary)?,
        )?;
        Ok(UnitOutcome {
            device: "cpu".into(),
            info: json!({ "missing": built.missing }),
        })
    }
}

enum Chart {
    Lines(Figure),
    /// The map and the CSV of its values.
    Heat(HeatMap, String),
}

struct Built {
    chart: Chart,
    findings: Vec<String>,
    /// Set when the profile has none of the networks this figure needs.
    missing: Option<String>,
}

// ---- loading ------------------------------------------------------------------------

/// The network a row belongs to (seed aside, for grouping over seeds).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NetKey {
    pub dataset: String,
    pub depth: usize,
    pub width: usize,
    pub activation: String,
    pub loss: String,
}

#[derive(Debug, Clone)]
pub struct MetricRow {
    pub net: NetKey,
    pub seed: i64,
    pub snapshot: String,
    pub epoch: i64,
    pub step: i64,
    pub layer: usize,
    pub system: String,
    pub split: String,
    pub class: i64,
    pub metric: String,
    pub value: f64,
}

fn text_col<'a>(t: &'a Table, name: &str, file: &Path) -> Result<&'a Vec<String>, UnitError> {
    match t.column(name) {
        Some(Column::Text(v)) => Ok(v),
        _ => Err(format!("{}: no text column `{name}`", file.display()).into()),
    }
}

fn int_col<'a>(t: &'a Table, name: &str, file: &Path) -> Result<&'a Vec<i64>, UnitError> {
    match t.column(name) {
        Some(Column::Int(v)) => Ok(v),
        _ => Err(format!("{}: no integer column `{name}`", file.display()).into()),
    }
}

fn float_col<'a>(t: &'a Table, name: &str, file: &Path) -> Result<&'a Vec<f64>, UnitError> {
    match t.column(name) {
        Some(Column::Float(v)) => Ok(v),
        _ => Err(format!("{}: no float column `{name}`", file.display()).into()),
    }
}

fn net_key(t: &Table, i: usize, file: &Path) -> Result<(NetKey, i64, String), UnitError> {
    Ok((
        NetKey {
            dataset: text_col(t, "dataset", file)?[i].clone(),
            depth: int_col(t, "depth", file)?[i] as usize,
            width: int_col(t, "width", file)?[i] as usize,
            activation: text_col(t, "activation", file)?[i].clone(),
            loss: text_col(t, "loss", file)?[i].clone(),
        },
        int_col(t, "seed", file)?[i],
        text_col(t, "snapshot", file)?[i].clone(),
    ))
}

/// Every metric row of the given analysis entries.
pub fn load_metrics(dirs: &[&Path]) -> Result<Vec<MetricRow>, UnitError> {
    let mut rows = Vec::new();
    for dir in dirs {
        let file = dir.join(METRICS);
        let t = Table::read_ipc(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let (epoch, step, layer) = (
            int_col(&t, "epoch", &file)?,
            int_col(&t, "step", &file)?,
            int_col(&t, "layer", &file)?,
        );
        let (system, split, metric) = (
            text_col(&t, "system", &file)?,
            text_col(&t, "split", &file)?,
            text_col(&t, "metric", &file)?,
        );
        let (class, value) = (int_col(&t, "class", &file)?, float_col(&t, "value", &file)?);
        for i in 0..t.rows() {
            let (net, seed, snapshot) = net_key(&t, i, &file)?;
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

/// (x, y) points of a line.
type Points = Vec<(f64, f64)>;
/// (x, low, high) of a band.
type Band = Vec<(f64, f64, f64)>;
/// (layer, node, class, fraction) of one snapshot.
type FractionPoints = Vec<(usize, usize, usize, f64)>;
/// (class, bin low, bin high, count) of one histogram.
type Bins = Vec<(usize, f64, f64, i64)>;

/// Mean, min and max of the values at each x.
fn aggregate(values: impl IntoIterator<Item = (f64, f64)>) -> (Points, Band) {
    let mut by_x: BTreeMap<i64, (f64, Vec<f64>)> = BTreeMap::new();
    for (x, y) in values {
        if y.is_finite() {
            by_x.entry((x * 1000.0).round() as i64)
                .or_insert((x, Vec::new()))
                .1
                .push(y);
        }
    }
    let mut points = Vec::new();
    let mut band = Vec::new();
    for (x, ys) in by_x.into_values() {
        let mean = ys.iter().sum::<f64>() / ys.len() as f64;
        let lo = ys.iter().copied().fold(f64::MAX, f64::min);
        let hi = ys.iter().copied().fold(f64::MIN, f64::max);
        points.push((x, mean));
        band.push((x, lo, hi));
    }
    // A band is only worth drawing when there is spread (several seeds).
    if band.iter().all(|b| b.1 == b.2) {
        band.clear();
    }
    (points, band)
}

fn series(
    name: String,
    values: impl IntoIterator<Item = (f64, f64)>,
    mark: Mark,
    colour: usize,
) -> Series {
    let (points, band) = aggregate(values);
    Series::new(name, points, mark, colour).with_band(band)
}

fn figure(id: &str, title: &str, panels: Vec<Panel>, columns: usize) -> Figure {
    Figure {
        id: id.into(),
        title: title.into(),
        panels,
        columns,
        panel_size: (520, 380),
    }
}

fn empty(id: &str, title: &str, note: &str) -> Built {
    let panel = Panel {
        title: title.into(),
        empty_note: Some(note.into()),
        ..Panel::default()
    };
    Built {
        chart: Chart::Lines(figure(id, title, vec![panel], 1)),
        findings: Vec::new(),
        missing: Some(note.into()),
    }
}

fn nets_of(rows: &[MetricRow]) -> Vec<NetKey> {
    let mut nets: Vec<NetKey> = rows.iter().map(|r| r.net.clone()).collect();
    nets.sort();
    nets.dedup();
    nets
}

const NO_DATA: &str = "The configuration (profile) trains none of the networks this figure needs.";

// ---- the figures ----------------------------------------------------------------------

fn fig1(dirs: &[&Path]) -> Result<Built, UnitError> {
    let title = "Fig. 1: class activation fractions per node";
    let mut panels = Vec::new();
    let mut findings = Vec::new();
    // Per snapshot (init, best) of the lowest seed: points (node position, %) per class.
    let mut per_snapshot: BTreeMap<String, (i64, FractionPoints)> = BTreeMap::new();
    for dir in dirs {
        let file = dir.join(FRACTIONS);
        let t = Table::read_ipc(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let (layer, node, class, split, value) = (
            int_col(&t, "layer", &file)?,
            int_col(&t, "node", &file)?,
            int_col(&t, "class", &file)?,
            text_col(&t, "split", &file)?,
            float_col(&t, "value", &file)?,
        );
        for i in 0..t.rows() {
            let (_, seed, snapshot) = net_key(&t, i, &file)?;
            if split[i] != "train" {
                continue;
            }
            let entry = per_snapshot.entry(snapshot).or_insert((seed, Vec::new()));
            if seed < entry.0 {
                *entry = (seed, Vec::new());
            }
            if seed == entry.0 {
                entry.1.push((
                    layer[i] as usize,
                    node[i] as usize,
                    class[i] as usize,
                    value[i],
                ));
            }
        }
    }
    if per_snapshot.is_empty() {
        return Ok(empty("fig1", title, NO_DATA));
    }
    for snapshot in ["init", "best"] {
        let Some((_, points)) = per_snapshot.get(snapshot) else {
            continue;
        };
        let widths: BTreeMap<usize, usize> = points.iter().fold(BTreeMap::new(), |mut m, p| {
            let w = m.entry(p.0).or_insert(0);
            *w = (*w).max(p.1 + 1);
            m
        });
        let offset = |layer: usize| widths.range(..layer).map(|(_, w)| w).sum::<usize>();
        let classes = points.iter().map(|p| p.2).max().unwrap_or(0) + 1;
        let series: Vec<Series> = (0..classes)
            .map(|c| {
                let pts = points
                    .iter()
                    .filter(|p| p.2 == c)
                    .map(|p| ((offset(p.0) + p.1) as f64, 100.0 * p.3))
                    .collect();
                Series::new(format!("class {c}"), pts, Mark::Points, c)
            })
            .collect();
        let extreme = points.iter().filter(|p| p.3 <= 0.05 || p.3 >= 0.95).count() as f64
            / points.len().max(1) as f64;
        findings.push(format!(
            "{}: {:.0}% of (node, class) fractions are below 5% or above 95%",
            if snapshot == "init" {
                "At initialisation"
            } else {
                "Trained (best)"
            },
            100.0 * extreme
        ));
        panels.push(Panel {
            title: if snapshot == "init" {
                "at initialisation".into()
            } else {
                "trained (best snapshot)".into()
            },
            x_label: "node (hidden layers in order, then the output layer)".into(),
            y_label: "% of the class's train samples with z > 0".into(),
            y_range: Some((-3.0, 103.0)),
            series,
            ..Panel::default()
        });
    }
    Ok(Built {
        chart: Chart::Lines(figure("fig1", title, panels, 1)),
        findings,
        missing: None,
    })
}

fn network_error(rows: &[MetricRow]) -> impl Iterator<Item = &MetricRow> {
    rows.iter()
        .filter(|r| r.system == "network" && r.split == "test" && r.metric == "accuracy")
}

fn fig2(rows: &[MetricRow], select: &Value) -> Built {
    let title = "Fig. 2: test error against depth and width";
    let (dw, wd) = (
        select["depth_sweep_width"].as_u64().unwrap_or(100) as usize,
        select["width_sweep_depth"].as_u64().unwrap_or(10) as usize,
    );
    let datasets: Vec<String> = {
        let mut d: Vec<String> = rows.iter().map(|r| r.net.dataset.clone()).collect();
        d.sort();
        d.dedup();
        d
    };
    if datasets.is_empty() {
        return empty("fig2", title, NO_DATA);
    }
    let mut findings = Vec::new();
    let mut depth_panel = Panel {
        title: format!("against depth (width {dw})"),
        x_label: "hidden layers".into(),
        x_integer: true,
        y_label: "test error (%)".into(),
        ..Panel::default()
    };
    let mut width_panel = Panel {
        title: format!("against width (depth {wd})"),
        x_label: "nodes per layer".into(),
        x_integer: true,
        y_label: "test error (%)".into(),
        ..Panel::default()
    };
    for (i, ds) in datasets.iter().enumerate() {
        let by_depth = network_error(rows)
            .filter(|r| &r.net.dataset == ds && r.net.width == dw)
            .map(|r| (r.net.depth as f64, 100.0 * (1.0 - r.value)));
        let s = series(ds.clone(), by_depth, Mark::Line, i);
        if let (Some(first), Some(last)) = (
            s.points.first(),
            s.points.last().filter(|_| s.points.len() > 1),
        ) {
            findings.push(format!(
                "{ds}: test error {:.2}% at depth {} and {:.2}% at depth {}",
                first.1, first.0, last.1, last.0
            ));
        }
        depth_panel.series.push(s);
        let by_width = network_error(rows)
            .filter(|r| &r.net.dataset == ds && r.net.depth == wd)
            .map(|r| (r.net.width as f64, 100.0 * (1.0 - r.value)));
        let s = series(ds.clone(), by_width, Mark::Line, i);
        if let (Some(first), Some(last)) = (
            s.points.first(),
            s.points.last().filter(|_| s.points.len() > 1),
        ) {
            findings.push(format!(
                "{ds}: test error {:.2}% at width {} and {:.2}% at width {}",
                first.1, first.0, last.1, last.0
            ));
        }
        width_panel.series.push(s);
    }
    Built {
        chart: Chart::Lines(figure("fig2", title, vec![depth_panel, width_panel], 2)),
        findings,
        missing: None,
    }
}

fn mean_perplexity<'a>(
    rows: &'a [MetricRow],
    split: &'a str,
) -> impl Iterator<Item = &'a MetricRow> {
    rows.iter().filter(move |r| {
        r.metric == "mean_perplexity" && r.split == split && r.layer <= r.net.depth
    })
}

fn fig3(rows: &[MetricRow], select: &Value) -> Built {
    let title = "Fig. 3: mean test perplexity per layer";
    let (dw, wd) = (
        select["depth_sweep_width"].as_u64().unwrap_or(100) as usize,
        select["width_sweep_depth"].as_u64().unwrap_or(10) as usize,
    );
    let nets = nets_of(rows);
    if nets.is_empty() {
        return empty("fig3", title, NO_DATA);
    }
    let mut datasets: Vec<&str> = nets.iter().map(|n| n.dataset.as_str()).collect();
    datasets.dedup();
    let mut panels = Vec::new();
    let mut findings = Vec::new();
    for ds in datasets {
        for (sweep, filter, label) in [
            (
                "depth",
                Box::new(move |n: &NetKey| n.width == dw) as Box<dyn Fn(&NetKey) -> bool>,
                Box::new(|n: &NetKey| format!("depth {}", n.depth))
                    as Box<dyn Fn(&NetKey) -> String>,
            ),
            (
                "width",
                Box::new(move |n: &NetKey| n.depth == wd),
                Box::new(|n: &NetKey| format!("width {}", n.width)),
            ),
        ] {
            let chosen: Vec<&NetKey> = nets
                .iter()
                .filter(|n| n.dataset == ds && filter(n))
                .collect();
            let series_list: Vec<Series> = chosen
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    series(
                        label(n),
                        mean_perplexity(rows, "test")
                            .filter(|r| &r.net == *n)
                            .map(|r| (r.layer as f64, r.value)),
                        Mark::Line,
                        i,
                    )
                })
                .collect();
            for (n, s) in chosen.iter().zip(&series_list) {
                if n.depth >= 2 {
                    if let (Some(first), Some(last)) = (s.points.first(), s.points.last()) {
                        findings.push(format!(
                            "{ds} {}x{}: {:.1} in layer 1, {:.2} in layer {}",
                            n.depth, n.width, first.1, last.1, last.0
                        ));
                    }
                }
            }
            panels.push(Panel {
                title: format!("{ds}, {sweep} sweep"),
                x_label: "layer".into(),
                x_integer: true,
                y_label: "mean test perplexity".into(),
                log_y: true,
                series: series_list,
                empty_note: Some(format!("no {sweep} sweep in this profile")),
                ..Panel::default()
            });
        }
    }
    Built {
        chart: Chart::Lines(figure("fig3", title, panels, 2)),
        findings,
        missing: None,
    }
}

const SYSTEMS: [&str; 3] = ["discrete", "continuous", "combined"];

/// Per-layer accuracy lines of the given systems (train solid, test dashed) and the
/// network's test accuracy as a dotted line, for the rows of one network and snapshot.
fn systems_panel(title: String, rows: &[&MetricRow], systems: &[&str], with_train: bool) -> Panel {
    let mut list = Vec::new();
    let depth = rows.first().map_or(1, |r| r.net.depth);
    for (i, sys) in systems.iter().enumerate() {
        let colour = SYSTEMS.iter().position(|s| s == sys).unwrap_or(i);
        for split in if with_train {
            vec!["train", "test"]
        } else {
            vec!["test"]
        } {
            let pts = rows
                .iter()
                .filter(|r| {
                    r.system == *sys
                        && r.split == split
                        && r.metric == "accuracy"
                        && r.layer <= depth
                })
                .map(|r| (r.layer as f64, r.value));
            list.push(series(
                format!("{sys} ({split})"),
                pts,
                if split == "train" {
                    Mark::Line
                } else {
                    Mark::Dashed
                },
                colour,
            ));
        }
    }
    let net: Vec<f64> = rows
        .iter()
        .filter(|r| r.system == "network" && r.split == "test")
        .map(|r| r.value)
        .collect();
    if !net.is_empty() {
        let mean = net.iter().sum::<f64>() / net.len() as f64;
        list.push(Series::new(
            "network (test)",
            vec![(0.6, mean), (depth as f64 + 0.4, mean)],
            Mark::Dotted,
            9,
        ));
    }
    Panel {
        title,
        x_label: "layer".into(),
        x_integer: true,
        y_label: "accuracy".into(),
        series: list,
        ..Panel::default()
    }
}

fn snapshot_order(s: &str) -> (u8, i64) {
    match s.split_once('-') {
        Some(("step", n)) => (0, n.parse().unwrap_or(0)),
        Some(("epoch", n)) => (1, n.parse().unwrap_or(0)),
        _ if s == "init" => (0, -1),
        _ => (2, 0),
    }
}

fn fig_systems_over_snapshots(rows: &[MetricRow], id: &str, with_train: bool) -> Built {
    let title = if id == "fig4" {
        "Fig. 4: node-classifier accuracy per layer after selected epochs"
    } else {
        "Fig. 5: node-classifier test accuracy per layer after selected steps of epoch 1"
    };
    let mut snaps: Vec<&str> = rows.iter().map(|r| r.snapshot.as_str()).collect();
    snaps.sort_by_key(|s| snapshot_order(s));
    snaps.dedup();
    if snaps.is_empty() {
        return empty(id, title, NO_DATA);
    }
    let mut findings = Vec::new();
    let panels: Vec<Panel> = snaps
        .iter()
        .map(|snap| {
            let these: Vec<&MetricRow> = rows.iter().filter(|r| r.snapshot == *snap).collect();
            let depth = these.first().map_or(0, |r| r.net.depth);
            let last_combined = these
                .iter()
                .filter(|r| r.system == "combined" && r.split == "test" && r.layer == depth)
                .map(|r| r.value)
                .collect::<Vec<_>>();
            let net = these
                .iter()
                .filter(|r| r.system == "network" && r.split == "test")
                .map(|r| r.value)
                .collect::<Vec<_>>();
            if let (Some(c), Some(n)) = (mean(&last_combined), mean(&net)) {
                findings.push(format!(
                    "{snap}: combined system {:.3} in the last hidden layer, network {:.3}",
                    c, n
                ));
            }
            let label = match snap.split_once('-') {
                Some(("step", n)) => format!("after step {n}"),
                Some(("epoch", n)) => format!("after epoch {n}"),
                _ => format!("{snap} snapshot"),
            };
            systems_panel(label, &these, &SYSTEMS, with_train)
        })
        .collect();
    Built {
        chart: Chart::Lines(figure(id, title, panels, 3)),
        findings,
        missing: None,
    }
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn fig_per_network(
    rows: &[MetricRow],
    id: &str,
    label: fn(&NetKey) -> String,
    order: fn(&NetKey) -> usize,
    with_train: bool,
    systems: &[&str],
) -> Built {
    let title = match id {
        "fig6" => "Fig. 6: test accuracy per layer of the three systems, over depth",
        "fig7" => {
            "Fig. 7: discrete and continuous systems, sigmoid network trained with cross-entropy"
        }
        "fig9" => "Fig. 9: the three systems over width (Fashion-MNIST)",
        _ => "Fig. 10: the three systems over width (MNIST)",
    };
    let mut nets = nets_of(rows);
    if nets.is_empty() {
        return empty(id, title, NO_DATA);
    }
    nets.sort_by_key(order);
    let mut findings = Vec::new();
    let panels: Vec<Panel> = nets
        .iter()
        .map(|n| {
            let these: Vec<&MetricRow> = rows.iter().filter(|r| &r.net == n).collect();
            let acc = |sys: &str, layer: usize| {
                mean(
                    &these
                        .iter()
                        .filter(|r| {
                            r.system == sys
                                && r.split == "test"
                                && r.layer == layer
                                && r.metric == "accuracy"
                        })
                        .map(|r| r.value)
                        .collect::<Vec<_>>(),
                )
            };
            let net = mean(
                &these
                    .iter()
                    .filter(|r| r.system == "network" && r.split == "test")
                    .map(|r| r.value)
                    .collect::<Vec<_>>(),
            );
            let parts: Vec<String> = systems
                .iter()
                .filter_map(|s| Some(format!("{s} {:.3}/{:.3}", acc(s, 1)?, acc(s, n.depth)?)))
                .collect();
            findings.push(format!(
                "{} {}: test accuracy first/last hidden layer: {}; network {:.3}",
                n.dataset,
                label(n),
                parts.join(", "),
                net.unwrap_or(f64::NAN)
            ));
            systems_panel(
                format!("{} {}", n.dataset, label(n)),
                &these,
                systems,
                with_train,
            )
        })
        .collect();
    Built {
        chart: Chart::Lines(figure(id, title, panels, 3)),
        findings,
        missing: None,
    }
}

fn fig11(dirs: &[&Path]) -> Result<Built, UnitError> {
    let title = "Fig. 11: per-class distributions of one first-layer node's pre-activation";
    let mut best: Option<(i64, Bins, usize, usize)> = None;
    for dir in dirs {
        let file = dir.join(HISTOGRAM);
        let t = Table::read_ipc(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let (layer, node, class, lo, hi, count) = (
            int_col(&t, "layer", &file)?,
            int_col(&t, "node", &file)?,
            int_col(&t, "class", &file)?,
            float_col(&t, "bin_lo", &file)?,
            float_col(&t, "bin_hi", &file)?,
            int_col(&t, "count", &file)?,
        );
        if t.rows() == 0 {
            continue;
        }
        let (_, seed, _) = net_key(&t, 0, &file)?;
        if best.as_ref().is_some_and(|b| b.0 <= seed) {
            continue;
        }
        let bins = (0..t.rows())
            .map(|i| (class[i] as usize, lo[i], hi[i], count[i]))
            .collect();
        best = Some((seed, bins, layer[0] as usize, node[0] as usize));
    }
    let Some((seed, bins, layer, node)) = best else {
        return Ok(empty("fig11", title, NO_DATA));
    };
    let classes = bins.iter().map(|b| b.0).max().unwrap_or(0) + 1;
    let series: Vec<Series> = (0..classes)
        .map(|c| {
            let total: i64 = bins.iter().filter(|b| b.0 == c).map(|b| b.3).sum();
            let pts = bins
                .iter()
                .filter(|b| b.0 == c)
                .map(|b| ((b.1 + b.2) / 2.0, b.3 as f64 / total.max(1) as f64))
                .collect();
            Series::new(format!("class {c}"), pts, Mark::Line, c)
        })
        .collect();
    let panel = Panel {
        title: format!("layer {layer}, node {node} (seed {seed}, train split)"),
        x_label: "pre-activation z".into(),
        y_label: "fraction of the class's samples".into(),
        series,
        ..Panel::default()
    };
    let findings = vec![format!(
        "node {node} of layer {layer}: the node whose class means differ most, unless configured"
    )];
    Ok(Built {
        chart: Chart::Lines(figure("fig11", title, vec![panel], 1)),
        findings,
        missing: None,
    })
}

fn selectivity(dirs: &[&Path], select: &Value) -> Result<Built, UnitError> {
    let title = "Beyond the paper: share of class-selective nodes per layer";
    let threshold = select["threshold"].as_f64().unwrap_or(0.05);
    // (network, seed, layer, node) -> selective for every class so far?
    let mut nodes: BTreeMap<(NetKey, i64, usize, i64), bool> = BTreeMap::new();
    for dir in dirs {
        let file = dir.join(FRACTIONS);
        let t = Table::read_ipc(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let (layer, node, split, value) = (
            int_col(&t, "layer", &file)?,
            int_col(&t, "node", &file)?,
            text_col(&t, "split", &file)?,
            float_col(&t, "value", &file)?,
        );
        for i in 0..t.rows() {
            if split[i] != "train" {
                continue;
            }
            let (net, seed, _) = net_key(&t, i, &file)?;
            if layer[i] as usize > net.depth {
                continue;
            }
            let v = value[i];
            let ok = v <= threshold || v >= 1.0 - threshold;
            let e = nodes
                .entry((net, seed, layer[i] as usize, node[i]))
                .or_insert(true);
            *e &= ok;
        }
    }
    if nodes.is_empty() {
        return Ok(empty("selectivity", title, NO_DATA));
    }
    // Share per (network, layer), averaged over seeds.
    let mut share: BTreeMap<(NetKey, usize), Vec<f64>> = BTreeMap::new();
    let mut per_seed: BTreeMap<(NetKey, i64, usize), (usize, usize)> = BTreeMap::new();
    for ((net, seed, layer, _), sel) in nodes {
        let e = per_seed.entry((net, seed, layer)).or_insert((0, 0));
        e.0 += sel as usize;
        e.1 += 1;
    }
    for ((net, _, layer), (s, n)) in per_seed {
        share
            .entry((net, layer))
            .or_default()
            .push(s as f64 / n as f64);
    }
    let mut nets: Vec<NetKey> = share.keys().map(|k| k.0.clone()).collect();
    nets.dedup();
    let max_depth = nets.iter().map(|n| n.depth).max().unwrap_or(1);
    let mut csv = String::from("network,layer,share_selective\n");
    let mut findings = Vec::new();
    let values: Vec<Vec<f64>> = nets
        .iter()
        .map(|n| {
            (1..=max_depth)
                .map(|l| {
                    let v = share
                        .get(&(n.clone(), l))
                        .and_then(|v| mean(v))
                        .unwrap_or(f64::NAN);
                    if v.is_finite() {
                        csv.push_str(&format!("{} {}x{},{l},{v}\n", n.dataset, n.depth, n.width));
                    }
                    v
                })
                .collect()
        })
        .collect();
    for (n, row) in nets.iter().zip(&values) {
        let finite: Vec<f64> = row.iter().copied().filter(|v| v.is_finite()).collect();
        if let (Some(first), Some(last)) = (finite.first(), finite.last()) {
            findings.push(format!(
                "{} {}x{}: {:.0}% selective nodes in layer 1, {:.0}% in layer {}",
                n.dataset,
                n.depth,
                n.width,
                100.0 * first,
                100.0 * last,
                finite.len()
            ));
        }
    }
    let map = HeatMap {
        title: format!(
            "share of nodes with activation fraction <= {threshold} or >= {} for every class",
            1.0 - threshold
        ),
        x_label: "layer".into(),
        y_label: "network".into(),
        row_labels: nets
            .iter()
            .map(|n| format!("{} {}x{}", n.dataset, n.depth, n.width))
            .collect(),
        column_labels: (1..=max_depth).map(|l| l.to_string()).collect(),
        values,
    };
    Ok(Built {
        chart: Chart::Heat(map, csv),
        findings,
        missing: None,
    })
}

/// The first hidden layer whose mean test perplexity is below the threshold, or None.
pub fn transition_layer(rows: &[MetricRow], net: &NetKey, threshold: f64) -> Option<f64> {
    let (points, _) = aggregate(
        mean_perplexity(rows, "test")
            .filter(|r| &r.net == net)
            .map(|r| (r.layer as f64, r.value)),
    );
    points.iter().find(|p| p.1 < threshold).map(|p| p.0)
}

fn transition(rows: &[MetricRow], select: &Value) -> Built {
    let title = "Beyond the paper: the layer where perplexity first falls below the threshold";
    let threshold = select["transition_perplexity"].as_f64().unwrap_or(2.0);
    let (dw, wd) = (
        select["depth_sweep_width"].as_u64().unwrap_or(100) as usize,
        select["width_sweep_depth"].as_u64().unwrap_or(10) as usize,
    );
    let nets = nets_of(rows);
    if nets.is_empty() {
        return empty("transition", title, NO_DATA);
    }
    let mut datasets: Vec<&str> = nets.iter().map(|n| n.dataset.as_str()).collect();
    datasets.dedup();
    let mut findings = Vec::new();
    let mut by_depth = Panel {
        title: format!("depth sweep (width {dw})"),
        x_label: "hidden layers".into(),
        x_integer: true,
        y_label: format!("first layer with perplexity < {threshold}"),
        ..Panel::default()
    };
    let mut by_width = Panel {
        title: format!("width sweep (depth {wd})"),
        x_label: "nodes per layer".into(),
        x_integer: true,
        y_label: format!("first layer with perplexity < {threshold}"),
        ..Panel::default()
    };
    for (i, ds) in datasets.iter().enumerate() {
        for (panel, keep, x) in [
            (
                &mut by_depth,
                Box::new(|n: &NetKey| n.width == dw) as Box<dyn Fn(&NetKey) -> bool>,
                (|n: &NetKey| n.depth) as fn(&NetKey) -> usize,
            ),
            (
                &mut by_width,
                Box::new(|n: &NetKey| n.depth == wd),
                |n: &NetKey| n.width,
            ),
        ] {
            let mut pts = Vec::new();
            for n in nets.iter().filter(|n| &n.dataset == ds && keep(n)) {
                match transition_layer(rows, n, threshold) {
                    Some(l) => pts.push((x(n) as f64, l)),
                    None => findings.push(format!(
                        "{ds} {}x{}: perplexity never falls below {threshold}",
                        n.depth, n.width
                    )),
                }
            }
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            pts.dedup_by(|a, b| a.0 == b.0);
            panel
                .series
                .push(Series::new(ds.to_string(), pts, Mark::Line, i));
        }
    }
    Built {
        chart: Chart::Lines(figure("transition", title, vec![by_depth, by_width], 2)),
        findings,
        missing: None,
    }
}

/// (title, caption, the paper's claim) of each figure.
pub fn captions(id: &str) -> (&'static str, &'static str, &'static str) {
    match id {
        "fig1" => ("Fig. 1: class activation fractions", "Percentage of each class's training samples that activate (z > 0) each node, all hidden nodes in order and then the output nodes, one colour per class; MNIST 10x100 at initialisation and after training (best snapshot).", "After training, nodes become class-selective: most nodes are active for almost all or almost none of the samples of a class."),
        "fig2" => ("Fig. 2: test error against depth and width", "Test error of the best snapshot against the number of hidden layers (width 100) and against the width (depth 10), MNIST and Fashion-MNIST; mean over seeds, band from min to max.", "Test error improves with depth and width and then saturates."),
        "fig3" => ("Fig. 3: layer perplexity", "Mean test perplexity per layer (log scale), one line per network: the depth sweep and the width sweep, MNIST and Fashion-MNIST.", "Perplexity is close to the class size in the first layers of wide networks, falls sharply over a few layers, and is close to 1 in the last layers."),
        "fig4" => ("Fig. 4: node classifiers over training", "Train (solid) and test (dashed) accuracy per layer of the discrete, continuous and combined node-based systems after selected epochs, Fashion-MNIST 6x100; the dotted line is the network's test accuracy.", "As training proceeds the systems' accuracy in later layers rises to the network's own."),
        "fig5" => ("Fig. 5: node classifiers early in training", "Test accuracy per layer of the three systems after selected optimiser steps in the first epoch, Fashion-MNIST 6x100.", "The layered classifier structure forms within the first epoch."),
        "fig6" => ("Fig. 6: node classifiers over depth", "Test accuracy per layer of the three systems for Fashion-MNIST networks of depth 1 to 9, width 100; dotted: the network's test accuracy.", "In every network the systems approach the network's accuracy in the later layers; the combined system is the best in the first layer."),
        "fig7" => ("Fig. 7: a sigmoid network trained with cross-entropy", "Train and test accuracy per layer of the discrete and continuous systems, Fashion-MNIST 7x100, sigmoid activations, softmax cross-entropy.", "The cooperating-classifier view also holds for sigmoid activations and cross-entropy loss."),
        "fig9" => ("Fig. 9: node classifiers over width (Fashion-MNIST)", "Train and test accuracy per layer of the three systems for Fashion-MNIST networks of depth 10, widths 20 to 200.", "Wider networks' systems reach the network's accuracy; narrow ones fall short in early layers."),
        "fig10" => ("Fig. 10: node classifiers over width (MNIST)", "Train and test accuracy per layer of the three systems for MNIST networks of depth 10, widths 20 to 120.", "As for Fashion-MNIST."),
        "fig11" => ("Fig. 11: class activation distributions", "Per-class histograms of the pre-activation of one first-layer node on the training split, on bins shared by all classes.", "A node's pre-activation distributions differ by class; the continuous value carries information the on/off state discards."),
        "selectivity" => ("Class-selective nodes (beyond the paper)", "For each network of the depth sweep and each hidden layer, the share of nodes whose training activation fraction is near 0% or near 100% for every class.", "Not in the paper: a compact view of how binary the nodes' behaviour becomes with depth."),
        "transition" => ("Perplexity transition (beyond the paper)", "Per network, the first hidden layer whose mean test perplexity is below the threshold (default 2).", "Not in the paper: where the sharp transition happens, as a function of depth and width."),
        _ => ("", "", ""),
    }
}
