//! Reporters: a kdam bar when stderr is a terminal, plain lines otherwise (kdam writes
//! carriage returns even into files, which makes CI logs unreadable), or nothing.

use super::runner::{Reporter, UnitResult};
use super::stage::UnitProgress;
use super::unit::UnitRef;
use kdam::{Bar, BarExt};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Picks the reporter for this process's stderr.
pub fn reporter_for_stderr(quiet: bool) -> Box<dyn Reporter> {
    if quiet {
        Box::new(Silent)
    } else if std::io::stderr().is_terminal() {
        Box::new(TerminalReporter::default())
    } else {
        Box::new(LineReporter::default())
    }
}

pub struct Silent;

struct NoProgress;
impl UnitProgress for NoProgress {
    fn phase(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
    fn note(&self, _: &str) {}
}

impl Reporter for Silent {
    fn start(&self, _: usize) {}
    fn unit_started(&self, _: &UnitRef) -> Box<dyn UnitProgress + '_> {
        Box::new(NoProgress)
    }
    fn unit_finished(&self, unit: &UnitRef, result: &UnitResult) {
        if let UnitResult::Failed(e) = result {
            eprintln!("FAILED {unit}: {e}");
        }
    }
    fn finish(&self) {}
}

/// Plain, timestamp-free lines: one when a unit starts, one about every 10 s while it runs
/// (where it is: phase, count, the last note), one when it ends.
#[derive(Default)]
pub struct LineReporter {
    total: AtomicUsize,
    started: AtomicUsize,
}

/// How often a running unit gets a line.
const LINE_EVERY: Duration = Duration::from_secs(10);

struct LineProgress {
    label: String,
    state: Mutex<LineState>,
}

struct LineState {
    what: String,
    total: u64,
    done: u64,
    note: String,
    last_line: Instant,
}

impl LineProgress {
    /// Writes where the unit is if the last line is old enough.
    fn maybe_print(&self, s: &mut LineState) {
        if s.last_line.elapsed() < LINE_EVERY {
            return;
        }
        s.last_line = Instant::now();
        let count = if s.total > 0 {
            format!(" {} {}/{}", s.what, s.done, s.total)
        } else {
            String::new()
        };
        let note = if s.note.is_empty() {
            String::new()
        } else {
            format!(": {}", s.note)
        };
        eprintln!("      {}{count}{note}", self.label);
    }
}

impl UnitProgress for LineProgress {
    fn phase(&self, what: &str, total: u64) {
        let mut s = self.state.lock().unwrap();
        (s.what, s.total, s.done) = (what.to_string(), total, 0);
        self.maybe_print(&mut s);
    }
    fn advance(&self, done: u64) {
        let mut s = self.state.lock().unwrap();
        s.done = done;
        self.maybe_print(&mut s);
    }
    fn note(&self, message: &str) {
        let mut s = self.state.lock().unwrap();
        s.note = message.to_string();
        self.maybe_print(&mut s);
    }
}

/// Progress as `repro-progress` lines on stderr, for a worker process whose driver shows
/// them ([`relay_to`]).
pub struct Relay;

const RELAY: &str = "repro-progress ";

struct RelayProgress;

impl UnitProgress for RelayProgress {
    fn phase(&self, what: &str, total: u64) {
        eprintln!("{RELAY}phase {total} {what}");
    }
    fn advance(&self, done: u64) {
        eprintln!("{RELAY}advance {done}");
    }
    fn note(&self, message: &str) {
        eprintln!("{RELAY}note {}", message.replace('\n', " "));
    }
}

impl Reporter for Relay {
    fn start(&self, _: usize) {}
    fn unit_started(&self, _: &UnitRef) -> Box<dyn UnitProgress + '_> {
        Box::new(RelayProgress)
    }
    fn unit_finished(&self, unit: &UnitRef, result: &UnitResult) {
        if let UnitResult::Failed(e) = result {
            eprintln!("FAILED {unit}: {e}");
        }
    }
    fn finish(&self) {}
}

/// If `line` is a relayed progress line, hands it to `progress` and returns true.
pub fn relay_to(line: &str, progress: &dyn UnitProgress) -> bool {
    let Some(rest) = line.strip_prefix(RELAY) else {
        return false;
    };
    let (kind, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    match kind {
        "phase" => {
            let (total, what) = rest.split_once(' ').unwrap_or((rest, ""));
            progress.phase(what, total.parse().unwrap_or(0));
        }
        "advance" => progress.advance(rest.parse().unwrap_or(0)),
        "note" => progress.note(rest),
        _ => return false,
    }
    true
}

impl Reporter for LineReporter {
    fn start(&self, to_run: usize) {
        self.total.store(to_run, Ordering::SeqCst);
    }
    fn unit_started(&self, unit: &UnitRef) -> Box<dyn UnitProgress + '_> {
        let n = self.started.fetch_add(1, Ordering::SeqCst) + 1;
        let label = format!("[{n}/{}] {unit}", self.total.load(Ordering::SeqCst));
        eprintln!("{label} ...");
        Box::new(LineProgress {
            label,
            state: Mutex::new(LineState {
                what: String::new(),
                total: 0,
                done: 0,
                note: String::new(),
                last_line: Instant::now(),
            }),
        })
    }
    fn unit_finished(&self, unit: &UnitRef, result: &UnitResult) {
        match result {
            UnitResult::Done(d) => eprintln!("      {unit} done in {:.1}s", d.as_secs_f64()),
            UnitResult::Reused => {
                eprintln!("      {unit} reused: its inputs' outputs are unchanged")
            }
            UnitResult::Failed(e) => eprintln!("FAILED {unit}: {e}"),
            UnitResult::Skipped(why) => eprintln!("      {unit} skipped: {why}"),
            UnitResult::Pulled => eprintln!("      {unit} pulled from the remote"),
        }
    }
    fn finish(&self) {}
}

/// One kdam bar counting units; the running unit's phase shows as the bar's postfix and
/// each finished unit is written above the bar.
#[derive(Default)]
pub struct TerminalReporter {
    bar: Mutex<Option<Bar>>,
}

struct BarProgress<'a> {
    owner: &'a TerminalReporter,
    label: String,
    what: Mutex<String>,
    total: AtomicU64,
    last_draw: Mutex<Instant>,
}

impl TerminalReporter {
    fn with_bar(&self, f: impl FnOnce(&mut Bar)) {
        if let Some(bar) = self.bar.lock().unwrap().as_mut() {
            f(bar);
        }
    }
}

impl UnitProgress for BarProgress<'_> {
    fn phase(&self, what: &str, total: u64) {
        *self.what.lock().unwrap() = what.to_string();
        self.total.store(total, Ordering::SeqCst);
        self.advance(0);
    }
    fn advance(&self, done: u64) {
        let mut last = self.last_draw.lock().unwrap();
        let total = self.total.load(Ordering::SeqCst);
        if done != 0 && done != total && last.elapsed() < Duration::from_millis(100) {
            return;
        }
        *last = Instant::now();
        let text = format!(
            "{} {} {done}/{total}",
            self.label,
            self.what.lock().unwrap()
        );
        self.owner.with_bar(|bar| {
            bar.set_postfix(text);
            let _ = bar.refresh();
        });
    }
    fn note(&self, message: &str) {
        let text = format!("{} {message}", self.label);
        self.owner.with_bar(|bar| {
            bar.set_postfix(text);
            let _ = bar.refresh();
        });
    }
}

impl Reporter for TerminalReporter {
    fn start(&self, to_run: usize) {
        if to_run == 0 {
            return;
        }
        let bar = Bar::builder()
            .total(to_run)
            .desc("units")
            .dynamic_ncols(true)
            .build()
            .ok();
        *self.bar.lock().unwrap() = bar;
    }
    fn unit_started(&self, unit: &UnitRef) -> Box<dyn UnitProgress + '_> {
        let label = unit.to_string();
        self.with_bar(|bar| {
            bar.set_postfix(label.clone());
            let _ = bar.refresh();
        });
        Box::new(BarProgress {
            owner: self,
            label,
            what: Mutex::new(String::new()),
            total: AtomicU64::new(0),
            last_draw: Mutex::new(Instant::now()),
        })
    }
    fn unit_finished(&self, unit: &UnitRef, result: &UnitResult) {
        let line = match result {
            UnitResult::Done(d) => format!("done    {unit} ({:.1}s)", d.as_secs_f64()),
            UnitResult::Reused => format!("reused  {unit} (inputs unchanged)"),
            UnitResult::Failed(e) => format!("FAILED  {unit}: {e}"),
            UnitResult::Skipped(why) => format!("skipped {unit}: {why}"),
            UnitResult::Pulled => format!("pulled  {unit} (from the remote)"),
        };
        let mut guard = self.bar.lock().unwrap();
        match guard.as_mut() {
            Some(bar) => {
                let _ = bar.write(line);
                let _ = bar.update(1);
            }
            None => eprintln!("{line}"),
        }
    }
    fn finish(&self) {
        if let Some(mut bar) = self.bar.lock().unwrap().take() {
            let _ = bar.refresh();
            eprintln!();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Recorded(Mutex<Vec<String>>);

    impl UnitProgress for Recorded {
        fn phase(&self, what: &str, total: u64) {
            self.0.lock().unwrap().push(format!("phase {what} {total}"));
        }
        fn advance(&self, done: u64) {
            self.0.lock().unwrap().push(format!("advance {done}"));
        }
        fn note(&self, message: &str) {
            self.0.lock().unwrap().push(format!("note {message}"));
        }
    }

    #[test]
    fn relayed_lines_reach_the_driver_and_other_lines_do_not() {
        let got = Recorded::default();
        for line in [
            "repro-progress phase 200 epochs",
            "repro-progress advance 12",
            "repro-progress note epoch 12/200: train loss 0.00412, val error 2.31% (1.0s)",
            "error: something else",
            "repro-progress bogus 1",
        ] {
            relay_to(line, &got);
        }
        assert_eq!(
            *got.0.lock().unwrap(),
            [
                "phase epochs 200",
                "advance 12",
                "note epoch 12/200: train loss 0.00412, val error 2.31% (1.0s)"
            ]
        );
        assert!(!relay_to("error: something else", &got));
    }
}
