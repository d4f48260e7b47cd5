//! Fig. 5: the node classifiers per layer after selected steps of the first epoch.

use super::figure::{network_name, Built, Def, Inputs, Text};
use super::systems::over_snapshots;
use crate::engine::stage::UnitError;
use serde_json::json;

pub(super) const DEF: Def = Def {
    id: "fig5",
    params: |t| json!(t.epochs_network),
    reads: |t, u| u.net.selects(&t.epochs_network) && u.is_step(),
    build,
    text: |select| {
        Text {
        title: "Fig. 5: node classifiers early in training",
        caption: format!(
            "Test accuracy per layer of the three systems after selected optimiser steps in the first epoch, {}.",
            network_name(select)
        ),
        claim: "The layered classifier structure forms within the first epoch.",
    }
    },
};

fn build(inputs: &Inputs) -> Result<Built, UnitError> {
    let title = "Fig. 5: node-classifier test accuracy per layer after selected steps of epoch 1";
    Ok(over_snapshots(&inputs.rows, "fig5", title, false))
}
