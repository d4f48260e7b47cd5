//! The perplexity findings (Sec. 3.2, Fig. 3): near the class size in the first layers,
//! near 1 in the last, a sharp fall in between that is more gradual for Fashion-MNIST and
//! sharper for wider networks, and lower early perplexity in narrow networks.

use super::evidence::{Claim, Evidence, Row};
use super::{per_dataset, width_trend};
use crate::results::{NetKey, Summary};

/// Late-layer perplexity near 1.
pub fn last_layer_near_one(e: &Evidence) -> Claim {
    let max = e.t.last_layer_perplexity_max;
    let rows = per_dataset(e, |ds| {
        let last = e
            .deep_nets(ds)
            .filter_map(|n| e.perplexity(n, n.depth))
            .collect();
        match Summary::of(last) {
            None => Row::not_measured(ds, format!("no {}", e.deep_text())),
            Some(s) => Row::measured(
                ds,
                format!(
                    "median {:.2} over {} networks (range {:.2} to {:.2})",
                    s.median, s.n, s.min, s.max
                ),
                s.median <= max,
            ),
        }
    });
    Claim::new(
        "last-layer-near-one",
        "Sec. 3.2, Fig. 3",
        "In networks deep and wide enough, perplexity in the later layers is very near 1: all samples of a class share one activation pattern.",
        format!("median last-hidden-layer test perplexity <= {max} ({})", e.deep_text()),
        rows,
    )
}

/// First-layer perplexity near the class size.
pub fn first_layers_near_class_size(e: &Evidence) -> Claim {
    let min = e.t.first_layers_fraction_min;
    let rows = per_dataset(e, |ds| {
        let Some(cs) = e.class_size(ds) else {
            return Row::not_measured(ds, "the dataset's class sizes are unknown");
        };
        let shares = e
            .deep_nets(ds)
            .filter_map(|n| Some(e.perplexity(n, 1)?.min(e.perplexity(n, 2)?) / cs))
            .collect();
        match Summary::of(shares) {
            None => Row::not_measured(ds, format!("no {}", e.deep_text())),
            Some(s) => Row::measured(
                ds,
                format!(
                    "median {:.0}% of the class size ({cs:.0} test samples), over {} networks (range {:.0}% to {:.0}%)",
                    100.0 * s.median,
                    s.n,
                    100.0 * s.min,
                    100.0 * s.max
                ),
                s.median >= min,
            ),
        }
    });
    Claim::new(
        "first-layers-near-class-size",
        "Sec. 3.2, Fig. 3",
        "In the first two layers perplexity is almost the number of samples per class: nearly every sample gets its own pattern.",
        format!(
            "median over networks of min(layer 1, layer 2) test perplexity >= {:.0}% of the class size ({})",
            100.0 * min,
            e.deep_text()
        ),
        rows,
    )
}

/// Layers from the last one at or above `high` x class size to the first one at or
/// below `low` x class size after it (the input counts as layer 0, at the class size);
/// infinite if perplexity never falls that low.
pub fn transition_span(profile: &[f64], class_size: f64, high: f64, low: f64) -> f64 {
    let Some(end) = profile.iter().position(|&p| p <= low * class_size) else {
        return f64::INFINITY;
    };
    let start = profile[..end]
        .iter()
        .rposition(|&p| p >= high * class_size)
        .map_or(0, |i| i + 1);
    (end + 1 - start) as f64
}

/// The largest fall of perplexity from one layer to the next, as a factor (the input
/// counts as layer 0, at the class size): how sharp the transition is.
pub fn steepest_fall(profile: &[f64], class_size: f64) -> f64 {
    std::iter::once(class_size)
        .chain(profile.iter().copied())
        .collect::<Vec<f64>>()
        .windows(2)
        .map(|w| w[0] / w[1])
        .fold(1.0, f64::max)
}

/// The sharp transition.
pub fn sharp_transition(e: &Evidence) -> Claim {
    let t = &e.t;
    let rows = per_dataset(e, |ds| {
        let Some(cs) = e.class_size(ds) else {
            return Row::not_measured(ds, "the dataset's class sizes are unknown");
        };
        let spans: Vec<(f64, &NetKey)> = e
            .deep_nets(ds)
            .filter_map(|n| {
                let profile = e.profile(n)?;
                Some((
                    transition_span(&profile, cs, t.transition_high, t.transition_low),
                    n,
                ))
            })
            .collect();
        let Some(s) = Summary::of(spans.iter().map(|x| x.0).collect()) else {
            return Row::not_measured(ds, format!("no {}", e.deep_text()));
        };
        let never: Vec<String> = spans
            .iter()
            .filter(|x| x.0.is_infinite())
            .map(|x| x.1.shape())
            .collect();
        let spans_text: Vec<String> = spans
            .iter()
            .filter(|x| x.0.is_finite())
            .map(|x| format!("{} {:.0}", x.1.shape(), x.0))
            .collect();
        let mut measured = format!("median {} layers over {} networks", layers(s.median), s.n);
        if !spans_text.is_empty() {
            measured.push_str(&format!(" ({})", spans_text.join(", ")));
        }
        if !never.is_empty() {
            measured.push_str(&format!(
                "; never falls to {:.0}% of the class size: {}",
                100.0 * t.transition_low,
                never.join(", ")
            ));
        }
        Row::measured(ds, measured, s.median <= t.transition_layers_max)
    });
    Claim::new(
        "sharp-transition",
        "Sec. 3.2, 3.3, Fig. 3",
        "Perplexity falls from high to low sharply, over a few layers, in the same way across networks.",
        format!(
            "median number of layers from the last at >= {:.0}% of the class size to the first at <= {:.0}% is <= {} ({}; a network that never falls that low counts as infinitely many)",
            100.0 * t.transition_high,
            100.0 * t.transition_low,
            t.transition_layers_max,
            e.deep_text()
        ),
        rows,
    )
}

fn layers(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.1}")
    } else {
        "infinitely many".into()
    }
}

/// The median steepest fall of a dataset's deep networks.
fn median_steepest(e: &Evidence, ds: &str) -> Option<Summary> {
    let cs = e.class_size(ds)?;
    Summary::of(
        e.deep_nets(ds)
            .filter_map(|n| Some(steepest_fall(&e.profile(n)?, cs)))
            .collect(),
    )
}

/// More gradual for Fashion-MNIST than for MNIST.
pub fn gradual_for_fashion(e: &Evidence) -> Claim {
    let scope = "mnist vs fashion-mnist";
    let has = |d: &str| e.datasets.iter().any(|x| x == d);
    let row = if !(has("mnist") && has("fashion-mnist")) {
        Row::not_measured(scope, "needs both MNIST and Fashion-MNIST")
    } else {
        match (median_steepest(e, "mnist"), median_steepest(e, "fashion-mnist")) {
            (Some(m), Some(f)) => Row::measured(
                scope,
                format!(
                    "steepest one-layer fall: median factor {:.1} for Fashion-MNIST ({} networks), {:.1} for MNIST ({} networks)",
                    f.median, f.n, m.median, m.n
                ),
                f.median < m.median,
            ),
            _ => Row::not_measured(scope, format!("no {} for one of the datasets", e.deep_text())),
        }
    };
    Claim::new(
        "gradual-for-fashion",
        "Sec. 3.2, Fig. 3",
        "The drop in perplexity is more gradual for Fashion-MNIST than for MNIST.",
        format!(
            "median steepest one-layer fall of perplexity (a factor; the input counts as the class size) smaller for Fashion-MNIST ({})",
            e.deep_text()
        ),
        vec![row],
    )
}

/// Sharper for wider networks.
pub fn sharper_when_wider(e: &Evidence) -> Claim {
    let rows = per_dataset(e, |ds| {
        let Some(cs) = e.class_size(ds) else {
            return Row::not_measured(ds, "the dataset's class sizes are unknown");
        };
        width_trend(
            e,
            ds,
            |n| Some(steepest_fall(&e.profile(n)?, cs)),
            1.0,
            "steepest fall factors",
        )
    });
    Claim::new(
        "sharper-when-wider",
        "Sec. 3.2, Fig. 3",
        "The drop in perplexity is sharper for wider networks.",
        format!(
            "rank correlation of width with the steepest one-layer fall >= {} over the width sweep",
            e.t.rank_correlation_min
        ),
        rows,
    )
}

/// Narrow networks have lower early-layer perplexity.
pub fn narrow_lower_early(e: &Evidence) -> Claim {
    let rows = per_dataset(e, |ds| {
        let Some(cs) = e.class_size(ds) else {
            return Row::not_measured(ds, "the dataset's class sizes are unknown");
        };
        width_trend(
            e,
            ds,
            |n| Some(e.perplexity(n, 1)? / cs),
            1.0,
            "layer-1 perplexity / class size",
        )
    });
    Claim::new(
        "narrow-lower-early",
        "Sec. 3.2, Fig. 3",
        "Below some width, the perplexity of the earlier layers falls with the width.",
        format!(
            "rank correlation of width with layer-1 test perplexity >= {} over the width sweep",
            e.t.rank_correlation_min
        ),
        rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transition_spans_from_the_last_high_layer_to_the_first_low_one() {
        // Class size 1000: high >= 500, low <= 50.
        assert_eq!(
            transition_span(&[990.0, 700.0, 300.0, 40.0, 2.0], 1000.0, 0.5, 0.05),
            2.0
        );
        // Already below the high level in layer 1: it started at the input (layer 0).
        assert_eq!(transition_span(&[300.0, 20.0], 1000.0, 0.5, 0.05), 2.0);
        // A rise back above the high level after a dip does not count after the low one.
        assert_eq!(
            transition_span(&[990.0, 30.0, 600.0, 10.0], 1000.0, 0.5, 0.05),
            1.0
        );
        assert!(transition_span(&[990.0, 400.0, 60.0], 1000.0, 0.5, 0.05).is_infinite());
    }

    #[test]
    fn the_steepest_fall_counts_the_input_as_the_class_size() {
        assert_eq!(steepest_fall(&[900.0, 90.0, 45.0], 1000.0), 10.0);
        assert_eq!(steepest_fall(&[100.0, 90.0], 1000.0), 10.0);
        assert_eq!(steepest_fall(&[1000.0, 1000.0], 1000.0), 1.0);
    }
}
