//! The systems across the width sweep (Sec. 5.2, App. B, Figs. 9, 10): narrow networks'
//! first layers fall short, the discrete system most; later layers gain with width; and
//! the first layer's continuous system loses with width.

use super::evidence::Evidence;
use super::systems::SYSTEMS;
use super::verdict::{Claim, Row};
use super::{per_dataset, points, trend};
use crate::results::{spearman, Axis};

/// Narrow networks' first layers underperform, the discrete system most.
pub fn narrow_early_underperform(e: &Evidence) -> Claim {
    let rows = per_dataset(e, |ds| {
        let sweep = e.sweep(ds, true);
        let (Some(narrow), Some(wide)) = (sweep.first(), sweep.last()) else {
            return Row::not_measured(ds, "no width sweep of 3 or more networks");
        };
        let deficits: Option<Vec<f64>> = SYSTEMS
            .iter()
            .map(|s| Some(e.accuracy(wide, 1, s)? - e.accuracy(narrow, 1, s)?))
            .collect();
        let Some(d) = deficits else {
            return Row::not_measured(ds, "the sweep's ends lack layer-1 accuracies");
        };
        Row::measured(
            ds,
            format!(
                "layer 1, width {} below width {}: discrete {}, continuous {}, combined {} points",
                narrow.width,
                wide.width,
                points(d[0]),
                points(d[1]),
                points(d[2])
            ),
            None,
            // The continuous system may gain from narrowness (see continuous-falls-with-
            // width), so only the discrete system must fall short, and by the most.
            d[0] > 0.0 && d[0] >= d[1] && d[0] >= d[2],
        )
    });
    Claim::new(
        "narrow-early-underperform",
        "Sec. 5.2, Figs. 9, 10",
        "When layers lack width, the earlier layers' systems underperform, the discrete system most of all.",
        "in layer 1 the narrowest network of the width sweep has a lower discrete-system test accuracy than the widest, and that shortfall is the largest of the three systems'",
        rows,
    )
}

/// The later layers' systems gain accuracy with width.
pub fn later_accuracy_rises_with_width(e: &Evidence) -> Claim {
    let min = e.t.rank_correlation_min.value;
    let rows = per_dataset(e, |ds| {
        let sweep = e.sweep(ds, true);
        let rhos: Option<Vec<f64>> = SYSTEMS
            .iter()
            .map(|s| {
                let pairs: Vec<(f64, f64)> = sweep
                    .iter()
                    .filter_map(|n| Some((n.width as f64, e.accuracy(n, n.depth, s)?)))
                    .collect();
                spearman(&pairs)
            })
            .collect();
        let Some(rhos) = rhos else {
            return Row::not_measured(
                ds,
                "no width sweep of 3 or more networks with system accuracies",
            );
        };
        let weakest = rhos.iter().copied().fold(f64::MAX, f64::min);
        Row::measured(
            ds,
            format!(
                "rank correlations over {} widths: discrete {:+.2}, continuous {:+.2}, combined {:+.2}",
                sweep.len(),
                rhos[0],
                rhos[1],
                rhos[2]
            ),
            Some(weakest),
            weakest >= min,
        )
    });
    Claim::new(
        "later-accuracy-rises-with-width",
        "Sec. 5.2, Figs. 9, 10",
        "Accuracy in the later layers rises clearly with width, for all three systems.",
        format!(
            "rank correlation of width with each system's test accuracy in the last hidden layer >= {min} over the width sweep (the weakest of the three)"
        ),
        rows,
    )
    .sweeping(&e.t, &["rank_correlation_min"])
}

/// First-layer continuous accuracy falls with width.
pub fn continuous_falls_with_width(e: &Evidence) -> Claim {
    let rows = per_dataset(e, |ds| {
        trend(
            e,
            ds,
            Axis::Width,
            |n| e.accuracy(n, 1, "continuous"),
            -1.0,
            "layer-1 continuous test accuracy",
        )
    });
    Claim::new(
        "continuous-falls-with-width",
        "Sec. 5.2, Figs. 9, 10",
        "The continuous system's accuracy in the first layer decreases as the width grows.",
        format!(
            "rank correlation of width with layer-1 continuous test accuracy <= -{} over the width sweep",
            e.t.rank_correlation_min.value
        ),
        rows,
    )
    .sweeping(&e.t, &["rank_correlation_min"])
}
