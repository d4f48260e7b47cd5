//! Running units as Slurm jobs. The plan's units are submitted as one job array per stage,
//! each array depending (`afterok`, `--kill-on-invalid-dep=yes`) on the arrays holding its
//! units' inputs. Every task runs `repro ... run-unit STAGE UNIT` against the shared cache,
//! which commits atomically exactly as a local run does, and writes its own exit-code file
//! (the reliable record: `sacct` needs accounting, absent on small clusters). Submissions
//! are recorded in `cache/.slurm/jobs.json`, so a second driver does not resubmit units
//! whose jobs are still queued or running.

mod jobs;
mod options;

pub use jobs::{alive_submissions, in_flight, needed_by_jobs, task_states, Submission};
pub use options::SlurmOptions;

use super::cache::Cache;
use super::node::StageNode;
use super::plan::{Plan, Status};
use super::retention::{drop_payloads, Retention};
use super::runner::{Executor, Reporter, RunOptions, RunReport, UnitResult};
use super::unit::UnitRef;
use jobs::{alive, load_jobs, save_jobs, slurm_dir};
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// What one array task is told: the unit, its recipe, and its inputs known at submission.
struct Task<'a> {
    unit: &'a str,
    recipe: String,
    inputs: Vec<(String, String)>,
}

pub struct SlurmExecutor {
    /// The command that runs repro with this project's options; `run-unit STAGE UNIT` is
    /// appended for each task.
    pub launcher: Vec<String>,
    pub options: SlurmOptions,
    pub cancel_on_interrupt: bool,
    pub poll: Duration,
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

impl SlurmExecutor {
    /// Writes the task script and the unit list of one stage, and submits the array.
    fn submit_stage(
        &self,
        cache: &Cache,
        stage: &str,
        units: &[Task],
        after: &BTreeSet<String>,
        forced: bool,
        run_id: &str,
    ) -> Result<(String, Vec<Submission>), String> {
        let dir = slurm_dir(cache);
        let logs = dir.join("logs");
        let exits = dir.join("exit");
        for d in [&logs, &exits, &dir.join("arrays")] {
            std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
        }
        let stamp = format!(
            "{stage}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis())
        );
        let list = dir.join("arrays").join(format!("{stamp}.units"));
        let recipes = dir.join("arrays").join(format!("{stamp}.recipes"));
        let lines =
            |f: &dyn Fn(&Task) -> String| units.iter().map(|u| f(u) + "\n").collect::<String>();
        std::fs::write(&list, lines(&|u| u.unit.to_string())).map_err(|e| e.to_string())?;
        std::fs::write(&recipes, lines(&|u| u.recipe.clone())).map_err(|e| e.to_string())?;
        let launcher: Vec<String> = self.launcher.iter().map(|a| shell_quote(a)).collect();
        // The task refuses to run if its own plan gives the unit another recipe (the
        // configuration or the binary changed since submission).
        let script = format!(
            "#!/bin/bash\n# repro: stage {stage}, one task per unit\nunit=$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" {list})\nrecipe=$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" {recipes})\n{} run-unit {} \"$unit\" --expect-recipe \"$recipe\" --run-id {}{}\nrc=$?\necho $rc > {exits}/\"$recipe\".tmp && mv {exits}/\"$recipe\".tmp {exits}/\"$recipe\"\nexit $rc\n",
            launcher.join(" "),
            shell_quote(stage),
            shell_quote(run_id),
            if forced { " --force" } else { "" },
            exits = exits.display(),
            list = shell_quote(&list.to_string_lossy()),
            recipes = shell_quote(&recipes.to_string_lossy()),
        );
        let script_path = dir.join("arrays").join(format!("{stamp}.sh"));
        std::fs::write(&script_path, script).map_err(|e| e.to_string())?;
        let mut cmd = Command::new("sbatch");
        cmd.arg("--parsable")
            .arg(format!("--job-name=repro-{stage}"))
            .arg(format!("--array=0-{}", units.len() - 1))
            .arg(format!("--output={}/{stage}-%A_%a.log", logs.display()))
            .args(self.options.for_stage(stage));
        if !after.is_empty() {
            cmd.arg(format!(
                "--dependency=afterok:{}",
                after.iter().cloned().collect::<Vec<_>>().join(":")
            ));
            cmd.arg("--kill-on-invalid-dep=yes");
        }
        let out = cmd
            .arg(&script_path)
            .output()
            .map_err(|e| format!("cannot run sbatch: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "sbatch failed for stage {stage}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let job = String::from_utf8_lossy(&out.stdout)
            .trim()
            .split(';')
            .next()
            .unwrap_or_default()
            .to_string();
        let subs = units
            .iter()
            .enumerate()
            .map(|(task, u)| Submission {
                unit: format!("{stage}/{}", u.unit),
                job: job.clone(),
                task,
                log: logs.join(format!("{stage}-{job}_{task}.log")),
                exit_file: exits.join(&u.recipe),
                run_id: run_id.to_string(),
                inputs: u.inputs.clone(),
            })
            .collect();
        Ok((job, subs))
    }
}

/// What one run follows: the record of submissions (`jobs.json`, by recipe), per planned
/// unit (plan index) its submission, and the units that could not be submitted, with why.
struct Following {
    jobs: BTreeMap<String, Submission>,
    watching: BTreeMap<usize, Submission>,
    failures: BTreeMap<usize, String>,
}

impl SlurmExecutor {
    /// Units whose earlier submission (in the record `jobs`) is still queued or running are
    /// followed, not submitted again; a finished or forgotten submission's exit file is
    /// cleared.
    fn follow_earlier(
        &self,
        plan: &Plan,
        to_run: &[usize],
        recipes: &BTreeMap<usize, String>,
        jobs: BTreeMap<String, Submission>,
    ) -> Following {
        let known: BTreeSet<String> = jobs.values().map(|s| s.job.clone()).collect();
        let states = task_states(&known);
        let mut watching = BTreeMap::new();
        for &i in to_run {
            let Some(s) = jobs.get(&recipes[&i]) else {
                continue;
            };
            if alive(states.get(&format!("{}_{}", s.job, s.task))) {
                eprintln!(
                    "{} is already queued or running as job {}_{}; following it",
                    plan.units[i].unit, s.job, s.task
                );
                watching.insert(i, s.clone());
            } else {
                let _ = std::fs::remove_file(&s.exit_file);
            }
        }
        Following {
            jobs,
            watching,
            failures: BTreeMap::new(),
        }
    }

    /// Submits the units not already followed, one array per stage in dependency order,
    /// each after the arrays that hold its units' inputs, and records the submissions (in
    /// the record and in `jobs.json`).
    fn submit_rest(
        &self,
        plan: &Plan,
        to_run: &[usize],
        cache: &Cache,
        run_id: &str,
        recipes: &BTreeMap<usize, String>,
        mut following: Following,
    ) -> Following {
        let mut array_of: BTreeMap<usize, String> = following
            .watching
            .iter()
            .map(|(&i, s)| (i, s.job.clone()))
            .collect();
        for stage in &plan.stage_order {
            let members: Vec<usize> = to_run
                .iter()
                .copied()
                .filter(|i| {
                    plan.units[*i].unit.stage == *stage && !following.watching.contains_key(i)
                })
                .collect();
            if members.is_empty() {
                continue;
            }
            let after: BTreeSet<String> = members
                .iter()
                .flat_map(|&i| {
                    plan.units[i]
                        .deps
                        .iter()
                        .filter_map(|d| array_of.get(d).cloned())
                })
                .collect();
            let units: Vec<Task> = members
                .iter()
                .map(|&i| Task {
                    unit: plan.units[i].unit.id.as_str(),
                    recipe: recipes[&i].clone(),
                    inputs: plan.units[i]
                        .deps
                        .iter()
                        .filter(|&&d| plan.units[d].status == Status::Fresh)
                        .map(|&d| (plan.units[d].unit.stage.clone(), plan.units[d].key.clone()))
                        .collect(),
                })
                .collect();
            let forced = members.iter().any(|&i| plan.units[i].forced);
            match self.submit_stage(cache, stage, &units, &after, forced, run_id) {
                Ok((job, subs)) => {
                    eprintln!(
                        "submitted {} unit(s) of {stage} as job array {job}",
                        members.len()
                    );
                    for (&i, s) in members.iter().zip(subs) {
                        array_of.insert(i, job.clone());
                        following.jobs.insert(recipes[&i].clone(), s.clone());
                        following.watching.insert(i, s);
                    }
                    if let Err(e) = save_jobs(cache, &following.jobs) {
                        eprintln!("warning: could not record the submission: {e}");
                    }
                }
                Err(e) => {
                    for &i in &members {
                        following.failures.insert(i, e.clone());
                    }
                }
            }
        }
        following
    }
}

/// The result of a unit whose task wrote exit code `code`: done (this run committed its
/// entry), reused (another run had), or failed. Its inputs finished first (`afterok`), so
/// their keys in `keys` are settled; a success settles its own.
fn settle(
    plan: &Plan,
    i: usize,
    s: &Submission,
    code: &str,
    keys: &mut [String],
    cache: &Cache,
    took: Duration,
) -> UnitResult {
    let failed = |why: String| {
        UnitResult::Failed(format!(
            "job {}_{} {why}; log: {}",
            s.job,
            s.task,
            s.log.display()
        ))
    };
    if code != "0" {
        return failed(format!("exited with {code}"));
    }
    let unit = &plan.units[i].unit;
    match plan.resolve(i, keys, cache).map(|ing| ing.key()) {
        Ok(key) => match cache.read_manifest(&unit.stage, &key) {
            Ok(m) => {
                keys[i] = key;
                if m.run_id.as_deref() == Some(s.run_id.as_str()) {
                    UnitResult::Done(took)
                } else {
                    UnitResult::Reused
                }
            }
            Err(_) => failed("exited with 0 but committed no entry".into()),
        },
        Err(e) => failed(format!("left inputs that cannot be read: {e}")),
    }
}

impl Executor for SlurmExecutor {
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
        let mut keys = plan.keys();
        // Stage by stage, the arrays run one after the other, so all of a stage's entries
        // exist before its readers start; the payloads go as the readers finish.
        let retention = Retention::new(stages, plan, to_run, options.keep_recomputable);
        // Each unit's recipe names its submission and exit file; hashed once here.
        let recipes: BTreeMap<usize, String> = to_run
            .iter()
            .map(|&i| (i, plan.units[i].ingredients.recipe()))
            .collect();
        let earlier = self.follow_earlier(plan, to_run, &recipes, load_jobs(cache));
        let Following {
            watching, failures, ..
        } = self.submit_rest(plan, to_run, cache, &options.run_id, &recipes, earlier);
        if self.cancel_on_interrupt {
            unsafe {
                libc::signal(libc::SIGINT, on_sigint as *const () as libc::sighandler_t);
            }
        } else {
            eprintln!("Ctrl-C stops following; the jobs keep running (`repro status` or `squeue` shows them)");
        }

        // Follow until every unit has an exit file or its job is gone.
        let mut results: BTreeMap<usize, UnitResult> = failures
            .into_iter()
            .map(|(i, e)| (i, UnitResult::Failed(e)))
            .collect();
        let started = Instant::now();
        let mut gone_since: BTreeMap<usize, Instant> = BTreeMap::new();
        while results.len() < to_run.len() {
            if INTERRUPTED.load(Ordering::SeqCst) {
                let ids: BTreeSet<String> = watching.values().map(|s| s.job.clone()).collect();
                let _ = Command::new("scancel").args(ids.iter()).status();
                eprintln!(
                    "interrupted: cancelled jobs {}",
                    ids.into_iter().collect::<Vec<_>>().join(", ")
                );
                for &i in to_run {
                    results
                        .entry(i)
                        .or_insert(UnitResult::Skipped("cancelled".into()));
                }
                break;
            }
            let ids: BTreeSet<String> = watching
                .iter()
                .filter(|(i, _)| !results.contains_key(i))
                .map(|(_, s)| s.job.clone())
                .collect();
            let states = task_states(&ids);
            for (&i, s) in &watching {
                if results.contains_key(&i) {
                    continue;
                }
                let unit: &UnitRef = &plan.units[i].unit;
                let state = states.get(&format!("{}_{}", s.job, s.task));
                let r = if let Ok(code) = std::fs::read_to_string(&s.exit_file) {
                    settle(plan, i, s, code.trim(), &mut keys, cache, started.elapsed())
                } else if !alive(state) {
                    // Ended without an exit file (cancelled, killed, dependency never met):
                    // allow the file system a moment before calling it failed.
                    let since = *gone_since.entry(i).or_insert_with(Instant::now);
                    if since.elapsed() <= Duration::from_secs(3) {
                        continue;
                    }
                    UnitResult::Failed(format!(
                        "job {}_{} ended as {} without finishing; log: {}",
                        s.job,
                        s.task,
                        state.map_or("unknown", |s| s.as_str()),
                        s.log.display()
                    ))
                } else {
                    continue;
                };
                reporter.unit_finished(unit, &r);
                file_task_log(cache, s, unit, reporter);
                let succeeded = matches!(r, UnitResult::Done(_) | UnitResult::Reused);
                results.insert(i, r);
                if succeeded {
                    let ok = |u: usize| {
                        results
                            .get(&u)
                            .is_some_and(|r| matches!(r, UnitResult::Done(_) | UnitResult::Reused))
                    };
                    let done_with = retention.releasable(plan, i, ok);
                    drop_payloads(plan, &done_with, |d| keys[d].clone(), cache, reporter);
                }
            }
            if results.len() < to_run.len() {
                std::thread::sleep(self.poll);
            }
        }
        reporter.finish();
        RunReport {
            keys,
            results: to_run
                .iter()
                .map(|&i| {
                    (
                        plan.units[i].unit.clone(),
                        results
                            .remove(&i)
                            .unwrap_or(UnitResult::Skipped("not reached".into())),
                    )
                })
                .collect(),
        }
    }
}

/// Files a finished task's Slurm output as the unit's log of its run (see `unit_log`); a
/// task that never started has none, which is no error.
fn file_task_log(cache: &Cache, s: &Submission, unit: &UnitRef, reporter: &dyn Reporter) {
    if s.log.is_file() {
        if let Err(e) = super::unit_log::file_external(cache, &s.run_id, unit, &s.log) {
            reporter.warn(&format!("could not file the log of {unit}: {e}"));
        }
    }
}
