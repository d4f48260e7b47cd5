//! A project: `pipeline.toml`, its stage declarations and its cache, ready to plan.

use crate::config::{load_stage_dir, ConfigError, PipelineConfig, StageDecl, StageKind};
use crate::engine::hash::{sha256_hex, to_hex};
use crate::engine::plan::PlanError;
use crate::engine::{Cache, Plan, StageMeta, StageNode, UnitRef};
use crate::stages::{self, StageContext};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ProjectError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Plan(PlanError),
    #[error("unknown stage `{name}`; stages: {valid} (or `all`)")]
    UnknownStage { name: String, valid: String },
    #[error(transparent)]
    Cache(#[from] crate::engine::cache::CacheError),
}

pub struct OpenOptions {
    pub config: PathBuf,
    pub profile: Option<String>,
    /// `--set KEY=VALUE` overrides, as given.
    pub overrides: Vec<String>,
    pub data_mirrors: Vec<PathBuf>,
    /// Where each stage's units compute.
    pub devices: crate::stages::Devices,
}

pub struct Project {
    pub config: PipelineConfig,
    pub stages: Vec<StageNode>,
    pub cache: Cache,
}

impl Project {
    /// Reads and validates everything before anything runs.
    pub fn open(options: &OpenOptions) -> Result<Project, ProjectError> {
        // Absolute paths, so that commands and logs see the same folders wherever they run.
        let config_file = std::path::absolute(&options.config).map_err(|e| ConfigError::Read {
            path: options.config.clone(),
            source: e,
        })?;
        let overrides = options
            .overrides
            .iter()
            .map(|o| crate::config::overrides::parse(o))
            .collect::<Result<Vec<_>, _>>()?;
        let config =
            PipelineConfig::load_with(&config_file, options.profile.as_deref(), &overrides)?;
        let base_dir = config_file.parent().unwrap_or(Path::new("/")).to_path_buf();
        let decls = load_stage_dir(&config.stages_dir, stages::BUILTIN)?;
        let read: BTreeSet<String> = decls.iter().flat_map(|d| d.reads.iter().cloned()).collect();
        config.check_known_tables(&read)?;
        check_slurm_stages(&config, &decls)?;
        let ctx = StageContext {
            base_dir: base_dir.clone(),
            data_mirrors: options.data_mirrors.clone(),
            devices: options.devices.clone(),
            templates_dir: config.templates_dir.clone(),
            config_file: config_file.clone(),
            profile: options.profile.clone(),
            overrides: options.overrides.clone(),
        };
        let mut nodes = Vec::new();
        for decl in &decls {
            let code = match decl.kind {
                StageKind::Builtin => stages::builtin_fingerprint(&decl.name)
                    .unwrap_or("unfingerprinted")
                    .to_string(),
                StageKind::Command => fingerprint_sources(&base_dir, &decl.sources, &decl.command)
                    .map_err(|e| ConfigError::Read {
                        path: decl.file.clone(),
                        source: e,
                    })?,
            };
            nodes.push(StageNode {
                meta: StageMeta {
                    name: decl.name.clone(),
                    version: decl.version,
                    needs: decl.needs.clone(),
                    reads: decl.reads.clone(),
                    description: decl.description.clone(),
                    code,
                    publish: decl.publish.as_ref().map(|p| base_dir.join(p)),
                    recomputable: decl.recomputable,
                    partial: decl.partial,
                },
                imp: stages::instantiate(decl, &ctx),
            });
        }
        let cache = Cache::open(&config.cache_dir)?;
        Ok(Project {
            config,
            stages: nodes,
            cache,
        })
    }

    pub fn stage_names(&self) -> Vec<&str> {
        self.stages.iter().map(|s| s.meta.name.as_str()).collect()
    }

    /// Turns `all` or stage names into a set of stage names, rejecting unknown ones.
    pub fn resolve_targets(&self, names: &[String]) -> Result<BTreeSet<String>, ProjectError> {
        if names.is_empty() || names.iter().any(|n| n == "all") {
            return Ok(self.stage_names().into_iter().map(String::from).collect());
        }
        for n in names {
            if !self.stage_names().contains(&n.as_str()) {
                return Err(ProjectError::UnknownStage {
                    name: n.clone(),
                    valid: self.stage_names().join(", "),
                });
            }
        }
        Ok(names.iter().cloned().collect())
    }

    pub fn plan(&self, forced: &BTreeSet<String>) -> Result<Plan, ProjectError> {
        self.plan_tables(&self.config.tables, forced)
    }

    /// Every (stage, key) that the base configuration or any of its profiles references:
    /// what `gc` keeps.
    pub fn referenced_by_any_profile(&self) -> Result<BTreeSet<(String, String)>, ProjectError> {
        let mut keep = BTreeSet::new();
        let mut profiles: Vec<Option<&str>> = vec![None];
        profiles.extend(self.config.profiles.iter().map(|p| Some(p.as_str())));
        for p in profiles {
            let tables = self.config.tables_for(p)?;
            keep.extend(self.plan_tables(&tables, &BTreeSet::new())?.referenced());
        }
        Ok(keep)
    }

    fn plan_tables(
        &self,
        tables: &serde_json::Value,
        forced: &BTreeSet<String>,
    ) -> Result<Plan, ProjectError> {
        Plan::build(&self.stages, tables, &self.cache, forced).map_err(|e| match e {
            PlanError::Config { stage, issue } => ProjectError::Config(
                self.config
                    .invalid_at(&issue.path, format!("{} (stage `{stage}`)", issue.message)),
            ),
            other => ProjectError::Plan(other),
        })
    }
}

impl Project {
    /// Copies the committed outputs of every stage that declares `publish` to that folder,
    /// unless it already holds them (a `.repro-key` stamp says which entry it holds). The
    /// copy is built beside the folder and swapped in, so readers never see a mix.
    /// `keys` are the units' keys after the run (indexed like the plan's units).
    /// Copies the committed entries of every stage with `publish` to their folders;
    /// returns (unit, key, folder) of each.
    pub fn publish(
        &self,
        plan: &Plan,
        keys: &[String],
    ) -> Result<Vec<(UnitRef, String, PathBuf)>, std::io::Error> {
        let mut published = Vec::new();
        for node in &self.stages {
            let Some(target) = &node.meta.publish else {
                continue;
            };
            let units: Vec<_> = plan
                .units
                .iter()
                .zip(keys)
                .filter(|(u, _)| u.unit.stage == node.meta.name)
                .collect();
            for (u, key) in &units {
                let entry = self.cache.entry_dir(&u.unit.stage, key);
                if !self.cache.contains(&u.unit.stage, key) {
                    continue;
                }
                let dest = if units.len() == 1 {
                    target.clone()
                } else {
                    target.join(&u.spec.id)
                };
                let stamp = dest.join(".repro-key");
                if std::fs::read_to_string(&stamp).ok().as_deref() != Some(key.as_str()) {
                    let tmp = dest.with_extension(format!("tmp.{}", std::process::id()));
                    let _ = std::fs::remove_dir_all(&tmp);
                    copy_tree(&entry, &tmp)?;
                    std::fs::remove_file(tmp.join(crate::engine::cache::MANIFEST))?;
                    std::fs::write(tmp.join(".repro-key"), key)?;
                    if dest.exists() {
                        std::fs::remove_dir_all(&dest)?;
                    }
                    if let Some(parent) = dest.parent() {
                        std::fs::create_dir_all(parent)?;
                    }
                    std::fs::rename(&tmp, &dest)?;
                }
                published.push((u.unit.clone(), key.to_string(), dest));
            }
        }
        Ok(published)
    }
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let dest = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_tree(&e.path(), &dest)?;
        } else {
            std::fs::copy(e.path(), dest)?;
        }
    }
    Ok(())
}

/// Fingerprint of a command stage: its command line and the content of its sources.
fn fingerprint_sources(
    base: &Path,
    sources: &[String],
    command: &[String],
) -> std::io::Result<String> {
    let mut h = Sha256::new();
    h.update(command.join("\0").as_bytes());
    for s in sources {
        let path = base.join(s);
        let content = std::fs::read(&path).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("source `{}` of the stage: {e}", path.display()),
            )
        })?;
        h.update(s.as_bytes());
        h.update(sha256_hex(&content).as_bytes());
    }
    Ok(to_hex(&h.finalize()))
}

/// `[executor.slurm.stages.NAME]` must name a declared stage (a typo would send that
/// stage's units to the default nodes without a word), and every device set there or at
/// the top level must be one; checked before anything runs, whatever the executor.
fn check_slurm_stages(config: &PipelineConfig, decls: &[StageDecl]) -> Result<(), ConfigError> {
    let slurm = &config.executor.slurm;
    for name in slurm.stages.keys() {
        let key = format!("executor.slurm.stages.{name}");
        if !decls.iter().any(|d| &d.name == name) {
            let known: Vec<&str> = decls.iter().map(|d| d.name.as_str()).collect();
            return Err(config.invalid_at(
                &key,
                format!("no stage is named `{name}` (stages: {})", known.join(", ")),
            ));
        }
        slurm
            .node_device(Some(name))
            .map_err(|e| config.invalid_at(&format!("{key}.device"), e))?;
    }
    slurm
        .node_device(None)
        .map_err(|e| config.invalid_at("executor.slurm.device", e))?;
    Ok(())
}
