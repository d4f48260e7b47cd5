//! Stage declarations, `stages/*.toml`: one file per stage.

use super::error::{ConfigError, Location};
use super::locate::TomlSource;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum StageKind {
    /// Implemented inside repro (`src/stages/<name>.rs`).
    #[default]
    Builtin,
    /// A user's own stage: an external command with declared inputs and outputs.
    Command,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageDecl {
    pub name: String,
    pub description: String,
    /// Bump when the meaning of the stage's outputs changes; every unit reruns.
    pub version: u32,
    #[serde(default)]
    pub kind: StageKind,
    #[serde(default)]
    pub needs: Vec<String>,
    /// Top-level `pipeline.toml` tables this stage reads (its parameters come only from these).
    #[serde(default)]
    pub reads: Vec<String>,
    /// Files or folders whose content is the stage's code. Built-in stages list only
    /// non-Rust files they read (their Rust code is found by `build.rs`) and are
    /// fingerprinted when repro is built; command stages list their scripts, fingerprinted
    /// when the plan is made.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Command stages: the program and its arguments.
    #[serde(default)]
    pub command: Vec<String>,
    /// Command stages: files the command must create in its output folder.
    #[serde(default)]
    pub outputs: Vec<String>,
    /// Command stages: run once per unit of this (needed) stage instead of once in all.
    #[serde(default)]
    pub per_unit_of: Option<String>,
    /// After a run, copy the stage's committed outputs to this folder (relative to the
    /// project), so a user finds them at a predictable path.
    #[serde(default)]
    pub publish: Option<String>,
    /// The outputs are cheap to make and costly to keep (activation files): once every
    /// unit of a run that reads an entry has committed, its payload is dropped (the
    /// manifest stays) and it is regenerated, and checked against its recorded digests,
    /// whenever a unit needs it again. `repro run --keep` keeps everything.
    #[serde(default)]
    pub recomputable: bool,
    /// With `--keep-going`, the stage's units still run when some inputs failed: each
    /// failed input is handed over as a folder holding `FAILED.json` (a report that says
    /// what it could not measure, instead of no report).
    #[serde(default)]
    pub partial: bool,
    #[serde(skip)]
    pub file: PathBuf,
}

/// Reads every `*.toml` in `dir`, validates each and the graph they form, and returns them
/// in dependency order.
pub fn load_stage_dir(dir: &Path, builtins: &[&str]) -> Result<Vec<StageDecl>, ConfigError> {
    let read = |e| ConfigError::Read {
        path: dir.to_path_buf(),
        source: e,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(read)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut decls = Vec::new();
    let mut sources = BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|e| ConfigError::Read {
            path: file.clone(),
            source: e,
        })?;
        let mut decl: StageDecl = toml::from_str(&text).map_err(|e| ConfigError::Syntax {
            path: file.clone(),
            message: e.to_string(),
        })?;
        decl.file = file.clone();
        sources.insert(decl.name.clone(), TomlSource::new(text));
        decls.push(decl);
    }
    let invalid = |decl: &StageDecl, key: &str, message: String| ConfigError::Invalid {
        location: Location {
            file: decl.file.clone(),
            line: sources.get(&decl.name).and_then(|s| s.line_of(key)),
            key: Some(key.to_string()),
        },
        message,
    };
    let names: BTreeSet<&str> = decls.iter().map(|d| d.name.as_str()).collect();
    let mut seen = BTreeSet::new();
    for d in &decls {
        if d.name.is_empty()
            || !d
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        {
            return Err(invalid(
                d,
                "name",
                format!(
                    "`{}` is not a valid stage name (use a-z, 0-9, - and _)",
                    d.name
                ),
            ));
        }
        if d.name == "all" {
            return Err(invalid(
                d,
                "name",
                "`all` is reserved: it means every stage".into(),
            ));
        }
        if !seen.insert(d.name.as_str()) {
            return Err(invalid(
                d,
                "name",
                format!("stage `{}` is declared twice", d.name),
            ));
        }
        if d.version == 0 {
            return Err(invalid(d, "version", "must be at least 1".into()));
        }
        for need in &d.needs {
            if !names.contains(need.as_str()) {
                return Err(invalid(
                    d,
                    "needs",
                    format!("unknown stage `{need}`; declared stages: {}", join(&names)),
                ));
            }
        }
        match d.kind {
            StageKind::Builtin if !builtins.contains(&d.name.as_str()) => {
                return Err(invalid(
                    d,
                    "name",
                    format!(
                        "no built-in stage is called `{}` (built-in: {}); a stage of your own needs `kind = \"command\"`",
                        d.name,
                        builtins.join(", ")
                    ),
                ))
            }
            StageKind::Builtin => {}
            StageKind::Command => {
                if d.command.is_empty() {
                    return Err(invalid(d, "command", "a command stage needs a non-empty `command`".into()));
                }
                if d.outputs.is_empty() {
                    return Err(invalid(d, "outputs", "a command stage must declare its `outputs`".into()));
                }
                if let Some(of) = &d.per_unit_of {
                    if !d.needs.contains(of) {
                        return Err(invalid(d, "per_unit_of", format!("`{of}` must also be listed in `needs`")));
                    }
                }
            }
        }
    }
    order(decls, |d, msg| invalid(d, "needs", msg))
}

/// Topological order (Kahn), keeping file order among independent stages; a cycle is an error.
fn order(
    decls: Vec<StageDecl>,
    invalid: impl Fn(&StageDecl, String) -> ConfigError,
) -> Result<Vec<StageDecl>, ConfigError> {
    let mut remaining = decls;
    let mut done: Vec<StageDecl> = Vec::new();
    while !remaining.is_empty() {
        let pos = remaining
            .iter()
            .position(|d| d.needs.iter().all(|n| done.iter().any(|x| &x.name == n)));
        match pos {
            Some(p) => done.push(remaining.remove(p)),
            None => {
                let names: Vec<&str> = remaining.iter().map(|d| d.name.as_str()).collect();
                return Err(invalid(
                    &remaining[0],
                    format!(
                        "the stages {} depend on each other in a cycle",
                        names.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(done)
}

fn join(names: &BTreeSet<&str>) -> String {
    names.iter().copied().collect::<Vec<_>>().join(", ")
}
