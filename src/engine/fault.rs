//! Named fault points, switched on only by tests, so that crash safety is shown by
//! crashing at an exact step instead of by killing a process at a lucky moment.
//!
//! `REPRO_FAULT=<point>` makes the process exit with [`EXIT_CODE`] when it reaches that
//! point, as abruptly as a crash: no destructors, no clean-up (the kernel releases the
//! cache lock, as it does for `kill -9`). With `REPRO_FAULT_ACTION=stop` it stops itself
//! with `SIGSTOP` there instead, so a test can act while the process is frozen at that
//! point (another `repro` against a held lock, say) and then resume it with `SIGCONT`.
//! Unset, a fault point costs one cached environment lookup.

use std::sync::OnceLock;

/// The exit status of a process that stopped at a fault point.
pub const EXIT_CODE: i32 = 86;

/// Every fault point, by name, for tests and documentation.
pub const POINTS: &[&str] = &[
    // The cache lock is held (every command that takes it).
    "lock:acquired",
    // A unit's outputs and manifest are in its staging folder; nothing was renamed yet.
    "publish:staged",
    // A replaced entry was moved aside; the new one is not in place yet.
    "publish:after-aside",
    // The new entry is in place; the replaced one is still aside.
    "publish:after-rename",
    // The entry is published; the unit's pointer (its last key) is not updated yet.
    "publish:before-pointer",
    // One regenerated file of a dropped entry is back; the others and the marker are not.
    "restore:after-first-file",
    // `gc` moved its first entry into the trash and deleted nothing yet.
    "gc:after-discard",
    // `push` uploaded its first entry.
    "push:after-first-entry",
];

fn armed() -> Option<&'static (String, bool)> {
    static ARMED: OnceLock<Option<(String, bool)>> = OnceLock::new();
    ARMED
        .get_or_init(|| {
            let point = std::env::var("REPRO_FAULT").ok()?;
            let stop = std::env::var("REPRO_FAULT_ACTION").is_ok_and(|a| a == "stop");
            Some((point, stop))
        })
        .as_ref()
}

/// Marks the fault point `name` (one of [`POINTS`]).
pub fn point(name: &str) {
    debug_assert!(POINTS.contains(&name), "undeclared fault point {name}");
    let Some((armed, stop)) = armed() else {
        return;
    };
    if armed != name {
        return;
    }
    if *stop {
        // Frozen here until a SIGCONT; then the process goes on as if nothing happened.
        unsafe {
            libc::raise(libc::SIGSTOP);
        }
    } else {
        eprintln!("repro: fault point {name} reached (REPRO_FAULT); exiting");
        // `_exit`, not `exit`: no atexit handlers, no flushing; as close to a crash as a
        // process can get while still telling the test where it stopped.
        unsafe { libc::_exit(EXIT_CODE) }
    }
}
