//! The levels of perplexity (Sec. 3.2, Fig. 3): near the class size in the first two
//! layers, near 1 in the last, and the width trends of the fall and of early perplexity.

use super::evidence::Evidence;
use super::transition::steepest_fall;
use super::verdict::{Claim, Row};
use super::{median_row, pct, per_dataset, trend};
use crate::results::Axis;

/// Late-layer perplexity near 1.
pub fn last_layer_near_one(e: &Evidence) -> Claim {
    let max = e.t.last_layer_perplexity_max.value;
    let rows = per_dataset(e, |ds| {
        let last = e
            .deep_nets(ds)
            .filter_map(|n| e.perplexity(n, n.depth))
            .collect();
        median_row(
            ds,
            last,
            || format!("no {}", e.deep_text()),
            ("median ", ""),
            |v| format!("{v:.2}"),
            |m| m <= max,
        )
    });
    Claim::new(
        "last-layer-near-one",
        "Sec. 3.2, Fig. 3",
        "In networks deep and wide enough, perplexity in the later layers is very near 1: all samples of a class share one activation pattern.",
        format!("median last-hidden-layer test perplexity <= {max} ({})", e.deep_text()),
        rows,
    )
    .sweeping(&e.t, &["last_layer_perplexity_max"])
}

/// First-layer perplexity near the class size.
pub fn first_layers_near_class_size(e: &Evidence) -> Claim {
    let min = e.t.first_layers_fraction_min.value;
    let rows = per_dataset(e, |ds| {
        let Some(cs) = e.class_size(ds) else {
            return Row::not_measured(ds, "the dataset's class sizes are unknown");
        };
        let shares = e
            .deep_nets(ds)
            .filter_map(|n| Some(e.perplexity(n, 1)?.min(e.perplexity(n, 2)?) / cs))
            .collect();
        median_row(
            ds,
            shares,
            || format!("no {}", e.deep_text()),
            (
                "median ",
                &format!(" of the class size ({cs:.0} test samples)"),
            ),
            pct,
            |m| m >= min,
        )
    });
    Claim::new(
        "first-layers-near-class-size",
        "Sec. 3.2, Fig. 3",
        "In the first two layers perplexity is almost the number of samples per class: nearly every sample gets its own pattern.",
        format!(
            "median over networks of min(layer 1, layer 2) test perplexity >= {} of the class size ({})",
            pct(min),
            e.deep_text()
        ),
        rows,
    )
    .sweeping(&e.t, &["first_layers_fraction_min"])
}

/// Sharper for wider networks, over the hidden layers alone.
pub fn sharper_when_wider(e: &Evidence) -> Claim {
    let rows = per_dataset(e, |ds| {
        trend(
            e,
            ds,
            Axis::Width,
            |n| steepest_fall(&e.profile(n)?),
            1.0,
            "steepest fall factors between hidden layers",
        )
    });
    Claim::new(
        "sharper-when-wider",
        "Sec. 3.2, Fig. 3",
        "The drop in perplexity is sharper for wider networks.",
        format!(
            "rank correlation of width with the steepest one-layer fall of test perplexity between hidden layers (a factor; the step from the input is not counted) >= {} over the width sweep",
            e.t.rank_correlation_min.value
        ),
        rows,
    )
    .sweeping(&e.t, &["rank_correlation_min"])
}

/// Narrow networks have lower early-layer perplexity.
pub fn narrow_lower_early(e: &Evidence) -> Claim {
    let rows = per_dataset(e, |ds| {
        let Some(cs) = e.class_size(ds) else {
            return Row::not_measured(ds, "the dataset's class sizes are unknown");
        };
        trend(
            e,
            ds,
            Axis::Width,
            |n| Some((e.perplexity(n, 1)? + e.perplexity(n, 2)?) / 2.0 / cs),
            1.0,
            "layer 1-2 perplexity / class size",
        )
    });
    Claim::new(
        "narrow-lower-early",
        "Sec. 3.2, Fig. 3",
        "Below some width, the perplexity of the earlier layers falls with the width.",
        format!(
            "rank correlation of width with the mean test perplexity of layers 1 and 2 >= {} over the width sweep",
            e.t.rank_correlation_min.value
        ),
        rows,
    )
    .sweeping(&e.t, &["rank_correlation_min"])
}
