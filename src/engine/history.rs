//! Every entry that `repro run` publishes (a stage declared with `publish`, such as the
//! report) is recorded in `cache/.history/published.jsonl`, one JSON object per line: when,
//! with which configuration file and profile, the stage, unit and key. `repro diff` names
//! published entries from it, and `gc` keeps the entries of the last few records, so that
//! earlier reports stay comparable.

use super::cache::{io_err, Cache, CacheError};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::PathBuf;

const FILE: &str = ".history/published.jsonl";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// RFC 3339, UTC.
    pub time: String,
    pub config: String,
    pub profile: Option<String>,
    pub stage: String,
    pub unit: String,
    pub key: String,
    /// The name the run was given (`repro run --name`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

fn path(cache: &Cache) -> PathBuf {
    cache.root().join(FILE)
}

/// Appends `record` unless the latest record of the same stage, unit, configuration and
/// profile already names its key (a rerun that changed nothing is not a new report).
pub fn record(cache: &Cache, record: &Record) -> Result<(), CacheError> {
    let last_same = load(cache)?.into_iter().rev().find(|r| {
        r.stage == record.stage
            && r.unit == record.unit
            && r.config == record.config
            && r.profile == record.profile
    });
    if last_same.is_some_and(|r| r.key == record.key) {
        return Ok(());
    }
    let file = path(cache);
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    let mut line = serde_json::to_string(record).expect("a record serialises");
    line.push('\n');
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&file)
        .map_err(io_err(&file))?;
    // One write of one line: concurrent appenders (there are none under the lock) and
    // crashes leave whole lines.
    f.write_all(line.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(io_err(&file))
}

/// Every record, oldest first. A line that does not parse (a torn write) is skipped.
pub fn load(cache: &Cache) -> Result<Vec<Record>, CacheError> {
    let file = path(cache);
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(&file)(e)),
    };
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}

/// The (stage, key) of the last `n` records of each stage, for `gc` to keep.
pub fn recent(records: &[Record], n: usize) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut stages: Vec<&str> = records.iter().map(|r| r.stage.as_str()).collect();
    stages.sort_unstable();
    stages.dedup();
    for stage in stages {
        out.extend(
            records
                .iter()
                .rev()
                .filter(|r| r.stage == stage)
                .take(n)
                .map(|r| (r.stage.clone(), r.key.clone())),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(key: &str, profile: Option<&str>) -> Record {
        Record {
            time: "2026-11-30T10:00:00Z".into(),
            config: "/p/pipeline.toml".into(),
            profile: profile.map(str::to_string),
            stage: "report".into(),
            unit: "report".into(),
            key: key.into(),
            name: None,
        }
    }

    #[test]
    fn records_append_once_per_new_key_and_gc_keeps_the_last_few() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        for (key, profile) in [
            ("a", None),
            ("a", None),
            ("b", None),
            ("b", Some("quick")),
            ("c", None),
        ] {
            record(&cache, &rec(key, profile)).unwrap();
        }
        let all = load(&cache).unwrap();
        let keys: Vec<&str> = all.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(
            keys,
            ["a", "b", "b", "c"],
            "a rerun with the same key is not recorded"
        );
        assert_eq!(
            recent(&all, 2),
            [
                ("report".to_string(), "c".to_string()),
                ("report".to_string(), "b".to_string())
            ]
        );
    }
}
