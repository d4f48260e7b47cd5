//! The record of submitted units (`cache/.slurm/jobs.json`) and what Slurm says of their
//! jobs: which are still queued or running, and which entries they may still read.

use crate::engine::cache::{read_manifest_at, write_atomic, Cache, CacheError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

/// One submitted unit, as recorded in `jobs.json` under its recipe (see
/// [`KeyIngredients::recipe`](super::key::KeyIngredients::recipe)).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Submission {
    pub unit: String,
    /// The array's job id and this unit's task index.
    pub job: String,
    pub task: usize,
    pub log: PathBuf,
    pub exit_file: PathBuf,
    /// The run that submitted it: entries this run commits may be inputs of its other
    /// tasks, so `gc` keeps them while any of its jobs is in flight.
    #[serde(default)]
    pub run_id: String,
    /// Committed entries the task reads, as (stage, key), known when it was submitted.
    #[serde(default)]
    pub inputs: Vec<(String, String)>,
}

pub(super) fn slurm_dir(cache: &Cache) -> PathBuf {
    cache.root().join(".slurm")
}

pub(super) fn load_jobs(cache: &Cache) -> BTreeMap<String, Submission> {
    std::fs::read_to_string(slurm_dir(cache).join("jobs.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

pub(super) fn save_jobs(cache: &Cache, jobs: &BTreeMap<String, Submission>) -> Result<(), String> {
    let text = serde_json::to_string_pretty(jobs).expect("serialisable");
    write_atomic(&slurm_dir(cache).join("jobs.json"), text.as_bytes()).map_err(|e| e.to_string())
}

/// States of array tasks by "jobid_task", from `squeue --state=all` (finished jobs stay
/// listed for MinJobAge).
pub fn task_states(jobs: &BTreeSet<String>) -> BTreeMap<String, String> {
    if jobs.is_empty() {
        return BTreeMap::new();
    }
    let ids: Vec<&str> = jobs.iter().map(String::as_str).collect();
    let out = Command::new("squeue")
        .args([
            "--state=all",
            "-h",
            "-r",
            "-o",
            "%A|%F|%K|%T",
            "-j",
            &ids.join(","),
        ])
        .output();
    let mut states = BTreeMap::new();
    if let Ok(o) = out {
        for line in String::from_utf8_lossy(&o.stdout).lines() {
            let f: Vec<&str> = line.split('|').collect();
            if let [_, array, task, state] = f.as_slice() {
                states.insert(format!("{array}_{task}"), state.to_string());
            }
        }
    }
    states
}

pub(super) fn alive(state: Option<&String>) -> bool {
    matches!(
        state.map(String::as_str),
        Some(
            "PENDING"
                | "RUNNING"
                | "CONFIGURING"
                | "COMPLETING"
                | "REQUEUED"
                | "RESIZING"
                | "SUSPENDED"
        )
    )
}

/// Submissions of this cache's record whose jobs are queued or running, with their state.
pub fn alive_submissions(cache: &Cache) -> Vec<(Submission, String)> {
    let jobs = load_jobs(cache);
    if jobs.is_empty() {
        return Vec::new();
    }
    let ids: BTreeSet<String> = jobs.values().map(|s| s.job.clone()).collect();
    let states = task_states(&ids);
    jobs.into_values()
        .filter_map(|s| {
            let st = states.get(&format!("{}_{}", s.job, s.task))?.clone();
            alive(Some(&st)).then_some((s, st))
        })
        .collect()
}

/// The entries, as (stage, key), that queued or running jobs may still read: the inputs
/// recorded at submission, and everything their runs have committed so far (a finished
/// task's output can be a queued task's input). `gc` keeps them.
pub fn needed_by_jobs(cache: &Cache) -> Result<BTreeSet<(String, String)>, CacheError> {
    let alive = alive_submissions(cache);
    let mut keep: BTreeSet<(String, String)> = alive
        .iter()
        .flat_map(|(s, _)| s.inputs.iter().cloned())
        .collect();
    let runs: BTreeSet<&str> = alive.iter().map(|(s, _)| s.run_id.as_str()).collect();
    if !runs.is_empty() {
        for (stage, key, dir) in cache.entries()? {
            let made_by_job = read_manifest_at(&dir)
                .ok()
                .and_then(|m| m.run_id)
                .is_some_and(|r| runs.contains(r.as_str()));
            if made_by_job {
                keep.insert((stage, key));
            }
        }
    }
    Ok(keep)
}

/// Units of this cache's record whose jobs are queued or running, as (unit, job, state).
pub fn in_flight(cache: &Cache) -> Vec<(String, String, String)> {
    alive_submissions(cache)
        .into_iter()
        .map(|(s, st)| (s.unit, format!("{}_{}", s.job, s.task), st))
        .collect()
}
