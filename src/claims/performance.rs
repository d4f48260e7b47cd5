//! Sec. 3.1, Fig. 2: the networks' own test error falls with depth and with width, then
//! saturates, and more depth does not degrade it.

use super::evidence::Evidence;
use super::verdict::{Claim, Row};
use super::{per_dataset, trend};
use crate::results::{Axis, NetKey};

/// (depth or width, test error) along the dataset's sweep over `axis`.
fn errors(e: &Evidence, ds: &str, axis: Axis) -> Vec<(usize, f64)> {
    let mut points: Vec<(usize, f64)> = e
        .sweep(ds, axis == Axis::Width)
        .iter()
        .filter_map(|n| Some((axis.of(n), e.test_error(n)?)))
        .collect();
    points.dedup_by_key(|p| p.0);
    points
}

fn lowest(points: &[(usize, f64)]) -> (usize, f64) {
    points
        .iter()
        .copied()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .expect("a sweep of 3 or more")
}

pub fn error_falls_with_depth(e: &Evidence) -> Claim {
    let min = e.t.error_fall_min.value;
    let rows = per_dataset(e, |ds| {
        let points = errors(e, ds, Axis::Depth);
        if points.len() < 3 {
            return Row::not_measured(ds, "no depth sweep of 3 or more networks");
        }
        let (first, low) = (points[0], lowest(&points));
        let fall = first.1 - low.1;
        Row::measured(
            ds,
            format!(
                "{:.2}% at depth {}, lowest {:.2}% at depth {}: a fall of {:.2} points",
                100.0 * first.1,
                first.0,
                100.0 * low.1,
                low.0,
                100.0 * fall
            ),
            Some(fall),
            fall >= min,
        )
    });
    Claim::new(
        "error-falls-with-depth",
        "Sec. 3.1, Fig. 2",
        "With more hidden layers the test error first decreases.",
        format!(
            "the shallowest network of the depth sweep has a test error at least {:.2} points above the sweep's lowest",
            100.0 * min
        ),
        rows,
    )
    .sweeping(&e.t, &["error_fall_min"])
}

pub fn error_saturates_with_depth(e: &Evidence) -> Claim {
    saturates(e, Axis::Depth, "saturation-depth")
}

pub fn error_saturates_with_width(e: &Evidence) -> Claim {
    saturates(e, Axis::Width, "saturation-width")
}

/// Over the larger half of the sweep the test error changes by less than over the
/// smaller half.
fn saturates(e: &Evidence, axis: Axis, id: &'static str) -> Claim {
    let name = axis.name();
    let rows = per_dataset(e, |ds| {
        let points = errors(e, ds, axis);
        if points.len() < 3 {
            return Row::not_measured(ds, format!("no {name} sweep of 3 or more networks"));
        }
        let (first, mid, last) = (
            points[0],
            points[points.len() / 2],
            points[points.len() - 1],
        );
        let early = mid.1 - first.1;
        let late = last.1 - mid.1;
        Row::measured(
            ds,
            format!(
                "{:.2}% -> {:.2}% -> {:.2}% ({name} {} -> {} -> {})",
                100.0 * first.1,
                100.0 * mid.1,
                100.0 * last.1,
                first.0,
                mid.0,
                last.0
            ),
            None,
            late.abs() < early.abs(),
        )
    });
    Claim::new(
        id,
        "Sec. 3.1, Fig. 2",
        format!("The test error's change with {name} saturates."),
        format!("the test error changes less (in absolute value) over the larger half of the {name} sweep than over the smaller half"),
        rows,
    )
}

pub fn depth_does_not_degrade(e: &Evidence) -> Claim {
    let max = e.t.degrade_max.value;
    let rows = per_dataset(e, |ds| {
        let points = errors(e, ds, Axis::Depth);
        if points.len() < 3 {
            return Row::not_measured(ds, "no depth sweep of 3 or more networks");
        }
        let (deepest, low) = (points[points.len() - 1], lowest(&points));
        let excess = (deepest.1 - low.1) / low.1;
        Row::measured(
            ds,
            format!(
                "deepest (depth {}) {:.2}%, lowest {:.2}% at depth {}: {:+.1}% above it (the grid stops at depth {}; the paper says up to 20)",
                deepest.0,
                100.0 * deepest.1,
                100.0 * low.1,
                low.0,
                100.0 * excess,
                deepest.0
            ),
            Some(excess),
            excess <= max,
        )
    });
    Claim::new(
        "depth-does-not-degrade",
        "Sec. 3.1, Fig. 2",
        "Adding layers beyond the point of saturation does not degrade the test error.",
        format!(
            "the deepest network's test error is at most {:.0}% (relative) above the lowest of the depth sweep",
            100.0 * max
        ),
        rows,
    )
    .sweeping(&e.t, &["degrade_max"])
}

pub fn error_falls_with_width(e: &Evidence) -> Claim {
    let rows = per_dataset(e, |ds| {
        trend(
            e,
            ds,
            Axis::Width,
            |n: &NetKey| e.test_error(n),
            -1.0,
            "test errors",
        )
    });
    Claim::new(
        "error-falls-with-width",
        "Sec. 3.1, 3.2, Fig. 2",
        "Wider networks have lower test error.",
        format!(
            "rank correlation of width with the test error <= -{} over the width sweep",
            e.t.rank_correlation_min.value
        ),
        rows,
    )
    .sweeping(&e.t, &["rank_correlation_min"])
}
