//! Where the time went, per stage: the units, the span from the first start to the last
//! end, the summed unit time, the slowest unit, and the machines and devices the units ran
//! on. Read from manifests only; the report's provenance and `repro status --timings`
//! show it.

use super::manifest::{parse_rfc3339, Manifest};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageTiming {
    pub stage: String,
    pub units: usize,
    /// From the first unit's start to the last unit's end (whole seconds; units of several
    /// runs make it longer than any one run).
    pub span_s: f64,
    /// The units' durations added up.
    pub total_s: f64,
    pub slowest_unit: String,
    pub slowest_s: f64,
    pub machines: Vec<String>,
    pub devices: Vec<String>,
    /// The CPU time of the units that recorded it, added up.
    pub cpu_s: f64,
    /// The largest peak resident memory a unit recorded, MiB.
    pub peak_rss_mib: f64,
    /// How many units recorded their resources (older entries did not).
    pub with_resources: usize,
}

/// One timing per stage, in the order stages first appear in `entries` ((stage, unit,
/// manifest) triples).
pub fn per_stage<'a>(
    entries: impl IntoIterator<Item = (&'a str, &'a str, &'a Manifest)>,
) -> Vec<StageTiming> {
    let mut order: Vec<String> = Vec::new();
    let mut by_stage: BTreeMap<String, (StageTiming, i64, i64)> = BTreeMap::new();
    for (stage, unit, m) in entries {
        if !by_stage.contains_key(stage) {
            order.push(stage.to_string());
        }
        let (t, first, last) = by_stage.entry(stage.to_string()).or_insert_with(|| {
            (
                StageTiming {
                    stage: stage.to_string(),
                    units: 0,
                    span_s: 0.0,
                    total_s: 0.0,
                    slowest_unit: String::new(),
                    slowest_s: -1.0,
                    machines: Vec::new(),
                    devices: Vec::new(),
                    cpu_s: 0.0,
                    peak_rss_mib: 0.0,
                    with_resources: 0,
                },
                i64::MAX,
                i64::MIN,
            )
        });
        t.units += 1;
        t.total_s += m.duration_s;
        if let Some(r) = &m.resources {
            t.cpu_s += r.cpu_s;
            t.peak_rss_mib = t.peak_rss_mib.max(r.peak_rss_mib);
            t.with_resources += 1;
        }
        if m.duration_s > t.slowest_s {
            (t.slowest_unit, t.slowest_s) = (unit.to_string(), m.duration_s);
        }
        let machine = m.machine.clone().unwrap_or_else(|| "unrecorded".into());
        if !t.machines.contains(&machine) {
            t.machines.push(machine);
        }
        if !t.devices.contains(&m.device) {
            t.devices.push(m.device.clone());
        }
        if let (Some(s), Some(e)) = (parse_rfc3339(&m.started), parse_rfc3339(&m.finished)) {
            *first = (*first).min(s);
            *last = (*last).max(e);
        }
    }
    order
        .into_iter()
        .filter_map(|stage| by_stage.remove(&stage))
        .map(|(mut t, first, last)| {
            t.span_s = if last >= first {
                (last - first) as f64
            } else {
                0.0
            };
            t
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::key::KeyIngredients;
    use serde_json::Value;

    fn manifest(started: &str, finished: &str, duration_s: f64, device: &str) -> Manifest {
        Manifest {
            key: "k".into(),
            ingredients: KeyIngredients {
                stage: "s".into(),
                unit: "u".into(),
                version: 1,
                code: String::new(),
                params: Value::Null,
                inputs: BTreeMap::new(),
            },
            outputs: Vec::new(),
            started: started.into(),
            finished: finished.into(),
            duration_s,
            tool_version: "0".into(),
            device: device.into(),
            info: Value::Null,
            run_id: None,
            machine: Some("box (2 cores)".into()),
            resources: Some(crate::engine::resources::Resources {
                cpu_s: 2.0 * duration_s,
                peak_rss_mib: 100.0 * duration_s,
                scope: "process".into(),
            }),
            adopted: None,
        }
    }

    #[test]
    fn spans_sums_and_the_slowest_unit_per_stage() {
        let a = manifest("2026-11-30T10:00:00Z", "2026-11-30T10:01:40Z", 100.0, "cpu");
        let b = manifest("2026-11-30T10:00:10Z", "2026-11-30T10:02:00Z", 110.0, "cpu");
        let c = manifest(
            "2026-11-30T10:05:00Z",
            "2026-11-30T10:05:03Z",
            3.0,
            "cuda:0",
        );
        let t = per_stage([
            ("train", "n1", &a),
            ("train", "n2", &b),
            ("analysis", "n1@best", &c),
        ]);
        assert_eq!(t.len(), 2);
        assert_eq!((t[0].stage.as_str(), t[0].units), ("train", 2));
        assert_eq!((t[0].span_s, t[0].total_s), (120.0, 210.0));
        assert_eq!((t[0].slowest_unit.as_str(), t[0].slowest_s), ("n2", 110.0));
        assert_eq!(t[0].machines, ["box (2 cores)"]);
        // CPU time adds up (2 x 210 s); memory is the largest peak (100 x 110 MiB).
        assert_eq!(
            (t[0].cpu_s, t[0].peak_rss_mib, t[0].with_resources),
            (420.0, 11000.0, 2)
        );
        assert_eq!(
            (t[1].span_s, t[1].devices.clone()),
            (3.0, vec!["cuda:0".to_string()])
        );
    }
}
