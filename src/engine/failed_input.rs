//! Inputs that failed, handed to a stage declared `partial = true` (a report that renders
//! from what completed). With `--keep-going`, such a unit still runs once every input has
//! finished; each input that failed, or never ran because its own input failed, is given
//! to it as a folder holding only [`FILE`] (the unit and why), in place of an entry. The
//! unit's key records such an input as [`MARKER`], so the partial result is never mistaken
//! for the complete one, and a later run in which the input succeeds makes it again.

use super::cache::{sanitize, Cache};
use super::unit::UnitRef;
use serde::{Deserialize, Serialize};
use std::io;
use std::path::{Path, PathBuf};

/// The file a failed input's folder holds.
pub const FILE: &str = "FAILED.json";

/// What a key's `inputs` hold for an input that failed.
pub const MARKER: &str = "(failed)";

/// Under the cache root: `<run id>/<stage>/<unit>/FAILED.json`.
const DIR: &str = ".failed";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedInput {
    /// `stage/id`.
    pub unit: String,
    /// Why it has no entry: its error (naming its log), or the input that failed first.
    pub reason: String,
}

/// Writes the folder standing for `input` in run `run_id`; returns it.
pub fn write(cache: &Cache, run_id: &str, input: &UnitRef, reason: &str) -> io::Result<PathBuf> {
    let dir = cache
        .root()
        .join(DIR)
        .join(sanitize(run_id))
        .join(&input.stage)
        .join(sanitize(&input.id));
    std::fs::create_dir_all(&dir)?;
    let record = FailedInput {
        unit: input.to_string(),
        reason: reason.to_string(),
    };
    std::fs::write(
        dir.join(FILE),
        serde_json::to_string_pretty(&record).expect("a record serialises"),
    )?;
    Ok(dir)
}

/// The failure an input folder stands for, if it stands for one.
pub fn read(dir: &Path) -> Option<FailedInput> {
    let text = std::fs::read_to_string(dir.join(FILE)).ok()?;
    serde_json::from_str(&text).ok()
}
