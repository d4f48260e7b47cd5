//! A node's continuous-system log posteriors tabulated on a regular grid.
//!
//! The log posterior of class c at a node, ln P(c | z), is a smooth function
//! of the single number z, shared by every sample. Tabulating it once per
//! node (a few thousand points) and interpolating per sample replaces, for
//! each of ~60,000 samples, one KDE lookup per class plus a log-sum-exp by
//! one cubic interpolation of all classes at once: the classifiers' main cost.
//!
//! Accuracy is checked, not assumed: at build time every cell's midpoint is
//! also computed directly and compared with the interpolant. Cells where
//! they differ by more than `TOLERANCE` for a class that is not floored are
//! marked, and lookups there report failure so the caller computes directly.
//! Values are stored clamped below at `lower` (far below the 1e-10 floor),
//! so deep-tail values, which only ever end up floored, cannot disturb the
//! interpolation.

/// Largest allowed |interpolated - direct| at a cell midpoint (nats).
const TOLERANCE: f64 = 2e-4;

#[derive(Debug, Clone)]
pub(crate) struct PosteriorTable {
    origin: f64,
    inv_delta: f64,
    t_lo: f64,
    t_hi: f64,
    n_classes: usize,
    /// Node-major: `values[k * n_classes + c]`. f32 halves the memory and
    /// cache traffic of the per-sample lookups; its rounding (< 3e-6 nats
    /// for values in [-40, 0]) is included in the midpoint check.
    values: Vec<f32>,
    /// Per cell: whether lookups there must fall back to the direct path.
    stiff: Vec<bool>,
}

impl PosteriorTable {
    /// Tabulates `eval(x, out)` (clamped log posteriors of all classes) with
    /// node spacing `delta` so that every x in [lo, hi] can be looked up.
    /// `relevant` is the value below which a class's posterior is known to
    /// be floored (differences there do not matter).
    pub(crate) fn build(
        lo: f64,
        hi: f64,
        delta: f64,
        n_classes: usize,
        relevant: f64,
        mut eval: impl FnMut(f64, &mut [f64]),
    ) -> Self {
        let n_nodes = ((hi - lo) / delta).ceil() as usize + 4;
        let origin = lo - delta;
        let mut values = vec![0.0f32; n_nodes * n_classes];
        let mut node = vec![0.0f64; n_classes];
        for (k, out) in values.chunks_exact_mut(n_classes).enumerate() {
            eval(origin + k as f64 * delta, &mut node);
            for (o, &v) in out.iter_mut().zip(&node) {
                *o = v as f32;
            }
        }
        let mut table = Self {
            origin,
            inv_delta: 1.0 / delta,
            t_lo: 1.0,
            t_hi: (n_nodes - 2) as f64,
            n_classes,
            values,
            stiff: vec![false; n_nodes],
        };
        let mut direct = vec![0.0; n_classes];
        let mut interpolated = vec![0.0; n_classes];
        for cell in 1..n_nodes - 2 {
            let x = origin + (cell as f64 + 0.5) * delta;
            eval(x, &mut direct);
            table.interpolate(cell, 0.5, &mut interpolated);
            table.stiff[cell] = direct
                .iter()
                .zip(&interpolated)
                .any(|(&d, &i)| d.max(i) >= relevant && (d - i).abs() > TOLERANCE);
        }
        table
    }

    /// Number of tabulated points.
    pub(crate) fn n_nodes(&self) -> usize {
        self.stiff.len()
    }

    /// Interpolated clamped log posteriors at `x` into `out`; false (and
    /// `out` unspecified) if `x` is off the table or in a marked cell.
    #[inline]
    pub(crate) fn lookup(&self, x: f64, out: &mut [f64]) -> bool {
        let t = (x - self.origin) * self.inv_delta;
        if !(t >= self.t_lo && t < self.t_hi) {
            return false;
        }
        let cell = t as usize;
        if self.stiff[cell] {
            return false;
        }
        self.interpolate(cell, t - cell as f64, out);
        true
    }

    /// Cubic Lagrange interpolation through nodes cell-1 ..= cell+2.
    #[inline]
    fn interpolate(&self, cell: usize, f: f64, out: &mut [f64]) {
        let (fp1, fm1, fm2) = (f + 1.0, f - 1.0, f - 2.0);
        const SIXTH: f64 = 1.0 / 6.0;
        let w = [
            -f * fm1 * fm2 * SIXTH,
            0.5 * fp1 * fm1 * fm2,
            -0.5 * fp1 * f * fm2,
            fp1 * f * fm1 * SIXTH,
        ];
        let c = self.n_classes;
        let v = &self.values[(cell - 1) * c..(cell + 3) * c];
        let (v0, rest) = v.split_at(c);
        let (v1, rest) = rest.split_at(c);
        let (v2, v3) = rest.split_at(c);
        for ((((o, a), b), d), e) in out.iter_mut().zip(v0).zip(v1).zip(v2).zip(v3) {
            *o = w[0] * f64::from(*a)
                + w[1] * f64::from(*b)
                + w[2] * f64::from(*d)
                + w[3] * f64::from(*e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smooth_functions_interpolate_and_kinks_are_marked() {
        // Class 0: a cubic (exact); class 1: a kink at x = 0.5.
        let f = |x: f64, out: &mut [f64]| {
            out[0] = -x * x * x - x;
            out[1] = if x > 0.5 { -100.0 * (x - 0.5) } else { 0.0 };
        };
        let table = PosteriorTable::build(0.0, 1.0, 0.01, 2, -30.0, f);
        let mut out = [0.0; 2];
        let mut expected = [0.0; 2];
        let mut marked = 0;
        for i in 0..=1000 {
            let x = i as f64 / 1000.0;
            if table.lookup(x, &mut out) {
                f(x, &mut expected);
                assert!((out[0] - expected[0]).abs() < 1e-6);
                assert!(
                    (out[1] - expected[1]).abs() <= 2e-4,
                    "{x}: {out:?} vs {expected:?}"
                );
            } else {
                marked += 1;
                assert!((x - 0.5).abs() < 0.03, "{x} should be tabulated");
            }
        }
        assert!(marked > 0);
        assert!(!table.lookup(-0.5, &mut out) && !table.lookup(1.5, &mut out));
        assert!(table.n_nodes() >= 101);
    }
}
