//! The local executor: up to `jobs` units at a time on this machine, each as soon as its
//! inputs are done, on threads of this process or each in its own `repro run-unit` worker
//! process. It drops recomputable entries once their readers are done, runs a partial
//! unit (a report) from what completed under `--keep-going`, and gives every unit it
//! computes a log.

use super::cache::Cache;
use super::key::KeyIngredients;
use super::node::{stage_named, StageNode};
use super::plan::{Plan, PlannedUnit};
use super::retention::Retention;
use super::runner::{run_unit, Executor, Reporter, RunOptions, RunReport, UnitResult};
use super::stage::UnitProgress;
use super::unit::UnitRef;
use super::unit_log::{Tee, UnitLog};
use super::worker::run_in_worker;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

mod schedule;

/// Runs up to `jobs` units at a time, each as soon as its inputs are done: on threads of
/// this process, or (with `workers`) each in its own `repro run-unit` process, so that
/// parallel units do not share libtorch's thread pools and a crash stays in its unit.
pub struct InProcess {
    pub jobs: usize,
    /// The command that runs repro with this project's options; `run-unit STAGE UNIT` is
    /// appended. `None`: run units on threads of this process.
    pub workers: Option<Vec<String>>,
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
        let run = schedule::Run {
            exec: self,
            stages,
            plan,
            to_run,
            cache,
            options,
            reporter,
            position: to_run.iter().enumerate().map(|(p, &i)| (i, p)).collect(),
            states: Mutex::new((vec![schedule::State::Waiting; to_run.len()], false)),
            keys: Mutex::new(plan.keys()),
            wake: Condvar::new(),
            results: Mutex::new(vec![None; to_run.len()]),
            retention: Retention::new(stages, plan, to_run, options.keep_recomputable),
            regenerating: Mutex::new(()),
        };
        std::thread::scope(|scope| {
            for _ in 0..self.jobs.max(1) {
                scope.spawn(|| run.work());
            }
        });
        reporter.finish();
        run.report()
    }
}
