//! The local executor's scheduling: worker threads that share one run's state, each
//! taking the next ready unit (consumers before new producers), settling its key, reusing,
//! pulling or computing it, and releasing the payloads no later unit needs.

use super::InProcess;
use crate::engine::cache::Cache;
use crate::engine::failed_input;
use crate::engine::key::KeyIngredients;
use crate::engine::node::{stage_named, StageNode};
use crate::engine::plan::{Plan, Status};
use crate::engine::retention::{drop_payloads, Retention};
use crate::engine::runner::{Reporter, RunOptions, RunReport, UnitResult};
use crate::engine::unit::UnitRef;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Condvar, Mutex};

#[derive(Clone, Copy, PartialEq)]
pub(super) enum State {
    Waiting,
    Running,
    Done,
    Failed,
    Skipped,
}

/// Why a unit has no entry, for its readers: its own failure, or (when it never ran) the
/// failure it inherited.
fn why_missing(unit: &UnitRef, result: &Option<UnitResult>) -> String {
    match result {
        Some(UnitResult::Failed(e)) => format!("{unit} failed: {e}"),
        Some(UnitResult::Skipped(why)) if why.starts_with("not run") => why.clone(),
        Some(UnitResult::Skipped(why)) => format!("not run: {why}"),
        _ => format!("{unit} did not finish"),
    }
}

/// One `execute` call: what its worker threads share. Units are named by their position
/// `p` in `to_run`, or by their plan index `i = to_run[p]`.
pub(super) struct Run<'a> {
    pub(super) exec: &'a InProcess,
    pub(super) stages: &'a [StageNode],
    pub(super) plan: &'a Plan,
    pub(super) to_run: &'a [usize],
    pub(super) cache: &'a Cache,
    pub(super) options: &'a RunOptions,
    pub(super) reporter: &'a dyn Reporter,
    /// Plan index to position in `to_run`.
    pub(super) position: BTreeMap<usize, usize>,
    /// Each unit's state, and whether the run stops after a failure.
    pub(super) states: Mutex<(Vec<State>, bool)>,
    /// Each unit's settled key: the plan's for units not run, the resolved one for units
    /// run (or reused) here.
    pub(super) keys: Mutex<Vec<String>>,
    pub(super) wake: Condvar,
    pub(super) results: Mutex<Vec<Option<UnitResult>>>,
    pub(super) retention: Retention,
    /// Held while a dropped input is regenerated for a reader, so two readers of one input
    /// never regenerate it at once.
    pub(super) regenerating: Mutex<()>,
}

impl Run<'_> {
    /// A worker thread: takes ready units until none can become ready.
    pub(super) fn work(&self) {
        while let Some(p) = self.pick() {
            let result = self.run(p);
            self.finish(p, result);
        }
    }

    fn partial(&self, i: usize) -> bool {
        stage_named(self.stages, &self.plan.units[i].unit.stage)
            .meta
            .partial
    }

    /// Waits for a unit whose inputs are all available and marks it running; the one
    /// latest in dependency order first: consumers before new producers, so that few
    /// recomputable entries are alive at once (depth-first). Units that can no longer run
    /// (an input failed, or the run stopped) are marked skipped on the way. `None` when
    /// nothing left could become ready.
    fn pick(&self) -> Option<usize> {
        let mut guard = self.states.lock().expect("scheduler lock");
        loop {
            let (states, stop) = &mut *guard;
            let mut waiting = false;
            for (p, &i) in self.to_run.iter().enumerate().rev() {
                if states[p] != State::Waiting {
                    continue;
                }
                if *stop {
                    states[p] = State::Skipped;
                    self.results.lock().unwrap()[p] =
                        Some(UnitResult::Skipped("run stopped after a failure".into()));
                    continue;
                }
                let deps = &self.plan.units[i].deps;
                let dep_states: Vec<State> = deps
                    .iter()
                    .filter_map(|d| self.position.get(d).map(|&dp| states[dp]))
                    .collect();
                let first_failed = deps.iter().find_map(|d| {
                    let &dp = self.position.get(d)?;
                    matches!(states[dp], State::Failed | State::Skipped).then_some(dp)
                });
                let ready = match first_failed {
                    // A partial unit runs once every input has finished, one way or another.
                    Some(_) if self.options.keep_going && self.partial(i) => dep_states
                        .iter()
                        .all(|s| matches!(s, State::Done | State::Failed | State::Skipped)),
                    Some(dp) => {
                        states[p] = State::Skipped;
                        let mut results = self.results.lock().unwrap();
                        let why = why_missing(&self.plan.units[self.to_run[dp]].unit, &results[dp]);
                        results[p] = Some(UnitResult::Skipped(why));
                        continue;
                    }
                    None => dep_states.iter().all(|s| *s == State::Done),
                };
                if ready {
                    states[p] = State::Running;
                    return Some(p);
                }
                waiting = true;
            }
            if !waiting || !states.contains(&State::Running) {
                // Nothing left that could become ready.
                self.wake.notify_all();
                return None;
            }
            guard = self.wake.wait(guard).expect("scheduler lock");
        }
    }

    /// The inputs of unit `i` that failed or were skipped (plan index -> why), for a
    /// partial unit.
    fn failed_inputs(&self, i: usize) -> BTreeMap<usize, String> {
        let states = &self.states.lock().expect("scheduler lock").0;
        let results = self.results.lock().unwrap();
        self.plan.units[i]
            .deps
            .iter()
            .filter_map(|&d| {
                let &dp = self.position.get(&d)?;
                matches!(states[dp], State::Failed | State::Skipped)
                    .then(|| (d, why_missing(&self.plan.units[d].unit, &results[dp])))
            })
            .collect()
    }

    /// Settles unit `p`'s key from its inputs' outputs, then reuses its entry, pulls it
    /// from the remote, or computes it; records the key of what it now holds.
    fn run(&self, p: usize) -> UnitResult {
        let i = self.to_run[p];
        let planned = &self.plan.units[i];
        let settled = self.keys.lock().unwrap().clone();
        let failed = self.failed_inputs(i);
        let failed_set: BTreeSet<usize> = failed.keys().copied().collect();
        let ingredients = match self
            .plan
            .resolve_partial(i, &settled, self.cache, &failed_set)
        {
            Err(e) => return UnitResult::Failed(format!("reading an input's manifest: {e}")),
            Ok(ingredients) => ingredients,
        };
        let key = ingredients.key();
        let (cache, stage) = (self.cache, &planned.unit.stage);
        let usable = || cache.contains(stage, &key) && !cache.is_dropped(stage, &key);
        // Planned to run, but its rebuilt inputs wrote the bytes they wrote before and its
        // entry is cached with the payload dropped: cut off too. The payload comes back
        // only if a reader runs (`regenerate_dropped_inputs`).
        let cut_off_dropped = !planned.forced
            && planned.status != Status::Fresh
            && cache.contains(stage, &key)
            && cache.is_dropped(stage, &key);
        let reusable = !planned.forced && (usable() || cut_off_dropped);
        let fetched = match &self.options.fetcher {
            Some(f) if !planned.forced && !reusable => {
                f.fetch(cache, &ingredients).unwrap_or_else(|warning| {
                    self.reporter.warn(&warning);
                    false
                })
            }
            _ => false,
        };
        let result = if reusable {
            UnitResult::Reused
        } else if fetched && usable() {
            UnitResult::Pulled
        } else {
            // Not fetched, or fetched as a manifest alone (a dropped recomputable entry):
            // it is computed, or regenerated, here.
            self.compute(i, &ingredients, &settled, &failed)
        };
        if !matches!(result, UnitResult::Failed(_)) {
            self.keys.lock().unwrap()[i] = key;
        }
        result
    }

    /// Computes unit `i` here: failed inputs of a partial unit get stand-ins, dropped
    /// inputs are regenerated first.
    fn compute(
        &self,
        i: usize,
        ingredients: &KeyIngredients,
        settled: &[String],
        failed: &BTreeMap<usize, String>,
    ) -> UnitResult {
        let planned = &self.plan.units[i];
        let mut inputs = self.plan.input_dirs(i, settled, self.cache);
        for (&d, why) in failed {
            let input = &self.plan.units[d].unit;
            match failed_input::write(self.cache, &self.options.run_id, input, why) {
                Ok(dir) => {
                    inputs.insert(input.clone(), dir);
                }
                Err(e) => return UnitResult::Failed(format!("recording {input} as failed: {e}")),
            }
        }
        if !failed.is_empty() {
            self.reporter.warn(&format!(
                "{} runs without its {} failed input(s) (--keep-going; it is partial)",
                planned.unit,
                failed.len()
            ));
        }
        let regenerated = self.exec.regenerate_dropped_inputs(
            self.stages,
            self.plan,
            i,
            settled,
            self.cache,
            self.options,
            self.reporter,
            &self.regenerating,
        );
        match regenerated {
            Err(e) => UnitResult::Failed(e),
            Ok(list) => {
                // An input counted as cut off that had to be regenerated after all was
                // computed by this run.
                let mut results = self.results.lock().unwrap();
                for (d, took) in list {
                    if let Some(&dp) = self.position.get(&d) {
                        results[dp] = Some(UnitResult::Done(took));
                    }
                }
                drop(results);
                self.exec.compute(
                    stage_named(self.stages, &planned.unit.stage),
                    planned,
                    ingredients,
                    &inputs,
                    self.cache,
                    self.options,
                    self.reporter,
                    !failed.is_empty(),
                )
            }
        }
    }

    /// Records unit `p`'s result, stops the run on a failure unless `--keep-going`, wakes
    /// the waiting workers, and drops the payloads no unit of the run still needs.
    fn finish(&self, p: usize, result: UnitResult) {
        let i = self.to_run[p];
        let state = match result {
            UnitResult::Failed(_) | UnitResult::Skipped(_) => State::Failed,
            _ => State::Done,
        };
        self.reporter
            .unit_finished(&self.plan.units[i].unit, &result);
        self.results.lock().unwrap()[p] = Some(result);
        let mut guard = self.states.lock().expect("scheduler lock");
        guard.0[p] = state;
        if state == State::Failed && !self.options.keep_going {
            guard.1 = true;
        }
        // Inputs whose payload may go now (decided under the lock that records each unit's
        // end, so only the last reader to finish names an input).
        let done_with: Vec<usize> = if state == State::Done {
            self.retention.releasable(self.plan, i, |r| {
                self.position
                    .get(&r)
                    .is_some_and(|&rp| guard.0[rp] == State::Done)
            })
        } else {
            Vec::new()
        };
        self.wake.notify_all();
        drop(guard);
        drop_payloads(
            self.plan,
            &done_with,
            |d| self.keys.lock().unwrap()[d].clone(),
            self.cache,
            self.reporter,
        );
    }

    /// Every unit's result ("not reached" for those no worker got to) and the settled keys.
    pub(super) fn report(self) -> RunReport {
        let results = self.results.into_inner().unwrap();
        RunReport {
            keys: self.keys.into_inner().unwrap(),
            results: self
                .to_run
                .iter()
                .zip(results)
                .map(|(&i, r)| {
                    (
                        self.plan.units[i].unit.clone(),
                        r.unwrap_or(UnitResult::Skipped("not reached".into())),
                    )
                })
                .collect(),
        }
    }
}
