//! The provenance of a published report, written beside it (`provenance.md`,
//! `provenance.html`, `provenance.json`) each time `repro run` publishes it: per stage the
//! units, the span from first start to last end, the summed unit time, the slowest unit,
//! the machines and devices; every input unit's key, duration and end; and the last
//! determinism audit of the cache; and the timeline of every unit that went into it
//! (`timeline.svg`, see [`super::timeline`]). None of this decides the report's bytes (durations and
//! machines are in no key, an audit changes no output), so it is kept out of the report,
//! whose bytes its key decides, and recorded beside it instead.

use super::changes::escape;
use super::timeline::{self, Bar, Outcome};
use crate::engine::audit::AuditSummary;
use crate::engine::manifest::{Adoption, Manifest};
use crate::engine::timings::{per_stage, StageTiming};
use crate::engine::unit::UnitRef;
use serde_json::json;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

pub const MARKDOWN: &str = "provenance.md";
pub const HTML: &str = "provenance.html";
pub const JSON: &str = "provenance.json";
pub const TIMELINE: &str = "timeline.svg";

/// "95 s", "12 min 5 s", "1 h 3 min".
pub fn human_seconds(s: f64) -> String {
    let s = s.round() as u64;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

fn audit_text(audit: Option<&AuditSummary>) -> String {
    let Some(a) = audit else {
        return "none run on this cache yet (`repro audit` recomputes cached units and compares their bytes).".into();
    };
    let mut s = format!(
        "last `repro audit` ({}) recomputed {} cached unit(s): {} byte-identical",
        a.finished, a.checked, a.identical
    );
    if !a.differing.is_empty() {
        let _ = write!(
            s,
            ", {} differing: {}",
            a.differing.len(),
            a.differing.join(", ")
        );
    }
    if !a.failed.is_empty() {
        let _ = write!(
            s,
            ", {} failed to recompute: {}",
            a.failed.len(),
            a.failed.join(", ")
        );
    }
    s.push('.');
    s
}

/// The stages in pipeline order where known, others after them.
fn ordered(mut timings: Vec<StageTiming>) -> Vec<StageTiming> {
    let order = ["data", "lr", "train", "activations", "analysis", "figures"];
    timings.sort_by_key(|t| {
        order
            .iter()
            .position(|o| *o == t.stage)
            .unwrap_or(order.len())
    });
    timings
}

/// "144 units: 14 run by this run, 130 reused, ...": the outcomes that occurred.
fn timeline_counts(bars: &[Bar]) -> String {
    let mut parts = Vec::new();
    for (o, said) in [
        (Outcome::Ran, "run by this run"),
        (Outcome::CutOff, "reused by early cutoff"),
        (Outcome::Pulled, "pulled from a remote"),
        (Outcome::Reused, "reused from earlier runs"),
    ] {
        let n = timeline::count(bars, o);
        if n > 0 {
            parts.push(format!("{n} {said}"));
        }
    }
    format!(
        "{} units, one bar each, in lanes per machine (from the manifests' start, duration and machine): {}.",
        bars.len(),
        parts.join(", ")
    )
}

/// Which of the report's inputs `repro adopt` re-keyed rather than computed under their
/// keys, per stage with the units that vouched for them; a reader should know that their
/// bytes were shown equal on a sample, not recomputed one by one.
fn adoption_text<'a>(
    inputs: impl IntoIterator<Item = (&'a UnitRef, Option<&'a Adoption>)>,
) -> String {
    let mut total = 0;
    // stage -> (adopted count, vouching units)
    let mut by_stage: BTreeMap<&str, (usize, Vec<&str>)> = BTreeMap::new();
    for (unit, adoption) in inputs {
        total += 1;
        if let Some(a) = adoption {
            let entry = by_stage.entry(unit.stage.as_str()).or_default();
            entry.0 += 1;
            for v in &a.verified_by {
                if !entry.1.contains(&v.as_str()) {
                    entry.1.push(v);
                }
            }
        }
    }
    if by_stage.is_empty() {
        return "none: every input was computed under its key.".into();
    }
    let adopted: usize = by_stage.values().map(|(n, _)| n).sum();
    let stages: Vec<String> = by_stage
        .iter()
        .map(|(stage, (n, verified))| {
            format!("{stage} {n} (vouched for by {})", verified.join(", "))
        })
        .collect();
    format!(
        "{adopted} of the {total} inputs were re-keyed by `repro adopt` after a change of code, once the units named recomputed to identical bytes: {}. `repro audit` rechecks them.",
        stages.join("; ")
    )
}

/// Writes the files into `dir` for a report with key `report_key` whose inputs were
/// `inputs` (each with its manifest); `timeline` has every unit that went into it, inputs
/// of inputs included.
pub fn write(
    dir: &Path,
    report_key: &str,
    inputs: &[(UnitRef, Manifest)],
    audit: Option<&AuditSummary>,
    timeline: &[Bar],
) -> std::io::Result<()> {
    let timings = ordered(per_stage(
        inputs
            .iter()
            .map(|(r, m)| (r.stage.as_str(), r.id.as_str(), m)),
    ));
    let mut md = format!(
        "# Provenance of report `{report_key}`\n\nWhat made the report's inputs, read from their manifests. *Span*: from a stage's first unit start to its last unit end (units made by earlier runs and reused make it longer than one run); *unit time*: the units' durations added up (with `--jobs N`, up to N run at once).\n\n| Stage | Units | Span | Unit time | CPU time | Peak memory | Slowest unit | Machines | Devices |\n|---|---|---|---|---|---|---|---|---|\n"
    );
    let mut html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Provenance</title><style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}} table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:.2em .5em}}</style></head><body>\n<h1>Provenance of report <code>{report_key}</code></h1>\n<p>What made the report's inputs, read from their manifests. <i>Span</i>: from a stage's first unit start to its last unit end (units made by earlier runs and reused make it longer than one run); <i>unit time</i>: the units' durations added up (with <code>--jobs N</code>, up to N run at once).</p>\n<table><tr><th>Stage</th><th>Units</th><th>Span</th><th>Unit time</th><th>CPU time</th><th>Peak memory</th><th>Slowest unit</th><th>Machines</th><th>Devices</th></tr>\n"
    );
    for t in &timings {
        let cells = [
            t.stage.clone(),
            t.units.to_string(),
            human_seconds(t.span_s),
            human_seconds(t.total_s),
            // Only where every unit recorded them (older entries did not).
            if t.with_resources == t.units {
                human_seconds(t.cpu_s)
            } else {
                "-".into()
            },
            if t.with_resources == t.units {
                format!("{:.0} MiB", t.peak_rss_mib)
            } else {
                "-".into()
            },
            format!("{} ({})", t.slowest_unit, human_seconds(t.slowest_s)),
            t.machines.join(", "),
            t.devices.join(", "),
        ];
        let _ = writeln!(md, "| {} |", cells.join(" | "));
        let _ = writeln!(
            html,
            "<tr>{}</tr>",
            cells
                .iter()
                .map(|c| format!("<td>{}</td>", escape(c)))
                .collect::<String>()
        );
    }
    let svg = timeline::svg(timeline);
    let counts = timeline_counts(timeline);
    let _ = write!(
        md,
        "\n## Timeline\n\n{counts}\n\n![Timeline of the units](timeline.svg)\n"
    );
    let _ = write!(
        html,
        "</table>\n<h2>Timeline</h2>\n<p>{}</p>\n{svg}",
        escape(&counts)
    );
    let audit_line = audit_text(audit);
    let adopted_line = adoption_text(inputs.iter().map(|(r, m)| (r, m.adopted.as_ref())));
    let _ = write!(md, "\nDeterminism audit: {audit_line}\n\nAdopted entries: {adopted_line}\n\n## Every input's key\n\n| Unit | Key | Seconds | Device | Finished | Adopted from |\n|---|---|---|---|---|---|\n");
    let _ = write!(
        html,
        "<h2>Determinism audit</h2>\n<p>{}</p>\n<h2>Adopted entries</h2>\n<p>{}</p>\n<h2>Every input's key</h2>\n<table><tr><th>Unit</th><th>Key</th><th>Seconds</th><th>Device</th><th>Finished</th><th>Adopted from</th></tr>\n",
        escape(&audit_line),
        escape(&adopted_line)
    );
    for (r, m) in inputs {
        // The old key's first 12 characters, as keys are shortened elsewhere.
        let from = m
            .adopted
            .as_ref()
            .map(|a| &a.from_key[..12.min(a.from_key.len())]);
        let _ = writeln!(
            md,
            "| {r} | `{}` | {:.1} | {} | {} | {} |",
            m.key,
            m.duration_s,
            m.device,
            m.finished,
            from.map_or("-".to_string(), |k| format!("`{k}`"))
        );
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td><code>{}</code></td><td>{:.1}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&r.to_string()),
            m.key,
            m.duration_s,
            escape(&m.device),
            m.finished,
            from.unwrap_or("-")
        );
    }
    html.push_str("</table>\n</body></html>\n");
    let record = json!({
        "report_key": report_key,
        "stages": timings,
        "audit": audit,
        "inputs": inputs.iter().map(|(r, m)| json!({
            "unit": r.to_string(), "key": m.key, "duration_s": m.duration_s,
            "device": m.device, "machine": m.machine, "started": m.started, "finished": m.finished,
            "resources": m.resources, "adopted": m.adopted,
        })).collect::<Vec<_>>(),
        "timeline": timeline.iter().map(|b| json!({
            "unit": b.unit, "machine": b.machine, "start": b.start, "seconds": b.seconds,
            "outcome": b.outcome.label(),
        })).collect::<Vec<_>>(),
    });
    std::fs::write(dir.join(TIMELINE), svg)?;
    std::fs::write(dir.join(MARKDOWN), md)?;
    std::fs::write(dir.join(HTML), html)?;
    std::fs::write(
        dir.join(JSON),
        serde_json::to_string_pretty(&record).expect("serialisable"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_read_as_a_person_would_say_them() {
        assert_eq!(human_seconds(59.4), "59 s");
        assert_eq!(human_seconds(725.0), "12 min 5 s");
        assert_eq!(human_seconds(3780.0), "1 h 3 min");
    }

    #[test]
    fn adopted_inputs_are_counted_per_stage_with_who_vouched() {
        let unit = |s: &str| UnitRef {
            stage: s.split('/').next().unwrap().into(),
            id: s.split('/').nth(1).unwrap().into(),
        };
        let adoption = |by: &[&str]| Adoption {
            from_key: "ab".repeat(32),
            verified_by: by.iter().map(|s| s.to_string()).collect(),
            time: "2026-12-04T14:30:00Z".into(),
        };
        let (a, b, c) = (unit("train/n1"), unit("train/n2"), unit("analysis/n1@best"));
        let (x, y) = (adoption(&["train/n9"]), adoption(&["train/n9", "train/n7"]));
        assert_eq!(
            adoption_text([(&a, Some(&x)), (&b, Some(&y)), (&c, None)]),
            "2 of the 3 inputs were re-keyed by `repro adopt` after a change of code, once the \
             units named recomputed to identical bytes: train 2 (vouched for by train/n9, \
             train/n7). `repro audit` rechecks them."
        );
        assert_eq!(
            adoption_text([(&c, None)]),
            "none: every input was computed under its key."
        );
    }
}
