//! Adopting entries after a harmless change. A change to a stage's code that alters its
//! units' keys but not their bytes (a comment, a crate added for a new subcommand) would
//! otherwise rerun every unit, hours of training for nothing. `repro adopt STAGE --sample
//! N` recomputes N of the stage's units under their new keys (in a scratch cache, as the
//! audit does) and compares every output with the entry of the unit's last run. Only if
//! all N are byte-identical does it re-key the rest: each unit's last entry is committed
//! again under the new key, its files shared by hard links, its manifest recording where
//! it came from and which units vouched for it ([`Adoption`]). Any difference refuses the
//! whole adoption and names the unit. Only units whose key changed in the code alone are
//! candidates: a changed parameter, version or input means other bytes are expected.

use super::audit::{compare_outputs, recompute_in_scratch};
use super::cache::{Cache, CacheError};
use super::key::KeyIngredients;
use super::manifest::{rfc3339, Adoption, Manifest};
use super::node::StageNode;
use super::plan::{Plan, Status};
use super::runner::{Reporter, RunOptions};
use std::collections::BTreeMap;

/// A unit of the stage whose last entry may be adopted: its plan index and that entry.
pub struct Candidate {
    pub index: usize,
    pub old: Manifest,
}

/// Why adoption stopped.
#[derive(Debug, thiserror::Error)]
pub enum AdoptError {
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error("{unit} gives other bytes under the new code ({files}): nothing adopted; run it (`repro run`) instead")]
    Differs { unit: String, files: String },
    #[error("recomputing {unit} under the new code failed: {error}; nothing adopted")]
    Failed { unit: String, error: String },
}

/// The units of `stage` that are not fresh only because the stage's code changed since
/// an earlier entry of theirs; and, for the report, every other stale unit of the stage with
/// why it is not a candidate. A unit's last entry is tried first; if another configuration
/// (a profile, a `--set` run) ran the unit since, its older entries are searched for the
/// latest one that differs by code alone.
pub fn candidates(plan: &Plan, cache: &Cache, stage: &str) -> (Vec<Candidate>, Vec<String>) {
    let mut out = Vec::new();
    let mut refused = Vec::new();
    let mut earlier: Option<BTreeMap<String, Vec<Manifest>>> = None;
    for (i, u) in plan.units.iter().enumerate() {
        if u.unit.stage != stage || u.status == Status::Fresh {
            continue;
        }
        let why = |w: &str| format!("{}: {w}", u.unit);
        if !u.exact {
            refused.push(why(
                "its inputs are not fresh (adopt or run the stages before it)",
            ));
            continue;
        }
        let last_key = cache.last_key(&u.unit);
        let last = last_key
            .as_ref()
            .and_then(|k| cache.read_manifest(stage, k).ok());
        let chosen = match last {
            Some(m) if code_alone_differs(&m.ingredients, &u.ingredients) => Some(m),
            _ => earlier
                .get_or_insert_with(|| entries_by_unit(cache, stage))
                .get(&u.unit.id)
                .into_iter()
                .flatten()
                .filter(|m| code_alone_differs(&m.ingredients, &u.ingredients))
                .max_by(|a, b| a.finished.cmp(&b.finished))
                .cloned(),
        };
        match chosen {
            Some(old) => out.push(Candidate { index: i, old }),
            None if last_key.is_none() => refused.push(why("no earlier entry")),
            None => refused.push(why(
                "its parameters, version or inputs changed, not only the code",
            )),
        }
    }
    (out, refused)
}

/// Whether an entry made with `old` is what `new` asks for but for the code.
fn code_alone_differs(old: &KeyIngredients, new: &KeyIngredients) -> bool {
    old.params == new.params && old.inputs == new.inputs && old.version == new.version
}

/// Every readable entry of `stage`, by unit id.
fn entries_by_unit(cache: &Cache, stage: &str) -> BTreeMap<String, Vec<Manifest>> {
    let mut by_unit: BTreeMap<String, Vec<Manifest>> = BTreeMap::new();
    for (s, key, _) in cache.entries().unwrap_or_default() {
        if s != stage {
            continue;
        }
        if let Ok(m) = cache.read_manifest(stage, &key) {
            by_unit
                .entry(m.ingredients.unit.clone())
                .or_default()
                .push(m);
        }
    }
    by_unit
}

/// Verifies `sample` candidates (the first by new key: an arbitrary, repeatable choice)
/// and, if all match, adopts every candidate. Returns the adopted units.
pub fn adopt(
    stages: &[StageNode],
    plan: &Plan,
    candidates: &[Candidate],
    sample: usize,
    cache: &Cache,
    options: &RunOptions,
    reporter: &dyn Reporter,
) -> Result<Vec<String>, AdoptError> {
    let mut order: Vec<&Candidate> = candidates.iter().collect();
    order.sort_by(|a, b| plan.units[a.index].key.cmp(&plan.units[b.index].key));
    let mut verified = Vec::new();
    for c in order.iter().take(sample) {
        let planned = &plan.units[c.index];
        let redone = recompute_in_scratch(stages, plan, c.index, cache, options, reporter);
        let unit = planned.unit.to_string();
        let redone = redone.map_err(|error| AdoptError::Failed {
            unit: unit.clone(),
            error,
        })?;
        let files = compare_outputs(&c.old, &redone);
        if !files.is_empty() {
            return Err(AdoptError::Differs {
                unit,
                files: files.join(", "),
            });
        }
        verified.push(unit);
    }
    let time = rfc3339(std::time::SystemTime::now());
    let mut adopted = Vec::new();
    for c in candidates {
        let planned = &plan.units[c.index];
        rekey(
            cache,
            c,
            &planned.key,
            &planned.ingredients,
            &verified,
            &time,
        )?;
        adopted.push(planned.unit.to_string());
    }
    Ok(adopted)
}

/// Commits the candidate's last entry again under `key`: the same files (hard links, or
/// copies across file systems), the new ingredients, and the adoption record.
fn rekey(
    cache: &Cache,
    c: &Candidate,
    key: &str,
    ingredients: &super::key::KeyIngredients,
    verified: &[String],
    time: &str,
) -> Result<(), CacheError> {
    let stage = &ingredients.stage;
    let from = cache.entry_dir(stage, &c.old.key);
    let dropped = cache.is_dropped(stage, &c.old.key);
    let staging = cache.begin(stage, key)?;
    if !dropped {
        for out in &c.old.outputs {
            let src = from.join(&out.path);
            let dst = staging.dir.join(&out.path);
            if let Some(dir) = dst.parent() {
                std::fs::create_dir_all(dir).map_err(super::cache::io_err(dir))?;
            }
            super::cache::link_or_copy(&src, &dst).map_err(super::cache::io_err(&src))?;
        }
    }
    let mut manifest = c.old.clone();
    manifest.key = key.to_string();
    manifest.ingredients = ingredients.clone();
    manifest.adopted = Some(Adoption {
        from_key: c.old.key.clone(),
        verified_by: verified.to_vec(),
        time: time.to_string(),
    });
    if dropped {
        cache.commit_dropped(staging, &manifest)?;
    } else {
        cache.commit(staging, &manifest)?;
    }
    Ok(())
}
