//! How robust each verdict is. A claim is checked again (a) at evenly spaced values
//! across the declared range of each threshold it sweeps, the others held, and (b) on
//! every leave-one-seed-out subset of the seeds. A row is **robust** if its verdict never
//! changes, **fragile** if it does (the row says at which values or without which seed),
//! and **not measured** if it was not measured, or if one seed leaves nothing to resample
//! and no threshold flips it.

use super::evidence::{ClaimData, Evidence};
use super::thresholds::Thresholds;
use super::verdict::{Claim, RobustClass, Robustness, Verdict};
use super::Check;
use std::collections::BTreeSet;

/// A threshold whose sweep flipped a row: its key, the values that flipped it, its range.
type Flip = (String, Vec<f64>, [f64; 2]);

/// How many evenly spaced values of a threshold's range are checked (ends included).
pub const GRID: usize = 11;

/// The claim at the configured thresholds and every seed, each row with its robustness.
pub fn assess(check: Check, data: &ClaimData, t: &Thresholds, kept: &str) -> Claim {
    let all = || data.seeds.clone();
    let mut base = check(&Evidence::new(data, all(), t.clone(), kept));
    let verdict_of = |c: &Claim, scope: &str| {
        c.rows
            .iter()
            .find(|r| r.scope == scope)
            .map_or(Verdict::NotMeasured, |r| r.verdict)
    };
    // Per row: the threshold values that flip it, per key.
    let mut flips: Vec<Vec<Flip>> = vec![Vec::new(); base.rows.len()];
    for s in &base.swept {
        let values: Vec<f64> = (0..GRID)
            .map(|i| s.range[0] + (s.range[1] - s.range[0]) * i as f64 / (GRID - 1) as f64)
            .collect();
        let mut flipped: Vec<Vec<f64>> = vec![Vec::new(); base.rows.len()];
        for &v in &values {
            let c = check(&Evidence::new(data, all(), t.with(s.key, v), kept));
            for (i, row) in base.rows.iter().enumerate() {
                let other = verdict_of(&c, &row.scope);
                if other != row.verdict {
                    flipped[i].push(v);
                }
            }
        }
        for (i, f) in flipped.into_iter().enumerate() {
            if !f.is_empty() {
                flips[i].push((s.key.to_string(), f, s.range));
            }
        }
    }
    // Per row: the seeds whose omission flips it, and those without which it cannot be
    // measured.
    let seeds: Vec<i64> = data.seeds.iter().copied().collect();
    let mut seed_flips: Vec<Vec<(i64, Verdict)>> = vec![Vec::new(); base.rows.len()];
    let mut unmeasurable: Vec<Vec<i64>> = vec![Vec::new(); base.rows.len()];
    if seeds.len() >= 2 {
        for &left_out in &seeds {
            let subset: BTreeSet<i64> = seeds.iter().copied().filter(|&s| s != left_out).collect();
            let c = check(&Evidence::new(data, subset, t.clone(), kept));
            for (i, row) in base.rows.iter().enumerate() {
                match verdict_of(&c, &row.scope) {
                    Verdict::NotMeasured if row.verdict != Verdict::NotMeasured => {
                        unmeasurable[i].push(left_out)
                    }
                    v if v != row.verdict => seed_flips[i].push((left_out, v)),
                    _ => {}
                }
            }
        }
    }
    for (i, row) in base.rows.iter_mut().enumerate() {
        row.robustness = Some(classify(
            row.verdict,
            &flips[i],
            &seed_flips[i],
            &unmeasurable[i],
            &seeds,
            base.swept.is_empty(),
        ));
    }
    base
}

fn list(values: &[i64]) -> String {
    values
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn classify(
    verdict: Verdict,
    flips: &[Flip],
    seed_flips: &[(i64, Verdict)],
    unmeasurable: &[i64],
    seeds: &[i64],
    no_threshold: bool,
) -> Robustness {
    let make = |class: RobustClass, thresholds: String, seeds: String| Robustness {
        class,
        class_text: class.text(),
        thresholds,
        seeds,
    };
    if verdict == Verdict::NotMeasured {
        return make(
            RobustClass::NotMeasured,
            "not measured".into(),
            "not measured".into(),
        );
    }
    let thresholds = if no_threshold {
        "a comparison: no threshold to move".to_string()
    } else if flips.is_empty() {
        "same verdict across every threshold's range".to_string()
    } else {
        flips
            .iter()
            .map(|(key, values, range)| {
                let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let at = if lo == hi {
                    format!("at {key} = {}", short(lo))
                } else {
                    format!("for {key} from {} to {}", short(lo), short(hi))
                };
                format!(
                    "flips {at} (range [{}, {}])",
                    short(range[0]),
                    short(range[1])
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let mut seed_text = if seeds.len() < 2 {
        format!("one seed ({}): nothing to resample", list(seeds))
    } else if seed_flips.is_empty() {
        format!("same verdict leaving out each of seeds {}", list(seeds))
    } else {
        seed_flips
            .iter()
            .map(|(s, v)| format!("{} without seed {s}", v.text()))
            .collect::<Vec<_>>()
            .join("; ")
    };
    if !unmeasurable.is_empty() {
        seed_text.push_str(&format!(
            " (not measurable without seed {})",
            list(unmeasurable)
        ));
    }
    let class = if !flips.is_empty() || !seed_flips.is_empty() {
        RobustClass::Fragile
    } else if seeds.len() < 2 {
        RobustClass::NotMeasured
    } else {
        RobustClass::Robust
    };
    make(class, thresholds, seed_text)
}

/// A threshold value as the report prints it: at most 4 significant digits.
pub fn short(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_is_robust_only_if_nothing_flips_it_and_seeds_were_resampled() {
        let r = classify(Verdict::Reproduced, &[], &[], &[], &[1, 2, 3], false);
        assert_eq!(r.class, RobustClass::Robust);
        assert_eq!(r.seeds, "same verdict leaving out each of seeds 1, 2, 3");
        let r = classify(Verdict::Reproduced, &[], &[], &[], &[1], false);
        assert_eq!(r.class, RobustClass::NotMeasured, "one seed");
        let flip = vec![("k".to_string(), vec![1.5, 1.65], [1.5, 3.0])];
        let r = classify(Verdict::NotReproduced, &flip, &[], &[], &[1], false);
        assert_eq!(r.class, RobustClass::Fragile);
        assert_eq!(
            r.thresholds,
            "flips for k from 1.5 to 1.65 (range [1.5, 3])"
        );
        let r = classify(
            Verdict::Reproduced,
            &[],
            &[(2, Verdict::NotReproduced)],
            &[3],
            &[1, 2, 3],
            true,
        );
        assert_eq!(r.class, RobustClass::Fragile);
        assert_eq!(
            r.seeds,
            "not reproduced without seed 2 (not measurable without seed 3)"
        );
        assert_eq!(r.thresholds, "a comparison: no threshold to move");
        let r = classify(Verdict::NotMeasured, &flip, &[], &[], &[1, 2], false);
        assert_eq!(r.class, RobustClass::NotMeasured);
    }

    #[test]
    fn thresholds_print_short() {
        assert_eq!(short(2.0), "2");
        assert_eq!(short(0.05), "0.05");
        assert_eq!(short(1.23456), "1.2346");
    }
}
