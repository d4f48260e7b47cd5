//! Another run's verdicts as a protocol variant: the `results/claims.json` of a report made
//! with other settings (for example the fixed learning rates, `repro run all --profile
//! fixed-lr`), set beside this run's verdicts row by row (claim id and scope). The file is
//! named in `[report] variants` and hashed into the report's key.

use super::verdict::{Claim, Variant, Verdict};
use serde::Deserialize;

/// One claim of another report, as much of it as a variant needs.
#[derive(Debug, Deserialize)]
pub struct OtherClaim {
    pub id: String,
    pub rows: Vec<OtherRow>,
}

#[derive(Debug, Deserialize)]
pub struct OtherRow {
    pub scope: String,
    pub verdict: Verdict,
    pub measured: String,
}

/// Parses a `claims.json` (a JSON array of claims, as the report writes it).
pub fn parse(text: &str) -> Result<Vec<OtherClaim>, serde_json::Error> {
    serde_json::from_str(text)
}

/// Records on each row of `paper` the verdict of the same claim and scope in `other`,
/// under `protocol`. A row the other report lacks (an older claims table, another set of
/// datasets) gets no entry: it was not checked there. Returns how many rows got one.
pub fn add(paper: &mut [Claim], other: &[OtherClaim], protocol: &str) -> usize {
    let mut added = 0;
    for c in paper.iter_mut() {
        let Some(o) = other.iter().find(|o| o.id == c.id) else {
            continue;
        };
        for r in &mut c.rows {
            let Some(or) = o.rows.iter().find(|x| x.scope == r.scope) else {
                continue;
            };
            r.variants.push(Variant {
                protocol: protocol.to_string(),
                verdict: or.verdict,
                verdict_text: or.verdict.text(),
                measured: or.measured.clone(),
                changes: or.verdict != r.verdict,
            });
            added += 1;
        }
    }
    added
}
