//! The local executor: up to `jobs` units at a time on this machine, each as soon as its
//! inputs are done, on threads of this process or each in its own `repro run-unit` worker
//! process. It drops recomputable entries once their readers are done, runs a partial
//! unit (a report) from what completed under `--keep-going`, and gives every unit it
//! computes a log.

use super::cache::Cache;
use super::failed_input;
use super::key::KeyIngredients;
use super::node::{stage_named, StageNode};
use super::plan::{Plan, PlannedUnit, Status};
use super::retention::{drop_payloads, Retention};
use super::runner::{run_unit, Executor, Reporter, RunOptions, RunReport, UnitResult};
use super::stage::UnitProgress;
use super::unit::UnitRef;
use super::unit_log::{Tee, UnitLog};
use super::worker::run_in_worker;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// Runs up to `jobs` units at a time, each as soon as its inputs are done: on threads of
/// this process, or (with `workers`) each in its own `repro run-unit` process, so that
/// parallel units do not share libtorch's thread pools and a crash stays in its unit.
pub struct InProcess {
    pub jobs: usize,
    /// The command that runs repro with this project's options; `run-unit STAGE UNIT` is
    /// appended. `None`: run units on threads of this process.
    pub workers: Option<Vec<String>>,
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

/// The inputs of unit `i` whose cached entries are dropped, and theirs, each after its own
/// inputs (the order to regenerate them in), each once.
fn dropped_inputs(plan: &Plan, i: usize, keys: &[String], cache: &Cache, out: &mut Vec<usize>) {
    for &d in &plan.units[i].deps {
        let stage = &plan.units[d].unit.stage;
        if !out.contains(&d) && cache.contains(stage, &keys[d]) && cache.is_dropped(stage, &keys[d])
        {
            dropped_inputs(plan, d, keys, cache, out);
            out.push(d);
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    Waiting,
    Running,
    Done,
    Failed,
    Skipped,
}

impl InProcess {
    /// Puts back the payload of every input of unit `i` that is cached but dropped (an
    /// input cut off by early cutoff whose entry had been dropped), inputs of inputs first,
    /// each regenerated to the bytes its manifest recorded. Returns the units regenerated,
    /// with how long each took.
    #[allow(clippy::too_many_arguments)]
    fn regenerate_dropped_inputs(
        &self,
        stages: &[StageNode],
        plan: &Plan,
        i: usize,
        keys: &[String],
        cache: &Cache,
        options: &RunOptions,
        reporter: &dyn Reporter,
        regenerating: &Mutex<()>,
    ) -> Result<Vec<(usize, Duration)>, String> {
        let mut order = Vec::new();
        dropped_inputs(plan, i, keys, cache, &mut order);
        if order.is_empty() {
            return Ok(Vec::new());
        }
        let _one_at_a_time = regenerating.lock().expect("regeneration lock");
        let mut done = Vec::new();
        for d in order {
            let input = &plan.units[d];
            // Another reader may have put it back while this one waited.
            if !cache.is_dropped(&input.unit.stage, &keys[d]) {
                continue;
            }
            let ingredients = plan
                .resolve(d, keys, cache)
                .map_err(|e| format!("reading the manifest of input {}: {e}", input.unit))?;
            let node = stage_named(stages, &input.unit.stage);
            let inputs = plan.input_dirs(d, keys, cache);
            match self.compute(
                node,
                input,
                &ingredients,
                &inputs,
                cache,
                options,
                reporter,
                false,
            ) {
                UnitResult::Done(took) => done.push((d, took)),
                UnitResult::Failed(e) => {
                    return Err(format!("regenerating input {}: {e}", input.unit))
                }
                _ => {}
            }
        }
        Ok(done)
    }

    /// Computes (or regenerates) one unit here, in this process or a worker, with its log;
    /// a failure names the log.
    #[allow(clippy::too_many_arguments)]
    fn compute(
        &self,
        node: &StageNode,
        planned: &PlannedUnit,
        ingredients: &KeyIngredients,
        inputs: &BTreeMap<UnitRef, PathBuf>,
        cache: &Cache,
        options: &RunOptions,
        reporter: &dyn Reporter,
        in_process: bool,
    ) -> UnitResult {
        let key = ingredients.key();
        let log = UnitLog::create(cache, &options.run_id, &planned.unit, &key)
            .map_err(|e| reporter.warn(&format!("no log for {}: {e}", planned.unit)))
            .ok();
        let shown = reporter.unit_started(&planned.unit);
        let teed = log.as_ref().map(|log| Tee {
            inner: shown.as_ref(),
            log,
        });
        let progress: &dyn UnitProgress = match &teed {
            Some(t) => t,
            None => shown.as_ref(),
        };
        // A partial unit's stand-in inputs exist only in this process's run: a worker,
        // which plans on its own, would not see them.
        let worker = self.workers.as_ref().filter(|_| !in_process);
        let outcome = match worker {
            Some(launcher) => run_in_worker(
                launcher,
                planned,
                &key,
                &options.run_id,
                progress,
                log.as_ref(),
            ),
            None => run_unit(
                node,
                &planned.spec,
                ingredients,
                inputs,
                cache,
                options,
                progress,
            ),
        };
        drop(shown);
        match (outcome, log) {
            (Ok(d), log) => {
                if let Some(log) = log {
                    log.finish(&format!("done in {:.1} s", d.as_secs_f64()));
                }
                UnitResult::Done(d)
            }
            (Err(e), Some(log)) => {
                log.finish(&format!("failed: {e}"));
                UnitResult::Failed(format!("{e}; log: {}", log.path().display()))
            }
            (Err(e), None) => UnitResult::Failed(e),
        }
    }
}

impl Executor for InProcess {
    fn execute(
        &self,
        stages: &[StageNode],
        plan: &Plan,
        to_run: &[usize],
        cache: &Cache,
        options: &RunOptions,
        reporter: &dyn Reporter,
    ) -> RunReport {
        reporter.start(to_run.len());
        let position: BTreeMap<usize, usize> =
            to_run.iter().enumerate().map(|(p, &i)| (i, p)).collect();
        let shared = Mutex::new((vec![State::Waiting; to_run.len()], false));
        // Each unit's settled key: the plan's for units not run, the resolved one for
        // units run (or reused) here.
        let keys = Mutex::new(plan.keys());
        let wake = Condvar::new();
        let results = Mutex::new(vec![None::<UnitResult>; to_run.len()]);

        let retention = Retention::new(stages, plan, to_run, options.keep_recomputable);
        // Held while a dropped input is regenerated for a reader, so two readers of one
        // input never regenerate it at once.
        let regenerating = Mutex::new(());
        let partial = |i: usize| stage_named(stages, &plan.units[i].unit.stage).meta.partial;

        let worker = || loop {
            // Pick a waiting unit whose inputs are all available, the one latest in
            // dependency order first: consumers before new producers, so that few
            // recomputable entries are alive at once (depth-first).
            let picked = {
                let mut guard = shared.lock().expect("scheduler lock");
                loop {
                    let (states, stop) = &mut *guard;
                    let mut ready = None;
                    let mut waiting = false;
                    for (p, &i) in to_run.iter().enumerate().rev() {
                        if states[p] != State::Waiting {
                            continue;
                        }
                        if *stop {
                            states[p] = State::Skipped;
                            results.lock().unwrap()[p] =
                                Some(UnitResult::Skipped("run stopped after a failure".into()));
                            continue;
                        }
                        let dep_states: Vec<State> = plan.units[i]
                            .deps
                            .iter()
                            .filter_map(|d| position.get(d).map(|&dp| states[dp]))
                            .collect();
                        let first_failed = plan.units[i].deps.iter().find_map(|d| {
                            let &dp = position.get(d)?;
                            matches!(states[dp], State::Failed | State::Skipped).then_some(dp)
                        });
                        if let Some(dp) = first_failed {
                            if options.keep_going && partial(i) {
                                // Runs once every input has finished, one way or another.
                                let finished = dep_states.iter().all(|s| {
                                    matches!(s, State::Done | State::Failed | State::Skipped)
                                });
                                if finished {
                                    ready = Some(p);
                                    break;
                                }
                                waiting = true;
                                continue;
                            }
                            states[p] = State::Skipped;
                            let mut results = results.lock().unwrap();
                            let why = why_missing(&plan.units[to_run[dp]].unit, &results[dp]);
                            results[p] = Some(UnitResult::Skipped(why));
                            continue;
                        }
                        if dep_states.iter().all(|s| *s == State::Done) {
                            ready = Some(p);
                            break;
                        }
                        waiting = true;
                    }
                    if let Some(p) = ready {
                        states[p] = State::Running;
                        break Some(p);
                    }
                    let running = states.contains(&State::Running);
                    if !waiting || !running {
                        // Nothing left that could become ready.
                        wake.notify_all();
                        break None;
                    }
                    guard = wake.wait(guard).expect("scheduler lock");
                }
            };
            let Some(p) = picked else { return };
            let i = to_run[p];
            let planned = &plan.units[i];
            let node = stage_named(stages, &planned.unit.stage);
            let settled = keys.lock().unwrap().clone();
            // A partial unit's inputs that failed (plan index -> why), from their results.
            let failed: BTreeMap<usize, String> = {
                let states = &shared.lock().expect("scheduler lock").0;
                let results = results.lock().unwrap();
                planned
                    .deps
                    .iter()
                    .filter_map(|&d| {
                        let &dp = position.get(&d)?;
                        matches!(states[dp], State::Failed | State::Skipped)
                            .then(|| (d, why_missing(&plan.units[d].unit, &results[dp])))
                    })
                    .collect()
            };
            let failed_set: BTreeSet<usize> = failed.keys().copied().collect();
            let result = match plan.resolve_partial(i, &settled, cache, &failed_set) {
                Err(e) => UnitResult::Failed(format!("reading an input's manifest: {e}")),
                Ok(ingredients) => {
                    let key = ingredients.key();
                    let stage = &planned.unit.stage;
                    let usable = || cache.contains(stage, &key) && !cache.is_dropped(stage, &key);
                    // Planned to run, but its rebuilt inputs wrote the bytes they wrote before
                    // and its entry is cached with the payload dropped: cut off too. The
                    // payload comes back only if a reader runs (`regenerate_dropped_inputs`).
                    let cut_off_dropped = !planned.forced
                        && planned.status != Status::Fresh
                        && cache.contains(stage, &key)
                        && cache.is_dropped(stage, &key);
                    let reusable = !planned.forced && (usable() || cut_off_dropped);
                    let fetched = match &options.fetcher {
                        Some(f) if !planned.forced && !reusable => {
                            f.fetch(cache, &ingredients).unwrap_or_else(|warning| {
                                reporter.warn(&warning);
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
                        // Not fetched, or fetched as a manifest alone (a dropped
                        // recomputable entry): it is computed, or regenerated, here.
                        let mut inputs = plan.input_dirs(i, &settled, cache);
                        let mut stand_ins = Ok(());
                        for (&d, why) in &failed {
                            let input = &plan.units[d].unit;
                            match failed_input::write(cache, &options.run_id, input, why) {
                                Ok(dir) => {
                                    inputs.insert(input.clone(), dir);
                                }
                                Err(e) => {
                                    stand_ins = Err(format!("recording {input} as failed: {e}"))
                                }
                            }
                        }
                        if !failed.is_empty() {
                            reporter.warn(&format!(
                                "{} runs without its {} failed input(s) (--keep-going; it is partial)",
                                planned.unit,
                                failed.len()
                            ));
                        }
                        let regenerated = stand_ins.and_then(|()| {
                            self.regenerate_dropped_inputs(
                                stages,
                                plan,
                                i,
                                &settled,
                                cache,
                                options,
                                reporter,
                                &regenerating,
                            )
                        });
                        // An input counted as cut off that had to be regenerated after all
                        // was computed by this run.
                        if let Ok(list) = &regenerated {
                            let mut results = results.lock().unwrap();
                            for &(d, took) in list {
                                if let Some(&dp) = position.get(&d) {
                                    results[dp] = Some(UnitResult::Done(took));
                                }
                            }
                        }
                        match regenerated {
                            Err(e) => UnitResult::Failed(e),
                            Ok(_) => self.compute(
                                node,
                                planned,
                                &ingredients,
                                &inputs,
                                cache,
                                options,
                                reporter,
                                !failed.is_empty(),
                            ),
                        }
                    };
                    if !matches!(result, UnitResult::Failed(_)) {
                        keys.lock().unwrap()[i] = key;
                    }
                    result
                }
            };
            let state = match result {
                UnitResult::Failed(_) | UnitResult::Skipped(_) => State::Failed,
                _ => State::Done,
            };
            reporter.unit_finished(&planned.unit, &result);
            results.lock().unwrap()[p] = Some(result);
            let mut guard = shared.lock().expect("scheduler lock");
            guard.0[p] = state;
            if state == State::Failed && !options.keep_going {
                guard.1 = true;
            }
            // Inputs whose payload may go now (decided under the lock that records each
            // unit's end, so only the last reader to finish names an input).
            let done_with: Vec<usize> = if state == State::Done {
                retention.releasable(plan, i, |r| {
                    position
                        .get(&r)
                        .is_some_and(|&rp| guard.0[rp] == State::Done)
                })
            } else {
                Vec::new()
            };
            wake.notify_all();
            drop(guard);
            drop_payloads(
                plan,
                &done_with,
                |d| keys.lock().unwrap()[d].clone(),
                cache,
                reporter,
            );
        };

        std::thread::scope(|scope| {
            for _ in 0..self.jobs.max(1) {
                scope.spawn(worker);
            }
        });
        reporter.finish();
        let results = results.into_inner().unwrap();
        RunReport {
            keys: keys.into_inner().unwrap(),
            results: to_run
                .iter()
                .zip(results)
                .map(|(&i, r)| {
                    (
                        plan.units[i].unit.clone(),
                        r.unwrap_or(UnitResult::Skipped("not reached".into())),
                    )
                })
                .collect(),
        }
    }
}
