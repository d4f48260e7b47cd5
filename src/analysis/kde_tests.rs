//! Tests of the fast KDE against the direct sum, on data chosen to stress the
//! grid: several shapes, ties, constants, heavy tails and far-away points.

use super::*;
use crate::rng::SplitMix64;

/// Largest errors seen, for the report printed with `--nocapture`.
#[derive(Default, Debug)]
struct Worst {
    core_abs: f64,
    tail_rel: f64,
    tail_abs: f64,
    n_core: usize,
    n_tail: usize,
}

/// Evaluation points: a uniform scan over the data range widened by 30 h,
/// offsets around sampled data values, points just inside and outside the
/// grid edge, and very far points.
fn probe_points(values: &[f32], h: f64) -> Vec<f32> {
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(f64::from(v)), b.max(f64::from(v)))
        });
    let mut pts = Vec::new();
    let (a, b) = (lo - 30.0 * h, hi + 30.0 * h);
    for i in 0..=1500 {
        pts.push((a + (b - a) * i as f64 / 1500.0) as f32);
    }
    let step = (values.len() / 300).max(1);
    for &v in values.iter().step_by(step) {
        for k in [
            -15.0, -7.0, -4.5, -2.0, -0.7, 0.0, 0.31, 1.3, 3.0, 6.1, 9.5, 12.0,
        ] {
            pts.push((f64::from(v) + k * h) as f32);
        }
    }
    for k in [6.0, 8.9, 9.0, 9.1, 10.0, 20.0, 100.0, 1e4] {
        pts.push((hi + k * h) as f32);
        pts.push((lo - k * h) as f32);
    }
    let span = (hi - lo).max(1.0);
    for k in [1e3, 1e6, 1e12] {
        pts.push((hi + k * span) as f32);
        pts.push((lo - k * span) as f32);
    }
    pts.push(f32::MAX);
    pts.push(-f32::MAX);
    pts
}

/// Asserts the spec's contract at every probe point and that the fast walk
/// and batch API agree with the reference.
fn check_contract(name: &str, values: &[f32]) -> Worst {
    let kde = Kde::fit(values).unwrap();
    let h = kde.bandwidth();
    let pts = probe_points(values, h);
    let exact: Vec<f64> = pts
        .iter()
        .map(|&x| log_density_exact(values, h, x))
        .collect();
    // The peak of the density is near a data value or a scanned point.
    let at_values = values
        .iter()
        .step_by((values.len() / 1000).max(1))
        .map(|&v| log_density_exact(values, h, v));
    let ln_peak = exact
        .iter()
        .copied()
        .chain(at_values)
        .fold(f64::NEG_INFINITY, f64::max);
    let mut fast = vec![0.0; pts.len()];
    kde.log_density_many(&pts, &mut fast).unwrap();
    let mut worst = Worst::default();
    for ((&x, &e), &f) in pts.iter().zip(&exact).zip(&fast) {
        assert!(e.is_finite(), "{name}: reference not finite at {x}");
        assert!(f.is_finite(), "{name}: fast not finite at {x} (exact {e})");
        if e >= ln_peak + 1e-8f64.ln() {
            let err = (f - e).abs();
            worst.core_abs = worst.core_abs.max(err);
            worst.n_core += 1;
            assert!(
                err <= 1e-3,
                "{name}: x = {x}: fast {f} vs exact {e} (abs err {err})"
            );
        } else {
            let err = (f - e).abs() / e.abs().max(1e-300);
            worst.tail_rel = worst.tail_rel.max(err);
            worst.tail_abs = worst.tail_abs.max((f - e).abs());
            worst.n_tail += 1;
            assert!(
                err <= 1e-3,
                "{name}: tail x = {x}: fast {f} vs exact {e} (rel err {err})"
            );
        }
        // The exact walk itself must match the direct sum closely.
        let w = kde.log_density_walk(f64::from(x));
        assert!(
            (w - e).abs() <= 1e-9 * e.abs().max(1.0),
            "{name}: walk {w} vs direct {e} at {x}"
        );
    }
    println!("{name}: h = {h:.3e}, grid = {}, {worst:?}", kde.has_grid());
    worst
}

fn normals(rng: &mut SplitMix64, n: usize, mean: f64, sd: f64) -> Vec<f32> {
    (0..n).map(|_| (mean + sd * rng.normal()) as f32).collect()
}

#[test]
fn fast_matches_exact_on_normal_data() {
    let mut rng = SplitMix64::new(1);
    check_contract("normal", &normals(&mut rng, 3000, 0.3, 1.7));
}

#[test]
fn fast_matches_exact_on_bimodal_and_multimodal_data() {
    let mut rng = SplitMix64::new(2);
    let mut v = normals(&mut rng, 2000, 0.0, 1.0);
    v.extend(normals(&mut rng, 700, 30.0, 0.5));
    check_contract("bimodal", &v);
    let mut v = Vec::new();
    for (n, m, s) in [
        (800, -10.0, 0.2),
        (300, -3.0, 2.0),
        (50, 0.0, 0.01),
        (900, 4.0, 0.7),
        (20, 50.0, 3.0),
    ] {
        v.extend(normals(&mut rng, n, m, s));
    }
    check_contract("multimodal", &v);
}

#[test]
fn fast_matches_exact_on_heavy_tails() {
    let mut rng = SplitMix64::new(3);
    let v: Vec<f32> = (0..3000).map(|_| rng.cauchy() as f32).collect();
    let kde = Kde::fit(&v).unwrap();
    assert!(kde.has_grid());
    check_contract("cauchy", &v);
    // Student-t-like with occasional huge outliers.
    let v: Vec<f32> = (0..3000)
        .map(|i| {
            let x = rng.normal();
            if i % 97 == 0 {
                (x * 1e4) as f32
            } else {
                x as f32
            }
        })
        .collect();
    check_contract("outliers", &v);
}

#[test]
fn fast_matches_exact_on_tied_data() {
    let mut rng = SplitMix64::new(4);
    let v: Vec<f32> = (0..3000)
        .map(|_| ((rng.normal() * 4.0).round() / 4.0) as f32)
        .collect();
    check_contract("tied", &v);
    // f32 rounding at a large offset makes heavy ties too.
    let v: Vec<f32> = (0..3000)
        .map(|_| (1e4 + 1e-2 * rng.normal()) as f32)
        .collect();
    check_contract("offset", &v);
    // ReLU-like: half exact zeros, half continuous.
    let v: Vec<f32> = (0..3000).map(|_| rng.normal().max(0.0) as f32).collect();
    check_contract("relu", &v);
}

#[test]
fn constant_and_nearly_dead_nodes() {
    let v = vec![0.0f32; 5000];
    let kde = Kde::fit(&v).unwrap();
    assert_eq!(kde.bandwidth(), 1e-6);
    assert!(!kde.has_grid());
    // All mass at 0: ln L(x) = -x^2 / (2 h^2) - ln(h sqrt(2 pi)).
    for x in [0.0f32, 1e-7, -3e-6, 0.5, -100.0] {
        let x64 = f64::from(x);
        let expected = -x64 * x64 / 2e-12 - 1e-6f64.ln() - LN_SQRT_2PI;
        let got = kde.log_density(x);
        assert!(
            (got - expected).abs() <= 1e-12 * expected.abs().max(1.0),
            "{x}: {got} vs {expected}"
        );
    }
    check_contract("dead", &v);
    let mut rng = SplitMix64::new(5);
    let mut v = vec![0.0f32; 2990];
    v.extend((0..10).map(|_| rng.normal().abs() as f32));
    check_contract("nearly dead", &v);
}

#[test]
fn small_samples() {
    check_contract("one", &[1.5]);
    check_contract("two", &[1.5, -2.0]);
    check_contract("nine", &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 100.0]);
}

#[test]
fn far_tail_is_exact_and_finite() {
    let kde = Kde::fit_with_bandwidth(&[0.0, 1.0, 2.0], 0.5).unwrap();
    // Dominated by the value 2; the others are e^-3994 and smaller.
    let expected = -(998.0f64 * 998.0) / 0.5 - 1.5f64.ln() - LN_SQRT_2PI;
    let got = kde.log_density(1000.0);
    assert!(
        (got - expected).abs() <= 1e-12 * expected.abs(),
        "{got} vs {expected}"
    );
    assert!(kde.log_density(-f32::MAX).is_finite());
    // Between two values 1000 apart the density is e^-500000 small: finite.
    let kde = Kde::fit_with_bandwidth(&[0.0, 1000.0], 1.0).unwrap();
    let expected = -(500.0f64 * 500.0) / 2.0 + (2.0f64).ln() - 2.0f64.ln() - LN_SQRT_2PI;
    assert!((kde.log_density(500.0) - expected).abs() < 1e-9);
}

#[test]
fn rejects_bad_input() {
    assert!(matches!(Kde::fit(&[]), Err(KernelError::Empty { .. })));
    assert!(matches!(
        Kde::fit(&[1.0, f32::NAN]),
        Err(KernelError::NonFinite { row: 1, .. })
    ));
    assert!(Kde::fit_with_bandwidth(&[1.0], 0.0).is_err());
    let kde = Kde::fit(&[1.0, 2.0]).unwrap();
    assert!(kde.log_density_many(&[1.0], &mut [0.0, 0.0]).is_err());
    assert!(log_density_exact(&[], 1.0, 0.0).is_nan());
}

/// A tightly clustered class with a few percent of its values spread far
/// away, as in the last layers of a trained network: a tiny Silverman
/// bandwidth (set by the cluster) over a range thousands of bandwidths wide.
fn tight_cluster_with_far_outliers(rng: &mut SplitMix64) -> Vec<f32> {
    let mut v = normals(rng, 3000, 0.2, 0.001);
    v.extend((0..60).map(|_| (rng.uniform() * 0.8 - 0.3) as f32));
    v
}

#[test]
fn fast_matches_exact_on_tight_cluster_with_far_outliers() {
    let mut rng = SplitMix64::new(6);
    let v = tight_cluster_with_far_outliers(&mut rng);
    let kde = Kde::fit(&v).unwrap();
    assert!((kde.max() - kde.min()) / kde.bandwidth() > 1000.0);
    check_contract("tight cluster, far outliers", &v);
}

#[test]
fn upper_bounds_bound_the_exact_density() {
    let mut rng = SplitMix64::new(7);
    let datasets = [
        ("normal", normals(&mut rng, 2000, 0.0, 1.0)),
        (
            "tight cluster, far outliers",
            tight_cluster_with_far_outliers(&mut rng),
        ),
        ("tied", {
            let v: Vec<f32> = (0..2000)
                .map(|_| ((rng.normal() * 4.0).round() / 4.0) as f32)
                .collect();
            v
        }),
    ];
    for (name, values) in &datasets {
        let kde = Kde::fit(values).unwrap();
        let h = kde.bandwidth();
        let mut on_grid = 0;
        for x in probe_points(values, h) {
            let exact = log_density_exact(values, h, x);
            let x = f64::from(x);
            let slack = 1e-9 * exact.abs().max(1.0);
            let k = kde.position(x, None);
            let nearest = kde.nearest_upper_bound(x, k);
            assert!(nearest >= exact - slack, "{name} {x}: {nearest} < {exact}");
            let grid = kde.grid_upper_bound(x);
            if !grid.is_nan() {
                on_grid += 1;
                assert!(grid >= exact - slack, "{name} {x}: {grid} < {exact}");
            }
            // The walk from the galloping search's position is the direct sum, not merely
            // what the walk from a binary search gives (both could share a mistake).
            let walk = kde.walk_from(x, k);
            assert!(
                (walk - exact).abs() <= slack,
                "{name} {x}: walk {walk} vs {exact}"
            );
        }
        assert!(on_grid > 100, "{name}: {on_grid} points on the grid");
    }
}

#[test]
fn galloping_search_finds_the_position() {
    let mut rng = SplitMix64::new(8);
    // Ties, so that equal values must be counted as not below.
    let values: Vec<f32> = (0..3000)
        .map(|_| ((rng.normal() * 8.0).round() / 4.0) as f32)
        .collect();
    let kde = Kde::fit(&values).unwrap();
    let n = kde.distinct.len();
    let expected = |x: f64| kde.distinct.partition_point(|&v| f64::from(v) < x);
    let mut hint = 0;
    // Random points, ascending points, exact values, and stale hints.
    let mut points: Vec<f64> = (0..3000).map(|_| rng.normal() * 3.0).collect();
    let mut ascending: Vec<f64> = (0..3000).map(|_| rng.normal() * 3.0).collect();
    ascending.sort_by(f64::total_cmp);
    points.extend(ascending);
    points.extend(kde.distinct.iter().map(|&v| f64::from(v)));
    points.extend([-1e9, 1e9, -1e9]);
    for x in points {
        assert_eq!(kde.position(x, None), expected(x), "{x}");
        assert_eq!(kde.position(x, Some(&mut hint)), expected(x), "{x}");
        assert_eq!(hint, expected(x));
    }
    for stale in [0, n / 2, n, n + 5] {
        let mut hint = stale;
        assert_eq!(kde.position(0.1, Some(&mut hint)), expected(0.1));
    }
}
