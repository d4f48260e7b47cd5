//! The perplexity findings: close to the class size in the first layer, close to 1 in
//! the last, and a sharp fall in between.

use super::evidence::{Claim, Evidence};
use crate::results::{transition_layer, Summary};

/// Late-layer perplexity near 1.
pub fn last_layer_near_one(e: &Evidence) -> Vec<Claim> {
    let name = "Perplexity in the last hidden layer is close to 1 (networks with 4 or more layers)";
    let threshold = "median <= 5";
    let last = e
        .deep_nets()
        .filter_map(|n| e.perplexity(n, n.depth))
        .collect();
    vec![match Summary::of(last) {
        None => Claim::not_measured(name, threshold, "no network with 4 or more hidden layers"),
        Some(s) => Claim::measured(
            name,
            format!(
                "median {:.2} over {} networks (range {:.2} to {:.2})",
                s.median, s.n, s.min, s.max
            ),
            threshold,
            s.median <= 5.0,
        ),
    }]
}

/// First-layer perplexity near the class size for wide networks.
pub fn first_layer_near_class_size(e: &Evidence) -> Vec<Claim> {
    let name =
        "Perplexity in the first layer is close to the number of samples per class (width >= 100)";
    let class_size = e.class_size;
    let threshold = format!("median >= 90% of the class size ({class_size:.0} test samples)");
    let first = e
        .paper_nets()
        .filter(|n| n.width >= 100)
        .filter_map(|n| e.perplexity(n, 1))
        .collect();
    vec![match Summary::of(first) {
        None => Claim::not_measured(name, &threshold, "no network of width 100 or more"),
        Some(s) => Claim::measured(
            name,
            format!(
                "median {:.0} = {:.0}% of the class size, over {} networks",
                s.median,
                100.0 * s.median / class_size,
                s.n
            ),
            &threshold,
            s.median >= 0.9 * class_size,
        ),
    }]
}

/// The sharp transition: from >= 50% of the class size to <= 5% within 3 layers.
pub fn sharp_transition(e: &Evidence) -> Vec<Claim> {
    let name = "Perplexity falls sharply: from at least half the class size to at most 5% of it within 3 layers";
    let threshold = "median transition width <= 3 layers";
    let widths = e
        .deep_nets()
        .filter_map(|n| {
            let per_layer: Vec<f64> = (1..=n.depth).filter_map(|l| e.perplexity(n, l)).collect();
            let high = per_layer.iter().rposition(|&p| p >= 0.5 * e.class_size)?;
            let low = per_layer.iter().position(|&p| p <= 0.05 * e.class_size)?;
            Some(low as f64 - high as f64)
        })
        .collect();
    let Some(s) = Summary::of(widths) else {
        return vec![Claim::not_measured(
            name,
            threshold,
            "no network passes both levels",
        )];
    };
    let t = e.transition_threshold;
    // The layer where each deep network first falls below the threshold, from every
    // snapshot the rows hold.
    let reached: Vec<String> = e
        .deep_nets()
        .filter_map(|n| transition_layer(e.rows, n, t).map(|l| format!("{l:.0}")))
        .collect();
    let where_ = if reached.is_empty() {
        format!("no network reaches perplexity < {t}")
    } else {
        format!(
            "perplexity < {t} first reached in layers {}",
            reached.join(", ")
        )
    };
    vec![Claim::measured(
        name,
        format!(
            "median {:.0} layers over {} networks ({where_})",
            s.median, s.n
        ),
        threshold,
        s.median <= 3.0,
    )]
}
