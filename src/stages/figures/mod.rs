//! The `figures` stage: one unit per figure of the paper (and two beyond it), each built
//! from the analysis tables only (read through [`crate::results`]), rendered as PNG and
//! SVG with the CSV of its data and a `figure.json` (caption, the paper's claim, what this
//! run found). Where several seeds exist, lines are the mean and the shaded band spans
//! min to max over seeds.
//!
//! One module per figure: which analysis units it reads, how it is built, and its texts
//! (captions are written from the figure's configuration). The figures with a panel per
//! network or snapshot share [`systems`]; what every figure shares is in [`figure`].

mod config;
mod convergence;
mod fig1;
mod fig10;
mod fig11;
mod fig2;
mod fig3;
mod fig4;
mod fig5;
mod fig6;
mod fig7;
mod fig9;
mod figure;
mod selectivity;
mod systems;
mod transition;

use crate::engine::stage::{
    parse_tables, ConfigIssue, StageImpl, UnitError, UnitJob, UnitOutcome, UnitSpec,
};
use crate::engine::unit::UnitRef;
use crate::model::settings::NetworkParams;
use crate::plots::raster::png_from_svg;
use crate::results::data_entry::mean_class_sizes;
use crate::results::{load_metrics, AnalysisUnit, MetricRow, NetKey};
use config::{FiguresTable, Tables};
use figure::{Chart, Def, Inputs};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every figure, in report order.
const DEFS: [Def; 13] = [
    fig1::DEF,
    fig2::DEF,
    fig3::DEF,
    fig4::DEF,
    fig5::DEF,
    fig6::DEF,
    fig7::DEF,
    fig9::DEF,
    fig10::DEF,
    fig11::DEF,
    selectivity::DEF,
    transition::DEF,
    convergence::DEF,
];

/// The figures that have no counterpart in the paper (their captions say so themselves).
const BEYOND_THE_PAPER: [&str; 3] = ["selectivity", "transition", "convergence"];

/// The figures' ids, in report order.
pub const FIGURES: [&str; DEFS.len()] = {
    let mut ids = [""; DEFS.len()];
    let mut i = 0;
    while i < DEFS.len() {
        ids[i] = DEFS[i].id;
        i += 1;
    }
    ids
};

pub struct FiguresStage;

/// How a figure differs from the paper's: its seed count, and networks chosen in
/// `[figures]` other than the paper's; None if neither.
fn differences(def: &Def, select: &Value, rows: &[MetricRow]) -> Option<String> {
    let paper = parse_tables::<FiguresTable>(&json!({})).expect("the defaults parse");
    let mut out = Vec::new();
    let seeds: std::collections::BTreeSet<i64> = rows.iter().map(|r| r.seed).collect();
    if !seeds.is_empty() && seeds.len() != 3 {
        out.push(format!(
            "{} seed{} where the paper averages three",
            seeds.len(),
            if seeds.len() == 1 { "" } else { "s" }
        ));
    }
    if (def.params)(&paper) != *select {
        out.push("other networks than the paper's, as chosen in [figures]".to_string());
    }
    (!out.is_empty()).then(|| out.join("; "))
}

impl StageImpl for FiguresStage {
    fn units(
        &self,
        tables: &Value,
        upstream: &BTreeMap<String, Vec<UnitSpec>>,
    ) -> Result<Vec<UnitSpec>, ConfigIssue> {
        let t = parse_tables::<Tables>(tables)?
            .figures
            .unwrap_or_else(|| parse_tables::<FiguresTable>(&json!({})).expect("defaults"));
        if !(0.0..0.5).contains(&t.selective_threshold) {
            return Err(ConfigIssue::new(
                "figures.selective_threshold",
                "must be in [0, 0.5)",
            ));
        }
        // A perplexity is at least 1; a threshold at or below it can never be crossed.
        if t.transition_perplexity <= 1.0 {
            return Err(ConfigIssue::new(
                "figures.transition_perplexity",
                "must be above 1 (the lowest possible perplexity)",
            ));
        }
        let nets: BTreeMap<&str, NetKey> = upstream
            .get("train")
            .into_iter()
            .flatten()
            .map(|u| {
                let p: NetworkParams =
                    serde_json::from_value(u.params.clone()).expect("train params round-trip");
                (u.id.as_str(), NetKey::of(&p))
            })
            .collect();
        let analysis = AnalysisUnit::list(
            upstream
                .get("analysis")
                .into_iter()
                .flatten()
                .map(|u| u.id.as_str()),
            &nets,
        );
        let data: Vec<&str> = upstream
            .get("data")
            .into_iter()
            .flatten()
            .map(|u| u.id.as_str())
            .collect();
        Ok(DEFS
            .iter()
            .map(|def| {
                let read: Vec<&AnalysisUnit> =
                    analysis.iter().filter(|u| (def.reads)(&t, u)).collect();
                // The data entries of those networks' datasets: their class sizes.
                let datasets: BTreeSet<&str> = read
                    .iter()
                    .map(|u| u.net.dataset.as_str())
                    .filter(|d| data.contains(d))
                    .collect();
                UnitSpec {
                    id: def.id.to_string(),
                    params: json!({ "figure": def.id, "select": (def.params)(&t) }),
                    inputs: read
                        .iter()
                        .map(|u| UnitRef::new("analysis", u.id))
                        .chain(datasets.iter().map(|&d| UnitRef::new("data", d)))
                        .collect(),
                    settings: Value::Null,
                }
            })
            .collect())
    }

    fn run(&self, job: &UnitJob) -> Result<UnitOutcome, UnitError> {
        let id = job.unit.id.as_str();
        let def = DEFS
            .iter()
            .find(|d| d.id == id)
            .ok_or_else(|| format!("unknown figure `{id}`"))?;
        let select = &job.unit.params["select"];
        let mut dirs: Vec<&Path> = Vec::new();
        let mut class_sizes = BTreeMap::new();
        for (input, dir) in job.inputs {
            if input.stage == "data" {
                // The data unit's id is its dataset's name.
                for (split, size) in mean_class_sizes(dir)? {
                    class_sizes.insert((input.id.clone(), split), size);
                }
            } else {
                dirs.push(dir);
            }
        }
        let rows = load_metrics(&dirs)?;
        let inputs = Inputs {
            id,
            select,
            dirs,
            rows,
            class_sizes,
        };
        let built = (def.build)(&inputs)?;
        let out = job.out_dir;
        let svg = out.join(format!("{id}.svg"));
        let layout = match &built.chart {
            Chart::Lines(fig) => {
                fig.write_csv(&out.join(format!("{id}.csv")))?;
                fig.render_svg(&svg)?
            }
            Chart::Heat(map, csv) => {
                std::fs::write(out.join(format!("{id}.csv")), csv)?;
                map.render_svg(&svg)?
            }
        };
        png_from_svg(&svg, &out.join(format!("{id}.png")))?;
        layout.write(&out.join(format!("{id}.layout.json")))?;
        let text = (def.text)(select);
        let caption = match differences(def, select, &inputs.rows)
            .filter(|_| !BEYOND_THE_PAPER.contains(&id))
        {
            None => text.caption,
            Some(d) => format!("{} Differs from the paper's figure: {d}.", text.caption),
        };
        let summary = json!({
            "id": id,
            "title": text.title,
            "caption": caption,
            "claim": text.claim,
            "findings": built.findings,
            "missing": built.missing,
            "inputs": job.inputs.len(),
        });
        std::fs::write(
            out.join("figure.json"),
            serde_json::to_string_pretty(&summary)?,
        )?;
        Ok(UnitOutcome {
            device: "cpu".into(),
            info: json!({ "missing": built.missing }),
        })
    }
}
