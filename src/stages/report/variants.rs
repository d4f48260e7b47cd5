//! `[report] variants`: other runs' claims set beside this run's as protocol variants.
//! Each names a protocol (the column shows it), says what differs (a sentence for the
//! report) and gives the `claims.json` of a report made that way, relative to
//! `pipeline.toml`. The file's SHA-256 enters the report's key at plan time, and the file
//! is checked against it when the report renders.

use crate::claims::external::{self, OtherClaim};
use crate::engine::hash::sha256_hex;
use crate::engine::stage::{ConfigIssue, UnitError};
use serde::Deserialize;
use serde_json::{json, Value};
use std::path::Path;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Declared {
    protocol: String,
    description: String,
    claims: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportTable {
    #[serde(default)]
    variants: Vec<Declared>,
}

/// The variants of `[report]`, each with its file's digest, as the report unit's
/// parameters; every file is read and parsed now, so a wrong path or a file that is no
/// claims table stops the run before anything runs.
pub fn plan(tables: &Value, base: &Path) -> Result<Value, ConfigIssue> {
    let table: ReportTable = match tables.get("report") {
        None => ReportTable::default(),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| ConfigIssue::new("report", e.to_string()))?,
    };
    let mut out = Vec::new();
    for (i, v) in table.variants.iter().enumerate() {
        let at = format!("report.variants[{i}].claims");
        let path = base.join(&v.claims);
        let bytes = std::fs::read(&path)
            .map_err(|e| ConfigIssue::new(&at, format!("cannot read {}: {e}", path.display())))?;
        let text = String::from_utf8_lossy(&bytes);
        external::parse(&text).map_err(|e| {
            ConfigIssue::new(
                &at,
                format!("{} is not a report's claims.json: {e}", path.display()),
            )
        })?;
        out.push(json!({
            "protocol": v.protocol,
            "description": v.description,
            "claims": v.claims,
            "sha256": sha256_hex(&bytes),
        }));
    }
    Ok(Value::Array(out))
}

/// One planned variant, loaded: (protocol, description, its claims).
pub struct Loaded {
    pub protocol: String,
    pub description: String,
    pub claims: Vec<OtherClaim>,
}

/// Reads the variants planned in `params` (see [`plan`]); a file that changed since
/// planning is an error, never a silent mix.
pub fn load(params: &Value, base: &Path) -> Result<Vec<Loaded>, UnitError> {
    let mut out = Vec::new();
    for v in params.as_array().into_iter().flatten() {
        let file = v["claims"].as_str().unwrap_or_default();
        let path = base.join(file);
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        if sha256_hex(&bytes) != v["sha256"].as_str().unwrap_or_default() {
            return Err(format!(
                "{} changed after the run was planned; run again to use the new file",
                path.display()
            )
            .into());
        }
        let claims = external::parse(&String::from_utf8_lossy(&bytes))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        out.push(Loaded {
            protocol: v["protocol"].as_str().unwrap_or_default().to_string(),
            description: v["description"].as_str().unwrap_or_default().to_string(),
            claims,
        });
    }
    Ok(out)
}
