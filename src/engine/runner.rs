//! Running planned units. Where a unit runs is one pluggable piece, the [`Executor`]: the
//! local one (threads or worker processes, `local.rs`) and Slurm (`slurm.rs`) plug in behind
//! the same trait and commit through the same [`run_unit`]. This module has what they share:
//! the results, options and reporter they speak, and `run_unit` itself.

use super::cache::Cache;
use super::key::KeyIngredients;
use super::manifest::{rfc3339, Manifest};
use super::node::StageNode;
use super::plan::Plan;
use super::stage::{UnitJob, UnitOutcome, UnitProgress, UnitSpec};
use super::unit::UnitRef;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

/// Receives the engine's events; see `progress.rs` for the terminal and log versions.
pub trait Reporter: Sync {
    fn start(&self, to_run: usize);
    fn unit_started(&self, unit: &UnitRef) -> Box<dyn UnitProgress + '_>;
    fn unit_finished(&self, unit: &UnitRef, result: &UnitResult);
    fn finish(&self);
    /// Something went wrong that does not fail the run.
    fn warn(&self, message: &str) {
        eprintln!("warning: {message}");
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum UnitResult {
    Done(Duration),
    /// Not run: once its rebuilt inputs were done, its key was already cached (early
    /// cutoff: they wrote the bytes they wrote before).
    Reused,
    Failed(String),
    /// Not run because an input failed or the run stopped after a failure.
    Skipped(String),
    /// Not run: a remote cache had it, and it was downloaded (`repro run --pull`).
    Pulled,
}

/// Brings a missing entry into the cache from elsewhere (a remote cache) instead of
/// computing it. `Ok(false)`: it is not there either, so the unit runs. `Err`: a warning
/// (the entry could not be fetched intact); the unit runs too, since a remote may only
/// save work, never fail a run.
pub trait Fetcher: Send + Sync {
    fn fetch(&self, cache: &Cache, ingredients: &KeyIngredients) -> Result<bool, String>;
}

#[derive(Debug, Default)]
pub struct RunReport {
    pub results: Vec<(UnitRef, UnitResult)>,
    /// Every planned unit's key after the run (indexed like the plan's units): the
    /// resolved key of each unit that ran or was reused, the planned key of the others.
    pub keys: Vec<String>,
}

impl RunReport {
    pub fn count(&self, f: impl Fn(&UnitResult) -> bool) -> usize {
        self.results.iter().filter(|(_, r)| f(r)).count()
    }
    pub fn failed(&self) -> usize {
        self.count(|r| matches!(r, UnitResult::Failed(_)))
    }
}

pub struct RunOptions {
    pub keep_going: bool,
    pub tool_version: String,
    /// Names this run in the manifests it writes.
    pub run_id: String,
    /// Never drop the payload of a recomputable stage's entry after use.
    pub keep_recomputable: bool,
    /// Asked for every unit about to run, before it runs (`repro run --pull`; the local
    /// executor only).
    pub fetcher: Option<Box<dyn Fetcher>>,
    /// Units run alone in this process (`repro run-unit`: a worker or a Slurm task), so
    /// the process's resource usage is the unit's own.
    pub own_process: bool,
}

/// A fresh run id: time and process, unique enough to tell runs apart in one cache.
pub fn new_run_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{nanos:x}-{}", std::process::id())
}

pub trait Executor {
    fn execute(
        &self,
        stages: &[StageNode],
        plan: &Plan,
        to_run: &[usize],
        cache: &Cache,
        options: &RunOptions,
        reporter: &dyn Reporter,
    ) -> RunReport;
}

/// Runs one unit, whose key is made of `ingredients`, into a staging folder and commits
/// it. On any failure (error or panic) the staging folder is removed and nothing enters
/// the cache.
pub fn run_unit(
    node: &StageNode,
    spec: &UnitSpec,
    ingredients: &KeyIngredients,
    inputs: &BTreeMap<UnitRef, PathBuf>,
    cache: &Cache,
    options: &RunOptions,
    progress: &dyn UnitProgress,
) -> Result<Duration, String> {
    let key = ingredients.key();
    let staging = cache
        .begin(&ingredients.stage, &key)
        .map_err(|e| e.to_string())?;
    let started_at = SystemTime::now();
    let clock = Instant::now();
    let meter = super::resources::Meter::start(options.own_process);
    let job = UnitJob {
        unit: spec,
        key: &key,
        inputs,
        out_dir: &staging.dir,
        progress,
    };
    let outcome: Result<UnitOutcome, String> =
        match catch_unwind(AssertUnwindSafe(|| node.imp.run(&job))) {
            Ok(Ok(o)) => Ok(o),
            Ok(Err(e)) => Err(error_chain(e.as_ref())),
            Err(panic) => Err(format!(
                "panicked: {}",
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            )),
        };
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            cache.abandon(staging);
            return Err(e);
        }
    };
    let outputs = match cache.describe_outputs(&staging) {
        Ok(o) => o,
        Err(e) => {
            cache.abandon(staging);
            return Err(e.to_string());
        }
    };
    let duration = clock.elapsed();
    if cache.is_dropped(&ingredients.stage, &key) {
        // Regenerated for a reader: the recorded manifest stays, the files must match it.
        cache
            .restore(staging, &outputs)
            .map_err(|e| e.to_string())?;
        return Ok(duration);
    }
    let manifest = Manifest {
        key: key.clone(),
        ingredients: ingredients.clone(),
        outputs,
        started: rfc3339(started_at),
        finished: rfc3339(SystemTime::now()),
        duration_s: duration.as_secs_f64(),
        tool_version: options.tool_version.clone(),
        device: if outcome.device.is_empty() {
            "cpu".into()
        } else {
            outcome.device
        },
        info: outcome.info,
        run_id: Some(options.run_id.clone()),
        machine: Some(super::manifest::this_machine()),
        resources: Some(meter.read()),
        adopted: None,
    };
    cache
        .commit(staging, &manifest)
        .map_err(|e| e.to_string())?;
    Ok(duration)
}

/// An error with its causes, `outer: inner: innermost`.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let text = c.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        cur = c.source();
    }
    s
}
