//! When a recomputable entry's payload goes: the one keep/drop policy that every executor
//! applies, so that neither decides it alone.
//!
//! A stage declared `recomputable` (its outputs are large and cheap to make again, such as
//! activation files) has the payload of each entry it wrote in this run dropped as soon as
//! every unit of this run that reads it has finished successfully; its manifest stays, so
//! the entry still counts as cached and is regenerated when something needs it again.
//! Nothing is dropped with `--keep`, after a reader failed (a rerun will want it), or for
//! an entry this run did not write (it may have been kept on purpose).

use super::cache::Cache;
use super::node::{stage_named, StageNode};
use super::plan::Plan;
use super::runner::Reporter;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub struct Retention {
    /// Per recomputable unit this run computes (plan index), the units of this run that
    /// read it.
    readers: BTreeMap<usize, Vec<usize>>,
}

impl Retention {
    /// The policy for running `to_run` (plan indices) of `plan`; `keep`: drop nothing.
    pub fn new(stages: &[StageNode], plan: &Plan, to_run: &[usize], keep: bool) -> Retention {
        let recomputable = |i: usize| {
            stage_named(stages, &plan.units[i].unit.stage)
                .meta
                .recomputable
        };
        let mut readers: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        if !keep {
            for &i in to_run.iter().filter(|&&i| recomputable(i)) {
                readers.insert(i, Vec::new());
            }
            for &r in to_run {
                for d in &plan.units[r].deps {
                    if let Some(list) = readers.get_mut(d) {
                        list.push(r);
                    }
                }
            }
        }
        Retention { readers }
    }

    /// The inputs (plan indices) whose payload can be dropped now that `reader` has
    /// finished successfully, given which units of the run have (`succeeded`, asked only
    /// of units of this run). Ask under the lock that records each unit's end, so that only
    /// the last reader to finish names an input.
    pub fn releasable(
        &self,
        plan: &Plan,
        reader: usize,
        succeeded: impl Fn(usize) -> bool,
    ) -> Vec<usize> {
        plan.units[reader]
            .deps
            .iter()
            .copied()
            .filter(|d| {
                self.readers
                    .get(d)
                    .is_some_and(|rs| rs.iter().all(|&r| succeeded(r)))
            })
            .collect()
    }
}

/// Drops the payload of each of `inputs` (plan indices), each under the key `key_of` gives
/// it. A failure is a warning: keeping an entry is always safe, only the disk bound suffers.
pub fn drop_payloads(
    plan: &Plan,
    inputs: &[usize],
    key_of: impl Fn(usize) -> String,
    cache: &Cache,
    reporter: &dyn Reporter,
) {
    for &d in inputs {
        let input = &plan.units[d].unit;
        if let Err(e) = cache.drop_payload(&input.stage, &key_of(d)) {
            reporter.warn(&format!("could not drop the payload of {input}: {e}"));
        }
    }
}
