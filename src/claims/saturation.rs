//! Sec. 3.1, Fig. 2: test error saturates with depth and with width.

use super::evidence::{Claim, Evidence, Row};
use super::per_dataset;
use crate::results::Axis;

/// One claim per sweep axis: over the larger half of the sweep the test error changes by
/// less than over the smaller half.
pub fn error_saturates_with_depth(e: &Evidence) -> Claim {
    saturates(e, Axis::Depth, "saturation-depth")
}

pub fn error_saturates_with_width(e: &Evidence) -> Claim {
    saturates(e, Axis::Width, "saturation-width")
}

fn saturates(e: &Evidence, axis: Axis, id: &'static str) -> Claim {
    let name = axis.name();
    let rows = per_dataset(e, |ds| {
        let mut points: Vec<(usize, f64)> = e
            .sweep(ds, axis == Axis::Width)
            .iter()
            .filter_map(|n| Some((axis.of(n), e.test_error(n)?)))
            .collect();
        points.dedup_by_key(|p| p.0);
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
            late.abs() < early.abs(),
        )
    });
    Claim::new(
        id,
        "Sec. 3.1, Fig. 2",
        format!("Test error first falls with {name}, then saturates."),
        format!("the test error changes less (in absolute value) over the larger half of the {name} sweep than over the smaller half"),
        rows,
    )
}
