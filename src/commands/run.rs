//! `repro run` and `repro run-unit`.

use super::diff::REPORT;
use super::lock;
use crate::{RunArgs, RunUnitArgs};
use anyhow::{Context, Result};
use repro::engine::history;
use repro::engine::local::InProcess;
use repro::engine::manifest::Manifest;
use repro::engine::progress::{reporter_for_stderr, Relay};
use repro::engine::runner::{new_run_id, run_unit, Executor, RunOptions, UnitResult};
use repro::engine::slurm::SlurmExecutor;
use repro::engine::{Status, UnitRef};
use repro::project::Project;
use repro::review::changes::{self, Previous};
use repro::review::diff::DEFAULT_TOLERANCE;
use repro::review::timeline::{Bar, Outcome};
use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::Instant;

/// How this binary is started again for one unit: by a local worker (told its share of
/// the cores) or by a Slurm task (which takes its allocation).
pub struct Launchers {
    pub local: Vec<String>,
    pub slurm: Vec<String>,
}

pub fn run(project: &Project, args: RunArgs, quiet: bool, launcher: Launchers) -> Result<ExitCode> {
    let clock = Instant::now();
    let targets = project.resolve_targets(&args.targets)?;
    let forced = if args.force.is_empty() {
        BTreeSet::new()
    } else {
        project.resolve_targets(&args.force)?
    };
    let jobs = args.jobs.max(1);

    if args.dry_run {
        let plan = project.plan(&forced)?;
        let to_run = plan.to_run(&targets, args.keep);
        let (sure, pending): (Vec<usize>, Vec<usize>) = to_run
            .iter()
            .partition(|&&i| matches!(plan.units[i].status, Status::Run(_)));
        println!("would run {} unit(s):", sure.len());
        for &i in &sure {
            let u = &plan.units[i];
            println!("  {:<40} {}", u.unit.to_string(), u.status);
        }
        if !pending.is_empty() {
            println!(
                "and {} more only if rebuilt inputs write different bytes:",
                pending.len()
            );
            for &i in &pending {
                let u = &plan.units[i];
                println!("  {:<40} {}", u.unit.to_string(), u.status);
            }
        }
        return Ok(ExitCode::SUCCESS);
    }

    let kind = args
        .executor
        .clone()
        .or_else(|| project.config.executor.kind.clone())
        .unwrap_or_else(|| "local".into());
    let fetcher = super::remote::fetcher_for(project, args.pull, args.remote.as_deref())?;
    let _lock = lock(project)?;
    project.cache.clean_dead_staging()?;
    // Slurm tasks never ask the remote: what it holds is pulled here, on the planning
    // host, before the plan that decides what to submit.
    let fetcher: Option<Box<dyn repro::engine::runner::Fetcher>> = match fetcher {
        Some(f) if kind == "slurm" => {
            f.prefetch(project, &targets, &forced)?;
            None
        }
        Some(f) => Some(Box::new(f)),
        None => None,
    };
    // Plan only once the lock is held: another process may just have filled the cache.
    let plan = project.plan(&forced)?;
    let to_run = plan.to_run(&targets, args.keep);
    let cached = plan
        .closure(&targets)
        .into_iter()
        .filter(|&i| plan.units[i].status == Status::Fresh && !to_run.contains(&i))
        .count();
    let reporter = reporter_for_stderr(quiet);
    let executor: Box<dyn Executor> = if kind == "slurm" {
        Box::new(SlurmExecutor {
            launcher: launcher.slurm,
            options: project.config.executor.slurm.clone(),
            cancel_on_interrupt: args.cancel_on_interrupt,
            poll: std::time::Duration::from_millis(500),
        })
    } else {
        // One unit at a time runs in this process (with its progress bar); several at a
        // time run as worker processes.
        let workers = (jobs > 1).then_some(launcher.local);
        Box::new(InProcess { jobs, workers })
    };
    // Slurm tasks take no lock of their own: the driver keeps it until they are done.
    let report = executor.execute(
        &project.stages,
        &plan,
        &to_run,
        &project.cache,
        &RunOptions {
            keep_going: args.keep_going,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            run_id: new_run_id(),
            keep_recomputable: args.keep,
            fetcher,
            own_process: false,
        },
        reporter.as_ref(),
    );
    let done = report.count(|r| matches!(r, UnitResult::Done(_)));
    let cut_off = report.count(|r| matches!(r, UnitResult::Reused));
    let pulled = report.count(|r| matches!(r, UnitResult::Pulled));
    let skipped = report.count(|r| matches!(r, UnitResult::Skipped(_)));
    let failed = report.failed();
    for (unit, result) in &report.results {
        if let UnitResult::Failed(e) = result {
            eprintln!("error: {unit} failed: {e}");
        }
    }
    let now = repro::engine::manifest::rfc3339(std::time::SystemTime::now());
    for (unit, key, dir) in project
        .publish(&plan, &report.keys)
        .context("publishing outputs")?
    {
        if unit.stage == REPORT {
            // Compared with the latest earlier report of this configuration and profile
            // (another key): the same on every rerun that changes nothing.
            let records = history::load(&project.cache)?;
            let previous = records.iter().rev().find(|r| {
                r.stage == unit.stage
                    && r.unit == unit.id
                    && r.config == project.config.file.display().to_string()
                    && r.profile == project.config.profile
                    && r.key != key
            });
            let label = previous.map(|p| format!("{}, {}", &p.key[..12.min(p.key.len())], p.time));
            let entry = previous.map(|p| project.cache.entry_dir(REPORT, &p.key));
            let previous = match (previous, &label, &entry) {
                (Some(p), Some(label), Some(dir)) if project.cache.contains(REPORT, &p.key) => {
                    Previous::At { dir, label }
                }
                (Some(_), Some(label), _) => Previous::Gone { label },
                _ => Previous::None,
            };
            changes::fill(&dir, previous, DEFAULT_TOLERANCE)
                .context("writing the report's changes section")?;
            write_provenance(project, &plan, &report, &unit, &key, &dir)?;
        }
        history::record(
            &project.cache,
            &history::Record {
                time: now.clone(),
                config: project.config.file.display().to_string(),
                profile: project.config.profile.clone(),
                stage: unit.stage.clone(),
                unit: unit.id.clone(),
                key,
                name: args.name.clone(),
            },
        )?;
        if let Some(html) = [dir.join("report.html"), dir.join("report.md")]
            .iter()
            .find(|p| p.exists())
        {
            eprintln!("report: {}", html.display());
            if let Some(md) = Some(dir.join("report.md")).filter(|p| p.exists() && p != html) {
                eprintln!("        {}", md.display());
            }
        } else {
            eprintln!("published: {}", dir.display());
        }
    }
    let mut summary = format!("repro: {done} unit(s) run, {cached} reused");
    if pulled > 0 {
        summary.push_str(&format!(", {pulled} pulled from the remote"));
    }
    if cut_off > 0 {
        summary.push_str(&format!(
            ", {cut_off} reused by early cutoff (rebuilt inputs wrote the same bytes)"
        ));
    }
    summary.push_str(&format!(", {failed} failed"));
    if skipped > 0 {
        summary.push_str(&format!(", {skipped} skipped"));
    }
    eprintln!("{summary} in {:.2}s", clock.elapsed().as_secs_f64());
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Runs one unit for a worker process or a Slurm task. Its inputs are committed by now,
/// so its key is exact; it must be the one the driver expects.
pub fn run_one(project: &Project, args: &RunUnitArgs, quiet: bool) -> Result<ExitCode> {
    let forced = if args.force {
        BTreeSet::from([args.stage.clone()])
    } else {
        BTreeSet::new()
    };
    let plan = project.plan(&forced)?;
    let wanted = UnitRef::new(&args.stage, &args.unit);
    let Some(i) = plan.units.iter().position(|u| u.unit == wanted) else {
        anyhow::bail!(
            "no unit `{}` in stage `{}` for this configuration (see `repro run --dry-run`)",
            args.unit,
            args.stage
        );
    };
    let planned = &plan.units[i];
    if let Some(&d) = planned
        .deps
        .iter()
        .find(|&&d| plan.units[d].status != Status::Fresh || plan.units[d].dropped)
    {
        anyhow::bail!(
            "input {} of {} is not in the cache",
            plan.units[d].unit,
            planned.unit
        );
    }
    if let Some(recipe) = &args.expect_recipe {
        let mine = planned.ingredients.recipe();
        if &mine != recipe {
            anyhow::bail!(
                "{}: this process plans the unit differently from the run that asked for it \
                 (recipe {} here, {} expected): the configuration or the binary changed since; \
                 run `repro run` again",
                planned.unit,
                &mine[..12],
                &recipe[..recipe.len().min(12)]
            );
        }
    }
    if let Some(key) = &args.expect_key {
        if &planned.key != key {
            anyhow::bail!(
                "{}: this process computes key {} but the run expects {}: the configuration, \
                 the binary or an input changed since; run `repro run` again",
                planned.unit,
                &planned.key[..12],
                &key[..key.len().min(12)]
            );
        }
    }
    if planned.status == Status::Fresh && !planned.dropped {
        eprintln!("{} reused: already cached", planned.unit);
        return Ok(ExitCode::SUCCESS);
    }
    let inputs = plan.input_dirs(i, &plan.keys(), &project.cache);
    let node = project
        .stages
        .iter()
        .find(|s| s.meta.name == args.stage)
        .expect("planned stage exists");
    let reporter = if args.relay_progress {
        Box::new(Relay)
    } else {
        reporter_for_stderr(quiet)
    };
    let progress = reporter.unit_started(&planned.unit);
    let options = RunOptions {
        keep_going: false,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        run_id: args.run_id.clone().unwrap_or_else(new_run_id),
        keep_recomputable: true,
        fetcher: None,
        own_process: true,
    };
    match run_unit(
        node,
        &planned.spec,
        &planned.ingredients,
        &inputs,
        &project.cache,
        &options,
        progress.as_ref(),
    ) {
        Ok(d) => {
            eprintln!("{} done in {:.1}s", planned.unit, d.as_secs_f64());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {} failed: {e}", planned.unit);
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Records beside a published report what made its inputs (timings, machines, keys) and
/// the cache's last audit: provenance, which its key does not decide (see
/// `review::provenance`). Rewritten at every publish, so a later audit shows up.
fn write_provenance(
    project: &Project,
    plan: &repro::engine::Plan,
    report: &repro::engine::runner::RunReport,
    unit: &UnitRef,
    key: &str,
    dir: &std::path::Path,
) -> Result<()> {
    let Some(i) = plan.units.iter().position(|u| &u.unit == unit) else {
        return Ok(());
    };
    // The manifest of every unit the report was made from, read once. A failed input of a
    // partial report has none; the report names it.
    let manifests: std::collections::BTreeMap<usize, Manifest> = plan
        .closure_of(vec![i])
        .into_iter()
        .filter_map(|d| {
            let u = &plan.units[d].unit;
            let m = project
                .cache
                .read_manifest(&u.stage, &report.keys[d])
                .ok()?;
            Some((d, m))
        })
        .collect();
    let inputs: Vec<(UnitRef, Manifest)> = plan.units[i]
        .deps
        .iter()
        .filter_map(|d| Some((plan.units[*d].unit.clone(), manifests.get(d)?.clone())))
        .collect();
    let audit = repro::engine::audit::last(&project.cache);
    let timeline = timeline_bars(plan, report, &manifests);
    repro::review::provenance::write(dir, key, &inputs, audit.as_ref(), &timeline)
        .with_context(|| format!("writing the provenance beside {}", dir.display()))
}

/// One timeline bar per unit of `manifests` (plan index -> its manifest), with what this
/// run did with it.
fn timeline_bars(
    plan: &repro::engine::Plan,
    report: &repro::engine::runner::RunReport,
    manifests: &std::collections::BTreeMap<usize, Manifest>,
) -> Vec<Bar> {
    let outcomes: std::collections::HashMap<&UnitRef, Outcome> = report
        .results
        .iter()
        .filter_map(|(u, r)| {
            let o = match r {
                UnitResult::Done(_) => Outcome::Ran,
                UnitResult::Reused => Outcome::CutOff,
                UnitResult::Pulled => Outcome::Pulled,
                UnitResult::Failed(_) | UnitResult::Skipped(_) => return None,
            };
            Some((u, o))
        })
        .collect();
    manifests
        .iter()
        .filter_map(|(&i, m)| {
            let u = &plan.units[i].unit;
            let start = repro::engine::manifest::parse_rfc3339(&m.started)?;
            Some(Bar {
                unit: u.to_string(),
                machine: m.machine.clone().unwrap_or_else(|| "unrecorded".into()),
                start: start as f64,
                seconds: m.duration_s,
                outcome: outcomes.get(u).copied().unwrap_or(Outcome::Reused),
            })
        })
        .collect()
}
