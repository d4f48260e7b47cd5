//! Tests of the node classifiers on small hand-checkable problems and
//! against a naive implementation of the spec's formulas.

use super::*;
use crate::analysis::kde::log_density_exact;
use crate::rng::SplitMix64;

#[test]
fn ties_go_to_the_lowest_class() {
    assert_eq!(argmax_lowest(&[1.0, 3.0, 3.0, 2.0]), 1);
    assert_eq!(argmax_lowest(&[-5.0, -5.0]), 0);
    // Two classes with identical train data (rows (1, -1), (2, 0.5) each):
    // every score ties.
    let z = [1.0, -1.0, 2.0, 0.5, 1.0, -1.0, 2.0, 0.5];
    let labels = [0, 0, 1, 1];
    let clf = LayerClassifiers::fit(&z, 4, 2, &labels, 2).unwrap();
    let ev = clf.evaluate(&z, 4, &labels).unwrap();
    for system in System::ALL {
        assert_eq!(ev.get(system).predictions, vec![0, 0, 0, 0], "{system:?}");
        assert_eq!(ev.get(system).accuracy, 0.5);
    }
}

#[test]
fn laplace_smoothing() {
    // One node. Class 0: 3 of 4 on; class 1: 0 of 2 on; class 2: absent.
    let z = [1.0, 2.0, 0.0, 3.0, -1.0, -2.0];
    let labels = [0, 0, 0, 0, 1, 1];
    let clf = LayerClassifiers::fit(&z, 6, 1, &labels, 3).unwrap();
    assert_eq!(clf.p_on(0), &[4.0 / 6.0, 1.0 / 4.0, 0.5]);
    let lp = clf.log_priors();
    assert!((lp[0] - (4.0f64 / 6.0).ln()).abs() < 1e-15);
    assert_eq!(lp[2], f64::NEG_INFINITY);
    assert!(clf.kde(0, 2).is_none());
    // Discrete node posterior for z > 0: P(0) = (4/6)(4/6) / ((4/6)(4/6) + (1/4)(2/6)).
    let s = clf.scores(&[5.0], 1).unwrap();
    let (a, b): (f64, f64) = (4.0 / 6.0 * 4.0 / 6.0, 0.25 * 2.0 / 6.0);
    let d = &s[System::Discrete as usize];
    assert!((d[0] - (a / (a + b)).ln()).abs() < 1e-12);
    assert!((d[1] - (b / (a + b)).ln()).abs() < 1e-12);
    assert_eq!(d[2], LN_POSTERIOR_FLOOR);
}

#[test]
fn vanishing_posterior_adds_the_floor_not_minus_infinity() {
    // Two nodes, classes 1000 apart: at z = 0 class 1's KDE posterior is
    // e^-(huge), which must contribute exactly ln 1e-10 per node.
    let z = [
        0.0, 0.1, 0.1, 0.0, 0.05, 0.05, 1000.0, 1000.1, 1000.1, 1000.0, 1000.05, 1000.05,
    ];
    let labels = [0, 0, 0, 1, 1, 1];
    let clf = LayerClassifiers::fit(&z, 6, 2, &labels, 2).unwrap();
    let s = clf.scores(&[0.0, 0.1], 1).unwrap();
    let cont = &s[System::Continuous as usize];
    assert!(cont[0].abs() < 1e-12, "{cont:?}");
    assert_eq!(cont[1], 2.0 * LN_POSTERIOR_FLOOR);
    // Combined: node 0 has z = 0 (discrete), node 1 z > 0 (KDE).
    assert!(s[System::Combined as usize].iter().all(|v| v.is_finite()));
    // Far from both classes: still finite, and the nearer class wins.
    let s = clf.scores(&[1e6, -1e6], 1).unwrap();
    assert!(s.iter().flatten().all(|v| v.is_finite()));
}

#[test]
fn separable_problem_is_classified_perfectly() {
    // Class c turns node c on with a class-specific value; other nodes off.
    let mut rng = SplitMix64::new(7);
    let (n_classes, width, n) = (3usize, 4usize, 60usize);
    let mut z = Vec::new();
    let mut labels = Vec::new();
    for i in 0..n {
        let c = i % n_classes;
        labels.push(c as u8);
        for j in 0..width {
            let v = if j == c {
                1.0 + c as f64 + 0.1 * rng.normal()
            } else {
                -1.0 - 0.1 * rng.uniform()
            };
            z.push(v as f32);
        }
    }
    let clf = LayerClassifiers::fit(&z, n, width, &labels, n_classes).unwrap();
    let ev = clf.evaluate(&z, n, &labels).unwrap();
    for system in System::ALL {
        assert_eq!(ev.get(system).accuracy, 1.0, "{system:?}");
    }
}

/// The spec's formulas computed the slow, obvious way.
fn naive_scores(
    z_train: &[f32],
    labels: &[u8],
    width: usize,
    n_classes: usize,
    z: &[f32],
) -> [Vec<f64>; 3] {
    let n = labels.len();
    let mut out = [vec![], vec![], vec![]];
    let class_values = |j: usize, c: usize| -> Vec<f32> {
        (0..n)
            .filter(|&r| labels[r] as usize == c)
            .map(|r| z_train[r * width + j])
            .collect()
    };
    for row in z.chunks(width) {
        let mut s = vec![[0.0f64; 3]; n_classes];
        for (j, &x) in row.iter().enumerate() {
            let mut joints = [vec![], vec![], vec![]];
            for c in 0..n_classes {
                let v = class_values(j, c);
                let prior = (v.len() as f64 / n as f64).ln();
                let p_on =
                    (v.iter().filter(|&&t| t > 0.0).count() as f64 + 1.0) / (v.len() as f64 + 2.0);
                let ld = if x > 0.0 {
                    p_on.ln()
                } else {
                    (1.0 - p_on).ln()
                };
                let h = crate::analysis::bandwidth::silverman_bandwidth(&v).unwrap();
                let lk = log_density_exact(&v, h, x);
                joints[0].push(ld + prior);
                joints[1].push(lk + prior);
                joints[2].push(if x > 0.0 { lk } else { ld } + prior);
            }
            for (k, a) in joints.iter().enumerate() {
                let m = a.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let lse = m + a.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
                for c in 0..n_classes {
                    s[c][k] += (a[c] - lse).max(1e-10f64.ln());
                }
            }
        }
        for k in 0..3 {
            out[k].extend(s.iter().map(|v| v[k]));
        }
    }
    out
}

#[test]
fn matches_naive_implementation() {
    let mut rng = SplitMix64::new(11);
    // Node 5 has a constant class (h = 1e-6), so part of it takes the
    // per-sample path; the others are tabulated.
    let (n_classes, width, n_train, n_eval) = (4usize, 6usize, 400usize, 150usize);
    let means: Vec<f64> = (0..n_classes * width).map(|_| 2.0 * rng.normal()).collect();
    let gen = |n: usize, rng: &mut SplitMix64| {
        let mut z = Vec::new();
        let mut labels = Vec::new();
        for _ in 0..n {
            let c = rng.below(n_classes as u64) as usize;
            labels.push(c as u8);
            for j in 0..width {
                // Some exact zeros, some ties, mostly continuous values.
                let v = means[c * width + j] + rng.normal();
                z.push(match j {
                    4 => v.max(0.0) as f32,
                    5 if c == 0 => 0.0,
                    _ => v as f32,
                });
            }
        }
        (z, labels)
    };
    let (zt, lt) = gen(n_train, &mut rng);
    let (mut ze, le) = gen(n_eval, &mut rng);
    // A few far-out evaluation values.
    ze[3] = 1e4;
    ze[17] = -300.0;
    let clf = LayerClassifiers::fit(&zt, n_train, width, &lt, n_classes).unwrap();
    assert!((0..5).all(|j| clf.table_points(j).is_some()));
    // Node 5's constant class needs a spacing no block can afford: the
    // blocks near 0 are left to the per-sample path.
    let (_, direct) = clf.nodes[5].table.as_ref().map_or((0, 1), |t| t.n_blocks());
    assert!(direct > 0);
    let fast = clf.scores(&ze, n_eval).unwrap();
    let naive = naive_scores(&zt, &lt, width, n_classes, &ze);
    for k in 0..3 {
        let mut worst: f64 = 0.0;
        for (i, (f, e)) in fast[k].iter().zip(&naive[k]).enumerate() {
            worst = worst.max((f - e).abs());
            assert!(
                (f - e).abs() <= 1e-3 * width as f64,
                "system {k}, entry {i}: {f} vs {e}"
            );
        }
        println!("system {k}: largest score difference from the naive sum {worst:.2e}");
    }
    let ev = clf.evaluate(&ze, n_eval, &le).unwrap();
    for (k, system) in System::ALL.iter().enumerate() {
        let naive_pred: Vec<u8> = naive[k]
            .chunks(n_classes)
            .map(|s| argmax_lowest(s) as u8)
            .collect();
        assert_eq!(ev.get(*system).predictions, naive_pred, "{system:?}");
    }
}

#[test]
fn rejects_mismatched_inputs() {
    let z = [1.0, 2.0, 3.0, 4.0];
    let clf = LayerClassifiers::fit(&z, 2, 2, &[0, 1], 2).unwrap();
    assert!(matches!(
        clf.evaluate(&z[..3], 1, &[0]),
        Err(KernelError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        clf.evaluate(&z, 2, &[0, 2]),
        Err(KernelError::LabelOutOfRange { index: 1, .. })
    ));
    assert!(matches!(
        LayerClassifiers::fit(&[f32::INFINITY, 0.0], 1, 2, &[0], 1),
        Err(KernelError::NonFinite { row: 0, col: 0, .. })
    ));
    assert!(matches!(
        LayerClassifiers::fit(&[], 0, 2, &[], 1),
        Err(KernelError::Empty { .. })
    ));
}

/// A layer like the last ones of a trained network: each class is a tight
/// cluster at every node, with a few percent of its samples spread far away
/// (the misclassified ones). Silverman bandwidths are then set by the
/// clusters, thousands of times smaller than the nodes' ranges.
fn clusters_with_far_outliers(
    n: usize,
    n_classes: usize,
    width: usize,
    rng: &mut SplitMix64,
) -> (Vec<f32>, Vec<u8>) {
    let mut z = Vec::with_capacity(n * width);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let c = rng.below(n_classes as u64) as usize;
        labels.push(c as u8);
        for j in 0..width {
            let centre = 0.1 * ((c * 7 + j * 3) % n_classes) as f64 - 0.2;
            let v = if rng.uniform() < 0.03 {
                rng.uniform() - 0.5
            } else {
                centre + 0.002 * rng.normal()
            };
            z.push(v as f32);
        }
    }
    (z, labels)
}

#[test]
fn tight_clusters_with_far_outliers_are_tabulated() {
    // A single-spacing table would need h_min / 8 over the whole range
    // (here tens of thousands of points), too many to pay off, and would
    // leave every such node to the per-sample path; the blocks tabulate them, and the few samples left
    // to the direct path must still give the exact scores.
    let mut rng = SplitMix64::new(21);
    let (n_classes, width, n_train, n_eval) = (4usize, 3usize, 6000usize, 1500usize);
    let (zt, lt) = clusters_with_far_outliers(n_train, n_classes, width, &mut rng);
    let (ze, _) = clusters_with_far_outliers(n_eval, n_classes, width, &mut rng);
    let clf = LayerClassifiers::fit(&zt, n_train, width, &lt, n_classes).unwrap();
    let mut scratch = ChunkScratch::new(n_train);
    let mut post = vec![0.0; n_train * n_classes];
    for (j, node) in clf.nodes.iter().enumerate() {
        let kde = clf.kde(j, 0).unwrap();
        assert!((kde.max() - kde.min()) / kde.bandwidth() > 1000.0);
        assert!(clf.table_points(j).is_some());
        let xs: Vec<f64> = zt
            .iter()
            .skip(j)
            .step_by(width)
            .map(|&v| f64::from(v))
            .collect();
        node.table_posteriors(&xs, &mut post, &mut scratch);
        // About the outliers (3%, spread thin: not worth tabulating).
        let direct = scratch.pending.len() as f64 / n_train as f64;
        assert!(direct < 0.1, "node {j}: {direct} of the samples direct");
    }
    let fast = clf.scores(&ze, n_eval).unwrap();
    let naive = naive_scores(&zt, &lt, width, n_classes, &ze);
    for k in 0..3 {
        let mut worst: f64 = 0.0;
        for (i, (f, e)) in fast[k].iter().zip(&naive[k]).enumerate() {
            worst = worst.max((f - e).abs());
            assert!(
                (f - e).abs() <= 1e-3 * width as f64,
                "system {k}, entry {i}: {f} vs {e}"
            );
        }
        println!("system {k}: largest score difference from the naive sum {worst:.2e}");
    }
}

#[test]
fn results_do_not_depend_on_the_number_of_threads() {
    let mut rng = SplitMix64::new(22);
    let (n_classes, width, n_train, n_eval) = (3usize, 4usize, 3000usize, 2100usize);
    let (zt, lt) = clusters_with_far_outliers(n_train, n_classes, width, &mut rng);
    let (mut ze, _) = clusters_with_far_outliers(n_eval, n_classes, width, &mut rng);
    // Some samples off every table.
    for v in ze.iter_mut().step_by(37) {
        *v *= 50.0;
    }
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let clf = LayerClassifiers::fit(&zt, n_train, width, &lt, n_classes).unwrap();
            clf.scores(&ze, n_eval).unwrap()
        })
    };
    let one = run(1);
    for threads in [2, 3] {
        let many = run(threads);
        for k in 0..3 {
            assert!(
                one[k]
                    .iter()
                    .zip(&many[k])
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "system {k}, {threads} threads"
            );
        }
    }
}
