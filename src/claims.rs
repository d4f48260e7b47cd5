//! The paper's findings, checked automatically against the analysis tables of the best
//! snapshots. Each claim states its measured value and the threshold used; a claim whose
//! networks the configuration does not train is "not measured", never silently dropped.

use crate::stages::figures::{transition_layer, MetricRow, NetKey};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Claim {
    pub claim: String,
    pub measured: String,
    pub threshold: String,
    /// "reproduced", "not reproduced" or "not measured".
    pub verdict: String,
}

fn verdict(ok: bool) -> String {
    if ok { "reproduced" } else { "not reproduced" }.to_string()
}

fn not_measured(claim: &str, threshold: &str, why: &str) -> Claim {
    Claim {
        claim: claim.into(),
        measured: why.into(),
        threshold: threshold.into(),
        verdict: "not measured".into(),
    }
}

/// Mean over seeds of one metric for one network and layer.
fn value(
    rows: &[&MetricRow],
    net: &NetKey,
    layer: usize,
    system: &str,
    split: &str,
    metric: &str,
) -> Option<f64> {
    let v: Vec<f64> = rows
        .iter()
        .filter(|r| {
            &r.net == net
                && r.layer == layer
                && r.system == system
                && r.split == split
                && r.metric == metric
                && r.class < 0
        })
        .map(|r| r.value)
        .collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// Mean number of test samples per class, from the per-class perplexity rows' network.
pub fn check(rows: &[MetricRow], class_size: f64, transition_threshold: f64) -> Vec<Claim> {
    let best: Vec<&MetricRow> = rows.iter().filter(|r| r.snapshot == "best").collect();
    let mut nets: Vec<NetKey> = best.iter().map(|r| r.net.clone()).collect();
    nets.sort();
    nets.dedup();
    let relu: Vec<&NetKey> = nets
        .iter()
        .filter(|n| n.activation == "relu" && n.loss == "mse")
        .collect();
    let deep: Vec<&NetKey> = relu.iter().copied().filter(|n| n.depth >= 4).collect();
    let mut claims = Vec::new();

    // 1. Late-layer perplexity near 1.
    let name = "Perplexity in the last hidden layer is close to 1 (networks with 4 or more layers)";
    let threshold = "median <= 5";
    let mut last: Vec<f64> = deep
        .iter()
        .filter_map(|n| value(&best, n, n.depth, "patterns", "test", "mean_perplexity"))
        .collect();
    if last.is_empty() {
        claims.push(not_measured(
            name,
            threshold,
            "no network with 4 or more hidden layers",
        ));
    } else {
        last.sort_by(f64::total_cmp);
        let median = last[last.len() / 2];
        claims.push(Claim {
            claim: name.into(),
            measured: format!(
                "median {median:.2} over {} networks (range {:.2} to {:.2})",
                last.len(),
                last[0],
                last[last.len() - 1]
            ),
            threshold: threshold.into(),
            verdict: verdict(median <= 5.0),
        });
    }

    // 2. First-layer perplexity near the class size for wide networks.
    let name =
        "Perplexity in the first layer is close to the number of samples per class (width >= 100)";
    let threshold = format!("median >= 90% of the class size ({class_size:.0} test samples)");
    let mut first: Vec<f64> = relu
        .iter()
        .filter(|n| n.width >= 100)
        .filter_map(|n| value(&best, n, 1, "patterns", "test", "mean_perplexity"))
        .collect();
    if first.is_empty() {
        claims.push(not_measured(
            name,
            &threshold,
            "no network of width 100 or more",
        ));
    } else {
        first.sort_by(f64::total_cmp);
        let median = first[first.len() / 2];
        claims.push(Claim {
            claim: name.into(),
            measured: format!(
                "median {median:.0} = {:.0}% of the class size, over {} networks",
                100.0 * median / class_size,
                first.len()
            ),
            threshold,
            verdict: verdict(median >= 0.9 * class_size),
        });
    }

    // 3. The sharp transition: from >= 50% of the class size to <= 5% within 3 layers.
    let name = "Perplexity falls sharply: from at least half the class size to at most 5% of it within 3 layers";
    let threshold = "median transition width <= 3 layers";
    let mut widths = Vec::new();
    for n in &deep {
        let per_layer: Vec<f64> = (1..=n.depth)
            .filter_map(|l| value(&best, n, l, "patterns", "test", "mean_perplexity"))
            .collect();
        let high = per_layer.iter().rposition(|&p| p >= 0.5 * class_size);
        let low = per_layer.iter().position(|&p| p <= 0.05 * class_size);
        if let (Some(h), Some(l)) = (high, low) {
            widths.push(l as f64 - h as f64);
        }
    }
    if widths.is_empty() {
        claims.push(not_measured(
            name,
            threshold,
            "no network passes both levels",
        ));
    } else {
        widths.sort_by(f64::total_cmp);
        let median = widths[widths.len() / 2];
        claims.push(Claim {
            claim: name.into(),
            measured: {
                let reached: Vec<String> = deep
                    .iter()
                    .filter_map(|n| {
                        transition_layer(rows, n, transition_threshold).map(|l| format!("{l:.0}"))
                    })
                    .collect();
                let where_ = if reached.is_empty() {
                    format!("no network reaches perplexity < {transition_threshold}")
                } else {
                    format!(
                        "perplexity < {transition_threshold} first reached in layers {}",
                        reached.join(", ")
                    )
                };
                format!(
                    "median {median:.0} layers over {} networks ({where_})",
                    widths.len()
                )
            },
            threshold: threshold.into(),
            verdict: verdict(median <= 3.0),
        });
    }

    // 4. The systems match the network's accuracy in later layers.
    let name = "In the last hidden layer the node-based systems match the network's test accuracy (networks with 4 or more layers)";
    let threshold = "largest gap (combined system vs network) <= 1 percentage point";
    let gaps: Vec<(f64, &NetKey)> = nets
        .iter()
        .filter(|n| n.depth >= 4)
        .filter_map(|n| {
            Some((
                (value(&best, n, n.depth, "combined", "test", "accuracy")?
                    - value(&best, n, n.depth + 1, "network", "test", "accuracy")?)
                .abs(),
                n,
            ))
        })
        .collect();
    match gaps.iter().max_by(|a, b| a.0.total_cmp(&b.0)) {
        None => claims.push(not_measured(name, threshold, "no network")),
        Some((worst, n)) => claims.push(Claim {
            claim: name.into(),
            measured: format!(
                "largest gap {:.2} points ({} {}x{}), over {} networks",
                100.0 * worst,
                n.dataset,
                n.depth,
                n.width,
                gaps.len()
            ),
            threshold: threshold.into(),
            verdict: verdict(*worst <= 0.01),
        }),
    }

    // 5. The combined system is best in the first layer.
    let name = "In the first layer the combined system is the most accurate of the three";
    let threshold = "in at least 80% of the networks";
    let firsts: Vec<bool> = nets
        .iter()
        .filter_map(|n| {
            let c = value(&best, n, 1, "combined", "test", "accuracy")?;
            let d = value(&best, n, 1, "discrete", "test", "accuracy")?;
            let k = value(&best, n, 1, "continuous", "test", "accuracy")?;
            Some(c >= d && c >= k)
        })
        .collect();
    if firsts.is_empty() {
        claims.push(not_measured(name, threshold, "no network"));
    } else {
        let share = firsts.iter().filter(|&&b| b).count() as f64 / firsts.len() as f64;
        claims.push(Claim {
            claim: name.into(),
            measured: format!("{:.0}% of {} networks", 100.0 * share, firsts.len()),
            threshold: threshold.into(),
            verdict: verdict(share >= 0.8),
        });
    }

    // 6. Test error saturates with depth and with width.
    for (sweep, key) in [
        ("depth", (|n: &NetKey| n.depth) as fn(&NetKey) -> usize),
        ("width", |n: &NetKey| n.width),
    ] {
        let name = format!("Test error saturates with {sweep}: the larger half of the sweep changes it by less than the smaller half");
        let threshold =
            "|change over the larger half| < |change over the smaller half|, per dataset"
                .to_string();
        let mut parts = Vec::new();
        let mut all_ok = true;
        let mut by_dataset: BTreeMap<&str, Vec<(usize, f64)>> = BTreeMap::new();
        for n in &relu {
            // A sweep varies one dimension with the other fixed at the most common value.
            if let Some(acc) = value(&best, n, n.depth + 1, "network", "test", "accuracy") {
                by_dataset
                    .entry(n.dataset.as_str())
                    .or_default()
                    .push((key(n), 1.0 - acc));
            }
        }
        for (ds, points) in &mut by_dataset {
            let other: Vec<&NetKey> = relu.iter().copied().filter(|n| n.dataset == *ds).collect();
            let fixed =
                most_common(
                    other
                        .iter()
                        .map(|n| if sweep == "depth" { n.width } else { n.depth }),
                );
            points.clear();
            for n in other
                .iter()
                .filter(|n| (if sweep == "depth" { n.width } else { n.depth }) == fixed)
            {
                if let Some(acc) = value(&best, n, n.depth + 1, "network", "test", "accuracy") {
                    points.push((key(n), 1.0 - acc));
                }
            }
            points.sort_by_key(|p| p.0);
            points.dedup_by_key(|p| p.0);
            if points.len() < 3 {
                continue;
            }
            let mid = points.len() / 2;
            let early = points[mid].1 - points[0].1;
            let late = points[points.len() - 1].1 - points[mid].1;
            all_ok &= late.abs() < early.abs();
            parts.push(format!(
                "{ds}: {:.2}% -> {:.2}% -> {:.2}% ({sweep} {} -> {} -> {})",
                100.0 * points[0].1,
                100.0 * points[mid].1,
                100.0 * points[points.len() - 1].1,
                points[0].0,
                points[mid].0,
                points[points.len() - 1].0
            ));
        }
        if parts.is_empty() {
            claims.push(not_measured(
                &name,
                &threshold,
                &format!("no {sweep} sweep of 3 or more networks"),
            ));
        } else {
            claims.push(Claim {
                claim: name,
                measured: parts.join("; "),
                threshold,
                verdict: verdict(all_ok),
            });
        }
    }
    claims
}

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
