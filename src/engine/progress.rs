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

/// Plain, timestamp-free lines: one when a unit starts, at most one per phase step of
/// 10% (or a note), one when it ends.
#[derive(Default)]
pub struct LineReporter {
    total: AtomicUsize,
    started: AtomicUsize,
}

struct LineProgress {
    label: String,
    phase: Mutex<(String, u64, u64)>,
}

impl UnitProgress for LineProgress {
    fn phase(&self, what: &str, total: u64) {
        *self.phase.lock().unwrap() = (what.to_string(), total, 0);
    }
    fn advance(&self, done: u64) {
        let mut p = self.phase.lock().unwrap();
        let (what, total, last_decile) = (&p.0, p.1, p.2);
        if total == 0 {
            return;
        }
        let decile = done * 10 / total;
        if decile > last_decile {
            eprintln!("      {} {what} {done}/{total}", self.label);
            p.2 = decile;
        }
    }
    fn note(&self, message: &str) {
        eprintln!("      {} {message}", self.label);
    }
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
            phase: Mutex::new((String::new(), 0, 0)),
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
