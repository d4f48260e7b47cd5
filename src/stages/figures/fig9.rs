//! Fig. 9: the three systems per layer over width, one dataset (Fashion-MNIST in the
//! paper); Fig. 10 is the same for the other.

use super::config::FiguresTable;
use super::figure::{dataset_name, param, Built, Def, Inputs, Text};
use super::systems::{per_network, PerNetwork, SYSTEMS};
use crate::engine::stage::UnitError;
use crate::results::{AnalysisUnit, Sweep};
use serde_json::{json, Value};

pub(super) const DEF: Def = Def {
    id: "fig9",
    params: |t| params(t, &t.fig9_dataset),
    reads: |t, u| reads(t, u, &t.fig9_dataset),
    build: |inputs| {
        build(
            inputs,
            "Fig. 9: the three systems over width (Fashion-MNIST)",
        )
    },
    text: |select| {
        Text {
        title: "Fig. 9: node classifiers over width (Fashion-MNIST)",
        caption: caption(select),
        claim: "Wider networks' systems reach the network's accuracy; narrow ones fall short in early layers.",
    }
    },
};

pub(super) fn params(t: &FiguresTable, dataset: &str) -> Value {
    json!({ "dataset": dataset, "depth": t.width_sweep_depth })
}

/// The best snapshots of the dataset's width sweep.
pub(super) fn reads(t: &FiguresTable, u: &AnalysisUnit, dataset: &str) -> bool {
    u.best_on(Sweep::over_width(t.width_sweep_depth)) && u.net.dataset == dataset
}

pub(super) fn caption(select: &Value) -> String {
    format!(
        "Train and test accuracy per layer of the three systems for {} networks of depth {}, one panel per width.",
        dataset_name(select["dataset"].as_str().unwrap_or_default()),
        param(select, "depth", 10)
    )
}

pub(super) fn build(inputs: &Inputs, title: &str) -> Result<Built, UnitError> {
    Ok(per_network(
        &inputs.rows,
        &PerNetwork {
            id: inputs.id,
            title,
            label: |n| format!("width {}", n.width),
            order: |n| n.width,
            with_train: true,
            systems: &SYSTEMS,
        },
    ))
}
