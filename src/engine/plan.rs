//! Planning: every unit of every stage with its key, whether its cache entry exists, and
//! if not, why it must run. Planning reads no outputs, only manifests, so a fully cached
//! pipeline is planned in milliseconds.
//!
//! A key is made from the *content* of the unit's inputs (their outputs' digests, recorded
//! in their manifests), not from the inputs' keys. So when an input must be rebuilt, its
//! dependants' keys are known only once it has been: the plan gives them the key they will
//! have if the input writes what it wrote last time, and the executor settles the key when
//! the unit's turn comes ([`Plan::resolve`]). A rebuilt input with unchanged bytes then
//! leaves its dependants as they were (early cutoff).

use super::cache::{Cache, CacheError};
use super::key::{explain_change, KeyIngredients, Reason, UNBUILT};
use super::manifest::Manifest;
use super::node::StageNode;
use super::stage::{ConfigIssue, UnitSpec};
use super::unit::UnitRef;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum PlanError {
    #[error("stage `{stage}`: {issue}", issue = .issue.message)]
    Config { stage: String, issue: ConfigIssue },
    #[error("unit {unit} needs {input}, which stage `{stage}` does not produce", stage = .input.stage)]
    UnknownInput { unit: UnitRef, input: UnitRef },
    #[error("stage `{stage}` lists unit `{id}` twice")]
    DuplicateUnit { stage: String, id: String },
    #[error("unit {unit} needs {input}, but stage `{stage}` does not declare `needs = [\"{dep}\"]`", stage = .unit.stage, dep = .input.stage)]
    UndeclaredInput { unit: UnitRef, input: UnitRef },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    Fresh,
    Run(Vec<Reason>),
    /// Cached for the inputs' last outputs, but these inputs are rebuilt first: the unit
    /// runs only if one of them writes different bytes.
    Pending(Vec<UnitRef>),
}

/// Inputs named one by one at most; a report's hundreds of new or dropped inputs are
/// counted, with the first few named.
const INPUTS_NAMED: usize = 3;

/// The reasons, `; `-separated, with added, removed and changed inputs each folded into
/// one count where there are more than [`INPUTS_NAMED`] of them.
fn summarise(reasons: &[Reason]) -> String {
    // Which kind of per-input reason `r` is, and the input it names.
    fn kind(r: &Reason) -> Option<(usize, &str)> {
        match r {
            Reason::InputAdded { input } => Some((0, input)),
            Reason::InputRemoved { input } => Some((1, input)),
            Reason::InputChanged { input } => Some((2, input)),
            _ => None,
        }
    }
    const FOLDED: [&str; 3] = [
        "new inputs",
        "inputs no longer used",
        "inputs changed their outputs",
    ];
    let mut inputs: [Vec<&str>; 3] = Default::default();
    for (k, input) in reasons.iter().filter_map(kind) {
        inputs[k].push(input);
    }
    let mut folded = [false; 3];
    let mut text = Vec::new();
    for r in reasons {
        match kind(r) {
            Some((k, _)) if inputs[k].len() > INPUTS_NAMED => {
                if !std::mem::replace(&mut folded[k], true) {
                    let shown = inputs[k][..INPUTS_NAMED].join(", ");
                    text.push(format!("{} {} ({shown}, ...)", inputs[k].len(), FOLDED[k]));
                }
            }
            _ => text.push(r.to_string()),
        }
    }
    text.join("; ")
}

/// What the status means to a reader: `fresh`, the reasons to run, or which inputs decide.
impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Status::Fresh => write!(f, "fresh"),
            Status::Run(reasons) => write!(f, "{}", summarise(reasons)),
            Status::Pending(inputs) => {
                let names: Vec<String> = inputs.iter().map(|r| format!("`{r}`")).collect();
                write!(f, "runs if {} changes its outputs", names.join(" or "))
            }
        }
    }
}

#[derive(Clone, Debug)]
pub struct PlannedUnit {
    pub unit: UnitRef,
    pub spec: UnitSpec,
    /// The unit's key if every input that is rebuilt writes what it wrote last time; exact
    /// when `exact`.
    pub key: String,
    /// Every input's content is known from a committed entry.
    pub exact: bool,
    pub ingredients: KeyIngredients,
    pub status: Status,
    /// The content digest its dependants' keys are planned with: its entry's, or if it is
    /// rebuilt, its last run's; `None` if it has never written outputs.
    pub content: Option<String>,
    /// Run even if cached (`--force`).
    pub forced: bool,
    /// Cached, but its payload was dropped (a recomputable stage's): a unit that reads it
    /// has it regenerated first.
    pub dropped: bool,
    /// Indices (into [`Plan::units`]) of this unit's inputs.
    pub deps: Vec<usize>,
}

#[derive(Debug)]
pub struct Plan {
    /// Every unit, stages in dependency order.
    pub units: Vec<PlannedUnit>,
    pub stage_order: Vec<String>,
}

impl Plan {
    /// Builds the plan for every stage of `stages` (already in dependency order).
    pub fn build(
        stages: &[StageNode],
        tables: &Value,
        cache: &Cache,
        forced: &BTreeSet<String>,
    ) -> Result<Plan, PlanError> {
        let mut units: Vec<PlannedUnit> = Vec::new();
        let mut index: HashMap<UnitRef, usize> = HashMap::new();
        let mut specs_by_stage: BTreeMap<String, Vec<UnitSpec>> = BTreeMap::new();

        for node in stages {
            let meta = &node.meta;
            let visible = visible_tables(tables, &meta.reads);
            let upstream: BTreeMap<String, Vec<UnitSpec>> = meta
                .needs
                .iter()
                .map(|n| {
                    (
                        n.clone(),
                        specs_by_stage.get(n).cloned().unwrap_or_default(),
                    )
                })
                .collect();
            let specs = node
                .imp
                .units(&visible, &upstream)
                .map_err(|issue| PlanError::Config {
                    stage: meta.name.clone(),
                    issue,
                })?;
            for spec in &specs {
                let unit = UnitRef::new(&meta.name, &spec.id);
                if index.contains_key(&unit) {
                    return Err(PlanError::DuplicateUnit {
                        stage: meta.name.clone(),
                        id: spec.id.clone(),
                    });
                }
                let mut inputs = BTreeMap::new();
                let mut deps = Vec::new();
                let mut exact = true;
                let mut rebuilt = Vec::new();
                for input in &spec.inputs {
                    if !meta.needs.contains(&input.stage) {
                        return Err(PlanError::UndeclaredInput {
                            unit: unit.clone(),
                            input: input.clone(),
                        });
                    }
                    let Some(&i) = index.get(input) else {
                        return Err(PlanError::UnknownInput {
                            unit: unit.clone(),
                            input: input.clone(),
                        });
                    };
                    let upstream: &PlannedUnit = &units[i];
                    if upstream.status != Status::Fresh {
                        exact = false;
                        rebuilt.push(input.clone());
                    }
                    let content = upstream.content.clone().unwrap_or_else(|| {
                        exact = false;
                        UNBUILT.to_string()
                    });
                    inputs.insert(input.to_string(), content);
                    deps.push(i);
                }
                let ingredients = KeyIngredients {
                    stage: meta.name.clone(),
                    unit: spec.id.clone(),
                    version: meta.version,
                    code: meta.code.clone(),
                    params: spec.params.clone(),
                    inputs,
                };
                let key = ingredients.key();
                let is_forced = forced.contains(&meta.name);
                let (mut status, seen) = status_of(cache, &unit, &key, &ingredients, is_forced);
                if status == Status::Fresh && !exact {
                    status = Status::Pending(rebuilt);
                }
                let content = seen.map(|m| m.content_digest());
                let dropped = status == Status::Fresh && cache.is_dropped(&meta.name, &key);
                index.insert(unit.clone(), units.len());
                units.push(PlannedUnit {
                    unit,
                    spec: spec.clone(),
                    key,
                    exact,
                    ingredients,
                    status,
                    content,
                    forced: is_forced,
                    dropped,
                    deps,
                });
            }
            specs_by_stage.insert(meta.name.clone(), specs);
        }
        Ok(Plan {
            units,
            stage_order: stages.iter().map(|s| s.meta.name.clone()).collect(),
        })
    }

    /// The units that must run for `targets` (stage names): each target unit that is not
    /// fresh (or, with `regenerate`, whose payload was dropped), plus every input that such
    /// a unit reads and that has no entry or a dropped one. Returned in dependency order.
    pub fn to_run(&self, targets: &BTreeSet<String>, regenerate: bool) -> Vec<usize> {
        let mut needed = vec![false; self.units.len()];
        let must = |u: &PlannedUnit| u.status != Status::Fresh || u.dropped;
        let mut stack: Vec<usize> = (0..self.units.len())
            .filter(|&i| targets.contains(&self.units[i].unit.stage))
            .filter(|&i| {
                let u = &self.units[i];
                u.status != Status::Fresh || (regenerate && u.dropped)
            })
            .collect();
        while let Some(i) = stack.pop() {
            if needed[i] {
                continue;
            }
            needed[i] = true;
            for &d in &self.units[i].deps {
                if must(&self.units[d]) {
                    stack.push(d);
                }
            }
        }
        (0..self.units.len()).filter(|&i| needed[i]).collect()
    }

    /// The units of `targets` and, transitively, every input they read: the units a run
    /// of `targets` uses, whether from the cache or by running them.
    pub fn closure(&self, targets: &BTreeSet<String>) -> Vec<usize> {
        self.closure_of(
            (0..self.units.len())
                .filter(|&i| targets.contains(&self.units[i].unit.stage))
                .collect(),
        )
    }

    /// The units `seeds` (plan indices) and, transitively, every input they read, in plan
    /// order.
    pub fn closure_of(&self, seeds: Vec<usize>) -> Vec<usize> {
        let mut used = vec![false; self.units.len()];
        let mut stack = seeds;
        while let Some(i) = stack.pop() {
            if !std::mem::replace(&mut used[i], true) {
                stack.extend(&self.units[i].deps);
            }
        }
        (0..self.units.len()).filter(|&i| used[i]).collect()
    }

    /// The exact key of unit `i` once its inputs are committed under `keys` (indexed like
    /// [`Plan::units`]; only the inputs' entries are read).
    pub fn resolve(
        &self,
        i: usize,
        keys: &[String],
        cache: &Cache,
    ) -> Result<KeyIngredients, CacheError> {
        self.resolve_partial(i, keys, cache, &BTreeSet::new())
    }

    /// [`Plan::resolve`] for a partial run: the inputs in `failed` (plan indices) enter the
    /// key as [`super::failed_input::MARKER`].
    pub fn resolve_partial(
        &self,
        i: usize,
        keys: &[String],
        cache: &Cache,
        failed: &BTreeSet<usize>,
    ) -> Result<KeyIngredients, CacheError> {
        let u = &self.units[i];
        let mut ingredients = u.ingredients.clone();
        for &d in &u.deps {
            let input = &self.units[d].unit;
            if failed.contains(&d) {
                ingredients
                    .inputs
                    .insert(input.to_string(), super::failed_input::MARKER.to_string());
                continue;
            }
            let manifest = cache.read_manifest(&input.stage, &keys[d])?;
            ingredients
                .inputs
                .insert(input.to_string(), manifest.content_digest());
        }
        Ok(ingredients)
    }

    /// The entry folder of each input of unit `i`, with inputs committed under `keys`
    /// (indexed like [`Plan::units`]).
    pub fn input_dirs(
        &self,
        i: usize,
        keys: &[String],
        cache: &Cache,
    ) -> BTreeMap<UnitRef, PathBuf> {
        self.units[i]
            .deps
            .iter()
            .map(|&d| {
                let u = &self.units[d];
                (u.unit.clone(), cache.entry_dir(&u.unit.stage, &keys[d]))
            })
            .collect()
    }

    /// Every planned unit's key, indexed like [`Plan::units`].
    pub fn keys(&self) -> Vec<String> {
        self.units.iter().map(|u| u.key.clone()).collect()
    }

    /// Every key the plan references, as (stage, key).
    pub fn referenced(&self) -> BTreeSet<(String, String)> {
        self.units
            .iter()
            .map(|u| (u.unit.stage.clone(), u.key.clone()))
            .collect()
    }
}

fn visible_tables(tables: &Value, reads: &[String]) -> Value {
    let mut out = serde_json::Map::new();
    for name in reads {
        if let Some(v) = tables.get(name) {
            out.insert(name.clone(), v.clone());
        }
    }
    Value::Object(out)
}

/// The unit's status, and the manifest whose outputs its dependants are planned with: its
/// entry's when fresh, else its last run's (if that entry is still there).
fn status_of(
    cache: &Cache,
    unit: &UnitRef,
    key: &str,
    ingredients: &KeyIngredients,
    forced: bool,
) -> (Status, Option<Manifest>) {
    if !forced && cache.contains(&unit.stage, key) {
        return (Status::Fresh, cache.read_manifest(&unit.stage, key).ok());
    }
    let last = cache.last_key(unit);
    let previous = last
        .as_ref()
        .and_then(|k| cache.read_manifest(&unit.stage, k).ok());
    if forced {
        return (Status::Run(vec![Reason::Forced]), previous);
    }
    let reasons = match (&last, &previous) {
        (None, _) => vec![Reason::NeverBuilt],
        (Some(last), _) if last == key => vec![Reason::EntryMissing],
        (Some(_), Some(p)) => {
            let r = explain_change(&p.ingredients, ingredients);
            if r.is_empty() {
                vec![Reason::EntryMissing]
            } else {
                r
            }
        }
        (Some(_), None) => vec![Reason::EntryMissing],
    };
    (Status::Run(reasons), previous)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_new_or_dropped_inputs_are_counted_with_the_first_few_named() {
        let removed = |n: usize| Reason::InputRemoved {
            input: format!("analysis/n{n}"),
        };
        let mut reasons = vec![Reason::CodeChanged];
        reasons.extend((0..5).map(removed));
        reasons.push(Reason::InputAdded {
            input: "train/x".into(),
        });
        assert_eq!(
            Status::Run(reasons).to_string(),
            "code of the stage changed; 5 inputs no longer used (analysis/n0, analysis/n1, \
             analysis/n2, ...); new input train/x"
        );
        // Changed inputs fold the same way.
        let changed: Vec<Reason> = (0..4)
            .map(|n| Reason::InputChanged {
                input: format!("train/n{n}"),
            })
            .collect();
        assert_eq!(
            Status::Run(changed).to_string(),
            "4 inputs changed their outputs (train/n0, train/n1, train/n2, ...)"
        );
        // Three or fewer are each named.
        let few: Vec<Reason> = (0..3).map(removed).collect();
        assert_eq!(
            Status::Run(few).to_string(),
            "input analysis/n0 no longer used; input analysis/n1 no longer used; input analysis/n2 no longer used"
        );
    }
}
