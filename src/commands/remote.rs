//! `repro push`, `repro pull`, and the fetcher behind `repro run --pull`.

use super::lock;
use anyhow::{anyhow, Result};
use repro::engine::cache::Cache;
use repro::engine::fault;
use repro::engine::key::KeyIngredients;
use repro::engine::lock::CacheLock;
use repro::engine::runner::Fetcher;
use repro::engine::Plan;
use repro::project::Project;
use repro::remote::transfer::{pull_entry, push_entry, Tally};
use repro::remote::{open, RemoteError, Store};
use std::collections::BTreeSet;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Opens the configured remote `name` (default: `[remote]` or the only one).
pub fn open_remote(project: &Project, name: Option<&str>) -> Result<(String, Box<dyn Store>)> {
    let remote = project.config.remote(name).map_err(|m| anyhow!(m))?;
    Ok((remote.location.describe(), open(&remote.location)?))
}

/// A plain progress line about every 10 s: long transfers show where they are.
struct Ticker {
    last: Instant,
    quiet: bool,
}

impl Ticker {
    fn new(quiet: bool) -> Ticker {
        Ticker {
            last: Instant::now(),
            quiet,
        }
    }
    fn tick(&mut self, verb: &str, done: usize, total: usize, tally: &Tally) {
        if !self.quiet && self.last.elapsed() >= Duration::from_secs(10) {
            eprintln!(
                "{verb}: {done}/{total} entries looked at, {:.1} MB so far",
                tally.bytes as f64 / 1e6
            );
            self.last = Instant::now();
        }
    }
}

/// What push and pull start from: the stages named (all when none), the remote (checked
/// to answer), the cache lock, and the plan made under it.
struct Transfer {
    stages: BTreeSet<String>,
    describe: String,
    store: Box<dyn Store>,
    plan: Plan,
    _lock: CacheLock,
}

fn begin(project: &Project, names: &[String], remote: Option<&str>) -> Result<Transfer> {
    let stages = project.resolve_targets(names)?;
    let (describe, store) = open_remote(project, remote)?;
    let lock = lock(project)?;
    // A staging folder left by a dead process is not an entry; clear it first.
    project.cache.clean_dead_staging()?;
    let plan = project.plan(&BTreeSet::new())?;
    Ok(Transfer {
        stages,
        describe,
        store,
        plan,
        _lock: lock,
    })
}

pub fn push(
    project: &Project,
    names: &[String],
    remote: Option<&str>,
    quiet: bool,
) -> Result<ExitCode> {
    let Transfer {
        stages,
        describe,
        store,
        plan,
        _lock,
    } = begin(project, names, remote)?;
    let units: Vec<(String, String)> = plan
        .units
        .iter()
        .filter(|u| stages.contains(&u.unit.stage) && project.cache.contains(&u.unit.stage, &u.key))
        .map(|u| (u.unit.stage.clone(), u.key.clone()))
        .collect();
    // The list is made under the lock; the upload, which may take hours, runs without it
    // so that runs on this cache are not held up. Every file is checked against its
    // manifest as it is read, so an entry replaced meanwhile never reaches the remote
    // with other bytes, and one deleted meanwhile is skipped.
    drop(_lock);
    let mut tally = Tally::default();
    let mut ticker = Ticker::new(quiet);
    for (n, (stage, key)) in units.iter().enumerate() {
        if let Err(e) = push_entry(store.as_ref(), &project.cache, stage, key, &mut tally) {
            if project.cache.contains(stage, key) {
                return Err(e.into());
            }
            eprintln!("note: {stage} entry {key} left the cache during the push; not sent");
        }
        if n == 0 {
            fault::point("push:after-first-entry");
        }
        ticker.tick("push", n + 1, units.len(), &tally);
    }
    eprintln!("repro push to {describe}: {}", tally.summary("sent"));
    Ok(ExitCode::SUCCESS)
}

pub fn pull(
    project: &Project,
    names: &[String],
    remote: Option<&str>,
    quiet: bool,
) -> Result<ExitCode> {
    // `_lock` is bound, not ignored: the lock is held until the transfer ends.
    let Transfer {
        stages,
        describe,
        store,
        plan,
        _lock,
    } = begin(project, names, remote)?;
    // Keys are settled in dependency order: a unit's key needs its inputs' entries, which
    // may arrive in this very pull.
    let mut keys = plan.keys();
    let mut tally = Tally::default();
    let mut unresolved = 0;
    let mut ticker = Ticker::new(quiet);
    for i in 0..plan.units.len() {
        let unit = &plan.units[i].unit;
        let Ok(ingredients) = plan.resolve(i, &keys, &project.cache) else {
            // An input is neither cached nor pulled: this unit's key is not known yet.
            unresolved += 1;
            continue;
        };
        let key = ingredients.key();
        keys[i] = key.clone();
        if !stages.contains(&unit.stage) {
            continue;
        }
        if project.cache.contains(&unit.stage, &key) {
            tally.present += 1;
        } else {
            pull_entry(store.as_ref(), &project.cache, &ingredients, &mut tally)?;
        }
        ticker.tick("pull", i + 1, plan.units.len(), &tally);
    }
    let mut line = format!("repro pull from {describe}: {}", tally.summary("received"));
    if unresolved > 0 {
        line.push_str(&format!(
            "; {unresolved} unit(s) wait for inputs that are neither cached nor on the remote"
        ));
    }
    eprintln!("{line}");
    Ok(ExitCode::SUCCESS)
}

/// `repro run --pull`: asks the remote for each unit about to run. The remote only ever
/// saves work: an entry it cannot deliver intact (unreachable, corrupt, refused) is
/// computed here after a warning, and once the remote stops answering it is not asked
/// again in this run (one warning, not one per unit).
pub struct RemoteFetcher {
    store: Mutex<Box<dyn Store>>,
    describe: String,
    unreachable: AtomicBool,
    pub tally: Mutex<Tally>,
}

impl RemoteFetcher {
    pub fn new(describe: String, store: Box<dyn Store>) -> RemoteFetcher {
        RemoteFetcher {
            store: Mutex::new(store),
            describe,
            unreachable: AtomicBool::new(false),
            tally: Mutex::new(Tally::default()),
        }
    }

    /// Pulls, before a Slurm run is planned, every entry the remote holds of the units
    /// that `targets` need (forced stages excepted), in dependency order so that keys of
    /// units behind pulled inputs are known. Problems are warnings, as in [`Fetcher`].
    pub fn prefetch(
        &self,
        project: &Project,
        targets: &BTreeSet<String>,
        forced: &BTreeSet<String>,
    ) -> Result<()> {
        let plan = project.plan(forced)?;
        let wanted: BTreeSet<usize> = plan.closure(targets).into_iter().collect();
        let mut keys = plan.keys();
        for i in 0..plan.units.len() {
            let Ok(ingredients) = plan.resolve(i, &keys, &project.cache) else {
                continue; // an input is neither cached nor pulled
            };
            keys[i] = ingredients.key();
            let stage = &plan.units[i].unit.stage;
            if !wanted.contains(&i)
                || forced.contains(stage)
                || project.cache.contains(stage, &keys[i])
            {
                continue;
            }
            if let Err(warning) = self.fetch(&project.cache, &ingredients) {
                eprintln!("warning: {warning}");
            }
        }
        let tally = self.tally.lock().expect("tally lock");
        if tally.entries > 0 {
            eprintln!(
                "repro: pulled from {} before submitting: {}",
                self.describe,
                tally.summary("received")
            );
        }
        Ok(())
    }
}

impl Fetcher for RemoteFetcher {
    fn fetch(&self, cache: &Cache, ingredients: &KeyIngredients) -> Result<bool, String> {
        if self.unreachable.load(Ordering::SeqCst) {
            return Ok(false);
        }
        let store = self.store.lock().expect("remote lock");
        let mut tally = self.tally.lock().expect("tally lock");
        let unit = format!("{}/{}", ingredients.stage, ingredients.unit);
        match pull_entry(store.as_ref(), cache, ingredients, &mut tally) {
            Ok(found) => Ok(found),
            Err(e @ RemoteError::Access { .. }) if store.check().is_err() => {
                self.unreachable.store(true, Ordering::SeqCst);
                Err(format!(
                    "{e}; the remote {} stopped answering: computing {unit} and everything \
                     after it locally, without asking the remote again in this run",
                    self.describe
                ))
            }
            Err(e) => Err(format!("{e}; computing {unit} locally")),
        }
    }
}

/// The remote `repro run` pulls from: with `--pull`, or when the remote chosen (by
/// `--remote NAME`, else the default) says `pull = true`; `--remote` alone only chooses.
/// A remote that does not answer is a warning, and the run computes everything itself.
pub fn fetcher_for(
    project: &Project,
    pull: bool,
    remote: Option<&str>,
) -> Result<Option<RemoteFetcher>> {
    let configured = project.config.remote(remote);
    if remote.is_some() || pull {
        // Naming a remote that is not configured, or pulling with none, is a mistake in
        // the command line, said before anything runs.
        configured.as_ref().map_err(|m| anyhow!(m.clone()))?;
    }
    let Ok(config) = configured else {
        return Ok(None);
    };
    if !(pull || config.pull) {
        return Ok(None);
    }
    let describe = config.location.describe();
    match open(&config.location) {
        Ok(store) => Ok(Some(RemoteFetcher::new(describe, store))),
        Err(e) => {
            eprintln!(
                "warning: the remote cache {describe} cannot be reached ({e}); \
                 computing everything locally"
            );
            Ok(None)
        }
    }
}

/// `repro status --remote`: per stage, how many of the units that would run the remote
/// holds (units whose inputs are not cached yet have no key to look for).
pub fn status_on_remote(project: &Project, remote: Option<&str>) -> Result<ExitCode> {
    let (describe, store) = open_remote(project, remote)?;
    let plan = project.plan(&BTreeSet::new())?;
    println!("on the remote {describe}:");
    for stage in &plan.stage_order {
        let (mut held, mut missing, mut unknown) = (0, 0, 0);
        for u in plan.units.iter().filter(|u| &u.unit.stage == stage) {
            if project.cache.contains(stage, &u.key) && !u.dropped {
                continue;
            }
            if !u.exact {
                unknown += 1;
            } else if store.exists(&repro::remote::transfer::entry_object(stage, &u.key))? {
                held += 1;
            } else {
                missing += 1;
            }
        }
        let mut line = format!("  {stage:<14} {held} to pull, {missing} not there");
        if unknown > 0 {
            line.push_str(&format!(
                ", {unknown} not known until their inputs are here"
            ));
        }
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}
