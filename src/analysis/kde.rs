//! Gaussian kernel density estimate, evaluated in log space.
//!
//! L(x) = 1 / (N h) * sum_i phi((x - z_i) / h). The classifiers need ln L for
//! every (node, class, sample), i.e. ~5,000 values evaluated at ~60,000
//! points per node and class, so the direct O(points * values) sum is far too
//! slow. The fast path here:
//!
//! 1. Bins the values on a regular grid of spacing h / 24 with cubic
//!    Lagrange weights (each value's mass goes to 4 grid nodes so that the
//!    moments of order 0..3 are kept; the binning error is then 4th order,
//!    about 1e-4 relative at the edge of the accuracy contract).
//! 2. Convolves with the Gaussian sampled on the same grid (truncated at 10 h,
//!    where a kernel term is below e^-50) by real FFT: exact density values at
//!    the grid nodes up to the binning error and FFT rounding.
//! 3. Stores ln L at the nodes (in f32) and interpolates it with a cubic
//!    through the 4 surrounding nodes. ln L is close to a quadratic wherever
//!    one cluster dominates, which a cubic reproduces exactly.
//!
//! Nodes where the grid density is below 1e-11 of the grid's peak are marked
//! unreliable: FFT rounding (~1e-15 of the peak) and the binning error grow
//! there relative to the density. At 1e-11 both are still below 1e-3 of the
//! density, i.e. ln L is off by < 1e-3 where the contract (below 1e-8 of the
//! peak) only asks for 1e-3 relative and |ln L| is at least ~10.
//! Points whose 4 nodes are not all reliable, or that lie off the grid, are
//! evaluated exactly: a log-sum-exp over the sorted distinct values that
//! starts at the nearest value and walks outwards only until the terms left
//! cannot change the sum in double precision. In the far tails that is a
//! handful of values, so those points are cheap as well as exact and finite.
//! Callers that only need to know whether a class can matter at a point get
//! O(1) upper bounds on ln L (from the grid, or from the nearest value).
//!
//! The spec's contract (ln L within 1e-3 absolute where the density is at
//! least 1e-8 of the peak, within 1e-3 relative and finite elsewhere) holds
//! with a wide margin; the tests check it on normal, multimodal,
//! heavy-tailed, tied and constant data.

use crate::analysis::bandwidth::silverman_from_sorted;
use crate::analysis::error::{check_finite, KernelError, Result};
use crate::analysis::fft::{good_len, kernel_fft, with_work_buffer};
use crate::analysis::mathx::{exp_neg, ln_normal, ln_pos, sort_f32_to_f64};

/// Grid nodes per bandwidth.
const CELLS_PER_H: f64 = 24.0;
/// Kernel truncation, in bandwidths: e^(-10^2/2) = 2e-22 per value.
const KERNEL_HALF_WIDTH_H: f64 = 10.0;
/// Grid nodes below this fraction of the grid's peak density are not used.
const GRID_RELATIVE_FLOOR: f64 = 1e-11;
/// Largest FFT; wider data (heavy tails) gets a grid over its densest part.
const MAX_FFT_LEN: usize = 1 << 16;
/// With fewer distinct values than this the exact sum is cheaper than a grid.
const MIN_DISTINCT_FOR_GRID: usize = 8;
/// The exact walk stops once the values left can add at most this fraction.
const WALK_TOLERANCE: f64 = 1e-17;

/// ln(sqrt(2 pi)).
const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;

/// Exact Gaussian KDE log-density at `x` by a direct sum over all values,
/// computed as a log-sum-exp so that it is finite for any finite `x`.
///
/// This is the O(n) reference the fast method is tested against. Returns NaN
/// for no values or a non-positive bandwidth.
pub fn log_density_exact(values: &[f32], h: f64, x: f32) -> f64 {
    if values.is_empty() || h.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
        return f64::NAN;
    }
    let x = f64::from(x);
    let inv_two_h2 = 0.5 / (h * h);
    let exponent = |v: f32| {
        let d = x - f64::from(v);
        -d * d * inv_two_h2
    };
    let max = values
        .iter()
        .map(|&v| exponent(v))
        .fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = values.iter().map(|&v| (exponent(v) - max).exp()).sum();
    max + sum.ln() - (values.len() as f64).ln() - h.ln() - LN_SQRT_2PI
}

/// ln L on a regular grid, interpolated by cubics through 4 nodes.
#[derive(Debug, Clone)]
struct LogGrid {
    /// x of node 0.
    origin: f64,
    /// 1 / node spacing.
    inv_delta: f64,
    /// Range of grid coordinates t = (x - origin) * inv_delta that may be
    /// looked up: the 4 nodes exist and no value left off the grid is near.
    t_lo: f64,
    t_hi: f64,
    /// ln L at each node; NaN where the node is unreliable. f32 halves the
    /// memory of the ~1,000 grids of a layer (and the cache misses of their
    /// lookups); its rounding, < 4e-6 nats for |ln L| < 60, is far below
    /// the 1e-3 the spec allows.
    ln: Vec<f32>,
    /// ln L at the reliability floor: below every reliable node's value.
    ln_floor: f64,
    /// Added to the largest of two neighbouring nodes' ln L and `ln_floor`
    /// to bound ln L between them (see [`LogGrid::upper_bound`]).
    upper_slack: f64,
}

impl LogGrid {
    /// ln L at `x`, or NaN when `x` is off the usable grid or near an
    /// unreliable node (NaN propagates through the interpolation).
    #[inline]
    fn lookup(&self, x: f64) -> f64 {
        let t = (x - self.origin) * self.inv_delta;
        if !(t >= self.t_lo && t < self.t_hi) {
            return f64::NAN;
        }
        // t >= t_lo >= 1 and below the grid length (< 2^31): the i32
        // conversion is exact and cheaper than a saturating one to usize.
        let i = t as i32 as usize;
        let f = t - i as f64;
        let y = &self.ln[i - 1..i + 3];
        let y = [
            f64::from(y[0]),
            f64::from(y[1]),
            f64::from(y[2]),
            f64::from(y[3]),
        ];
        // Cubic Lagrange through nodes at -1, 0, 1, 2, in power form.
        const THIRD: f64 = 1.0 / 3.0;
        const SIXTH: f64 = 1.0 / 6.0;
        let c1 = y[2] - THIRD * y[0] - 0.5 * y[1] - SIXTH * y[3];
        let c2 = 0.5 * (y[0] + y[2]) - y[1];
        let c3 = SIXTH * (y[3] - y[0]) + 0.5 * (y[1] - y[2]);
        y[1] + f * (c1 + f * (c2 + f * c3))
    }

    /// An upper bound on ln L at `x`, or NaN off the usable grid.
    ///
    /// At a node with grid density m, the true density is at most
    /// 1.01 m + 1e-13 peak (binning and truncation errors are below 1% of
    /// the density, FFT rounding below 1e-13 of the peak), so at most
    /// 2.01 max(m, floor) with floor = 1e-11 peak. Between nodes a and b:
    /// ln L = -x^2 / (2 h^2) + (a log-sum-exp of affine functions of x), so
    /// ln L + x^2 / (2 h^2) is convex and lies below its chords, and
    /// ln L(x) <= max(ln L(a), ln L(b)) + (b - a)^2 / (8 h^2).
    #[inline]
    fn upper_bound(&self, x: f64) -> f64 {
        let t = (x - self.origin) * self.inv_delta;
        if !(t >= self.t_lo && t < self.t_hi) {
            return f64::NAN;
        }
        let i = t as i32 as usize;
        // `max` skips the NaN of unreliable nodes.
        f64::from(self.ln[i].max(self.ln[i + 1])).max(self.ln_floor) + self.upper_slack
    }
}

/// Cubic Lagrange weights of nodes -1, 0, 1, 2 at fraction `f` in [0, 1).
#[inline]
fn lagrange_weights(f: f64) -> [f64; 4] {
    const SIXTH: f64 = 1.0 / 6.0;
    let (fp1, fm1, fm2) = (f + 1.0, f - 1.0, f - 2.0);
    [
        -f * fm1 * fm2 * SIXTH,
        0.5 * fp1 * fm1 * fm2,
        -0.5 * fp1 * f * fm2,
        fp1 * f * fm1 * SIXTH,
    ]
}

/// A fitted Gaussian KDE of one sample (one node and class).
#[derive(Debug, Clone)]
pub struct Kde {
    n: usize,
    h: f64,
    inv_two_h2: f64,
    /// ln(N h sqrt(2 pi)): subtracted from ln(sum of kernel terms).
    log_norm: f64,
    /// ln(h sqrt(2 pi)): ln L(x) <= -d^2 / (2 h^2) - this, d the distance
    /// from x to the nearest value.
    log_kernel_norm: f64,
    /// Distinct values, ascending (f32: the data are f32, and this halves
    /// the memory of the ~1,000 KDEs a layer keeps).
    distinct: Vec<f32>,
    /// Number of values at or below each distinct value (multiplicities are
    /// differences of neighbours).
    cumulative: Vec<u32>,
    grid: Option<LogGrid>,
}

impl Kde {
    /// Fits a KDE with Silverman's bandwidth (see [`crate::analysis::bandwidth`]).
    ///
    /// Errors on no values or non-finite values.
    pub fn fit(values: &[f32]) -> Result<Self> {
        let sorted = sorted_f64(values)?;
        let h = silverman_from_sorted(&sorted);
        Ok(Self::from_sorted(&sorted, h))
    }

    /// Fits a KDE with a given bandwidth `h` (> 0, finite).
    pub fn fit_with_bandwidth(values: &[f32], h: f64) -> Result<Self> {
        if !(h > 0.0 && h.is_finite()) {
            return Err(KernelError::InvalidArgument {
                what: "h",
                reason: format!("bandwidth must be positive and finite, got {h}"),
            });
        }
        let sorted = sorted_f64(values)?;
        Ok(Self::from_sorted(&sorted, h))
    }

    /// Builds from ascending finite values (non-empty) and bandwidth.
    pub(crate) fn from_sorted(sorted: &[f64], h: f64) -> Self {
        let n = sorted.len();
        let mut distinct: Vec<f32> = Vec::with_capacity(n);
        let mut cumulative: Vec<u32> = Vec::with_capacity(n);
        for (i, &v) in sorted.iter().enumerate() {
            // The values come from f32 data, so this is exact; `==` merges
            // -0.0 and 0.0, which are the same point for a kernel.
            let v = v as f32;
            if distinct.last() == Some(&v) {
                if let Some(c) = cumulative.last_mut() {
                    *c = i as u32 + 1;
                }
            } else {
                distinct.push(v);
                cumulative.push(i as u32 + 1);
            }
        }
        let mut kde = Self {
            n,
            h,
            inv_two_h2: 0.5 / (h * h),
            log_norm: (n as f64).ln() + h.ln() + LN_SQRT_2PI,
            log_kernel_norm: h.ln() + LN_SQRT_2PI,
            distinct,
            cumulative,
            grid: None,
        };
        if kde.distinct.len() >= MIN_DISTINCT_FOR_GRID {
            kde.grid = Some(kde.build_grid());
        }
        kde
    }

    /// Number of values the density was fitted on.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Bandwidth.
    pub fn bandwidth(&self) -> f64 {
        self.h
    }

    /// Smallest fitted value.
    pub fn min(&self) -> f64 {
        f64::from(self.distinct[0])
    }

    /// Largest fitted value.
    pub fn max(&self) -> f64 {
        f64::from(self.distinct[self.distinct.len() - 1])
    }

    /// Distinct values that occur at least `min_count` times, with counts.
    pub(crate) fn frequent_values(&self, min_count: u32) -> impl Iterator<Item = (f64, u32)> + '_ {
        // A value occurring k times leaves k - 1 fewer distinct values than
        // values: if there are too few repeats, no value qualifies.
        let none = (self.n - self.distinct.len()) < (min_count as usize).saturating_sub(1);
        let cumulative = if none { &[][..] } else { &self.cumulative[..] };
        cumulative.iter().enumerate().filter_map(move |(i, &c)| {
            let count = c - if i == 0 { 0 } else { self.cumulative[i - 1] };
            (count >= min_count).then(|| (self.value(i), count))
        })
    }

    /// The distinct values, ascending, with their multiplicities.
    pub(crate) fn values_with_counts(&self) -> impl Iterator<Item = (f64, u32)> + '_ {
        let mut below = 0;
        self.distinct
            .iter()
            .zip(&self.cumulative)
            .map(move |(&v, &c)| {
                let n = c - below;
                below = c;
                (f64::from(v), n)
            })
    }

    /// Number of values before distinct value `i`.
    #[inline]
    fn below(&self, i: usize) -> f64 {
        if i == 0 {
            0.0
        } else {
            f64::from(self.cumulative[i - 1])
        }
    }

    /// Distinct value `i` in f64.
    #[inline]
    fn value(&self, i: usize) -> f64 {
        f64::from(self.distinct[i])
    }

    /// Whether a grid is used (false for data with very few distinct values,
    /// e.g. a constant "dead" node, where the exact sum is cheaper).
    pub fn has_grid(&self) -> bool {
        self.grid.is_some()
    }

    /// ln L(x). Finite for finite `x`; NaN for NaN `x`.
    pub fn log_density(&self, x: f32) -> f64 {
        self.log_density_f64(f64::from(x))
    }

    /// ln L at each of `xs` into `out` (same length).
    pub fn log_density_many(&self, xs: &[f32], out: &mut [f64]) -> Result<()> {
        if xs.len() != out.len() {
            return Err(KernelError::ShapeMismatch {
                what: "out",
                shape: "one output per point".into(),
                expected: xs.len(),
                got: out.len(),
            });
        }
        for (o, &x) in out.iter_mut().zip(xs) {
            *o = self.log_density_f64(f64::from(x));
        }
        Ok(())
    }

    /// ln L(x) with x in f64.
    #[inline]
    pub(crate) fn log_density_f64(&self, x: f64) -> f64 {
        let v = self.grid_log_density(x);
        if v.is_nan() {
            self.log_density_walk(x)
        } else {
            v
        }
    }

    /// ln L(x) from the grid, or NaN if `x` needs the exact path.
    #[inline]
    pub(crate) fn grid_log_density(&self, x: f64) -> f64 {
        match &self.grid {
            Some(g) => g.lookup(x),
            None => f64::NAN,
        }
    }

    /// An upper bound on ln L(x) from the grid (see `LogGrid::upper_bound`),
    /// or NaN where the grid does not cover `x`. O(1).
    #[inline]
    pub(crate) fn grid_upper_bound(&self, x: f64) -> f64 {
        match &self.grid {
            Some(g) => g.upper_bound(x),
            None => f64::NAN,
        }
    }

    /// Position of `x` among the distinct values: the number of them below
    /// `x`. With a `hint` (the position of a nearby earlier point; updated)
    /// the search gallops away from it, which for ascending points takes a
    /// few steps instead of a binary search over all values.
    #[inline]
    pub(crate) fn position(&self, x: f64, hint: Option<&mut usize>) -> usize {
        match hint {
            Some(hint) => {
                *hint = self.position_near(x, *hint);
                *hint
            }
            None => self.distinct.partition_point(|&v| f64::from(v) < x),
        }
    }

    /// An upper bound on ln L(x) from the distance to the nearest value (no
    /// kernel term exceeds that value's), given x's position `k`. It is
    /// within ln(n) of the exact value wherever one value dominates, i.e.
    /// much tighter than the grid's in the sparse tails of a class.
    #[inline]
    pub(crate) fn nearest_upper_bound(&self, x: f64, k: usize) -> f64 {
        let d = self.nearest_distance_at(x, k);
        -d * d * self.inv_two_h2 - self.log_kernel_norm
    }

    /// Distance from `x` at position `k` to the nearest value (infinite
    /// when there are no values, NaN for NaN `x`).
    #[inline]
    fn nearest_distance_at(&self, x: f64, k: usize) -> f64 {
        let d_left = if k > 0 {
            x - self.value(k - 1)
        } else {
            f64::INFINITY
        };
        let d_right = if k < self.distinct.len() {
            self.value(k) - x
        } else {
            f64::INFINITY
        };
        d_left.min(d_right)
    }

    /// Exact ln L(x): log-sum-exp over the distinct values, starting at the
    /// nearest and walking outwards while the remaining values could still
    /// matter (their count times the current term bounds them, as terms only
    /// shrink with distance).
    pub(crate) fn log_density_walk(&self, x: f64) -> f64 {
        let k = self.distinct.partition_point(|&v| f64::from(v) < x);
        self.walk_from(x, k)
    }

    /// Number of distinct values below `x`, searched for by galloping away
    /// from `hint`.
    fn position_near(&self, x: f64, hint: usize) -> usize {
        let d = &self.distinct;
        let n = d.len();
        let below = |i: usize| f64::from(d[i]) < x;
        let hint = hint.min(n);
        // The answer lies in lo..=hi.
        let (mut lo, mut hi) = (0, n);
        let mut step = 1;
        if hint < n && below(hint) {
            lo = hint + 1;
            while hint + step < n {
                if below(hint + step) {
                    lo = hint + step + 1;
                    step *= 2;
                } else {
                    hi = hint + step;
                    break;
                }
            }
        } else {
            hi = hint;
            while step <= hint {
                if below(hint - step) {
                    lo = hint - step + 1;
                    break;
                }
                hi = hint - step;
                step *= 2;
            }
        }
        lo + d[lo..hi].partition_point(|&v| f64::from(v) < x)
    }

    /// The walk of [`Self::log_density_walk`] from position `k` (the number
    /// of distinct values below `x`, see [`Self::position`]).
    pub(crate) fn walk_from(&self, x: f64, k: usize) -> f64 {
        let d_left = if k > 0 {
            x - self.value(k - 1)
        } else {
            f64::INFINITY
        };
        let d_right = if k < self.distinct.len() {
            self.value(k) - x
        } else {
            f64::INFINITY
        };
        let d_min = d_left.min(d_right);
        if d_min.is_nan() {
            return f64::NAN;
        }
        // The nearest value's exponent; every other term is relative to it,
        // so the sum starts at >= 1 and nothing underflows that matters.
        let reference = -d_min * d_min * self.inv_two_h2;
        let mut sum = 0.0;
        if d_left <= d_right {
            sum = self.walk_left(x, k, reference, sum);
            sum = self.walk_right(x, k, reference, sum);
        } else {
            sum = self.walk_right(x, k, reference, sum);
            sum = self.walk_left(x, k, reference, sum);
        }
        reference + ln_pos(sum) - self.log_norm
    }

    /// Adds the terms of distinct values at indices >= k.
    fn walk_right(&self, x: f64, k: usize, reference: f64, mut sum: f64) -> f64 {
        let total = self.n as f64;
        for i in k..self.distinct.len() {
            let d = self.value(i) - x;
            let term = exp_neg(-d * d * self.inv_two_h2 - reference);
            let at_or_below = f64::from(self.cumulative[i]);
            sum += (at_or_below - self.below(i)) * term;
            let remaining = total - at_or_below;
            if remaining * term <= WALK_TOLERANCE * sum {
                break;
            }
        }
        sum
    }

    /// Adds the terms of distinct values at indices < k.
    fn walk_left(&self, x: f64, k: usize, reference: f64, mut sum: f64) -> f64 {
        for i in (0..k).rev() {
            let d = x - self.value(i);
            let term = exp_neg(-d * d * self.inv_two_h2 - reference);
            let remaining = self.below(i);
            sum += (f64::from(self.cumulative[i]) - remaining) * term;
            if remaining * term <= WALK_TOLERANCE * sum {
                break;
            }
        }
        sum
    }

    /// Bins, convolves and takes logs (see the module docs).
    fn build_grid(&self) -> LogGrid {
        let h = self.h;
        let delta = h / CELLS_PER_H;
        let half = (KERNEL_HALF_WIDTH_H * CELLS_PER_H).ceil() as usize;
        let (lo, hi) = self.grid_window(delta, half);
        let span_cells = ((hi - lo) / delta).ceil() as usize;
        // Nodes: `half` for the kernel's reach on each side, one more on each
        // side for the binning stencil, plus the data span.
        let n_nodes = span_cells + 2 * half + 4;
        let origin = lo - (half as f64 + 1.0) * delta;
        let inv_delta = 1.0 / delta;

        let plan = kernel_fft(good_len(n_nodes), CELLS_PER_H, half);
        // The binned and convolved mass goes through a per-thread buffer;
        // only ln of its first `n_nodes` entries is kept.
        let (ln, floor) = with_work_buffer(plan.len(), |mass| {
            // The values are ascending, so their stencils move left to right:
            // accumulate the current 4 nodes in registers and write each
            // node once, rather than adding to memory (a chain of dependent
            // loads and stores where many values share nodes).
            let mut acc = [0.0f64; 4];
            // Node of acc[0]. Each node is written once, after the last
            // value whose stencil covers it, so its sum is the same as
            // adding in place (the buffer starts at zero).
            let mut base = usize::MAX;
            for i in 0..self.distinct.len() {
                let (v, c) = (self.value(i), f64::from(self.cumulative[i]) - self.below(i));
                if v < lo || v > hi {
                    continue;
                }
                let t = (v - origin) * inv_delta;
                // t > 0, so truncation is floor; rounding could put t a hair
                // outside, so keep the stencil on the grid.
                // (i32: n_nodes < 2^31; cheaper than a saturating usize.)
                let i = (t as i32).clamp(1, n_nodes as i32 - 3) as usize;
                let w = lagrange_weights(t - i as f64);
                let first = i - 1;
                if base == usize::MAX {
                    base = first;
                }
                // Write out the nodes the window leaves behind, shifting the
                // rest down (at most 4 steps: then it is all written).
                for _ in 0..(first - base).min(4) {
                    mass[base] += acc[0];
                    acc = [acc[1], acc[2], acc[3], 0.0];
                    base += 1;
                }
                base = first;
                for (a, wk) in acc.iter_mut().zip(w) {
                    *a += c * wk;
                }
            }
            if base != usize::MAX {
                for (k, a) in acc.iter().enumerate() {
                    mass[base + k] += a;
                }
            }
            // Nodes >= n_nodes are zero padding; the convolution reaches at
            // most `half` nodes, so nothing wraps around into the nodes kept.
            plan.convolve(mass);
            let mass = &mass[..n_nodes];
            let peak = mass.iter().copied().fold(0.0f64, f64::max);
            let floor = GRID_RELATIVE_FLOOR * peak;
            let ln: Vec<f32> = mass
                .iter()
                .map(|&m| {
                    // Branch-free (vectorises): ln of a safe stand-in, then
                    // select.
                    let ln = ln_normal(m.max(f64::MIN_POSITIVE)) - self.log_norm;
                    if m >= floor && m > 0.0 {
                        ln as f32
                    } else {
                        f32::NAN
                    }
                })
                .collect();
            (ln, floor)
        });
        // See `LogGrid::upper_bound`; 1e-5 covers rounding (f32 storage).
        let ln_floor = floor.ln() - self.log_norm;
        let upper_slack = 2.01f64.ln() + 1.0 / (8.0 * CELLS_PER_H * CELLS_PER_H) + 1e-5;

        // Values left off the grid are not in the grid density: keep lookups
        // at least 10 h (the kernel's reach) away from them.
        let reach = KERNEL_HALF_WIDTH_H * h;
        let mut t_lo = 1.0;
        let mut t_hi = (n_nodes - 2) as f64;
        if self.min() < lo {
            t_lo = f64::max(t_lo, (lo + reach - origin) * inv_delta);
        }
        if self.max() > hi {
            t_hi = f64::min(t_hi, (hi - reach - origin) * inv_delta);
        }
        LogGrid {
            origin,
            inv_delta,
            t_lo,
            t_hi,
            ln,
            ln_floor,
            upper_slack,
        }
    }

    /// The range of values to bin: all of them, or, if that needs an FFT
    /// longer than `MAX_FFT_LEN`, the window of that width holding the most
    /// values (heavy tails). Values outside are handled by the exact path.
    fn grid_window(&self, delta: f64, half: usize) -> (f64, f64) {
        let (first, last) = (self.min(), self.max());
        let max_cells = MAX_FFT_LEN - 2 * half - 8;
        let width = max_cells as f64 * delta;
        if last - first <= width {
            return (first, last);
        }
        // Two pointers: for each left end, the furthest right end in range.
        let n = self.distinct.len();
        let (mut best, mut best_lo, mut j) = (0.0, 0usize, 0usize);
        for i in 0..n {
            j = j.max(i);
            while j + 1 < n && self.value(j + 1) - self.value(i) <= width {
                j += 1;
            }
            let inside = f64::from(self.cumulative[j]) - self.below(i);
            if inside > best {
                best = inside;
                best_lo = i;
            }
        }
        (self.value(best_lo), self.value(best_lo) + width)
    }
}

/// Values as ascending f64, rejecting empty or non-finite input.
fn sorted_f64(values: &[f32]) -> Result<Vec<f64>> {
    if values.is_empty() {
        return Err(KernelError::Empty {
            what: "values",
            reason: "a density needs at least one value".into(),
        });
    }
    check_finite("values", values, 1)?;
    let mut sorted = Vec::with_capacity(values.len());
    sort_f32_to_f64(values, &mut Vec::new(), &mut sorted);
    Ok(sorted)
}

#[cfg(test)]
#[path = "kde_tests.rs"]
mod tests;
