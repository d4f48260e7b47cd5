//! The `report` stage: one unit that renders the Tera templates in `report/` into a
//! self-contained HTML file (figures embedded as data URIs) and a Markdown file with image
//! links, from the figures' outputs, the analysis tables (claims) and the manifests of
//! every unit it depends on (provenance).

use crate::claims::partial;
use crate::claims::unmeasured::UNMEASURED;
use crate::claims::{
    add_variant, check_all, check_all_kept, ClaimData, RobustClass, Thresholds, Verdict,
};
use crate::engine::failed_input;
use crate::engine::hash::sha256_hex;
use crate::engine::stage::{
    parse_tables, ConfigIssue, StageImpl, UnitError, UnitJob, UnitOutcome, UnitSpec,
};
use crate::engine::unit::UnitRef;
use crate::results::data_entry::mean_class_sizes;
use crate::results::{load_fractions, load_metrics};
use crate::review::results;
use base64::Engine as _;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const HTML: &str = "report.html";
pub const MARKDOWN: &str = "report.md";
const TEMPLATES: [&str; 2] = ["report.html.tera", "report.md.tera"];

mod claims_figure;
mod lr_figure;
mod results_folder;
mod sections;
mod training;
mod variants;

pub struct ReportStage {
    /// Folder of the Tera templates.
    pub templates: PathBuf,
    pub config_file: PathBuf,
    pub profile: Option<String>,
    /// `--set` overrides (their values are in the tables, and so in the key).
    pub overrides: Vec<String>,
}

/// A figure the report stage draws itself, whose `{id}.svg` and `{id}.csv` are already in
/// `dir` (the report's `figures/`): makes its PNG and returns what the templates show (the
/// SVG inline, the PNG as a data URI, the files' relative paths).
fn embedded_figure(dir: &Path, id: &str) -> Result<Value, UnitError> {
    let svg_path = dir.join(format!("{id}.svg"));
    let png_path = dir.join(format!("{id}.png"));
    crate::plots::raster::png_from_svg(&svg_path, &png_path)?;
    let png = std::fs::read(&png_path)?;
    Ok(json!({
        "svg_inline": std::fs::read_to_string(&svg_path)?,
        "png": format!("figures/{id}.png"),
        "svg": format!("figures/{id}.svg"),
        "csv": format!("figures/{id}.csv"),
        "data_uri": format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(&png)),
    }))
}

impl ReportStage {
    /// The folder paths in the configuration are relative to.
    fn base_dir(&self) -> &Path {
        self.config_file.parent().unwrap_or(Path::new("."))
    }
}

impl StageImpl for ReportStage {
    fn units(
        &self,
        tables: &Value,
        upstream: &BTreeMap<String, Vec<UnitSpec>>,
    ) -> Result<Vec<UnitSpec>, ConfigIssue> {
        // The templates and the configuration text are inputs of the report: editing a
        // template re-renders the report and nothing else.
        let mut templates = BTreeMap::new();
        for t in TEMPLATES {
            let path = self.templates.join(t);
            let text = std::fs::read(&path).map_err(|e| {
                ConfigIssue::new("", format!("report template {}: {e}", path.display()))
            })?;
            templates.insert(t, sha256_hex(&text));
        }
        let config = std::fs::read(&self.config_file).unwrap_or_default();
        // The claims' thresholds: required, checked before anything runs.
        let claims = tables.get("claims").ok_or_else(|| {
            ConfigIssue::new(
                "claims",
                "missing: the report checks the paper's claims against the thresholds of a [claims] table",
            )
        })?;
        let thresholds: Thresholds = parse_tables(claims).map_err(|issue| {
            ConfigIssue::new(
                if issue.path.is_empty() {
                    "claims".to_string()
                } else {
                    format!("claims.{}", issue.path)
                },
                issue.message,
            )
        })?;
        thresholds
            .check()
            .map_err(|(key, problem)| ConfigIssue::new(format!("claims.{key}"), problem))?;
        let inputs = ["data", "lr", "train", "analysis", "figures"]
            .iter()
            .flat_map(|s| {
                upstream
                    .get(*s)
                    .into_iter()
                    .flatten()
                    .map(move |u| UnitRef::new(*s, &u.id))
            })
            .collect();
        Ok(vec![UnitSpec {
            id: "report".into(),
            params: json!({
                "templates": templates,
                "config_sha256": sha256_hex(&config),
                "profile": self.profile,
                "overrides": self.overrides,
                "tool": env!("CARGO_PKG_VERSION"),
                "commit": env!("REPRO_GIT_COMMIT"),
                "claims": thresholds,
                "variants": variants::plan(tables, self.base_dir())?,
                // The effective configuration (profile applied), for results/params.json.
                "tables": tables,
            }),
            inputs,
            settings: Value::Null,
        }])
    }

    fn run(&self, job: &UnitJob) -> Result<UnitOutcome, UnitError> {
        // A partial run (--keep-going after a failure) hands failed inputs over as
        // stand-ins: the report says what it could not measure, and why.
        let mut failed = Vec::new();
        let mut present: BTreeMap<&UnitRef, &PathBuf> = BTreeMap::new();
        for (r, dir) in job.inputs {
            match failed_input::read(dir) {
                Some(f) => failed.push(f),
                None => {
                    present.insert(r, dir);
                }
            }
        }
        let by_stage = |stage: &str| -> Vec<(&UnitRef, &PathBuf)> {
            present
                .iter()
                .filter(|(r, _)| r.stage == stage)
                .map(|(r, d)| (*r, *d))
                .collect()
        };
        let figures_dir = job.out_dir.join("figures");
        std::fs::create_dir_all(&figures_dir)?;

        // Figures, in the paper's order, with their texts and findings.
        let figures = sections::copy_figures(&by_stage("figures"), &figures_dir)?;

        // Claims, from the analysis tables (and the activation fractions of the best and
        // initial snapshots, for selectivity), each with its robustness.
        let thresholds: Thresholds = serde_json::from_value(job.unit.params["claims"].clone())?;
        let analysis = by_stage("analysis");
        let analysis_dirs: Vec<&Path> = analysis.iter().map(|(_, p)| p.as_path()).collect();
        let rows = load_metrics(&analysis_dirs)?;
        let selectivity_dirs: Vec<&Path> = analysis
            .iter()
            .filter(|(r, _)| {
                r.id.ends_with("@best") || r.id.ends_with("@init") || r.id.ends_with("@final")
            })
            .map(|(_, p)| p.as_path())
            .collect();
        let fractions = load_fractions(&selectivity_dirs)?;
        let class_size = class_sizes(&by_stage("data"))?;
        let datasets_run: Vec<String> =
            by_stage("data").iter().map(|(r, _)| r.id.clone()).collect();
        let mut data = ClaimData::new(&rows, &fractions, datasets_run, class_size);
        // Every trained network's summary, read once: the claims, the training table and
        // the methods use it.
        let per_unit = sections::trained_networks(&by_stage("train"))?;
        sections::mark_capped(&mut data, &per_unit)?;
        let mut claims = check_all(&data, &thresholds);
        // The protocol variant without early stopping, where the final snapshots were
        // analysed ([activations] final_snapshot).
        let has_final = rows.iter().any(|r| r.snapshot == "final");
        let mut protocols = Vec::new();
        if has_final {
            let fin = check_all_kept(&data, &thresholds, "final");
            add_variant(&mut claims, &fin, "final snapshot");
            protocols.push(json!({
                "protocol": "final snapshot",
                "description": "each network judged by its final (stopping-epoch) snapshot instead of its best-validation one",
            }));
        }
        // Other runs' verdicts ([report] variants), e.g. the fixed learning rates.
        for v in variants::load(&job.unit.params["variants"], self.base_dir())? {
            crate::claims::external::add(&mut claims, &v.claims, &v.protocol);
            protocols.push(json!({ "protocol": v.protocol, "description": v.description }));
        }
        // Rows of a dataset that lost a unit are withheld, naming the unit and its log.
        let configured: Vec<String> =
            serde_json::from_value(job.unit.params["tables"]["data"]["datasets"].clone())
                .unwrap_or_default();
        let mut lost: BTreeMap<String, String> = BTreeMap::new();
        for f in &failed {
            let (stage, id) = f.unit.split_once('/').unwrap_or(("", &f.unit));
            if ["data", "lr", "train", "analysis"].contains(&stage) {
                if let Some(ds) = partial::dataset_of(id, &configured) {
                    lost.entry(ds.to_string())
                        .or_insert_with(|| f.reason.clone());
                }
            }
        }
        let withheld = partial::withhold(&mut claims, &lost);
        let partial_run = json!({
            "failed": failed,
            "withheld": withheld,
            "figures": failed.iter().filter(|f| f.unit.starts_with("figures/")).map(|f| json!({ "id": f.unit.trim_start_matches("figures/"), "reason": f.reason })).collect::<Vec<_>>(),
        });
        let protocol_changes = claims
            .iter()
            .flat_map(|c| &c.rows)
            .filter(|r| r.variants.iter().any(|v| v.changes))
            .count();
        // Each claim row links to the figures it cites and their data.
        let mut claim_rows = Vec::new();
        for c in &claims {
            let mut v = serde_json::to_value(c)?;
            v["figures"] = json!(figure_ids(c.cite, &figures));
            claim_rows.push(v);
        }
        let robustness_figure = claims_figure::write(&figures_dir, &claims)?;
        results_folder::write(
            job.out_dir,
            &job.unit.params["tables"],
            &claims,
            &rows,
            &data,
            &thresholds,
        )?;
        let count_rows = |class: RobustClass| {
            claims
                .iter()
                .flat_map(|c| &c.rows)
                .filter(|r| r.robustness.as_ref().is_some_and(|x| x.class == class))
                .count()
        };
        let robustness_counts = json!({
            "robust": count_rows(RobustClass::Robust),
            "fragile": count_rows(RobustClass::Fragile),
            "not_measured": count_rows(RobustClass::NotMeasured),
            "seeds": data.seeds.iter().collect::<Vec<_>>(),
            "grid": crate::claims::robustness::GRID,
        });
        // Training settings, seeds, data digests and per-stage provenance.
        let training = sections::training_summary(&per_unit);
        std::fs::write(
            job.out_dir.join(results::DIR).join(results::TRAINING),
            results::training_csv(&per_unit),
        )?;
        let datasets = sections::datasets(&by_stage("data"))?;
        // The learning rates the lr stage chose, with every rate it tried.
        let (selections, lr_figure) = sections::lr_selections(&by_stage("lr"), &figures_dir)?;
        let context = json!({
            "title": "DNNs as Layers of Cooperating Classifiers: a reproduction",
            "profile": self.profile.clone().unwrap_or_else(|| "paper (default)".into()),
            "overrides": self.overrides,
            "tool_version": env!("CARGO_PKG_VERSION"),
            "commit": env!("REPRO_GIT_COMMIT"),
            "libtorch": env!("REPRO_LIBTORCH_VERSION"),
            "figures": figures,
            "claims": claim_rows,
            "claim_rows": claims.iter().map(|c| c.rows.len()).sum::<usize>(),
            "robustness": robustness_counts,
            "robustness_figure": robustness_figure,
            "protocols": protocols,
            "protocol_changes": protocol_changes,
            "unmeasured": UNMEASURED,
            "reproduced": claims.iter().filter(|c| c.verdict == Verdict::Reproduced).count(),
            "measured": claims.iter().filter(|c| c.verdict != Verdict::NotMeasured).count(),
            "settings": training.settings,
            "networks": training.networks,
            "trained": training.trained,
            "stops": training.stops,
            "lr_selections": selections,
            "lr_figure": lr_figure,
            "partial": partial_run,
            "datasets": datasets,
            // The file's name, not its path: two clones of one commit render the same.
            "config_file": self.config_file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            "config": std::fs::read_to_string(&self.config_file).unwrap_or_default(),
            "report_key": job.key,
        });
        sections::render(&self.templates, &context, job.out_dir)?;
        Ok(UnitOutcome {
            device: "cpu".into(),
            info: json!({ "figures": figures.len(), "claims": claims.len() }),
        })
    }
}

/// The ids of the figures a citation names ("Sec. 5.2, Figs. 9, 10" -> fig9, fig10) that
/// this report shows.
fn figure_ids(cite: &str, figures: &[Value]) -> Vec<String> {
    let Some(at) = cite.find("Fig") else {
        return Vec::new();
    };
    cite[at..]
        .split(|c: char| !c.is_ascii_digit())
        .filter(|n| !n.is_empty())
        .map(|n| format!("fig{n}"))
        .filter(|id| figures.iter().any(|f| f["id"] == id.as_str()))
        .collect()
}

/// Mean number of test samples per class, per dataset (the ceiling of perplexity).
fn class_sizes(data: &[(&UnitRef, &PathBuf)]) -> Result<BTreeMap<String, f64>, UnitError> {
    let mut sizes = BTreeMap::new();
    for (r, dir) in data {
        if let Some(&test) = mean_class_sizes(dir)?.get("test") {
            sizes.insert(r.id.clone(), test);
        }
    }
    Ok(sizes)
}

/// The distinct training settings used, with how many networks used each.
fn training_settings(networks: &[Value]) -> Vec<Value> {
    let mut groups: BTreeMap<String, (Value, usize, Vec<u64>)> = BTreeMap::new();
    for n in networks {
        let p = &n["params"];
        let s = json!({
            "activation": p["activation"], "loss": p["loss"], "optimizer": p["optimizer"], "lr": p["lr"],
            "batch_size": p["batch_size"], "max_epochs": p["max_epochs"], "stop": n["stop_rule"],
            "train_subset": p["train_subset"], "device": n["device"],
        });
        let e = groups.entry(s.to_string()).or_insert((s, 0, Vec::new()));
        e.1 += 1;
        if let Some(seed) = p["seed"].as_u64() {
            if !e.2.contains(&seed) {
                e.2.push(seed);
            }
        }
    }
    groups
        .into_values()
        .map(|(s, count, seeds)| json!({ "settings": s, "networks": count, "seeds": seeds }))
        .collect()
}

/// An object's entries as `[{"name", "value"}]` in key order: Tera iterates a map in no
/// fixed order, which made the rendered report differ from run to run (`repro audit`).
fn sorted_pairs(map: &Value) -> Vec<Value> {
    let mut pairs: Vec<(&String, &Value)> = map.as_object().into_iter().flatten().collect();
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    pairs
        .into_iter()
        .map(|(name, value)| json!({ "name": name, "value": value }))
        .collect()
}
