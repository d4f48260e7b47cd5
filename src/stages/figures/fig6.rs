//! Fig. 6: the three systems per layer, one panel per depth.

use super::figure::{dataset_name, param, Built, Def, Inputs, Text};
use super::systems::{per_network, PerNetwork, SYSTEMS};
use crate::engine::stage::UnitError;
use crate::results::Sweep;
use serde_json::json;

pub(super) const DEF: Def = Def {
    id: "fig6",
    params: |t| json!({ "dataset": t.fig6_dataset, "width": t.depth_sweep_width, "max_depth": t.fig6_max_depth }),
    reads: |t, u| {
        u.best_on(Sweep::over_depth(t.depth_sweep_width))
            && u.net.dataset == t.fig6_dataset
            && u.net.depth <= t.fig6_max_depth
    },
    build,
    text: |select| {
        Text {
        title: "Fig. 6: node classifiers over depth",
        caption: format!(
            "Test accuracy per layer of the three systems for {} networks of depth 1 to {}, width {}; dotted: the network's test accuracy.",
            dataset_name(select["dataset"].as_str().unwrap_or_default()),
            param(select, "max_depth", 9),
            param(select, "width", 100)
        ),
        claim: "In every network the systems approach the network's accuracy in the later layers; the combined system is the best in the first layer.",
    }
    },
};

fn build(inputs: &Inputs) -> Result<Built, UnitError> {
    Ok(per_network(
        &inputs.rows,
        &PerNetwork {
            id: "fig6",
            title: "Fig. 6: test accuracy per layer of the three systems, over depth",
            label: |n| format!("depth {}", n.depth),
            order: |n| n.depth,
            with_train: false,
            systems: &SYSTEMS,
        },
    ))
}
