//! Per-unit logs that outlive the run, whatever its outcome:
//! `<cache>/.logs/<run id>/<stage>/<unit>.log`. A log holds what the unit said while it ran
//! (its phases and notes, and for a worker process every other line it wrote), then how it
//! ended. Failure messages name the file, and `repro status --explain UNIT` shows the latest
//! one. Logs are provenance, never a cache entry: no key reads them, and `gc` prunes the
//! logs of old runs.

use super::cache::{read_dir_sorted, sanitize, Cache};
use super::stage::UnitProgress;
use super::unit::UnitRef;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Instant, SystemTime};

/// The folder, under the cache root, that holds every run's logs.
pub const LOGS: &str = ".logs";

/// Where a unit's log of a given run lives.
pub fn log_path(cache: &Cache, run_id: &str, unit: &UnitRef) -> PathBuf {
    cache
        .root()
        .join(LOGS)
        .join(sanitize(run_id))
        .join(&unit.stage)
        .join(format!("{}.log", sanitize(&unit.id)))
}

/// The most recently written log of `unit`, over every recorded run.
pub fn latest_log(cache: &Cache, unit: &UnitRef) -> Option<PathBuf> {
    let runs = read_dir_sorted(&cache.root().join(LOGS)).ok()?;
    let name = format!("{}.log", sanitize(&unit.id));
    runs.iter()
        .map(|run| run.join(&unit.stage).join(&name))
        .filter_map(|p| {
            let modified = p.metadata().ok()?.modified().ok()?;
            Some((modified, p))
        })
        .max()
        .map(|(_, p)| p)
}

/// The last `n` lines of a log (all of it if shorter).
pub fn tail(path: &Path, n: usize) -> io::Result<Vec<String>> {
    let text = std::fs::read_to_string(path)?;
    let lines: Vec<&str> = text.lines().collect();
    Ok(lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|s| s.to_string())
        .collect())
}

/// One unit's log while it runs. Lines carry the seconds since the unit started.
pub struct UnitLog {
    path: PathBuf,
    file: Mutex<File>,
    clock: Instant,
}

impl UnitLog {
    /// Creates the log (and its folders), with a header naming the unit, its key and where
    /// and when it started.
    pub fn create(cache: &Cache, run_id: &str, unit: &UnitRef, key: &str) -> io::Result<UnitLog> {
        let path = log_path(cache, run_id, unit);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = File::create(&path)?;
        writeln!(
            file,
            "unit {unit}\nkey {key}\nrun {run_id}\nmachine {}\nstarted {}",
            super::manifest::this_machine(),
            super::manifest::rfc3339(SystemTime::now())
        )?;
        Ok(UnitLog {
            path,
            file: Mutex::new(file),
            clock: Instant::now(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line. A log that cannot be written never fails the unit: the line is
    /// lost, the unit's result is not.
    pub fn line(&self, text: &str) {
        let elapsed = self.clock.elapsed().as_secs_f64();
        if let Ok(mut f) = self.file.lock() {
            let _ = writeln!(f, "[{elapsed:>9.1}s] {text}");
        }
    }

    /// A handle for the child process's stdout, so that it lands in the log unparsed.
    pub fn stdio(&self) -> io::Result<File> {
        self.file
            .lock()
            .map_err(|_| io::Error::other("log lock"))?
            .try_clone()
    }

    /// Records how the unit ended and flushes the file to disk.
    pub fn finish(&self, outcome: &str) {
        self.line(&format!("ended: {outcome}"));
        if let Ok(f) = self.file.lock() {
            let _ = f.sync_all();
        }
    }
}

/// Progress that also goes to a unit's log: phases and notes (not every `advance`, which
/// would fill the log with counters).
pub struct Tee<'a> {
    pub inner: &'a dyn UnitProgress,
    pub log: &'a UnitLog,
}

impl UnitProgress for Tee<'_> {
    fn phase(&self, what: &str, total: u64) {
        self.log.line(&format!("phase {what} ({total})"));
        self.inner.phase(what, total);
    }
    fn advance(&self, done: u64) {
        self.inner.advance(done);
    }
    fn note(&self, message: &str) {
        self.log.line(message);
        self.inner.note(message);
    }
}

/// Files a log written elsewhere (a Slurm task's output) as the unit's log of `run_id`, so
/// that `repro status --explain` finds it like any other: a hard link where the file system
/// allows, a copy otherwise.
pub fn file_external(cache: &Cache, run_id: &str, unit: &UnitRef, from: &Path) -> io::Result<()> {
    let to = log_path(cache, run_id, unit);
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let _ = std::fs::remove_file(&to);
    super::cache::link_or_copy(from, &to)
}

/// Removes the log folders of all but the `keep` most recently written runs; returns how
/// many it removed.
pub fn prune_runs(cache: &Cache, keep: usize) -> io::Result<usize> {
    let runs = read_dir_sorted(&cache.root().join(LOGS)).map_err(io::Error::other)?;
    let mut dated: Vec<(SystemTime, PathBuf)> = runs
        .into_iter()
        .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
        .collect();
    dated.sort();
    let old = dated.len().saturating_sub(keep);
    for (_, dir) in &dated[..old] {
        std::fs::remove_dir_all(dir)?;
    }
    Ok(old)
}
