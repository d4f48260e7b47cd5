//! The binary's subcommands: each turns library calls into what a user reads (and an exit
//! code). Part of the `repro` executable only, not of the library.

pub mod adopt;
pub mod diff;
pub mod export;
pub mod gc;
pub mod maintain;
pub mod remote;
pub mod run;
pub mod runs;
pub mod status;

use anyhow::Result;
use repro::engine::lock::CacheLock;
use repro::project::Project;

/// Takes the cache lock, saying so while another process holds it.
pub fn lock(project: &Project) -> Result<CacheLock> {
    Ok(CacheLock::acquire(project.cache.root(), |holder| {
        eprintln!("waiting for the cache lock held by {holder} ...");
    })?)
}
