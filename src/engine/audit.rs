//! The determinism audit: recompute cached units in a scratch cache and compare every
//! output's SHA-256 with the one the entry's manifest recorded. A unit whose bytes differ
//! cannot be trusted to be what its key says, and neither can early cutoff below it.
//!
//! The last audit's summary is kept in `cache/.audit/last.json`, for the report.

use super::cache::{write_atomic, Cache, CacheError};
use super::manifest::{rfc3339, Manifest};
use super::node::{stage_named, StageNode};
use super::plan::{Plan, Status};
use super::runner::{run_unit, Reporter, RunOptions};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

const DIR: &str = ".audit";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "lowercase")]
pub enum Verdict {
    Identical,
    /// The outputs whose bytes (or presence) differ from the manifest.
    Differs {
        files: Vec<String>,
    },
    /// The recomputation itself failed.
    Failed {
        error: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditedUnit {
    pub unit: String,
    pub key: String,
    #[serde(flatten)]
    pub verdict: Verdict,
}

/// What `cache/.audit/last.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditSummary {
    pub finished: String,
    pub checked: usize,
    pub identical: usize,
    pub differing: Vec<String>,
    pub failed: Vec<String>,
}

/// The cached units of `stages` to audit: every one, or at most `sample` per stage. A
/// sample takes first the entries `repro adopt` re-keyed without recomputing them (their
/// bytes were vouched for by other units, never made under their own key), then the rest;
/// each group in key order (keys are hashes, so an arbitrary but repeatable choice).
pub fn select(
    plan: &Plan,
    cache: &Cache,
    stages: &BTreeSet<String>,
    sample: Option<usize>,
) -> Vec<usize> {
    let mut by_stage: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, u) in plan.units.iter().enumerate() {
        if stages.contains(&u.unit.stage) && u.status == Status::Fresh {
            by_stage.entry(&u.unit.stage).or_default().push(i);
        }
    }
    // 0: adopted and never recomputed itself; 1: everything else.
    let unproven = |i: usize| -> u8 {
        let u = &plan.units[i];
        let adopted = cache
            .read_manifest(&u.unit.stage, &u.key)
            .ok()
            .and_then(|m| m.adopted);
        match adopted {
            Some(a) if !a.verified_by.contains(&u.unit.to_string()) => 0,
            _ => 1,
        }
    };
    let mut out = Vec::new();
    for (_, units) in by_stage {
        let mut ranked: Vec<(u8, &str, usize)> = units
            .into_iter()
            .map(|i| {
                let class = if sample.is_some() { unproven(i) } else { 1 };
                (class, plan.units[i].key.as_str(), i)
            })
            .collect();
        ranked.sort();
        ranked.truncate(sample.unwrap_or(usize::MAX));
        out.extend(ranked.into_iter().map(|(_, _, i)| i));
    }
    out.sort_unstable();
    out
}

/// Regenerates, into `cache`, every input of unit `i` whose payload was dropped; returns
/// those restored, and the first failure.
fn regenerate_dropped(
    stages: &[StageNode],
    plan: &Plan,
    i: usize,
    cache: &Cache,
    options: &RunOptions,
    progress: &dyn super::stage::UnitProgress,
) -> (Vec<usize>, Result<(), String>) {
    let keys = plan.keys();
    let mut restored = Vec::new();
    for &d in &plan.units[i].deps {
        let input = &plan.units[d];
        if !cache.is_dropped(&input.unit.stage, &input.key) {
            continue;
        }
        let node = stage_named(stages, &input.unit.stage);
        let dirs = plan.input_dirs(d, &keys, cache);
        if let Err(e) = run_unit(
            node,
            &input.spec,
            &input.ingredients,
            &dirs,
            cache,
            options,
            progress,
        ) {
            return (restored, Err(format!("regenerating {}: {e}", input.unit)));
        }
        restored.push(d);
    }
    (restored, Ok(()))
}

/// Recomputes unit `i` of `plan` under its planned ingredients from its cached inputs
/// (regenerating dropped ones first, and dropping them again after) into a scratch cache
/// beside `cache`, and returns the manifest it would have; the scratch entry is deleted.
pub fn recompute_in_scratch(
    stages: &[StageNode],
    plan: &Plan,
    i: usize,
    cache: &Cache,
    options: &RunOptions,
    reporter: &dyn Reporter,
) -> Result<Manifest, String> {
    let scratch_root = cache
        .root()
        .join(DIR)
        .join(format!("scratch-{}", std::process::id()));
    let scratch = Cache::open(&scratch_root).map_err(|e| e.to_string())?;
    let keys = plan.keys();
    let planned = &plan.units[i];
    let node = stage_named(stages, &planned.unit.stage);
    // The unit's inputs are fresh: their planned keys are exact.
    let inputs = plan.input_dirs(i, &keys, cache);
    let p = reporter.unit_started(&planned.unit);
    let (restored, regenerated) = regenerate_dropped(stages, plan, i, cache, options, p.as_ref());
    let outcome = regenerated.and_then(|()| {
        run_unit(
            node,
            &planned.spec,
            &planned.ingredients,
            &inputs,
            &scratch,
            options,
            p.as_ref(),
        )
    });
    for d in restored {
        let input = &plan.units[d];
        let _ = cache.drop_payload(&input.unit.stage, &input.key);
    }
    let redone = outcome.and_then(|_| {
        scratch
            .read_manifest(&planned.unit.stage, &planned.ingredients.key())
            .map_err(|e| e.to_string())
    });
    // Recomputations are evidence, not results.
    let _ = std::fs::remove_dir_all(&scratch_root);
    redone
}

/// The outputs whose bytes (or presence) differ between two manifests of one unit.
pub fn compare_outputs(a: &Manifest, b: &Manifest) -> Vec<String> {
    let digests = |m: &Manifest| -> BTreeMap<String, String> {
        m.outputs
            .iter()
            .map(|o| (o.path.clone(), o.sha256.clone()))
            .collect()
    };
    let (a, b) = (digests(a), digests(b));
    a.keys()
        .chain(b.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|f| a.get(*f) != b.get(*f))
        .cloned()
        .collect()
}

/// Recomputes each unit of `units` (fresh units of `plan`) from its cached inputs into a
/// scratch cache beside `cache`, compares, and records the summary.
pub fn audit(
    stages: &[StageNode],
    plan: &Plan,
    units: &[usize],
    cache: &Cache,
    options: &RunOptions,
    reporter: &dyn Reporter,
) -> Result<Vec<AuditedUnit>, CacheError> {
    let mut results = Vec::new();
    for &i in units {
        let planned = &plan.units[i];
        let recorded = cache.read_manifest(&planned.unit.stage, &planned.key)?;
        let verdict = match recompute_in_scratch(stages, plan, i, cache, options, reporter) {
            Err(error) => Verdict::Failed { error },
            Ok(redone) => {
                let files = compare_outputs(&recorded, &redone);
                if files.is_empty() {
                    Verdict::Identical
                } else {
                    Verdict::Differs { files }
                }
            }
        };
        results.push(AuditedUnit {
            unit: planned.unit.to_string(),
            key: planned.key.clone(),
            verdict,
        });
    }
    let summary = AuditSummary {
        finished: rfc3339(std::time::SystemTime::now()),
        checked: results.len(),
        identical: results
            .iter()
            .filter(|r| r.verdict == Verdict::Identical)
            .count(),
        differing: units_with(&results, |v| matches!(v, Verdict::Differs { .. })),
        failed: units_with(&results, |v| matches!(v, Verdict::Failed { .. })),
    };
    let text = serde_json::to_string_pretty(&summary).expect("serialisable");
    write_atomic(&cache.root().join(DIR).join("last.json"), text.as_bytes())?;
    Ok(results)
}

fn units_with(results: &[AuditedUnit], f: impl Fn(&Verdict) -> bool) -> Vec<String> {
    results
        .iter()
        .filter(|r| f(&r.verdict))
        .map(|r| r.unit.clone())
        .collect()
}

/// The last audit's summary, if an audit has been run on this cache.
pub fn last(cache: &Cache) -> Option<AuditSummary> {
    let text = std::fs::read_to_string(cache.root().join(DIR).join("last.json")).ok()?;
    serde_json::from_str(&text).ok()
}
