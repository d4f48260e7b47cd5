//! Cache upkeep: `repro gc`, `repro verify` and `repro audit`.

use super::lock;
use crate::human;
use anyhow::Result;
use repro::engine::audit::{self, Verdict};
use repro::engine::cache::{read_manifest_at, tree_size};
use repro::engine::fault;
use repro::engine::history;
use repro::engine::progress::reporter_for_stderr;
use repro::engine::runner::{new_run_id, RunOptions};
use repro::engine::slurm::needed_by_jobs;
use repro::project::Project;
use std::collections::BTreeSet;
use std::process::ExitCode;

/// Deletes entries that neither the configuration nor any of its profiles references, nor
/// a queued Slurm job needs. The lock is taken before the keep-list is made, and each
/// entry leaves by one rename into the trash before it is deleted, so an interrupted `gc`
/// never leaves an entry that looks complete without its files.
pub fn gc(project: &Project, dry_run: bool) -> Result<ExitCode> {
    let _lock = if dry_run { None } else { Some(lock(project)?) };
    let mut keep = project.referenced_by_any_profile()?;
    keep.extend(needed_by_jobs(&project.cache)?);
    // The last few published reports stay, so `repro diff` can compare with them.
    keep.extend(history::recent(
        &history::load(&project.cache)?,
        project.config.keep_published,
    ));
    if !dry_run {
        project.cache.empty_trash()?;
    }
    let mut freed = 0u64;
    let mut count = 0usize;
    for (stage, key, dir) in project.cache.entries()? {
        if keep.contains(&(stage.clone(), key.clone())) {
            continue;
        }
        let size = tree_size(&dir);
        let unit = read_manifest_at(&dir)
            .map(|m| m.ingredients.unit)
            .unwrap_or_default();
        if !dry_run {
            project.cache.discard(&stage, &key)?;
            fault::point("gc:after-discard");
        }
        println!(
            "{} {stage}/{unit} {key} ({})",
            if dry_run { "would delete" } else { "deleted" },
            human(size)
        );
        freed += size;
        count += 1;
    }
    if !dry_run {
        project.cache.empty_trash()?;
        project.cache.clean_dead_staging()?;
    }
    println!(
        "{} {count} entr{} ({})",
        if dry_run { "would free" } else { "freed" },
        if count == 1 { "y" } else { "ies" },
        human(freed)
    );
    Ok(ExitCode::SUCCESS)
}

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
    let units = audit::select(&plan, &stages, sample);
    let reporter = reporter_for_stderr(quiet);
    reporter.start(units.len());
    let options = RunOptions {
        keep_recomputable: true,
        fetcher: None,
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
