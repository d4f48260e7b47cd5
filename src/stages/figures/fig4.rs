//! Fig. 4: the node classifiers per layer after selected epochs.

use super::figure::{network_name, Built, Def, Inputs, Text};
use super::systems::over_snapshots;
use crate::engine::stage::UnitError;
use serde_json::json;

pub(super) const DEF: Def = Def {
    id: "fig4",
    params: |t| json!(t.epochs_network),
    reads: |t, u| u.net.selects(&t.epochs_network) && (u.is_best() || u.is_epoch()),
    build,
    text: |select| {
        Text {
        title: "Fig. 4: node classifiers over training",
        caption: format!(
            "Train (solid) and test (dashed) accuracy per layer of the discrete, continuous and combined node-based systems after selected epochs, {}; the dotted line is the network's test accuracy.",
            network_name(select)
        ),
        claim: "As training proceeds the systems' accuracy in later layers rises to the network's own.",
    }
    },
};

fn build(inputs: &Inputs) -> Result<Built, UnitError> {
    let title = "Fig. 4: node-classifier accuracy per layer after selected epochs";
    Ok(over_snapshots(&inputs.rows, "fig4", title, true))
}
