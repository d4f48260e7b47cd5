//! The report's machine-readable `results/` folder.

use crate::claims::{ClaimData, Thresholds};
use crate::engine::stage::UnitError;
use crate::review::results;
use serde_json::Value;
use std::path::Path;

/// The machine-readable `results/` folder `repro diff` compares: the effective
/// configuration (the profile applied), the claims, the metric summary (seed means), and
/// the same metrics and node shares per seed, from which any verdict can be recomputed.
pub fn write(
    out: &Path,
    tables: &Value,
    claims: &[crate::claims::Claim],
    rows: &[crate::results::MetricRow],
    data: &ClaimData,
    thresholds: &Thresholds,
) -> Result<(), UnitError> {
    let dir = out.join(results::DIR);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(results::PARAMS), results::params_json(tables))?;
    std::fs::write(
        dir.join(results::CLAIMS),
        serde_json::to_string_pretty(claims)?,
    )?;
    std::fs::write(dir.join(results::METRICS), results::metrics_csv(rows))?;
    std::fs::write(
        dir.join(results::METRICS_PER_SEED),
        results::metrics_per_seed_csv(rows),
    )?;
    std::fs::write(
        dir.join(results::NODES_PER_SEED),
        results::node_shares_csv(data, thresholds.selective_fraction.value),
    )?;
    Ok(())
}
