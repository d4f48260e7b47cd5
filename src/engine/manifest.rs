//! The manifest written into every cache entry.

use super::key::KeyIngredients;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct OutputFile {
    /// Path relative to the entry directory, with `/` separators.
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub key: String,
    #[serde(flatten)]
    pub ingredients: KeyIngredients,
    pub outputs: Vec<OutputFile>,
    /// RFC 3339 UTC timestamps.
    pub started: String,
    pub finished: String,
    pub duration_s: f64,
    pub tool_version: String,
    pub device: String,
    /// Whatever else the stage wants the report to know (e.g. final accuracy).
    #[serde(default)]
    pub info: Value,
    /// The `repro run` that made this entry (tells a rebuilt unit from a reused one).
    #[serde(default)]
    pub run_id: Option<String>,
    /// Where it ran: host name and core count, e.g. `node1 (2 cores)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<String>,
    /// CPU time and peak memory it used (entries made before this was recorded lack it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<super::resources::Resources>,
    /// Set when `repro adopt` committed an earlier entry's files under this key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopted: Option<Adoption>,
}

/// Recorded in the manifest of an entry `repro adopt` committed (see `adopt.rs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Adoption {
    /// The key of the entry whose files these are.
    pub from_key: String,
    /// The units recomputed under the new code whose bytes matched.
    pub verified_by: Vec<String>,
    /// When (RFC 3339, UTC).
    pub time: String,
}

/// This machine as manifests name it: host name, core count and CPU model (what decides
/// whether float results can differ in their last bits).
pub fn this_machine() -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    match super::host::cpu_model() {
        Some(model) => format!("{} ({cores} cores, {model})", super::host::hostname()),
        None => format!("{} ({cores} cores)", super::host::hostname()),
    }
}

/// Seconds since 1970 of a timestamp as [`rfc3339`] writes it (`YYYY-MM-DDTHH:MM:SSZ`).
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    if s.len() != 20 || !s.ends_with('Z') {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // Days-from-civil (Howard Hinnant's algorithm), the inverse of `rfc3339`'s.
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if mo > 2 { mo - 3 } else { mo + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + sec)
}

impl Manifest {
    /// What dependants' keys are made of: the digest of this entry's outputs.
    pub fn content_digest(&self) -> String {
        super::key::content_digest(
            self.outputs
                .iter()
                .map(|o| (o.path.as_str(), o.sha256.as_str())),
        )
    }
}

/// Formats a `SystemTime` as RFC 3339 in UTC, without pulling in a date crate.
pub fn rfc3339(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Civil-from-days (Howard Hinnant's algorithm), valid for the proleptic Gregorian calendar.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if mo <= 2 { 1 } else { 0 };
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn timestamps_parse_back_to_their_seconds() {
        for secs in [0u64, 951_782_400, 1_796_034_214, 4_102_444_799] {
            let t = UNIX_EPOCH + Duration::from_secs(secs);
            assert_eq!(
                parse_rfc3339(&rfc3339(t)),
                Some(secs as i64),
                "{}",
                rfc3339(t)
            );
        }
        assert_eq!(parse_rfc3339("2026-11-30T10:00:00"), None);
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(1_795_772_096)),
            "2026-11-27T09:34:56Z"
        );
    }
}
