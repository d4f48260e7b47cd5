//! `repro diff [OLD] [NEW]`: what changed between two recorded reports.

use anyhow::{bail, Result};
use repro::engine::history::{self, Record};
use repro::project::Project;
use repro::review::changes;
use repro::review::diff::diff as diff_reports;
use std::process::ExitCode;

/// The stage whose published entries are the reports.
pub(crate) const REPORT: &str = "report";

/// Output format of `repro diff`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum Format {
    Text,
    Md,
    Json,
    /// A page of its own, figures whose data changed drawn old (dashed) over new.
    Html,
}

/// A report named on the command line: a key (or a prefix of at least 6 characters), or a
/// profile (its latest report; `default` for none).
fn resolve<'a>(records: &'a [Record], name: &str) -> Result<&'a Record> {
    let reports = || records.iter().rev().filter(|r| r.stage == REPORT);
    let by_profile = |p: Option<&str>| reports().find(|r| r.profile.as_deref() == p);
    let found = if name == "default" {
        by_profile(None)
    } else if let Some(r) = reports().find(|r| r.name.as_deref() == Some(name)) {
        Some(r)
    } else if let Some(r) = by_profile(Some(name)) {
        Some(r)
    } else if name.len() >= 6 && name.chars().all(|c| c.is_ascii_hexdigit()) {
        reports().find(|r| r.key.starts_with(name))
    } else {
        None
    };
    match found {
        Some(r) => Ok(r),
        None => bail!(
            "no recorded report `{name}`: name one by its `--name`, its profile (or `default`) or its key (6 or more hex digits); `repro runs` lists them"
        ),
    }
}

/// The profile in use, as messages name it.
fn profile_name(project: &Project) -> String {
    match &project.config.profile {
        Some(p) => format!("profile `{p}`"),
        None => "the default profile".into(),
    }
}

pub fn diff(
    project: &Project,
    old: Option<&str>,
    new: Option<&str>,
    format: Format,
    tolerance: f64,
    list: bool,
) -> Result<ExitCode> {
    if !(tolerance.is_finite() && tolerance >= 0.0) {
        bail!("--tolerance {tolerance}: must be a number of 0 or more");
    }
    let records = history::load(&project.cache)?;
    let reports: Vec<&Record> = records.iter().filter(|r| r.stage == REPORT).collect();
    // The defaults compare within the profile in use (`--profile`, or none): the previous
    // and the latest report of that profile, never one profile's with another's.
    let mine: Vec<&Record> = reports
        .iter()
        .copied()
        .filter(|r| r.profile == project.config.profile)
        .collect();
    if list {
        for r in &reports {
            println!(
                "{}  {}  {:<12} {}",
                r.time,
                &r.key[..12.min(r.key.len())],
                r.profile.as_deref().unwrap_or("default"),
                r.config
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let (a, b) = match (old, new) {
        (Some(o), Some(n)) => (resolve(&records, o)?, resolve(&records, n)?),
        (Some(o), None) => {
            let Some(last) = mine.last() else {
                bail!(
                    "no report of {} has been recorded yet: `repro run` makes one",
                    profile_name(project)
                );
            };
            (resolve(&records, o)?, *last)
        }
        (None, _) => match mine.as_slice() {
            [.., a, b] => (*a, *b),
            _ => bail!(
                "fewer than two recorded reports of {}: run the pipeline again after a change, or name two (`repro diff --list`)",
                profile_name(project)
            ),
        },
    };
    let dir = |r: &Record| {
        let dir = project.cache.entry_dir(REPORT, &r.key);
        if project.cache.contains(REPORT, &r.key) {
            Ok(dir)
        } else {
            Err(anyhow::anyhow!(
                "the report {} ({}) is no longer in the cache (`gc` keeps the last [project] keep_published)",
                &r.key[..12.min(r.key.len())],
                r.time
            ))
        }
    };
    let d = diff_reports(&dir(a)?, &dir(b)?, tolerance)?;
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&d)?),
        Format::Md => print!("{}", d.markdown(50)),
        Format::Html => {
            let label = |r: &Record| {
                format!(
                    "{} ({}, {})",
                    &r.key[..12.min(r.key.len())],
                    r.name
                        .as_deref()
                        .or(r.profile.as_deref())
                        .unwrap_or("default"),
                    r.time
                )
            };
            let compared = format!("report {} against the older {}", label(b), label(a));
            print!("{}", changes::html_page(&d, &dir(a)?, &dir(b)?, &compared)?);
        }
        Format::Text => {
            println!(
                "old: {} {} ({})\nnew: {} {} ({})\n",
                &a.key[..12.min(a.key.len())],
                a.profile.as_deref().unwrap_or("default"),
                a.time,
                &b.key[..12.min(b.key.len())],
                b.profile.as_deref().unwrap_or("default"),
                b.time
            );
            print!("{}", d.text(30));
        }
    }
    Ok(ExitCode::SUCCESS)
}
