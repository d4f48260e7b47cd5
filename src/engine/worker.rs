//! A unit in its own process: `repro run-unit STAGE UNIT` started by the local executor
//! with the key it must commit under, its progress relayed back over stderr, its other
//! output into the unit's log.

use super::plan::PlannedUnit;
use super::stage::UnitProgress;
use super::unit_log::UnitLog;
use std::time::{Duration, Instant};

/// The arguments that have `repro run-unit` run exactly this unit: its expected key (the
/// task refuses to commit under another), the run id, and `--force` where forced.
pub fn run_unit_args(planned: &PlannedUnit, key: &str, run_id: &str) -> Vec<String> {
    let mut args = vec![
        "run-unit".to_string(),
        planned.unit.stage.clone(),
        planned.unit.id.clone(),
        "--expect-key".into(),
        key.to_string(),
        "--run-id".into(),
        run_id.to_string(),
    ];
    if planned.forced {
        args.push("--force".into());
    }
    args.push("--relay-progress".into());
    args
}

/// Runs one unit as a `repro run-unit` child process. Its relayed progress lines go to
/// `progress`; its stdout and every other stderr line go to `log`, and the last of those
/// lines are the error if it fails.
pub(super) fn run_in_worker(
    launcher: &[String],
    planned: &PlannedUnit,
    key: &str,
    run_id: &str,
    progress: &dyn UnitProgress,
    log: Option<&UnitLog>,
) -> Result<Duration, String> {
    use std::io::BufRead;
    let clock = Instant::now();
    let stdout = match log.map(UnitLog::stdio) {
        Some(Ok(file)) => std::process::Stdio::from(file),
        _ => std::process::Stdio::null(),
    };
    let mut child = std::process::Command::new(&launcher[0])
        .args(&launcher[1..])
        .args(run_unit_args(planned, key, run_id))
        .stdin(std::process::Stdio::null())
        .stdout(stdout)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start a worker ({}): {e}", launcher[0]))?;
    let mut tail: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    if let Some(stderr) = child.stderr.take() {
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if !super::progress::relay_to(&line, progress) {
                if let Some(log) = log {
                    log.line(&line);
                }
                if tail.len() == 5 {
                    tail.pop_front();
                }
                tail.push_back(line);
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for a worker: {e}"))?;
    if status.success() {
        Ok(clock.elapsed())
    } else {
        Err(format!("worker {status}: {}", Vec::from(tail).join(" | ")))
    }
}
