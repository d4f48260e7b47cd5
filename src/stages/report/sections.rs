//! The report's sections that read the other stages' outputs: the figures (copied beside
//! the report), the trained networks and their training summary, the datasets, the chosen
//! learning rates; and the rendering of the templates.

use super::{lr_figure, training, training_settings, TEMPLATES};
use super::{sorted_pairs, HTML, MARKDOWN};
use crate::claims::ClaimData;
use crate::engine::stage::UnitError;
use crate::engine::unit::UnitRef;
use crate::stages::figures::FIGURES;
use base64::Engine as _;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// Copies each figure's PNG, SVG, CSV and layout into `figures_dir`, in the paper's order,
/// and returns what the templates show of each.
pub(super) fn copy_figures(
    units: &[(&UnitRef, &PathBuf)],
    figures_dir: &Path,
) -> Result<Vec<Value>, UnitError> {
    let mut figures = Vec::new();
    for id in FIGURES {
        let Some((_, dir)) = units.iter().find(|(r, _)| r.id == id) else {
            continue;
        };
        let meta: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("figure.json"))?)?;
        let png = std::fs::read(dir.join(format!("{id}.png")))?;
        std::fs::write(figures_dir.join(format!("{id}.png")), &png)?;
        let svg = std::fs::read_to_string(dir.join(format!("{id}.svg")))?;
        std::fs::write(figures_dir.join(format!("{id}.svg")), &svg)?;
        for ext in ["csv", "layout.json"] {
            std::fs::copy(
                dir.join(format!("{id}.{ext}")),
                figures_dir.join(format!("{id}.{ext}")),
            )?;
        }
        // The PNG has more pixels than the figure has CSS pixels; show it at the figure's
        // size.
        let layout: Value = serde_json::from_str(&std::fs::read_to_string(
            dir.join(format!("{id}.layout.json")),
        )?)?;
        figures.push(json!({
            "id": id,
            "title": meta["title"],
            "caption": meta["caption"],
            "claim": meta["claim"],
            "findings": meta["findings"],
            "missing": meta["missing"],
            "png": format!("figures/{id}.png"),
            "width": layout["width"],
            "svg": format!("figures/{id}.svg"),
            "csv": format!("figures/{id}.csv"),
            // Inline in the HTML: text stays text (crisp, searchable).
            "svg_inline": svg.trim_start_matches(|c| c != '<').to_string(),
            "data_uri": format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(&png)),
        }));
    }
    Ok(figures)
}

/// Each trained network's summary (`network.json`), by unit id.
pub(super) fn trained_networks(
    units: &[(&UnitRef, &PathBuf)],
) -> Result<Vec<(String, Value)>, UnitError> {
    let mut per_unit = Vec::new();
    for (r, dir) in units {
        let n: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("network.json"))?)?;
        per_unit.push((r.id.clone(), n));
    }
    Ok(per_unit)
}

/// Records which networks reached the epoch cap unconverged: comparisons between training
/// set-ups (Sec. 6) must say when one side did not converge.
pub(super) fn mark_capped(
    data: &mut ClaimData,
    per_unit: &[(String, Value)],
) -> Result<(), UnitError> {
    for (_, n) in per_unit {
        if n["stopped_by_rule"] == false {
            let p: crate::model::settings::NetworkParams =
                serde_json::from_value(n["params"].clone())?;
            data.capped
                .entry(crate::results::NetKey::of(&p))
                .or_default()
                .push(p.settings.seed as i64);
        }
    }
    Ok(())
}

/// What the methods section says of training: the settings, the networks, how each
/// stopped, and the counts of stopping causes.
pub(super) struct TrainingSummary {
    pub settings: Vec<Value>,
    pub networks: usize,
    pub trained: Vec<Value>,
    pub stops: Value,
}

pub(super) fn training_summary(per_unit: &[(String, Value)]) -> TrainingSummary {
    let networks: Vec<Value> = per_unit.iter().map(|(_, n)| n.clone()).collect();
    let trained = per_unit
        .iter()
        .map(|(unit, n)| {
            json!({
                "unit": unit,
                "stop_epoch": n["stop_epoch"],
                "stop_reason": n["stop_reason"],
                "unstable_epochs": n["unstable_epochs"].as_array().map_or(0, |a| a.len()),
                "best_epoch": n["best_epoch"],
                "epochs_run": n["epochs_run"],
                "test_acc": n["test_acc"].as_f64().map(|a| format!("{:.2}%", 100.0 * a)),
            })
        })
        .collect();
    let count = |f: &dyn Fn(&Value) -> bool| networks.iter().filter(|n| f(n)).count();
    let stops = json!({
        "by_rule": count(&|n| n["stopped_by_rule"] == true),
        "capped": count(&|n| n["stopped_by_rule"] == false),
        "unstable": count(&|n| n["unstable_epochs"].as_array().is_some_and(|a| !a.is_empty())),
    });
    TrainingSummary {
        settings: training_settings(&networks),
        networks: networks.len(),
        trained,
        stops,
    }
}

/// Each dataset's splits and payload digests.
pub(super) fn datasets(units: &[(&UnitRef, &PathBuf)]) -> Result<Vec<Value>, UnitError> {
    let mut datasets = Vec::new();
    for (r, dir) in units {
        let d: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("dataset.json"))?)?;
        datasets.push(
            json!({ "name": r.id, "splits": d["splits"], "digests": sorted_pairs(&d["payload_sha256"]) }),
        );
    }
    Ok(datasets)
}

/// The learning rates the lr stage chose, with every rate it tried, and the figure of the
/// grids (written into `figures_dir`).
pub(super) fn lr_selections(
    units: &[(&UnitRef, &PathBuf)],
    figures_dir: &Path,
) -> Result<(Vec<Value>, Value), UnitError> {
    let mut selections = Vec::new();
    let mut lr_entries = Vec::new();
    for (r, dir) in units {
        let s: Value = serde_json::from_str(&std::fs::read_to_string(
            dir.join(crate::results::lr_entry::SELECTION),
        )?)?;
        selections.push(json!({
            "configuration": r.id,
            "edge": training::grid_edge(&s),
            "selection": s,
        }));
        lr_entries.push((r.id.clone(), dir.as_path(), s));
    }
    let lr_figure = lr_figure::write(figures_dir, &lr_entries)?;
    Ok((selections, lr_figure))
}

/// Renders the HTML and Markdown templates from `templates` with `context` into `out_dir`.
pub(super) fn render(templates: &Path, context: &Value, out_dir: &Path) -> Result<(), UnitError> {
    let mut tera = tera::Tera::new();
    for (name, file) in [("report.html", TEMPLATES[0]), ("report.md", TEMPLATES[1])] {
        let path = templates.join(file);
        let text = std::fs::read_to_string(&path)?;
        tera.add_raw_template(name, &text)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let ctx = tera::Context::from_serialize(context)?;
    for (name, out) in [("report.html", HTML), ("report.md", MARKDOWN)] {
        let text = tera
            .render(name, &ctx)
            .map_err(|e| format!("rendering {name}: {e:?}"))?;
        std::fs::write(out_dir.join(out), text)?;
    }
    Ok(())
}
