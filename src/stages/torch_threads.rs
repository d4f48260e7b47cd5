//! The libtorch intra-op thread count of a stage's units: `threads` in the stage's table.
//! It is part of each unit's key, because a matrix product split over another number of
//! threads may round differently; fixing it per unit in `pipeline.toml` means `--jobs` and
//! `--threads` never change a key or a byte.

use crate::engine::stage::ConfigIssue;
use serde_json::Value;

/// Removes `threads` from `tables[table]` (so the rest parses as before) and returns it:
/// default 1, at least 1.
pub fn take(tables: &mut Value, table: &str) -> Result<usize, ConfigIssue> {
    let key = format!("{table}.threads");
    let Some(value) = tables
        .get_mut(table)
        .and_then(Value::as_object_mut)
        .and_then(|t| t.remove("threads"))
    else {
        return Ok(1);
    };
    match value.as_u64() {
        Some(n) if n >= 1 => Ok(n as usize),
        _ => Err(ConfigIssue::new(key, "must be a whole number, at least 1")),
    }
}
