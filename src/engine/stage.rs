//! What the engine needs from a stage: the units a configuration asks for, and how to run
//! one of them into a folder. Stages never touch the cache themselves.
//!
//! This is the whole interface a stage's code sees, so it is in every built-in stage's
//! code fingerprint: what the engine keeps about a stage ([`super::node`]) lives apart,
//! so that engine changes do not make every cached unit stale.

use super::unit::UnitRef;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One independent piece of a stage's work, cached on its own.
#[derive(Clone, Debug, PartialEq)]
pub struct UnitSpec {
    /// Unique within the stage; readable (it names log lines and pointer files).
    pub id: String,
    /// Exactly the parameters this unit reads; they go into its key.
    pub params: Value,
    pub inputs: Vec<UnitRef>,
    /// How to do the work without changing its result (download timeouts, mirrors...).
    /// Deliberately not part of the key.
    pub settings: Value,
}

/// A configuration problem found while listing units: `path` is the dotted key in
/// `pipeline.toml` (e.g. `train.width`), so the caller can point at file and line.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigIssue {
    pub path: String,
    pub message: String,
}

impl ConfigIssue {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigIssue {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Deserialises a stage's tables into its typed configuration, turning serde's complaint
/// into a [`ConfigIssue`] that names the offending key.
pub fn parse_tables<T: serde::de::DeserializeOwned>(tables: &Value) -> Result<T, ConfigIssue> {
    serde_path_to_error::deserialize(tables).map_err(|e| {
        let path = e.path().to_string();
        ConfigIssue::new(
            if path == "." { String::new() } else { path },
            e.inner().to_string(),
        )
    })
}

/// Progress of one running unit, shown by the engine's reporter.
pub trait UnitProgress: Send + Sync {
    /// Starts (or restarts) a counted phase, e.g. `("epochs", 20)`.
    fn phase(&self, what: &str, total: u64);
    fn advance(&self, done: u64);
    /// A short status shown next to the bar or logged as a line.
    fn note(&self, message: &str);
}

/// Everything a unit may use while it runs.
pub struct UnitJob<'a> {
    pub unit: &'a UnitSpec,
    pub key: &'a str,
    /// Folder of each input's committed cache entry.
    pub inputs: &'a BTreeMap<UnitRef, PathBuf>,
    /// The unit writes its outputs here; the engine commits the folder when `run` succeeds.
    pub out_dir: &'a Path,
    pub progress: &'a dyn UnitProgress,
}

impl UnitJob<'_> {
    /// The entry folder of the one input of a given stage (for units with a single input
    /// per upstream stage).
    pub fn input_of(&self, stage: &str) -> Option<&Path> {
        self.inputs
            .iter()
            .find(|(r, _)| r.stage == stage)
            .map(|(_, p)| p.as_path())
    }
}

/// What a unit reports besides its files.
#[derive(Clone, Debug, Default)]
pub struct UnitOutcome {
    pub device: String,
    pub info: Value,
}

pub type UnitError = Box<dyn std::error::Error + Send + Sync>;

pub trait StageImpl: Send + Sync {
    /// Lists the units this configuration asks for. `tables` holds exactly the declared
    /// `reads` tables; `upstream` the units of the stages this one needs.
    fn units(
        &self,
        tables: &Value,
        upstream: &BTreeMap<String, Vec<UnitSpec>>,
    ) -> Result<Vec<UnitSpec>, ConfigIssue>;

    fn run(&self, job: &UnitJob) -> Result<UnitOutcome, UnitError>;
}
