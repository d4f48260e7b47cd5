//! `repro adopt STAGE --sample N`: re-key a stage's entries after a change that leaves
//! their bytes alone, once N recomputed units prove it (see `engine::adopt`).

use super::lock;
use anyhow::{bail, Result};
use repro::engine::adopt::{adopt as adopt_entries, candidates};
use repro::engine::progress::reporter_for_stderr;
use repro::engine::runner::{new_run_id, RunOptions};
use repro::project::Project;
use std::collections::BTreeSet;
use std::process::ExitCode;

pub fn adopt(project: &Project, stage: &str, sample: usize, quiet: bool) -> Result<ExitCode> {
    if !project.stages.iter().any(|s| s.meta.name == stage) {
        bail!("no stage `{stage}` (`repro dag` lists them)");
    }
    if sample == 0 {
        bail!("--sample 0: adopting needs at least one recomputed unit as evidence");
    }
    let _lock = lock(project)?;
    let plan = project.plan(&BTreeSet::new())?;
    let (found, refused) = candidates(&plan, &project.cache, stage);
    for r in &refused {
        println!("not a candidate  {r}");
    }
    if found.is_empty() {
        println!("nothing to adopt in `{stage}`: no unit is stale by its code alone");
        return Ok(ExitCode::SUCCESS);
    }
    let reporter = reporter_for_stderr(quiet);
    let sample = sample.min(found.len());
    reporter.start(sample);
    let options = RunOptions {
        keep_going: false,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        run_id: new_run_id(),
        keep_recomputable: true,
        fetcher: None,
        own_process: false,
    };
    let result = adopt_entries(
        &project.stages,
        &plan,
        &found,
        sample,
        &project.cache,
        &options,
        reporter.as_ref(),
    );
    reporter.finish();
    match result {
        Ok(adopted) => {
            println!(
                "adopted {} entr{} of `{stage}` after {sample} recomputed unit(s) gave identical bytes",
                adopted.len(),
                if adopted.len() == 1 { "y" } else { "ies" }
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}
