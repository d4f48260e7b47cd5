//! `repro gc`: deletes cache entries nothing needs any more, and never hours of work by
//! surprise.
//!
//! Kept: what the configuration or any of its profiles plans with, what queued Slurm jobs
//! may read, and the last `[project] keep_published` recorded reports *with everything they
//! were made from* (their inputs' entries, followed transitively through the manifests). So
//! after a `git pull` or with another `--device`, when every trained network's key has
//! changed, the networks behind the last reports stay. The rest is listed with its size and
//! the unit time it represents; on a terminal gc asks before deleting, elsewhere it needs
//! `--yes`.

use super::lock;
use crate::human;
use anyhow::{bail, Result};
use repro::engine::cache::tree_size;
use repro::engine::fault;
use repro::engine::history;
use repro::engine::reach::{self, EntryId};
use repro::engine::slurm::needed_by_jobs;
use repro::engine::unit_log;
use repro::project::Project;
use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

/// How many runs' unit logs gc leaves in `<cache>/.logs` (the newest ones).
const KEEP_RUN_LOGS: usize = 20;

/// An entry gc would delete.
struct Doomed {
    id: EntryId,
    unit: String,
    bytes: u64,
    unit_seconds: f64,
}

/// Every entry outside the keep-set, with its size and the unit time that made it.
fn unreferenced(project: &Project) -> Result<Vec<Doomed>> {
    let manifests = reach::manifests(&project.cache)?;
    let mut roots: BTreeSet<EntryId> = project.referenced_by_any_profile()?;
    roots.extend(needed_by_jobs(&project.cache)?);
    roots.extend(history::recent(
        &history::load(&project.cache)?,
        project.config.keep_published,
    ));
    let keep = reach::with_inputs(&manifests, roots);
    let mut doomed = Vec::new();
    for (stage, key, dir) in project.cache.entries()? {
        let id = (stage, key);
        if keep.contains(&id) {
            continue;
        }
        // An entry whose manifest is unreadable is damaged: deleting it loses nothing.
        let (unit, unit_seconds) = manifests.get(&id).map_or((String::from("?"), 0.0), |m| {
            (m.ingredients.unit.clone(), m.duration_s)
        });
        doomed.push(Doomed {
            id,
            unit,
            bytes: tree_size(&dir),
            unit_seconds,
        });
    }
    Ok(doomed)
}

fn hours(seconds: f64) -> String {
    if seconds >= 3600.0 {
        format!("{:.1} h", seconds / 3600.0)
    } else if seconds >= 60.0 {
        format!("{:.0} min", seconds / 60.0)
    } else {
        format!("{seconds:.0} s")
    }
}

fn summary(doomed: &[Doomed]) -> String {
    let bytes: u64 = doomed.iter().map(|d| d.bytes).sum();
    let seconds: f64 = doomed.iter().map(|d| d.unit_seconds).sum();
    format!(
        "{} entr{} ({}, made in {} of unit time)",
        doomed.len(),
        if doomed.len() == 1 { "y" } else { "ies" },
        human(bytes),
        hours(seconds)
    )
}

/// Asks on the terminal; anything but y/yes declines.
fn confirmed(question: &str) -> Result<bool> {
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}

pub fn gc(project: &Project, dry_run: bool, yes: bool) -> Result<ExitCode> {
    // The question is asked without the lock (a run may go on meanwhile); what is deleted is
    // then what was shown and is still unreferenced under the lock.
    let shown = unreferenced(project)?;
    for d in &shown {
        println!(
            "{} {}/{} {} ({}, {})",
            if dry_run { "would delete" } else { "to delete" },
            d.id.0,
            d.unit,
            d.id.1,
            human(d.bytes),
            hours(d.unit_seconds)
        );
    }
    if dry_run {
        println!("would free {}", summary(&shown));
        return Ok(ExitCode::SUCCESS);
    }
    if !shown.is_empty() && !yes {
        let question = format!("Delete {}?", summary(&shown));
        if !std::io::stdin().is_terminal() {
            bail!("gc would delete {}; pass --yes to confirm (stdin is not a terminal, so gc cannot ask)", summary(&shown));
        }
        if !confirmed(&question)? {
            println!("deleted nothing");
            return Ok(ExitCode::SUCCESS);
        }
    }
    let _lock = lock(project)?;
    project.cache.empty_trash()?;
    let still: BTreeSet<EntryId> = unreferenced(project)?.into_iter().map(|d| d.id).collect();
    let mut deleted = Vec::new();
    for d in shown {
        if !still.contains(&d.id) {
            continue;
        }
        project.cache.discard(&d.id.0, &d.id.1)?;
        fault::point("gc:after-discard");
        println!(
            "deleted {}/{} {} ({})",
            d.id.0,
            d.unit,
            d.id.1,
            human(d.bytes)
        );
        deleted.push(d);
    }
    project.cache.empty_trash()?;
    project.cache.clean_dead_staging()?;
    let pruned = unit_log::prune_runs(&project.cache, KEEP_RUN_LOGS)?;
    println!(
        "freed {}{}",
        summary(&deleted),
        if pruned > 0 {
            format!("; removed the logs of {pruned} older run(s)")
        } else {
            String::new()
        }
    );
    Ok(ExitCode::SUCCESS)
}
