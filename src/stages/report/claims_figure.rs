//! The report's robustness figure: per claim row with a measured value, that value
//! against the threshold it is held to and the threshold's declared range (SVG, PNG and
//! CSV in the report's `figures/`).

use crate::claims::Claim;
use crate::engine::stage::UnitError;
use crate::plots::raster::png_from_svg;
use crate::plots::thresholds::{svg, ThresholdLine};
use base64::Engine as _;
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
    let svg_path = dir.join(format!("{ID}.svg"));
    std::fs::write(&svg_path, &text)?;
    let png_path = dir.join(format!("{ID}.png"));
    png_from_svg(&svg_path, &png_path)?;
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
    let png = std::fs::read(&png_path)?;
    Ok(json!({
        "lines": lines.len(),
        "svg_inline": text,
        "png": format!("figures/{ID}.png"),
        "svg": format!("figures/{ID}.svg"),
        "csv": format!("figures/{ID}.csv"),
        "data_uri": format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(&png)),
    }))
}
