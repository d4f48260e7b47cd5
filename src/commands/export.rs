//! `repro export [--out FILE]`: the current run as one zip a colleague can open without
//! repro: the report (HTML, Markdown, figures, results), the analysis tables, every unit's
//! manifest, the configuration and an `ro-crate-metadata.json` (Workflow Run Crate).
//! Activation files and weights only on request.

use anyhow::{bail, Context, Result};
use repro::engine::cache::sanitize;
use repro::engine::hash::sha256_hex;
use repro::engine::manifest::rfc3339;
use repro::engine::Status;
use repro::project::Project;
use repro::review::crate_meta::{metadata, CrateAction, CrateFile, CrateRun};
use repro::review::zip::Archive;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

pub struct ExportArgs {
    pub out: Option<PathBuf>,
    pub with_activations: bool,
    pub with_weights: bool,
}

/// The stages whose outputs always travel, and those that travel on request.
fn included(stage: &str, args: &ExportArgs) -> bool {
    match stage {
        "report" | "analysis" => true,
        "activations" => args.with_activations,
        "train" => args.with_weights,
        _ => false,
    }
}

/// Deletes a file when dropped (an export that failed midway).
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

pub fn export(project: &Project, args: &ExportArgs) -> Result<ExitCode> {
    // Entries are read for the whole export: a `gc` or a forced rerun must not replace
    // or delete one between its manifest and its files.
    let _lock = super::lock(project)?;
    let plan = project.plan(&BTreeSet::new())?;
    let units = plan.closure(&BTreeSet::from(["report".to_string()]));
    if units.is_empty() {
        bail!("this configuration has no report to export");
    }
    let mut files: Vec<CrateFile> = Vec::new();
    let mut actions = Vec::new();
    let mut report_files = Vec::new();
    let mut report_key = String::new();
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "repro-export-{}.zip",
            project.config.profile.as_deref().unwrap_or("paper")
        ))
    });
    let tmp = out.with_extension(format!("zip.tmp.{}", std::process::id()));
    let file =
        std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    // Until the rename below, a partial zip goes away with any error.
    let partial = RemoveOnDrop(tmp.clone());
    let mut zip = Archive::new(std::io::BufWriter::new(file));
    for &i in &units {
        let u = &plan.units[i];
        if u.status != Status::Fresh {
            bail!(
                "{} is not in the cache ({}): run `repro run` first",
                u.unit,
                u.status
            );
        }
        let stage = u.unit.stage.as_str();
        let manifest = project.cache.read_manifest(stage, &u.key)?;
        let dir = project.cache.entry_dir(stage, &u.key);
        let text = std::fs::read(dir.join("manifest.json"))?;
        let path = format!("manifests/{stage}/{}.json", sanitize(&u.unit.id));
        zip.add_bytes(&path, &text)?;
        files.push(CrateFile {
            path,
            sha256: sha256_hex(&text),
            size: text.len() as u64,
        });
        let mut results = Vec::new();
        if included(stage, args) {
            if u.dropped {
                bail!(
                    "{}'s files were dropped after use: `repro run {stage} --keep` brings them back",
                    u.unit
                );
            }
            for o in &manifest.outputs {
                let path = if stage == "report" {
                    format!("report/{}", o.path)
                } else {
                    format!("{stage}/{}/{}", sanitize(&u.unit.id), o.path)
                };
                // Streamed, not read whole: activation files can pass 4 GiB.
                let added = zip.add_file(&path, &dir.join(&o.path))?;
                if added.sha256 != o.sha256 {
                    bail!(
                        "{}: {} differs from its manifest (`repro verify`)",
                        u.unit,
                        o.path
                    );
                }
                files.push(CrateFile {
                    path: path.clone(),
                    sha256: added.sha256,
                    size: added.size,
                });
                results.push(path.clone());
                if stage == "report" {
                    report_files.push(path);
                }
            }
            if stage == "report" {
                report_key = u.key.clone();
            }
        }
        actions.push(CrateAction {
            name: u.unit.to_string(),
            stage: stage.to_string(),
            params: u.spec.params.clone(),
            start: manifest.started.clone(),
            end: manifest.finished.clone(),
            results,
            inputs: u
                .deps
                .iter()
                .map(|&d| plan.units[d].unit.to_string())
                .collect(),
            device: manifest.device.clone(),
        });
    }
    let config = std::fs::read(&project.config.file)?;
    zip.add_bytes("pipeline.toml", &config)?;
    let workflow = CrateFile {
        path: "pipeline.toml".into(),
        sha256: sha256_hex(&config),
        size: config.len() as u64,
    };
    let title = format!(
        "repro run of \"DNNs as Layers of Cooperating Classifiers\", profile {}, report {}",
        project
            .config
            .profile
            .as_deref()
            .unwrap_or("paper (default)"),
        &report_key[..12.min(report_key.len())]
    );
    let meta = metadata(&CrateRun {
        title,
        tool: format!(
            "{} (commit {}, libtorch {})",
            env!("CARGO_PKG_VERSION"),
            env!("REPRO_GIT_COMMIT"),
            env!("REPRO_LIBTORCH_VERSION")
        ),
        created: rfc3339(std::time::SystemTime::now()),
        workflow: &workflow,
        files: &files,
        actions: &actions,
        report: report_files,
    });
    zip.add_bytes(
        "ro-crate-metadata.json",
        serde_json::to_string_pretty(&meta)?.as_bytes(),
    )?;
    zip.finish()?
        .into_inner()
        .map_err(|e| e.into_error())?
        .sync_all()?;
    std::fs::rename(&tmp, &out)?;
    drop(partial); // finds nothing left to remove

    eprintln!(
        "exported {} unit(s), {} file(s) to {}",
        actions.len(),
        files.len() + 2,
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
