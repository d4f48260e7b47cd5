//! Small numeric helpers for the hot loops: exp of non-positive arguments,
//! ln of positive ones, and an order-preserving radix sort of f32 values.
//!
//! The classifiers take ~10 exponentials per (sample, node) and the KDE fit
//! sorts every class's values at every node; the library versions (a libm
//! call per exp, a comparison sort) were the largest costs of a layer.

/// e^x for x <= 0, to within a few ulp (relative error < 1e-15); 0 below
/// -700 (where e^x < 1e-304 and nothing here can see it).
///
/// Branch-free so that loops over slices vectorise: x = k ln 2 + r with
/// |r| <= ln(2)/2, e^r by its Taylor series to r^13 (truncation < 2e-17),
/// and 2^k put straight into the exponent bits.
#[inline(always)]
pub(crate) fn exp_neg(x: f64) -> f64 {
    // 1.5 * 2^52: adding it rounds to an integer held in the low mantissa bits.
    const SHIFTER: f64 = 6_755_399_441_055_744.0;
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    // ln 2 split so that k * LN2_HI is exact for |k| < 2^20.
    const LN2_HI: f64 = 6.931_471_803_691_238e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    let clamped = x.max(-700.0);
    // Plain multiply-adds: `mul_add` is a libm call without the FMA target
    // feature, and the extra rounding is far below what is needed here.
    let shifted = clamped * LOG2E + SHIFTER;
    let k = shifted - SHIFTER;
    let r = (clamped - k * LN2_HI) - k * LN2_LO;
    // Taylor coefficients 1/n!, n = 13 down to 2.
    const C: [f64; 12] = [
        1.0 / 6_227_020_800.0,
        1.0 / 479_001_600.0,
        1.0 / 39_916_800.0,
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
    ];
    let mut p = C[0];
    for &c in &C[1..] {
        p = p * r + c;
    }
    p = p * r + 1.0;
    p = p * r + 1.0;
    // The low bits of `shifted` are k (two's complement); k + 1023 is in
    // 13..=1023 here, so shifting it into the exponent field gives 2^k.
    let scale = f64::from_bits((shifted.to_bits().wrapping_add(1023)) << 52);
    let y = p * scale;
    if x < -700.0 {
        0.0
    } else {
        y
    }
}

/// ln(x) for x > 0, to within a few ulp (absolute error < 4e-16 * max(1,
/// |ln x|)); falls back to `f64::ln` for zero, subnormal, infinite and NaN
/// input.
///
/// Branch-free on the normal path so that loops over slices vectorise:
/// x = 2^e * m with m in [sqrt(1/2), sqrt(2)), and with s = (m - 1) / (m + 1)
/// (|s| < 0.172), ln m = 2 atanh s = 2 (s + s^3 / 3 + ... + s^21 / 21)
/// (truncation < 1e-17 relative).
#[inline(always)]
pub(crate) fn ln_pos(x: f64) -> f64 {
    if !(x.is_normal() && x > 0.0) {
        return x.ln();
    }
    ln_normal(x)
}

/// [`ln_pos`] for positive normal x only (no checks: anything else gives
/// garbage), for loops that select the valid results themselves.
#[inline(always)]
pub(crate) fn ln_normal(x: f64) -> f64 {
    const SQRT2: f64 = std::f64::consts::SQRT_2;
    const LN2_HI: f64 = 6.931_471_803_691_238e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    const C: [f64; 10] = [
        1.0 / 21.0,
        1.0 / 19.0,
        1.0 / 17.0,
        1.0 / 15.0,
        1.0 / 13.0,
        1.0 / 11.0,
        1.0 / 9.0,
        1.0 / 7.0,
        1.0 / 5.0,
        1.0 / 3.0,
    ];
    // 2^52: a biased exponent b (< 2^11) in its low mantissa bits is 2^52 + b.
    const TWO52: f64 = 4_503_599_627_370_496.0;
    let bits = x.to_bits();
    // The exponent as f64 by bit operations only (x > 0, so bits >> 52 is
    // the biased exponent), which vectorises where an int-to-float
    // conversion would not.
    let exponent = f64::from_bits(TWO52.to_bits() | (bits >> 52)) - (TWO52 + 1023.0);
    // Mantissa in [1, 2), then halved if above sqrt(2).
    let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    let high = m > SQRT2;
    let m = if high { 0.5 * m } else { m };
    let e = exponent + if high { 1.0 } else { 0.0 };
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut p = C[0];
    for &c in &C[1..] {
        p = p * s2 + c;
    }
    let ln_m = 2.0 * s + 2.0 * s * s2 * p;
    e * LN2_HI + (ln_m + e * LN2_LO)
}

/// Sorts f32 values ascending (IEEE order, -0.0 before 0.0; finite input)
/// with an LSD radix sort on order-preserving integer keys (three passes of
/// 11, 11 and 10 bits), and returns them as f64. `scratch` is reused
/// between calls. At most u32::MAX values (like the KDE's counts).
pub(crate) fn sort_f32_to_f64(values: &[f32], scratch: &mut Vec<u32>, out: &mut Vec<f64>) {
    const BITS: [u32; 3] = [11, 11, 10];
    const BUCKETS: usize = 1 << 11;
    // Flip all bits of negatives and the sign bit of positives: unsigned
    // order of the keys is then numeric order of the floats.
    let key = |v: f32| {
        let b = v.to_bits();
        if b >> 31 == 1 {
            !b
        } else {
            b | 0x8000_0000
        }
    };
    let n = values.len();
    let mut keys: Vec<u32> = values.iter().map(|&v| key(v)).collect();
    // (Contents are overwritten: resizing is enough.)
    scratch.resize(n, 0);
    let mut counts = [[0u32; BUCKETS]; 3];
    for &k in &keys {
        counts[0][(k & 0x7ff) as usize] += 1;
        counts[1][((k >> 11) & 0x7ff) as usize] += 1;
        counts[2][(k >> 22) as usize] += 1;
    }
    let (mut src, mut dst) = (&mut keys, scratch);
    let mut shift = 0;
    for (pass, c) in counts.iter_mut().enumerate() {
        let mask = (1u32 << BITS[pass]) - 1;
        let digit = |k: u32| ((k >> shift) & mask) as usize;
        // A digit shared by all keys leaves the order unchanged: skip it.
        if n > 0 && c[digit(src[0])] as usize == n {
            shift += BITS[pass];
            continue;
        }
        let mut acc = 0;
        for x in c.iter_mut() {
            let count = *x;
            *x = acc;
            acc += count;
        }
        for &k in src.iter() {
            let slot = &mut c[digit(k)];
            dst[*slot as usize] = k;
            *slot += 1;
        }
        std::mem::swap(&mut src, &mut dst);
        shift += BITS[pass];
    }
    let unkey = |k: u32| {
        let b = if k >> 31 == 1 { k & 0x7fff_ffff } else { !k };
        f64::from(f32::from_bits(b))
    };
    out.clear();
    out.extend(src.iter().map(|&k| unkey(k)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    #[test]
    fn exp_neg_matches_std() {
        let mut worst: f64 = 0.0;
        let mut x = 0.0;
        while x > -700.0 {
            let (a, b) = (exp_neg(x), x.exp());
            worst = worst.max((a - b).abs() / b);
            x -= 0.012_345;
        }
        assert!(worst < 1e-15, "worst relative error {worst}");
        assert_eq!(exp_neg(0.0), 1.0);
        assert_eq!(exp_neg(-800.0), 0.0);
        assert_eq!(exp_neg(f64::NEG_INFINITY), 0.0);
    }

    #[test]
    fn ln_pos_matches_std() {
        let mut rng = SplitMix64::new(3);
        let mut worst: f64 = 0.0;
        let mut check = |x: f64| {
            let (a, b) = (ln_pos(x), x.ln());
            let err = (a - b).abs() / b.abs().max(1.0);
            worst = worst.max(err);
        };
        for _ in 0..200_000 {
            // Log-uniform over the normal range, and near 1.
            check((rng.uniform() * 1400.0 - 700.0).exp());
            check(1.0 + (rng.uniform() - 0.5) * 1e-3);
        }
        for x in [
            1.0,
            2.0,
            std::f64::consts::SQRT_2,
            f64::MIN_POSITIVE,
            f64::MAX,
            0.5,
            10.0,
        ] {
            check(x);
        }
        assert!(worst < 4e-16, "worst relative error {worst}");
        assert_eq!(ln_pos(1.0), 0.0);
        assert_eq!(ln_pos(0.0), f64::NEG_INFINITY);
        assert!(ln_pos(-1.0).is_nan() && ln_pos(f64::NAN).is_nan());
        assert_eq!(ln_pos(f64::INFINITY), f64::INFINITY);
        assert_eq!(ln_pos(1e-310), 1e-310f64.ln());
    }

    #[test]
    fn radix_sort_orders_like_total_order() {
        let mut rng = SplitMix64::new(9);
        let mut v: Vec<f32> = (0..5000).map(|_| (rng.cauchy() * 10.0) as f32).collect();
        v.extend([
            0.0,
            -0.0,
            1.0,
            1.0,
            -1.0,
            f32::MAX,
            -f32::MAX,
            1e-40,
            -1e-40,
        ]);
        let (mut scratch, mut out) = (Vec::new(), Vec::new());
        sort_f32_to_f64(&v, &mut scratch, &mut out);
        let mut expected: Vec<f64> = v.iter().map(|&x| f64::from(x)).collect();
        expected.sort_by(f64::total_cmp);
        assert_eq!(out.len(), expected.len());
        for (a, b) in out.iter().zip(&expected) {
            assert_eq!(a.to_bits(), b.to_bits());
        }
        sort_f32_to_f64(&[3.0; 7], &mut scratch, &mut out);
        assert_eq!(out, vec![3.0; 7]);
    }
}
