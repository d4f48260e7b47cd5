//! The report's robustness figure: per claim row with a measured value, that value
//! against the threshold it is held to and the threshold's declared range (SVG, PNG and
//! CSV in the report's `figures/`).

use crate::claims::Claim;
use crate::engine::stage::UnitError;
use crate::plots::thresholds::{svg, ThresholdLine};
use serde_json::{json, Value};
use std::path::Path;

pub const ID: &str = "claims";

/// The lines of the figure: every measured row with a value, against its claim's first
/// swept threshold.
pub fn lines(claims: &[Claim]) -> Vec<ThresholdLine> {
    let mut out = Vec::new();
    for c in claims {
        let Some(swept) = c.swept.first() else {
            continue;
        };
        for r in &c.rows {
            let Some(value) = r.value else {
                continue;
            };
            out.push(ThresholdLine {
                label: format!("{} ({})", c.id, r.scope),
                key: swept.key.to_string(),
                value,
                threshold: swept.value,
                range: swept.range,
                reproduced: r.verdict == crate::claims::Verdict::Reproduced,
                robustness: r
                    .robustness
                    .as_ref()
                    .map_or("", |x| x.class_text)
                    .to_string(),
            });
        }
    }
    out
}

/// Writes `claims.svg`, `claims.png` and `claims.csv` into `dir`; returns what the
/// templates show.
pub fn write(dir: &Path, claims: &[Claim]) -> Result<Value, UnitError> {
    let lines = lines(claims);
    let text = svg(&lines);
    std::fs::write(dir.join(format!("{ID}.svg")), text)?;
    let mut csv = String::from(
        "claim_row,threshold_key,value,threshold,range_lo,range_hi,reproduced,robustness\n",
    );
    for l in &lines {
        csv.push_str(&format!(
            "\"{}\",{},{},{},{},{},{},{}\n",
            l.label,
            l.key,
            l.value,
            l.threshold,
            l.range[0],
            l.range[1],
            l.reproduced,
            l.robustness
        ));
    }
    std::fs::write(dir.join(format!("{ID}.csv")), csv)?;
    let mut shown = super::embedded_figure(dir, ID)?;
    shown["lines"] = json!(lines.len());
    Ok(shown)
}
