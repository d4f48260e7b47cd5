//! What the figures and the report read of a data entry: its `dataset.json`'s class sizes.

use super::tables::LoadError;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// The mean number of samples per class of each split of a data entry, by split name: the
/// highest mean perplexity a layer can have on that split (every sample its own pattern).
/// Splits without per-class counts are left out.
pub fn mean_class_sizes(entry: &Path) -> Result<BTreeMap<String, f64>, LoadError> {
    let path = entry.join("dataset.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let info: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut sizes = BTreeMap::new();
    for (split, counts) in info["splits"].as_object().into_iter().flatten() {
        let per_class: Vec<f64> = counts["per_class"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_f64)
            .collect();
        if !per_class.is_empty() {
            let mean = per_class.iter().sum::<f64>() / per_class.len() as f64;
            sizes.insert(split.clone(), mean);
        }
    }
    Ok(sizes)
}
