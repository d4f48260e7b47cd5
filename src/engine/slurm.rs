//! Running units as Slurm jobs. The plan's units are submitted as one job array per stage,
//! each array depending (`afterok`, `--kill-on-invalid-dep=yes`) on the arrays holding its
//! units' inputs. Every task runs `repro ... run-unit STAGE UNIT` against the shared cache,
//! which commits atomically exactly as a local run does, and writes its own exit-code file
//! (the reliable record: `sacct` needs accounting, absent on small clusters). Submissions
//! are recorded in `cache/.slurm/jobs.json`, so a second driver does not resubmit units
//! whose jobs are still queued or running.

use super::cache::{read_manifest_at, write_atomic, Cache, CacheError};
use super::node::StageNode;
use super::plan::{Plan, Status};
use super::retention::Retention;
use super::runner::{Executor, Reporter, RunOptions, RunReport, UnitResult};
use super::unit::UnitRef;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// sbatch options; `stages` overrides them per stage (training wants GPUs, analysis CPUs).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlurmOptions {
    pub partition: Option<String>,
    pub account: Option<String>,
    /// Time limit, as sbatch takes it (e.g. "02:00:00").
    pub time: Option<String>,
    pub cpus_per_task: Option<u32>,
    /// Memory, as sbatch takes it (e.g. "8G").
    pub mem: Option<String>,
    /// Generic resources, e.g. "gpu:1".
    pub gres: Option<String>,
    /// Further sbatch flags, verbatim.
    #[serde(default)]
    pub extra: Vec<String>,
    /// The device the tasks compute on, `cpu` or `cuda`, decided for the nodes rather than
    /// for the planning host (`--device auto` there would see no GPU). Unset: `cuda` when
    /// `gres` (here or for a stage) asks for a GPU, else `cpu`. Each task checks it has it.
    pub device: Option<String>,
    #[serde(default)]
    pub stages: BTreeMap<String, SlurmOptions>,
}

impl SlurmOptions {
    /// The device the tasks will compute on: `device`, else `cuda` where `gres` asks for a
    /// GPU (for any stage), else `cpu`.
    pub fn node_device(&self) -> Result<&str, String> {
        match self.device.as_deref() {
            Some(d @ ("cpu" | "cuda")) => Ok(d),
            Some(other) => Err(format!(
                "executor.slurm.device: `{other}` is not a device (cpu or cuda)"
            )),
            None => {
                let gpu = |o: &SlurmOptions| o.gres.as_deref().is_some_and(|g| g.contains("gpu"));
                Ok(if gpu(self) || self.stages.values().any(gpu) {
                    "cuda"
                } else {
                    "cpu"
                })
            }
        }
    }

    fn for_stage(&self, stage: &str) -> Vec<String> {
        let o = self.stages.get(stage);
        let pick = |f: fn(&SlurmOptions) -> Option<String>| o.and_then(f).or_else(|| f(self));
        let mut args = Vec::new();
        if let Some(v) = pick(|s| s.partition.clone()) {
            args.push(format!("--partition={v}"));
        }
        if let Some(v) = pick(|s| s.account.clone()) {
            args.push(format!("--account={v}"));
        }
        if let Some(v) = pick(|s| s.time.clone()) {
            args.push(format!("--time={v}"));
        }
        if let Some(v) = pick(|s| s.cpus_per_task.map(|c| c.to_string())) {
            args.push(format!("--cpus-per-task={v}"));
        }
        if let Some(v) = pick(|s| s.mem.clone()) {
            args.push(format!("--mem={v}"));
        }
        if let Some(v) = pick(|s| s.gres.clone()) {
            args.push(format!("--gres={v}"));
        }
        args.extend(self.extra.iter().cloned());
        if let Some(o) = o {
            args.extend(o.extra.iter().cloned());
        }
        args
    }
}

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

fn slurm_dir(cache: &Cache) -> PathBuf {
    cache.root().join(".slurm")
}

fn load_jobs(cache: &Cache) -> BTreeMap<String, Submission> {
    std::fs::read_to_string(slurm_dir(cache).join("jobs.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

fn save_jobs(cache: &Cache, jobs: &BTreeMap<String, Submission>) -> Result<(), String> {
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

fn alive(state: Option<&String>) -> bool {
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
        let recipe = |i: usize| recipes[&i].clone();
        let mut jobs = load_jobs(cache);
        let known: BTreeSet<String> = jobs.values().map(|s| s.job.clone()).collect();
        let states = task_states(&known);
        // Units whose earlier submission is still queued or running are followed, not resubmitted.
        let mut watching: BTreeMap<usize, Submission> = BTreeMap::new();
        let mut failures: BTreeMap<usize, String> = BTreeMap::new();
        for &i in to_run {
            if let Some(s) = jobs.get(&recipe(i)) {
                if alive(states.get(&format!("{}_{}", s.job, s.task))) {
                    eprintln!(
                        "{} is already queued or running as job {}_{}; following it",
                        plan.units[i].unit, s.job, s.task
                    );
                    watching.insert(i, s.clone());
                    continue;
                }
                // A finished or forgotten job: its exit file may be stale.
                let _ = std::fs::remove_file(&s.exit_file);
            }
        }
        // Submit the rest, stage by stage, in dependency order.
        let mut array_of: BTreeMap<usize, String> =
            watching.iter().map(|(&i, s)| (i, s.job.clone())).collect();
        for stage in &plan.stage_order {
            let members: Vec<usize> = to_run
                .iter()
                .copied()
                .filter(|i| plan.units[*i].unit.stage == *stage && !watching.contains_key(i))
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
                    recipe: recipe(i),
                    inputs: plan.units[i]
                        .deps
                        .iter()
                        .filter(|&&d| plan.units[d].status == Status::Fresh)
                        .map(|&d| (plan.units[d].unit.stage.clone(), plan.units[d].key.clone()))
                        .collect(),
                })
                .collect();
            let forced = members.iter().any(|&i| plan.units[i].forced);
            match self.submit_stage(cache, stage, &units, &after, forced, &options.run_id) {
                Ok((job, subs)) => {
                    eprintln!(
                        "submitted {} unit(s) of {stage} as job array {job}",
                        members.len()
                    );
                    for (&i, s) in members.iter().zip(subs) {
                        array_of.insert(i, job.clone());
                        jobs.insert(recipe(i), s.clone());
                        watching.insert(i, s);
                    }
                    if let Err(e) = save_jobs(cache, &jobs) {
                        eprintln!("warning: could not record the submission: {e}");
                    }
                }
                Err(e) => {
                    for &i in &members {
                        failures.insert(i, e.clone());
                    }
                }
            }
        }
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
                if let Ok(text) = std::fs::read_to_string(&s.exit_file) {
                    let failed = |why: String| {
                        UnitResult::Failed(format!(
                            "job {}_{} {why}; log: {}",
                            s.job,
                            s.task,
                            s.log.display()
                        ))
                    };
                    // Inputs finish first (afterok), so their keys are settled by now.
                    let r = if text.trim() != "0" {
                        failed(format!("exited with {}", text.trim()))
                    } else {
                        match plan.resolve(i, &keys, cache).map(|ing| ing.key()) {
                            Ok(key) => match cache.read_manifest(&unit.stage, &key) {
                                Ok(m) => {
                                    keys[i] = key;
                                    if m.run_id.as_deref() == Some(s.run_id.as_str()) {
                                        UnitResult::Done(started.elapsed())
                                    } else {
                                        UnitResult::Reused
                                    }
                                }
                                Err(_) => failed("exited with 0 but committed no entry".into()),
                            },
                            Err(e) => failed(format!("left inputs that cannot be read: {e}")),
                        }
                    };
                    reporter.unit_finished(unit, &r);
                    file_task_log(cache, s, unit, reporter);
                    let succeeded = !matches!(r, UnitResult::Failed(_));
                    results.insert(i, r);
                    if succeeded {
                        let ok = |u: usize| {
                            results.get(&u).is_some_and(|r| {
                                matches!(r, UnitResult::Done(_) | UnitResult::Reused)
                            })
                        };
                        for d in retention.releasable(plan, i, ok) {
                            let input = &plan.units[d].unit;
                            if let Err(e) = cache.drop_payload(&input.stage, &keys[d]) {
                                reporter
                                    .warn(&format!("could not drop the payload of {input}: {e}"));
                            }
                        }
                    }
                } else if !alive(state) {
                    // Ended without an exit file (cancelled, killed, dependency never met):
                    // allow the file system a moment before calling it failed.
                    let since = *gone_since.entry(i).or_insert_with(Instant::now);
                    if since.elapsed() > Duration::from_secs(3) {
                        let why = format!(
                            "job {}_{} ended as {} without finishing; log: {}",
                            s.job,
                            s.task,
                            state.map_or("unknown", |s| s.as_str()),
                            s.log.display()
                        );
                        let r = UnitResult::Failed(why);
                        reporter.unit_finished(unit, &r);
                        file_task_log(cache, s, unit, reporter);
                        results.insert(i, r);
                    }
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

/// Files a finished task's Slurm output as the unit's log of its run (see `unit_log`); a
/// task that never started has none, which is no error.
fn file_task_log(cache: &Cache, s: &Submission, unit: &UnitRef, reporter: &dyn Reporter) {
    if s.log.is_file() {
        if let Err(e) = super::unit_log::file_external(cache, &s.run_id, unit, &s.log) {
            reporter.warn(&format!("could not file the log of {unit}: {e}"));
        }
    }
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
