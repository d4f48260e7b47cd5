//! What an `lr` stage entry means to its readers (the train stage, which trains at the
//! chosen rate, and the report, which tables the selection): the unit id of a network's
//! training configuration, and the chosen rate in `selection.json`.

use crate::model::settings::NetworkParams;
use std::path::Path;

/// The file in an `lr` entry that records the trials and the choice.
pub const SELECTION: &str = "selection.json";

/// The `lr` unit id of a network's training configuration: what the rate is chosen for.
pub fn selection_id(n: &NetworkParams) -> String {
    let subset = if n.train_subset == 0 {
        String::new()
    } else {
        format!("-n{}", n.train_subset)
    };
    format!(
        "{}-{}-{}-{}-b{}{subset}",
        n.dataset,
        n.activation.name(),
        n.settings.loss.name(),
        n.settings.optimizer.name(),
        n.settings.batch_size
    )
}

/// The chosen rate recorded in an `lr` entry.
pub fn chosen_rate(entry: &Path) -> Result<f64, String> {
    let file = entry.join(SELECTION);
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    v["chosen"]
        .as_f64()
        .ok_or_else(|| format!("{}: no chosen rate", file.display()))
}
