//! `repro status` (with `--explain UNIT`) and `repro dag`.

use anyhow::{Context, Result};
use repro::engine::slurm::in_flight;
use repro::engine::timings::per_stage;
use repro::engine::unit_log;
use repro::engine::{Reason, Status};
use repro::plots::chart::csv_field;
use repro::project::Project;
use repro::stages::builtin_fingerprint_inputs;
use std::collections::BTreeSet;
use std::process::ExitCode;

pub fn status(project: &Project) -> Result<ExitCode> {
    let plan = project.plan(&BTreeSet::new())?;
    // `dropped`: fresh, with the payload dropped (a recomputable stage's); it is
    // regenerated when a unit needs it.
    println!(
        "{:<14} {:>6} {:>8} {:>6} {:>8} {:>8}",
        "stage", "fresh", "dropped", "stale", "pending", "missing"
    );
    let mut explanations = Vec::new();
    let mut adopted = Vec::new();
    for stage in &plan.stage_order {
        let (mut fresh, mut dropped, mut stale, mut pending, mut missing) = (0, 0, 0, 0, 0);
        for u in plan.units.iter().filter(|u| &u.unit.stage == stage) {
            match &u.status {
                Status::Fresh => {
                    fresh += 1;
                    dropped += usize::from(u.dropped);
                    let m = project.cache.read_manifest(&u.unit.stage, &u.key).ok();
                    if let Some(a) = m.and_then(|m| m.adopted) {
                        adopted.push(format!(
                            "  {:<40} from {} (verified by {})",
                            u.unit.to_string(),
                            &a.from_key[..12.min(a.from_key.len())],
                            a.verified_by.join(", ")
                        ));
                    }
                    continue;
                }
                Status::Pending(_) => pending += 1,
                Status::Run(reasons) => {
                    let never = reasons
                        .iter()
                        .all(|r| matches!(r, Reason::NeverBuilt | Reason::EntryMissing));
                    if never {
                        missing += 1;
                    } else {
                        stale += 1;
                    }
                }
            }
            explanations.push(format!("  {:<40} {}", u.unit.to_string(), u.status));
        }
        println!("{stage:<14} {fresh:>6} {dropped:>8} {stale:>6} {pending:>8} {missing:>8}");
    }
    let queued = in_flight(&project.cache);
    if !queued.is_empty() {
        println!("\non the cluster:");
        for (unit, job, state) in queued {
            println!("  {unit:<40} job {job} {state}");
        }
    }
    if !adopted.is_empty() {
        println!(
            "\nadopted ({}: committed from an earlier entry after `repro adopt`; `repro audit` rechecks them):",
            adopted.len()
        );
        for a in adopted {
            println!("{a}");
        }
    }
    if !explanations.is_empty() {
        println!("\nnot fresh:");
        for e in explanations {
            println!("{e}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Everything that makes one unit's key, and where each part comes from.
/// `repro status --timings`: the timings of the units this configuration uses that are
/// cached, per stage (as the report's provenance shows them).
pub fn timings(project: &Project) -> Result<ExitCode> {
    let plan = project.plan(&BTreeSet::new())?;
    let mut manifests = Vec::new();
    for u in plan.units.iter().filter(|u| u.status == Status::Fresh) {
        manifests.push((u, project.cache.read_manifest(&u.unit.stage, &u.key)?));
    }
    let rows = per_stage(
        manifests
            .iter()
            .map(|(u, m)| (u.unit.stage.as_str(), u.unit.id.as_str(), m)),
    );
    println!(
        "{:<12} {:>6} {:>10} {:>11} {:>10} {:>9}  {:<44} machines; devices",
        "stage", "units", "span", "unit time", "CPU time", "peak MiB", "slowest unit"
    );
    for t in rows {
        let slowest = format!("{} ({:.1} s)", t.slowest_unit, t.slowest_s);
        // CPU time and memory only where every unit recorded them.
        let (cpu, rss) = if t.with_resources == t.units {
            (format!("{:.0}s", t.cpu_s), format!("{:.0}", t.peak_rss_mib))
        } else {
            ("-".to_string(), "-".to_string())
        };
        println!(
            "{:<12} {:>6} {:>9.0}s {:>10.0}s {cpu:>10} {rss:>9}  {slowest:<44} {}; {}",
            t.stage,
            t.units,
            t.span_s,
            t.total_s,
            t.machines.join(", "),
            t.devices.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `repro status --trace FILE`: one CSV line per cached unit this configuration uses.
pub fn trace(project: &Project, file: &std::path::Path) -> Result<ExitCode> {
    let plan = project.plan(&BTreeSet::new())?;
    let mut csv = String::from(
        "stage,unit,key,started,finished,duration_s,cpu_s,peak_rss_mib,scope,machine,device\n",
    );
    for u in plan.units.iter().filter(|u| u.status == Status::Fresh) {
        let m = project.cache.read_manifest(&u.unit.stage, &u.key)?;
        let (cpu, rss, scope) = match &m.resources {
            Some(r) => (
                format!("{:.3}", r.cpu_s),
                format!("{:.1}", r.peak_rss_mib),
                r.scope.clone(),
            ),
            None => Default::default(),
        };
        csv.push_str(&format!(
            "{},{},{},{},{},{:.3},{cpu},{rss},{scope},{},{}\n",
            u.unit.stage,
            csv_field(&u.unit.id),
            u.key,
            m.started,
            m.finished,
            m.duration_s,
            csv_field(&m.machine.unwrap_or_default()),
            m.device
        ));
    }
    if file == std::path::Path::new("-") {
        print!("{csv}");
    } else {
        std::fs::write(file, csv).with_context(|| format!("writing {}", file.display()))?;
        eprintln!("trace: {}", file.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// How many of a log's last lines `--explain` shows.
const LOG_TAIL: usize = 15;

pub fn explain(project: &Project, name: &str) -> Result<ExitCode> {
    let plan = project.plan(&BTreeSet::new())?;
    let Some(u) = plan.units.iter().find(|u| u.unit.to_string() == name) else {
        anyhow::bail!(
            "no unit `{name}` in this configuration (`repro run --dry-run` lists them as stage/id)"
        );
    };
    let ing = &u.ingredients;
    println!("unit      {}", u.unit);
    println!(
        "key       {}{}",
        u.key,
        if u.exact {
            ""
        } else {
            "  (if rebuilt inputs write what they wrote last time)"
        }
    );
    println!("status    {}", u.status);
    if u.dropped {
        println!("payload   dropped (recomputable): regenerated when a unit reads it");
    }
    println!("version   {}", ing.version);
    println!("code      {}", ing.code);
    let files = builtin_fingerprint_inputs(&u.unit.stage);
    if files.is_empty() {
        println!("          (a command stage: its command line and declared sources)");
    }
    for (file, digest) in files {
        println!("            {:<44} {}", file, short(digest));
    }
    println!(
        "params    {}",
        serde_json::to_string_pretty(&ing.params)?.replace('\n', "\n          ")
    );
    println!("inputs    (content digest of each input's outputs)");
    for (input, digest) in &ing.inputs {
        println!("            {input:<44} {}", short(digest));
    }
    match unit_log::latest_log(&project.cache, &u.unit) {
        None => println!("log       none (the unit has not run with this cache)"),
        Some(path) => {
            println!("log       {}", path.display());
            for line in unit_log::tail(&path, LOG_TAIL)? {
                println!("          | {line}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn short(digest: &str) -> &str {
    if digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        &digest[..16]
    } else {
        digest
    }
}

pub fn dag(project: &Project, dot: bool) {
    if dot {
        println!("digraph repro {{\n  rankdir=LR;\n  node [shape=box];");
        for s in &project.stages {
            println!(
                "  \"{}\" [tooltip=\"{}\"];",
                s.meta.name,
                s.meta.description.replace('"', "'")
            );
            for n in &s.meta.needs {
                println!("  \"{n}\" -> \"{}\";", s.meta.name);
            }
        }
        println!("}}");
        return;
    }
    for s in &project.stages {
        let needs = if s.meta.needs.is_empty() {
            "(source)".to_string()
        } else {
            format!("<- {}", s.meta.needs.join(", "))
        };
        println!(
            "{:<14} {:<28} v{}  {}",
            s.meta.name, needs, s.meta.version, s.meta.description
        );
    }
}
