//! Fig. 7: the discrete and continuous systems of a sigmoid network trained with
//! cross-entropy.

use super::figure::{network_name, Built, Def, Inputs, Text};
use super::systems::{per_network, PerNetwork};
use crate::engine::stage::UnitError;
use serde_json::json;

pub(super) const DEF: Def = Def {
    id: "fig7",
    params: |t| json!(t.sigmoid_network),
    reads: |t, u| u.is_best() && u.net.selects(&t.sigmoid_network),
    build,
    text: |select| {
        Text {
        title: "Fig. 7: a sigmoid network trained with cross-entropy",
        caption: format!(
            "Train and test accuracy per layer of the discrete and continuous systems, {}.",
            network_name(select)
        ),
        claim: "The cooperating-classifier view also holds for sigmoid activations and cross-entropy loss.",
    }
    },
};

fn build(inputs: &Inputs) -> Result<Built, UnitError> {
    Ok(per_network(
        &inputs.rows,
        &PerNetwork {
            id: "fig7",
            title: "Fig. 7: discrete and continuous systems, sigmoid network trained with cross-entropy",
            label: |n| format!("{} {} {}", n.shape(), n.activation.name(), n.loss.name()),
            order: |n| n.depth,
            with_train: true,
            systems: &["discrete", "continuous"],
        },
    ))
}
