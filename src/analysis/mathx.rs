//! Small numeric helpers for the hot loops: exp of non-positive arguments
//! and an order-preserving radix sort of f32 values.
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

/// Sorts f32 values ascending (IEEE order, -0.0 before 0.0; finite input)
/// with an LSD radix sort on order-preserving integer keys, and returns them
/// as f64. `scratch` is reused between calls.
pub(crate) fn sort_f32_to_f64(values: &[f32], scratch: &mut Vec<u32>, out: &mut Vec<f64>) {
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
    let mut keys: Vec<u32> = values.iter().map(|&v| key(v)).collect();
    scratch.clear();
    scratch.resize(keys.len(), 0);
    let mut counts = [[0usize; 256]; 4];
    for &k in &keys {
        for (pass, c) in counts.iter_mut().enumerate() {
            c[((k >> (8 * pass)) & 0xff) as usize] += 1;
        }
    }
    let n = keys.len();
    let (mut src, mut dst) = (&mut keys, scratch);
    for (pass, c) in counts.iter().enumerate() {
        // A byte shared by all keys leaves the order unchanged: skip it.
        if c.contains(&n) {
            continue;
        }
        let mut offsets = [0usize; 256];
        let mut acc = 0;
        for (o, &x) in offsets.iter_mut().zip(c) {
            *o = acc;
            acc += x;
        }
        for &k in src.iter() {
            let b = ((k >> (8 * pass)) & 0xff) as usize;
            dst[offsets[b]] = k;
            offsets[b] += 1;
        }
        std::mem::swap(&mut src, &mut dst);
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
