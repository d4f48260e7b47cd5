//! This machine as the engine names it (in manifests, staging folders, the lock) and whether
//! one of its processes is alive: what recovery after a crash asks before touching a
//! staging folder. Kept apart from the cache and the manifest, which both need it.

use std::io;

/// The host name, with dots replaced (it becomes part of folder names).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().replace('.', "_"))
        .unwrap_or_else(|_| "localhost".into())
}

pub fn process_alive(pid: i32) -> bool {
    // Signal 0 checks existence; EPERM still means the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// The CPU's model name (`/proc/cpuinfo`), where the system says it.
pub fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, m)| m.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|m| !m.is_empty())
}
