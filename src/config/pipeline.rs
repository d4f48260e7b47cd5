//! `pipeline.toml`: the experiment, with named profiles that override parts of it.

use super::error::{ConfigError, Location};
use super::locate::TomlSource;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Table names with a meaning of their own; every other top-level table must be read by
/// some stage.
const RESERVED: [&str; 5] = ["project", "profiles", "executor", "remote", "remotes"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProjectSection {
    #[serde(default = "default_cache")]
    cache: PathBuf,
    #[serde(default = "default_stages")]
    stages: PathBuf,
    #[serde(default = "default_templates")]
    templates: PathBuf,
    #[serde(default = "default_keep_published")]
    keep_published: usize,
}

fn default_keep_published() -> usize {
    5
}

fn default_cache() -> PathBuf {
    "cache".into()
}
fn default_stages() -> PathBuf {
    "stages".into()
}
fn default_templates() -> PathBuf {
    "report".into()
}

/// Where units run: `[executor]` in pipeline.toml (the command line may override it).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecutorSection {
    /// `local` (this process) or `slurm`.
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub slurm: crate::engine::slurm::SlurmOptions,
}

/// A remote cache: `[remote]` (named `default`) or `[remotes.NAME]`. Credentials are never
/// set here (see `crate::remote`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteSection {
    /// A folder (relative to this file) or `s3://BUCKET/PREFIX`.
    pub url: String,
    /// An S3-compatible server other than AWS, e.g. `http://127.0.0.1:9000`.
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    /// `repro run` pulls a missing unit from this remote before computing it.
    #[serde(default)]
    pub pull: bool,
}

/// A remote as configured, its location parsed.
#[derive(Debug, Clone)]
pub struct RemoteConfig {
    pub name: String,
    pub location: crate::remote::Location,
    pub pull: bool,
}

pub struct PipelineConfig {
    pub file: PathBuf,
    /// The profile applied, if any.
    pub profile: Option<String>,
    /// Every profile the file defines.
    pub profiles: Vec<String>,
    /// Cache folder (relative paths are relative to the file's folder).
    pub cache_dir: PathBuf,
    pub stages_dir: PathBuf,
    /// Folder of the report templates.
    pub templates_dir: PathBuf,
    /// `gc` keeps the entries of this many latest published records per stage (reports).
    pub keep_published: usize,
    pub executor: ExecutorSection,
    /// `[remote]` as `default`, then every `[remotes.NAME]`.
    pub remotes: Vec<RemoteConfig>,
    /// The experiment's tables, profile and `--set` overrides applied, `project` and
    /// `profiles` removed.
    pub tables: Value,
    /// The `--set` overrides applied, in order.
    pub overrides: Vec<super::overrides::Override>,
    raw: toml::Table,
    source: TomlSource,
}

impl PipelineConfig {
    pub fn load(file: &Path, profile: Option<&str>) -> Result<Self, ConfigError> {
        Self::load_with(file, profile, &[])
    }

    /// Loads the file, lays the profile over it, then each `--set` override.
    pub fn load_with(
        file: &Path,
        profile: Option<&str>,
        overrides: &[super::overrides::Override],
    ) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(file).map_err(|e| ConfigError::Read {
            path: file.to_path_buf(),
            source: e,
        })?;
        let raw: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::Syntax {
            path: file.to_path_buf(),
            message: e.to_string(),
        })?;
        let source = TomlSource::new(text);
        let non_finite = raw.iter().find_map(|(k, v)| first_non_finite(k, v));
        let mut config = PipelineConfig {
            file: file.to_path_buf(),
            profile: None,
            profiles: Vec::new(),
            cache_dir: PathBuf::new(),
            stages_dir: PathBuf::new(),
            templates_dir: PathBuf::new(),
            keep_published: default_keep_published(),
            executor: ExecutorSection::default(),
            remotes: Vec::new(),
            tables: Value::Null,
            overrides: overrides.to_vec(),
            raw,
            source,
        };
        // JSON has no NaN or infinity: they would silently become `null` (the default).
        if let Some(path) = non_finite {
            return Err(config.invalid(&path, "must be a finite number".into()));
        }
        let project_value = config
            .raw
            .get("project")
            .cloned()
            .unwrap_or(toml::Value::Table(Default::default()));
        let project: ProjectSection = serde_path_to_error::deserialize(project_value)
            .map_err(|e| config.invalid(&format!("project.{}", e.path()), e.inner().to_string()))?;
        let dir = file.parent().unwrap_or(Path::new(".")).to_path_buf();
        config.cache_dir = dir.join(project.cache);
        config.stages_dir = dir.join(project.stages);
        config.templates_dir = dir.join(project.templates);
        config.keep_published = project.keep_published;
        if let Some(e) = config.raw.get("executor").cloned() {
            config.executor = serde_path_to_error::deserialize(e).map_err(|e| {
                config.invalid(&format!("executor.{}", e.path()), e.inner().to_string())
            })?;
        }
        if let Some(kind) = &config.executor.kind {
            if kind != "local" && kind != "slurm" {
                return Err(config.invalid(
                    "executor.kind",
                    format!("unknown executor `{kind}` (local or slurm)"),
                ));
            }
        }
        config.remotes = config.load_remotes(&dir)?;
        config.profiles = match config.raw.get("profiles") {
            None => Vec::new(),
            Some(toml::Value::Table(t)) => {
                for (name, v) in t {
                    if !v.is_table() {
                        return Err(config.invalid(
                            &format!("profiles.{name}"),
                            "a profile must be a table of overrides, e.g. [profiles.quick.train]"
                                .into(),
                        ));
                    }
                }
                t.keys().cloned().collect()
            }
            Some(_) => return Err(config.invalid("profiles", "must be a table of profiles".into())),
        };
        config.tables = config.tables_for(profile)?;
        for o in overrides {
            super::overrides::apply(&mut config.tables, o)?;
        }
        config.profile = profile.map(str::to_owned);
        Ok(config)
    }

    /// `[remote]` and `[remotes.NAME]`, each checked (its URL parsed) before anything runs.
    fn load_remotes(&self, base: &Path) -> Result<Vec<RemoteConfig>, ConfigError> {
        let mut found: Vec<(String, String, toml::Value)> = Vec::new();
        if let Some(v) = self.raw.get("remote") {
            found.push(("default".into(), "remote".into(), v.clone()));
        }
        match self.raw.get("remotes") {
            None => {}
            Some(toml::Value::Table(t)) => {
                for (name, v) in t {
                    if name == "default" && self.raw.contains_key("remote") {
                        return Err(self.invalid(
                            "remotes.default",
                            "`default` is the name of [remote]; use one of the two".into(),
                        ));
                    }
                    found.push((name.clone(), format!("remotes.{name}"), v.clone()));
                }
            }
            Some(_) => {
                return Err(self.invalid(
                    "remotes",
                    "must be a table of named remotes, e.g. [remotes.lab]".into(),
                ))
            }
        }
        found
            .into_iter()
            .map(|(name, path, value)| {
                let section: RemoteSection =
                    serde_path_to_error::deserialize(value).map_err(|e| {
                        self.invalid(&format!("{path}.{}", e.path()), e.inner().to_string())
                    })?;
                let location = crate::remote::Location::parse(
                    &section.url,
                    section.endpoint.as_deref(),
                    section.region.as_deref(),
                    base,
                )
                .map_err(|m| self.invalid(&format!("{path}.url"), m))?;
                Ok(RemoteConfig {
                    name,
                    location,
                    pull: section.pull,
                })
            })
            .collect()
    }

    /// The remote called `name` (`None`: `[remote]`, else the only one configured).
    pub fn remote(&self, name: Option<&str>) -> Result<&RemoteConfig, String> {
        let names = || {
            self.remotes
                .iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match name {
            Some(n) => self.remotes.iter().find(|r| r.name == n).ok_or_else(|| {
                format!(
                    "no remote `{n}` in {}; configured: {}",
                    self.file.display(),
                    if self.remotes.is_empty() {
                        "none".into()
                    } else {
                        names()
                    }
                )
            }),
            None => match self.remotes.as_slice() {
                [] => Err(format!(
                    "no remote configured: add [remote] url = \"...\" to {}",
                    self.file.display()
                )),
                [only] => Ok(only),
                _ => self
                    .remotes
                    .iter()
                    .find(|r| r.name == "default")
                    .ok_or_else(|| {
                        format!(
                            "several remotes ({}): choose one with --remote NAME",
                            names()
                        )
                    }),
            },
        }
    }

    /// The experiment's tables with `profile` (if any) laid over the defaults.
    pub fn tables_for(&self, profile: Option<&str>) -> Result<Value, ConfigError> {
        let mut merged = self.raw.clone();
        for reserved in RESERVED {
            merged.remove(reserved);
        }
        if let Some(name) = profile {
            let overlay = self
                .raw
                .get("profiles")
                .and_then(|p| p.get(name))
                .and_then(|p| p.as_table())
                .ok_or_else(|| ConfigError::Invalid {
                    location: Location {
                        file: self.file.clone(),
                        line: None,
                        key: Some(format!("profiles.{name}")),
                    },
                    message: format!(
                        "no profile `{name}`; profiles defined: {}",
                        if self.profiles.is_empty() {
                            "none".to_string()
                        } else {
                            self.profiles.join(", ")
                        }
                    ),
                })?;
            let mut overlay = overlay.clone();
            // A profile may describe itself; that text is not an override.
            overlay.remove("description");
            merge(&mut merged, overlay);
        }
        serde_json::to_value(&merged).map_err(|e| ConfigError::Syntax {
            path: self.file.clone(),
            message: e.to_string(),
        })
    }

    /// Rejects top-level tables that no stage reads (typos such as `[trian]`).
    pub fn check_known_tables(&self, read_by_stages: &BTreeSet<String>) -> Result<(), ConfigError> {
        for key in self.raw.keys() {
            if RESERVED.contains(&key.as_str()) || read_by_stages.contains(key) {
                continue;
            }
            let mut known: Vec<&str> = RESERVED.to_vec();
            known.extend(read_by_stages.iter().map(String::as_str));
            return Err(self.invalid(
                key,
                format!(
                    "unknown table `{key}`: no stage reads it (known: {})",
                    known.join(", ")
                ),
            ));
        }
        for profile in &self.profiles {
            if let Some(t) = self.raw["profiles"][profile.as_str()].as_table() {
                for key in t.keys() {
                    if key != "description" && !read_by_stages.contains(key) {
                        return Err(self.invalid(
                            &format!("profiles.{profile}.{key}"),
                            format!("unknown table `{key}`: no stage reads it"),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// An error at a key path of the merged tables: points at the profile's line when the
    /// active profile sets that key, else at the base file's.
    pub fn invalid_at(&self, path: &str, message: String) -> ConfigError {
        // A value set on the command line is the command line's fault, not the file's.
        // A stage may report the key where it applies the value (`train.sweep[0].lr` for a
        // `train.lr` every sweep inherits): same table and same last name count too.
        let top = |k: &str| k.split(['.', '[']).next().unwrap_or("").to_string();
        let leaf = |k: &str| k.rsplit('.').next().unwrap_or("").to_string();
        if let Some(o) = self.overrides.iter().rev().find(|o| {
            let key = o.key();
            path == key
                || path.starts_with(&format!("{key}."))
                || key.starts_with(&format!("{path}."))
                || (top(path) == top(&key) && leaf(path) == leaf(&key))
        }) {
            return ConfigError::Invalid {
                location: Location {
                    file: PathBuf::from("--set"),
                    line: None,
                    key: Some(path.to_string()),
                },
                message: format!("{message} (from --set {})", o.text),
            };
        }
        if let Some(p) = &self.profile {
            let in_profile = format!("profiles.{p}.{path}");
            if self.source.line_of(&in_profile).is_some() {
                return self.invalid(&in_profile, message);
            }
        }
        self.invalid(path, message)
    }

    fn invalid(&self, path: &str, message: String) -> ConfigError {
        ConfigError::Invalid {
            location: Location {
                file: self.file.clone(),
                line: self.source.line_of(path),
                key: (!path.is_empty()).then(|| path.to_string()),
            },
            message,
        }
    }
}

/// The dotted path of the first NaN or infinite number in `value`, if any.
fn first_non_finite(path: &str, value: &toml::Value) -> Option<String> {
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match value {
        toml::Value::Float(f) if !f.is_finite() => Some(path.to_string()),
        toml::Value::Table(t) => t.iter().find_map(|(k, v)| first_non_finite(&join(k), v)),
        toml::Value::Array(a) => a
            .iter()
            .enumerate()
            .find_map(|(i, v)| first_non_finite(&format!("{path}[{i}]"), v)),
        _ => None,
    }
}

/// Lays `overlay` over `base`: tables merge key by key, anything else is replaced.
fn merge(base: &mut toml::Table, overlay: toml::Table) {
    for (k, v) in overlay {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pipeline.toml");
        std::fs::write(&file, text).unwrap();
        (dir, file)
    }

    #[test]
    fn profile_overrides_only_what_it_sets() {
        let (_d, f) = write(
            "[train]\nepochs = 20\nwidth = 100\n[profiles.quick]\ndescription = \"fast\"\n[profiles.quick.train]\nepochs = 2\n",
        );
        let c = PipelineConfig::load(&f, Some("quick")).unwrap();
        assert_eq!(c.tables["train"]["epochs"], 2);
        assert_eq!(c.tables["train"]["width"], 100);
        assert!(c.tables.get("description").is_none());
        let base = PipelineConfig::load(&f, None).unwrap();
        assert_eq!(base.tables["train"]["epochs"], 20);
    }

    #[test]
    fn unknown_profile_lists_the_defined_ones() {
        let (_d, f) = write("[profiles.quick.train]\nepochs = 2\n");
        let e = PipelineConfig::load(&f, Some("fast"))
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("no profile `fast`") && e.contains("quick"),
            "{e}"
        );
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        let (_d, f) = write("[train]\nepochs = = 2\n");
        let e = PipelineConfig::load(&f, None).err().unwrap().to_string();
        assert!(e.contains("pipeline.toml") && e.contains("line 2"), "{e}");
    }

    #[test]
    fn unknown_table_is_named_with_its_line() {
        let (_d, f) = write("[data]\nx = 1\n\n[trian]\nepochs = 2\n");
        let c = PipelineConfig::load(&f, None).unwrap();
        let known = BTreeSet::from(["data".to_string(), "train".to_string()]);
        let e = c.check_known_tables(&known).err().unwrap().to_string();
        assert!(e.contains("pipeline.toml:4") && e.contains("trian"), "{e}");
    }
}
