//! What a unit used: CPU time (user + system) and peak resident memory, from the process's
//! `getrusage` (its own and its finished children's, such as a command stage's command). A unit run by a worker process or a Slurm task has the process to itself,
//! so both are the unit's own; one run on a thread of `repro run` (`--jobs 1`) shares its
//! process with the planner, so its CPU time is the process's over the unit's run (nothing
//! else computes meanwhile) and its peak memory is the process's peak so far, which can only
//! overstate it. The manifest says which (`scope`). Compare Nextflow's trace and
//! Snakemake's `benchmark:`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resources {
    /// User plus system CPU seconds.
    pub cpu_s: f64,
    /// Peak resident set size, MiB.
    pub peak_rss_mib: f64,
    /// `process`: the unit had the process to itself; `shared`: see the module doc.
    pub scope: String,
}

/// CPU seconds and peak resident set (MiB) of this process (`RUSAGE_SELF`) or of its
/// finished children (`RUSAGE_CHILDREN`: a command stage's command).
fn rusage(who: libc::c_int) -> (f64, f64) {
    // SAFETY: getrusage writes into the zeroed struct we own and reads nothing else.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(who, &mut u) };
    if rc != 0 {
        return (0.0, 0.0);
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    // Linux reports ru_maxrss in KiB.
    (
        secs(u.ru_utime) + secs(u.ru_stime),
        u.ru_maxrss as f64 / 1024.0,
    )
}

/// CPU seconds of this process and its finished children so far, and the larger of their
/// peak resident sets.
fn usage() -> (f64, f64) {
    let (own_cpu, own_rss) = rusage(libc::RUSAGE_SELF);
    let (child_cpu, child_rss) = rusage(libc::RUSAGE_CHILDREN);
    (own_cpu + child_cpu, own_rss.max(child_rss))
}

/// Measures from its creation to [`Meter::read`].
pub struct Meter {
    cpu_at_start: f64,
    scope: &'static str,
}

impl Meter {
    /// `own_process`: the unit runs alone in this process (a worker, a Slurm task).
    pub fn start(own_process: bool) -> Meter {
        Meter {
            cpu_at_start: usage().0,
            scope: if own_process { "process" } else { "shared" },
        }
    }

    pub fn read(&self) -> Resources {
        let (cpu, rss) = usage();
        Resources {
            cpu_s: (cpu - self.cpu_at_start).max(0.0),
            peak_rss_mib: rss,
            scope: self.scope.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_counts_work_done_and_memory_counts_what_was_touched() {
        let meter = Meter::start(true);
        // About 64 MiB touched and a spin of CPU work.
        let block = vec![1u8; 64 << 20];
        let mut x = 0u64;
        let clock = std::time::Instant::now();
        while clock.elapsed().as_millis() < 200 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(block[x as usize % block.len()] as u64);
        }
        std::hint::black_box(x);
        let r = meter.read();
        assert!(r.cpu_s >= 0.1 && r.cpu_s < 5.0, "{r:?}");
        assert!(r.peak_rss_mib >= 64.0, "{r:?}");
        assert_eq!(r.scope, "process");
    }
}
