//! What every figure module shares: its definition ([`Def`]), what it is built from
//! ([`Inputs`]), what it builds ([`Built`]), its texts, and the helpers that read its
//! `select` parameters and make its lines and panels.

use super::config::FiguresTable;
use crate::engine::stage::UnitError;
use crate::model::settings::Loss;
use crate::plots::heatmap::HeatMap;
use crate::plots::{Figure, Mark, Panel, Series};
use crate::results::{aggregate, AnalysisUnit, MetricRow, NetKey, Sweep};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// One figure: what it shows, which analysis units it reads, how it is built from them,
/// and its texts.
pub(super) struct Def {
    pub(super) id: &'static str,
    /// The unit's `select` parameters, from `[figures]`.
    pub(super) params: fn(&FiguresTable) -> Value,
    /// Whether the figure reads this analysis unit.
    pub(super) reads: fn(&FiguresTable, &AnalysisUnit) -> bool,
    pub(super) build: fn(&Inputs) -> Result<Built, UnitError>,
    /// Title, caption and the paper's claim, from the `select` parameters.
    pub(super) text: fn(&Value) -> Text,
}

/// What a figure is built from.
pub(super) struct Inputs<'a> {
    pub(super) id: &'a str,
    /// The unit's `select` parameters.
    pub(super) select: &'a Value,
    /// The analysis entries it reads.
    pub(super) dirs: Vec<&'a Path>,
    /// Their metric rows.
    pub(super) rows: Vec<MetricRow>,
    /// The mean number of samples per class of each (dataset, split), from the data
    /// stage: the highest mean perplexity a layer can have (every sample its own pattern).
    pub(super) class_sizes: BTreeMap<(String, String), f64>,
}

/// A whole-number parameter of `select`.
pub(super) fn param(select: &Value, key: &str, default: usize) -> usize {
    select[key].as_u64().map_or(default, |v| v as usize)
}

/// The best snapshots of the networks of either sweep (Figs. 2, 3, transition).
pub(super) fn on_sweeps(t: &FiguresTable, u: &AnalysisUnit) -> bool {
    u.best_on(Sweep::over_depth(t.depth_sweep_width))
        || u.best_on(Sweep::over_width(t.width_sweep_depth))
}

/// The `select` parameters of the figures over both sweeps (Figs. 2, 3, transition).
pub(super) fn sweep_params(t: &FiguresTable) -> Value {
    json!({ "depth_sweep_width": t.depth_sweep_width, "width_sweep_depth": t.width_sweep_depth, "transition_perplexity": t.transition_perplexity })
}

/// The depth sweep and the width sweep that `select` names.
pub(super) fn sweeps(select: &Value) -> (Sweep, Sweep) {
    (
        Sweep::over_depth(param(select, "depth_sweep_width", 100)),
        Sweep::over_width(param(select, "width_sweep_depth", 10)),
    )
}

/// One panel per sweep of `select` (depth, then width), titled `titles` followed by the
/// dimension the sweep holds fixed, with the swept dimension on a whole-number x axis.
pub(super) fn sweep_panels(
    select: &Value,
    titles: [&str; 2],
    y_label: &str,
) -> [(Sweep, Panel); 2] {
    let (by_depth, by_width) = sweeps(select);
    [
        (by_depth, titles[0], "hidden layers"),
        (by_width, titles[1], "nodes per layer"),
    ]
    .map(|(sweep, title, x_label)| {
        let panel = Panel::new(format!("{title} ({})", sweep.held()), x_label, y_label);
        (sweep, panel.with_integer_x())
    })
}

/// Captions' name for the two sweeps `select` names.
pub(super) fn both_sweeps(select: &Value) -> String {
    let (by_depth, by_width) = sweeps(select);
    format!(
        "the depth sweep ({}) and the width sweep ({})",
        by_depth.held(),
        by_width.held()
    )
}

/// The network `select` names, if it names one.
pub(super) fn network(select: &Value) -> Option<NetKey> {
    serde_json::from_value(select.clone()).ok()
}

/// How captions name a dataset.
pub(super) fn dataset_name(dataset: &str) -> String {
    match dataset {
        "mnist" => "MNIST".into(),
        "fashion-mnist" => "Fashion-MNIST".into(),
        other => other.into(),
    }
}

/// How captions name a network: "MNIST 10x100" (and its activation and loss where they
/// are not the paper's).
pub(super) fn network_name(select: &Value) -> String {
    let Some(n) = network(select) else {
        return "the configured network".into();
    };
    let name = format!("{} {}", dataset_name(&n.dataset), n.shape());
    if n.is_paper_default() {
        name
    } else {
        let loss = match n.loss {
            Loss::Mse => "mean squared error",
            Loss::Ce => "softmax cross-entropy",
        };
        format!("{name}, {} activations, {loss}", n.activation.name())
    }
}

/// A figure's texts.
pub(super) struct Text {
    pub(super) title: &'static str,
    pub(super) caption: String,
    /// The paper's claim.
    pub(super) claim: &'static str,
}

pub(super) enum Chart {
    Lines(Figure),
    /// The map and the CSV of its values.
    Heat(HeatMap, String),
}

pub(super) struct Built {
    pub(super) chart: Chart,
    pub(super) findings: Vec<String>,
    /// Set when the profile has none of the networks this figure needs.
    pub(super) missing: Option<String>,
}

pub(super) const NO_DATA: &str =
    "The configuration (profile) trains none of the networks this figure needs.";

impl Built {
    /// Line charts in a grid of `columns`.
    pub(super) fn lines(
        id: &str,
        title: &str,
        panels: Vec<Panel>,
        columns: usize,
        findings: Vec<String>,
    ) -> Self {
        Built {
            chart: Chart::Lines(Figure::grid(id, title, panels, columns)),
            findings,
            missing: None,
        }
    }

    /// The same figure with panels of `width` x `height` pixels (line charts only).
    pub(super) fn with_panel_size(mut self, width: u32, height: u32) -> Self {
        if let Chart::Lines(fig) = self.chart {
            self.chart = Chart::Lines(fig.with_panel_size(width, height));
        }
        self
    }

    /// The figure of a profile that trains none of its networks.
    pub(super) fn no_data(id: &str, title: &str) -> Self {
        Built {
            chart: Chart::Lines(Figure::grid(
                id,
                title,
                vec![Panel::note(title, NO_DATA)],
                1,
            )),
            findings: Vec::new(),
            missing: Some(NO_DATA.into()),
        }
    }
}

/// A line of the mean over seeds, with the min-max band where seeds differ.
pub(super) fn series(
    name: String,
    values: impl IntoIterator<Item = (f64, f64)>,
    mark: Mark,
    colour: usize,
) -> Series {
    let (points, band) = aggregate(values);
    Series::new(name, points, mark, colour).with_band(band)
}

/// Faint reference levels of a perplexity axis: 1 (every sample of a class has the same
/// pattern) and the class size of the split (every sample its own pattern), so the range
/// always spans both.
pub(super) fn perplexity_levels(inputs: &Inputs, dataset: &str, split: &str) -> Vec<f64> {
    let size = inputs
        .class_sizes
        .get(&(dataset.to_string(), split.to_string()));
    std::iter::once(1.0).chain(size.copied()).collect()
}
