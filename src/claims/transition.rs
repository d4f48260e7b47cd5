//! The shape of the transition from high to low perplexity (Secs. 2, 3.2, 3.3, 7, Fig.
//! 3): sharp, similar across networks, concentrated rather than spread evenly over depth,
//! low for good once done, monotonic, and early in the network.

use super::evidence::Evidence;
use super::robustness::short;
use super::verdict::{Claim, Row};
use super::{median_row, pct, per_dataset};
use crate::results::{NetKey, Summary};

/// Layers from the last one at or above `high` x class size to the first one at or
/// below `low` x class size after it (the input counts as layer 0, at the class size);
/// infinite if perplexity never falls that low.
pub fn transition_span(profile: &[f64], class_size: f64, high: f64, low: f64) -> f64 {
    let Some(end) = transition_end(profile, class_size, low) else {
        return f64::INFINITY;
    };
    let start = profile[..end - 1]
        .iter()
        .rposition(|&p| p >= high * class_size)
        .map_or(0, |i| i + 1);
    (end - start) as f64
}

/// The first hidden layer (1-based) at or below `low` x class size.
pub fn transition_end(profile: &[f64], class_size: f64, low: f64) -> Option<usize> {
    profile
        .iter()
        .position(|&p| p <= low * class_size)
        .map(|i| i + 1)
}

/// The largest fall of perplexity from one hidden layer to the next, as a factor; None
/// for a single hidden layer.
pub fn steepest_fall(profile: &[f64]) -> Option<f64> {
    profile.windows(2).map(|w| w[0] / w[1]).reduce(f64::max)
}

/// The steepest one-layer share of the whole fall in log perplexity (from the class size
/// at the input to the last hidden layer), times the number of steps: 1 if the fall is
/// spread evenly over depth, `depth` if it all happens in one step. None without a fall.
pub fn concentration(profile: &[f64], class_size: f64) -> Option<f64> {
    let last = *profile.last()?;
    let total = class_size.ln() - last.ln();
    if total <= 0.0 {
        return None;
    }
    let steps: Vec<f64> = std::iter::once(class_size)
        .chain(profile.iter().copied())
        .collect::<Vec<f64>>()
        .windows(2)
        .map(|w| w[0].ln() - w[1].ln())
        .collect();
    let steepest = steps.iter().copied().fold(f64::MIN, f64::max);
    Some(steepest / total * steps.len() as f64)
}

/// The largest rise of perplexity from one hidden layer to the next, as a factor (1 if
/// it never rises).
pub fn largest_rise(profile: &[f64]) -> f64 {
    profile.windows(2).map(|w| w[1] / w[0]).fold(1.0, f64::max)
}

/// Networks with their hidden layers' test perplexities.
type Profiles<'e> = Vec<(&'e NetKey, Vec<f64>)>;

/// Each deep network with its profile, for a dataset with a known class size.
fn profiles<'e>(e: &'e Evidence, ds: &'e str) -> Option<(f64, Profiles<'e>)> {
    let cs = e.class_size(ds)?;
    Some((
        cs,
        e.deep_nets(ds)
            .filter_map(|n| Some((n, e.profile(n)?)))
            .collect(),
    ))
}

fn spans(e: &Evidence, cs: &f64, nets: &[(&NetKey, Vec<f64>)]) -> Vec<(f64, String)> {
    nets.iter()
        .map(|(n, p)| {
            (
                transition_span(p, *cs, e.t.transition_high.value, e.t.transition_low.value),
                n.shape(),
            )
        })
        .collect()
}

fn layers(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.1}")
    } else {
        "infinitely many".into()
    }
}

fn levels(e: &Evidence) -> String {
    format!(
        "from the last layer at >= {}% of the class size to the first at <= {}%",
        short(100.0 * e.t.transition_high.value),
        short(100.0 * e.t.transition_low.value)
    )
}

const UNKNOWN: &str = "the dataset's class sizes are unknown";

pub fn sharp_transition(e: &Evidence) -> Claim {
    let t = &e.t;
    let rows = per_dataset(e, |ds| {
        let Some((cs, nets)) = profiles(e, ds) else {
            return Row::not_measured(ds, UNKNOWN);
        };
        let spans = spans(e, &cs, &nets);
        let Some(s) = Summary::of(spans.iter().map(|x| x.0).collect()) else {
            return Row::not_measured(ds, format!("no {}", e.deep_text()));
        };
        let never: Vec<&str> = spans
            .iter()
            .filter(|x| x.0.is_infinite())
            .map(|x| x.1.as_str())
            .collect();
        let spans_text: Vec<String> = spans
            .iter()
            .filter(|x| x.0.is_finite())
            .map(|x| format!("{} {:.0}", x.1, x.0))
            .collect();
        let mut measured = format!("median {} layers over {} networks", layers(s.median), s.n);
        if !spans_text.is_empty() {
            measured.push_str(&format!(" ({})", spans_text.join(", ")));
        }
        if !never.is_empty() {
            measured.push_str(&format!(
                "; never falls to {}% of the class size: {}",
                short(100.0 * t.transition_low.value),
                never.join(", ")
            ));
        }
        Row::measured(
            ds,
            measured,
            Some(s.median),
            s.median <= t.transition_layers_max.value,
        )
    });
    Claim::new(
        "sharp-transition",
        "Sec. 3.2, 3.3, Fig. 3",
        "Perplexity falls from high to low sharply, over a few layers.",
        format!(
            "median number of layers {} <= {} ({}; a network that never falls that low counts as infinitely many)",
            levels(e),
            t.transition_layers_max.value,
            e.deep_text()
        ),
        rows,
    )
    .sweeping(t, &["transition_layers_max", "transition_high", "transition_low"])
}

pub fn transition_similar(e: &Evidence) -> Claim {
    let max = e.t.transition_spread_max.value;
    let rows = per_dataset(e, |ds| {
        let Some((cs, nets)) = profiles(e, ds) else {
            return Row::not_measured(ds, UNKNOWN);
        };
        let spans = spans(e, &cs, &nets);
        if spans.len() < 2 {
            return Row::not_measured(ds, format!("fewer than 2 {}", e.deep_text()));
        }
        let lo = spans.iter().map(|s| s.0).fold(f64::INFINITY, f64::min);
        let hi = spans.iter().map(|s| s.0).fold(f64::NEG_INFINITY, f64::max);
        // A network that never transitions is as unlike the others as can be.
        let spread = if hi.is_infinite() {
            f64::INFINITY
        } else {
            hi - lo
        };
        Row::measured(
            ds,
            format!(
                "spans from {} to {} layers over {} networks: they differ by {}",
                layers(lo),
                layers(hi),
                spans.len(),
                layers(spread)
            ),
            Some(spread),
            spread <= max,
        )
    });
    Claim::new(
        "transition-similar",
        "Sec. 3.2, 3.3, Fig. 3",
        "The transition from high to low perplexity is very similar across networks.",
        format!(
            "the transition spans ({}) of the {} differ by at most {} layers",
            levels(e),
            e.deep_text(),
            max
        ),
        rows,
    )
    .sweeping(
        &e.t,
        &["transition_spread_max", "transition_high", "transition_low"],
    )
}

pub fn transition_uneven(e: &Evidence) -> Claim {
    let min = e.t.uneven_min.value;
    let rows = per_dataset(e, |ds| {
        let Some((cs, nets)) = profiles(e, ds) else {
            return Row::not_measured(ds, UNKNOWN);
        };
        let values = nets
            .iter()
            .filter_map(|(_, p)| concentration(p, cs))
            .collect();
        median_row(
            ds,
            values,
            || format!("no {} whose perplexity falls", e.deep_text()),
            (
                "the steepest layer holds a median ",
                " times an even share of the fall",
            ),
            |v| format!("{v:.1}"),
            |m| m >= min,
        )
    });
    Claim::new(
        "transition-uneven",
        "Sec. 2, 3.2, Fig. 3",
        "The transition is strikingly sharp, not spread out over the available depth.",
        format!(
            "median over networks of the steepest one-layer share of the fall in log test perplexity (from the class size at the input to the last hidden layer), as a multiple of an even share (1 / depth), >= {min} ({})",
            e.deep_text()
        ),
        rows,
    )
    .sweeping(&e.t, &["uneven_min"])
}

pub fn stays_low_after_transition(e: &Evidence) -> Claim {
    let low = e.t.transition_low.value;
    let rows = per_dataset(e, |ds| {
        let Some((cs, nets)) = profiles(e, ds) else {
            return Row::not_measured(ds, UNKNOWN);
        };
        let done: Vec<(&NetKey, &Vec<f64>, usize)> = nets
            .iter()
            .filter_map(|(n, p)| Some((*n, p, transition_end(p, cs, low)?)))
            .collect();
        if done.is_empty() {
            return Row::not_measured(ds, format!("none of the {} falls that low", e.deep_text()));
        }
        let back: Vec<String> = done
            .iter()
            .filter(|(_, p, end)| p[*end..].iter().any(|&v| v > low * cs))
            .map(|(n, p, end)| {
                let peak = p[*end..].iter().copied().fold(f64::MIN, f64::max);
                format!("{} (up to {peak:.1})", n.shape())
            })
            .collect();
        Row::measured(
            ds,
            if back.is_empty() {
                format!("all {} networks that fall that low stay there", done.len())
            } else {
                format!(
                    "{} of {} rise above it again: {}",
                    back.len(),
                    done.len(),
                    back.join(", ")
                )
            },
            None,
            back.is_empty(),
        )
    });
    Claim::new(
        "stays-low-after-transition",
        "Sec. 3.3, Fig. 3",
        "After the transition, perplexity stays at its minimum through the excess layers.",
        format!(
            "every hidden layer after the first at <= {}% of the class size stays at or below that level ({})",
            short(100.0 * low),
            e.deep_text()
        ),
        rows,
    )
    .sweeping(&e.t, &["transition_low"])
}

pub fn monotone_transition(e: &Evidence) -> Claim {
    let max = e.t.monotone_rise_max.value;
    let rows = per_dataset(e, |ds| {
        let Some((_, nets)) = profiles(e, ds) else {
            return Row::not_measured(ds, UNKNOWN);
        };
        let Some((worst, n)) = nets
            .iter()
            .map(|(n, p)| (largest_rise(p), n))
            .max_by(|a, b| a.0.total_cmp(&b.0))
        else {
            return Row::not_measured(ds, format!("no {}", e.deep_text()));
        };
        let over = nets.iter().filter(|(_, p)| largest_rise(p) > max).count();
        Row::measured(
            ds,
            format!(
                "largest rise from one layer to the next: a factor {worst:.2} ({}); {over} of {} networks rise by more than {max}",
                n.shape(),
                nets.len()
            ),
            Some(worst),
            worst <= max,
        )
    });
    Claim::new(
        "monotone-transition",
        "Sec. 7",
        "The transition from general to class-related features is monotonic.",
        format!(
            "no hidden layer's test perplexity exceeds the previous layer's by more than a factor {max}, in any of the {}",
            e.deep_text()
        ),
        rows,
    )
    .sweeping(&e.t, &["monotone_rise_max"])
}

pub fn early_compression(e: &Evidence) -> Claim {
    let max = e.t.early_end_max.value;
    let low = e.t.transition_low.value;
    let rows = per_dataset(e, |ds| {
        let Some((cs, nets)) = profiles(e, ds) else {
            return Row::not_measured(ds, UNKNOWN);
        };
        let ends = nets
            .iter()
            .map(|(n, p)| {
                transition_end(p, cs, low).map_or(f64::INFINITY, |l| l as f64 / n.depth as f64)
            })
            .collect();
        median_row(
            ds,
            ends,
            || format!("no {}", e.deep_text()),
            (
                "the transition ends a median ",
                " of the way through the network",
            ),
            pct,
            |m| m <= max,
        )
    });
    Claim::new(
        "early-compression",
        "Sec. 3.3, 7",
        "Networks compress their class discrimination into the early layers; the later layers only pass it on.",
        format!(
            "median over networks of (first hidden layer at <= {}% of the class size) / depth <= {} ({}; never: infinite)",
            short(100.0 * low),
            short(max),
            e.deep_text()
        ),
        rows,
    )
    .sweeping(&e.t, &["early_end_max", "transition_low"])
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
        // A rise back above the high level after the low one does not count.
        assert_eq!(
            transition_span(&[990.0, 30.0, 600.0, 10.0], 1000.0, 0.5, 0.05),
            1.0
        );
        assert!(transition_span(&[990.0, 400.0, 60.0], 1000.0, 0.5, 0.05).is_infinite());
        assert_eq!(transition_end(&[990.0, 400.0, 40.0], 1000.0, 0.05), Some(3));
    }

    #[test]
    fn the_steepest_fall_is_between_hidden_layers() {
        assert_eq!(steepest_fall(&[900.0, 90.0, 45.0]), Some(10.0));
        // The input's class size does not count: 1000 -> 100 is not a step here.
        assert_eq!(steepest_fall(&[100.0, 90.0]), Some(100.0 / 90.0));
        assert_eq!(steepest_fall(&[100.0]), None);
    }

    #[test]
    fn concentration_is_1_for_an_even_fall_and_depth_for_a_single_step() {
        // 1000 -> 100 -> 10 -> 1: three equal steps in log.
        let even = concentration(&[100.0, 10.0, 1.0], 1000.0).unwrap();
        assert!((even - 1.0).abs() < 1e-12, "{even}");
        // 1000 -> 1000 -> 1 -> 1: all in one of three steps.
        let one = concentration(&[1000.0, 1.0, 1.0], 1000.0).unwrap();
        assert!((one - 3.0).abs() < 1e-12, "{one}");
        assert_eq!(concentration(&[1000.0, 1000.0], 1000.0), None);
    }

    #[test]
    fn the_largest_rise_is_a_factor_and_1_without_one() {
        assert_eq!(largest_rise(&[900.0, 20.0, 30.0, 15.0]), 1.5);
        assert_eq!(largest_rise(&[900.0, 20.0, 10.0]), 1.0);
    }
}
