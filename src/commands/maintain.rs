//! Cache upkeep: `repro verify` and `repro audit` (`repro gc` is in `gc.rs`).

use super::lock;
use anyhow::Result;
use repro::engine::audit::{self, Verdict};
use repro::engine::progress::reporter_for_stderr;
use repro::engine::runner::{new_run_id, RunOptions};
use repro::project::Project;
use std::collections::BTreeSet;
use std::process::ExitCode;

pub fn verify(project: &Project, quiet: bool) -> Result<ExitCode> {
    let _lock = lock(project)?;
    let (entries, problems) = project.cache.verify(|dir| {
        if !quiet {
            eprintln!("checking {}", dir.display());
        }
    })?;
    for p in &problems {
        println!("{}: {}: {}", p.entry.display(), p.file, p.problem);
    }
    println!(
        "verified {entries} entr{}: {} problem(s)",
        if entries == 1 { "y" } else { "ies" },
        problems.len()
    );
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Recomputes cached units and compares their bytes; exit 1 when any unit differs.
pub fn audit(
    project: &Project,
    stages: &[String],
    sample: Option<usize>,
    quiet: bool,
) -> Result<ExitCode> {
    let stages = project.resolve_targets(stages)?;
    let _lock = lock(project)?;
    let plan = project.plan(&BTreeSet::new())?;
    let units = audit::select(&plan, &project.cache, &stages, sample);
    let reporter = reporter_for_stderr(quiet);
    reporter.start(units.len());
    let options = RunOptions {
        keep_recomputable: true,
        fetcher: None,
        own_process: false,
        keep_going: true,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        run_id: new_run_id(),
    };
    let results = audit::audit(
        &project.stages,
        &plan,
        &units,
        &project.cache,
        &options,
        reporter.as_ref(),
    )?;
    reporter.finish();
    let mut bad = 0;
    for r in &results {
        match &r.verdict {
            Verdict::Identical => println!("identical  {}", r.unit),
            Verdict::Differs { files } => {
                bad += 1;
                println!("DIFFERS    {}: {}", r.unit, files.join(", "));
            }
            Verdict::Failed { error } => {
                bad += 1;
                println!("FAILED     {}: {error}", r.unit);
            }
        }
    }
    let identical = results.len() - bad;
    println!(
        "audited {} cached unit(s): {identical} identical, {bad} differing or failed",
        results.len()
    );
    Ok(if bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
