//! Silverman's rule-of-thumb bandwidth, exactly as the analysis spec states it.
//!
//! h = 0.9 * min(sd, IQR / 1.34) * n^(-1/5), with sd the sample standard
//! deviation (n - 1 denominator) and the IQR from linearly interpolated
//! quartiles (numpy's default `linear` method: position (n - 1) * q). If
//! min(sd, IQR / 1.34) is 0, sd is used instead; finally h = max(h, 1e-6).
//! All arithmetic is in f64.

use crate::analysis::error::{check_finite, KernelError, Result};

/// Smallest bandwidth the spec allows; also the bandwidth of a constant node.
pub const MIN_BANDWIDTH: f64 = 1e-6;

/// Quantile of ascending `sorted` values by linear interpolation between the
/// order statistics around position (n - 1) * q (numpy's default method).
///
/// The interpolation is written the way numpy's `_lerp` writes it (from the
/// upper neighbour when the fraction is at least 0.5) so that results agree
/// with numpy to the last bit for f64 data. Returns NaN for no values.
pub fn quantile_linear(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let pos = (n - 1) as f64 * q;
    let lo = (pos.floor() as usize).min(n - 1);
    let hi = (lo + 1).min(n - 1);
    let t = pos - lo as f64;
    let (a, b) = (sorted[lo], sorted[hi]);
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

/// Sample standard deviation with the n - 1 denominator (two-pass for
/// accuracy). For a single value it is taken as 0: the sample sd is undefined
/// there, and 0 makes the rule fall through to the 1e-6 floor.
pub fn sample_sd(values: &[f64]) -> f64 {
    let n = values.len();
    if n < 2 {
        return 0.0;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
    (ss / (n - 1) as f64).sqrt()
}

/// Silverman bandwidth of ascending, finite, non-empty `sorted` values.
///
/// n = 1 gives sd = 0 and IQR = 0, hence h = 1e-6 (see [`sample_sd`]); so does
/// any constant sample.
pub fn silverman_from_sorted(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let sd = sample_sd(sorted);
    let iqr = quantile_linear(sorted, 0.75) - quantile_linear(sorted, 0.25);
    let mut spread = sd.min(iqr / 1.34);
    if spread == 0.0 {
        spread = sd;
    }
    let h = 0.9 * spread * (n as f64).powf(-0.2);
    h.max(MIN_BANDWIDTH)
}

/// Silverman bandwidth of arbitrary-order values; errors on no values or
/// non-finite values.
pub fn silverman_bandwidth(values: &[f32]) -> Result<f64> {
    if values.is_empty() {
        return Err(KernelError::Empty {
            what: "values",
            reason: "a bandwidth needs at least one value".into(),
        });
    }
    check_finite("values", values, 1)?;
    let mut sorted: Vec<f64> = values.iter().map(|&v| f64::from(v)).collect();
    sorted.sort_unstable_by(f64::total_cmp);
    Ok(silverman_from_sorted(&sorted))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1e-300)
    }

    #[test]
    fn quartiles_interpolate_linearly() {
        let v = [1.0, 2.0, 3.0, 4.0];
        // Positions 0.75 and 2.25.
        assert_eq!(quantile_linear(&v, 0.25), 1.75);
        assert_eq!(quantile_linear(&v, 0.75), 3.25);
        assert_eq!(quantile_linear(&v, 0.5), 2.5);
        assert_eq!(quantile_linear(&[7.0], 0.25), 7.0);
    }

    #[test]
    fn iqr_branch_by_hand() {
        // 1..5: sd = sqrt(2.5) = 1.58114; Q1 = 2, Q3 = 4, IQR/1.34 = 1.49254
        // (the smaller); h = 0.9 * 1.49254 * 5^-0.2 = 0.973585...
        let h = silverman_bandwidth(&[3.0, 1.0, 5.0, 2.0, 4.0]).unwrap();
        assert!(close(h, 0.9 * (2.0 / 1.34) * 5f64.powf(-0.2), 1e-15));
        assert!(close(h, 0.973_584_6, 1e-7), "{h}");
    }

    #[test]
    fn sd_branch_by_hand() {
        // 0, 0, 0, 10: sd = 5 (mean 2.5, ss = 75, /3 = 25); Q1 = 0, Q3 = 2.5,
        // IQR/1.34 = 1.86567 is smaller: h = 0.9 * 1.86567 * 4^-0.2 = 1.272523...
        let h = silverman_bandwidth(&[0.0, 0.0, 0.0, 10.0]).unwrap();
        assert!(close(h, 1.272_523_2, 1e-7), "{h}");
        // 0, 1: sd = 0.70711; Q1 = 0.25, Q3 = 0.75, IQR/1.34 = 0.37313.
        let h = silverman_bandwidth(&[0.0, 1.0]).unwrap();
        assert!(close(h, 0.9 * (0.5 / 1.34) * 2f64.powf(-0.2), 1e-15));
        // 0, 0, 10, 10: sd = 5.7735, Q1 = 0, Q3 = 10, IQR/1.34 = 7.46 -> sd.
        let h = silverman_bandwidth(&[0.0, 0.0, 10.0, 10.0]).unwrap();
        assert!(close(
            h,
            0.9 * (100.0f64 / 3.0).sqrt() * 4f64.powf(-0.2),
            1e-15
        ));
        assert!(close(h, 3.937_947_2, 1e-7), "{h}");
    }

    #[test]
    fn zero_iqr_falls_back_to_sd() {
        // Seven zeros and a one: Q1 = Q3 = 0; mean 0.125, ss = 0.875,
        // sd = sqrt(0.125) = 0.353553; h = 0.9 * 0.353553 * 8^-0.2 = 0.209932.
        let h = silverman_bandwidth(&[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]).unwrap();
        assert!(close(h, 0.9 * 0.125f64.sqrt() * 8f64.powf(-0.2), 1e-15));
        assert!(close(h, 0.209_932_4, 1e-6), "{h}");
    }

    #[test]
    fn floor_applies_to_constant_and_single_values() {
        assert_eq!(silverman_bandwidth(&[3.0; 10]).unwrap(), 1e-6);
        assert_eq!(silverman_bandwidth(&[0.0]).unwrap(), 1e-6);
        // A tiny but non-zero spread is floored too.
        let h = silverman_bandwidth(&[1.0, 1.0 + 1e-7, 1.0 + 2e-7, 1.0 + 3e-7]).unwrap();
        assert_eq!(h, 1e-6);
    }

    #[test]
    fn rejects_empty_and_nan() {
        assert!(matches!(
            silverman_bandwidth(&[]),
            Err(KernelError::Empty { .. })
        ));
        assert!(matches!(
            silverman_bandwidth(&[1.0, f32::INFINITY]),
            Err(KernelError::NonFinite { row: 1, .. })
        ));
    }
}
