//! `repro runs`: the recorded reports as a table (text, CSV or HTML), sortable by a column.

use super::diff::REPORT;
use anyhow::{bail, Context, Result};
use repro::engine::history;
use repro::project::Project;
use repro::review::runs::{self, COLUMNS};
use std::path::Path;
use std::process::ExitCode;

#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum Format {
    Text,
    Csv,
    Html,
}

pub fn runs(project: &Project, format: Format, sort: &str, out: Option<&Path>) -> Result<ExitCode> {
    if !COLUMNS.contains(&sort) {
        bail!("--sort {sort}: not a column; one of {}", COLUMNS.join(", "));
    }
    let default = project.config.tables_for(None)?;
    let mut rows = Vec::new();
    for r in history::load(&project.cache)?
        .iter()
        .filter(|r| r.stage == REPORT)
    {
        let dir = project
            .cache
            .contains(REPORT, &r.key)
            .then(|| project.cache.entry_dir(REPORT, &r.key));
        rows.push(runs::row(
            &r.time,
            r.name.as_deref(),
            r.profile.as_deref(),
            &r.key,
            dir.as_deref(),
            &default,
        )?);
    }
    runs::sort(&mut rows, sort).expect("a checked column");
    let text = match format {
        Format::Text => runs::text(&rows),
        Format::Csv => runs::csv(&rows),
        Format::Html => runs::html(&rows),
    };
    match out {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
