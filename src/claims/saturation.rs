//! Test error saturates with depth and with width.

use super::evidence::{Claim, Evidence};
use crate::results::{Axis, NetKey, Sweep};
use std::collections::{BTreeMap, BTreeSet};

/// One row per sweep axis: the larger half of the sweep changes the test error by less
/// than the smaller half, in every dataset.
pub fn error_saturates(e: &Evidence) -> Vec<Claim> {
    Axis::BOTH.iter().map(|&axis| saturates(e, axis)).collect()
}

fn saturates(e: &Evidence, axis: Axis) -> Claim {
    let name = axis.name();
    let claim = format!("Test error saturates with {name}: the larger half of the sweep changes it by less than the smaller half");
    let threshold = "|change over the larger half| < |change over the smaller half|, per dataset";
    let datasets: BTreeSet<&str> = e
        .paper_nets()
        .filter(|n| e.test_error(n).is_some())
        .map(|n| n.dataset.as_str())
        .collect();
    let mut parts = Vec::new();
    let mut all_ok = true;
    for ds in datasets {
        // A sweep varies one dimension with the other fixed at its most common value.
        let nets: Vec<&NetKey> = e.paper_nets().filter(|n| n.dataset == ds).collect();
        let sweep = Sweep {
            axis,
            fixed: most_common(nets.iter().map(|n| axis.other().of(n))),
        };
        let mut points: Vec<(usize, f64)> = nets
            .iter()
            .filter(|n| sweep.holds(n))
            .filter_map(|n| Some((sweep.x(n), e.test_error(n)?)))
            .collect();
        points.sort_by_key(|p| p.0);
        points.dedup_by_key(|p| p.0);
        if points.len() < 3 {
            continue;
        }
        let (first, mid, last) = (
            points[0],
            points[points.len() / 2],
            points[points.len() - 1],
        );
        let early = mid.1 - first.1;
        let late = last.1 - mid.1;
        all_ok &= late.abs() < early.abs();
        parts.push(format!(
            "{ds}: {:.2}% -> {:.2}% -> {:.2}% ({name} {} -> {} -> {})",
            100.0 * first.1,
            100.0 * mid.1,
            100.0 * last.1,
            first.0,
            mid.0,
            last.0
        ));
    }
    if parts.is_empty() {
        Claim::not_measured(
            &claim,
            threshold,
            &format!("no {name} sweep of 3 or more networks"),
        )
    } else {
        Claim::measured(&claim, parts.join("; "), threshold, all_ok)
    }
}

/// The most common value (the largest of equally common ones); 0 for none.
fn most_common(values: impl Iterator<Item = usize>) -> usize {
    let mut counts: BTreeMap<usize, usize> = BTreeMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by_key(|&(v, c)| (c, v))
        .map_or(0, |(v, _)| v)
}
