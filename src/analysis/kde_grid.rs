//! The fast KDE's grid of ln L (see [`crate::analysis::kde`], which builds it):
//! binning the values on it, convolving by FFT and taking logs; cubic
//! interpolation through 4 nodes, and an upper bound between nodes.

use crate::analysis::fft::{good_len, kernel_fft, with_work_buffer};
use crate::analysis::mathx::ln_normal;

/// Grid nodes per bandwidth.
const CELLS_PER_H: f64 = 24.0;
/// Kernel truncation, in bandwidths: e^(-10^2/2) = 2e-22 per value.
const KERNEL_HALF_WIDTH_H: f64 = 10.0;
/// Grid nodes below this fraction of the grid's peak density are not used.
const GRID_RELATIVE_FLOOR: f64 = 1e-11;
/// ln L on a regular grid, interpolated by cubics through 4 nodes.
#[derive(Debug, Clone)]
pub(crate) struct LogGrid {
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
    /// Node spacing for bandwidth `h`, and the kernel's half width in nodes.
    pub(crate) fn spacing(h: f64) -> (f64, usize) {
        (
            h / CELLS_PER_H,
            (KERNEL_HALF_WIDTH_H * CELLS_PER_H).ceil() as usize,
        )
    }

    /// The grid of a KDE with bandwidth `h` and normaliser `log_norm` (ln of
    /// N h sqrt(2 pi)), binning the (value, count) pairs `values` (ascending)
    /// that lie in `window`; `range` is (min, max) of all the values: lookups
    /// stay a kernel's reach away from those left off the grid.
    pub(crate) fn build(
        h: f64,
        log_norm: f64,
        window: (f64, f64),
        range: (f64, f64),
        values: impl Iterator<Item = (f64, f64)>,
    ) -> LogGrid {
        let (delta, half) = Self::spacing(h);
        let (lo, hi) = window;
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
            for (v, c) in values {
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
                    let ln = ln_normal(m.max(f64::MIN_POSITIVE)) - log_norm;
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
        let ln_floor = floor.ln() - log_norm;
        let upper_slack = 2.01f64.ln() + 1.0 / (8.0 * CELLS_PER_H * CELLS_PER_H) + 1e-5;

        // Values left off the grid are not in the grid density: keep lookups
        // at least 10 h (the kernel's reach) away from them.
        let reach = KERNEL_HALF_WIDTH_H * h;
        let mut t_lo = 1.0;
        let mut t_hi = (n_nodes - 2) as f64;
        if range.0 < lo {
            t_lo = f64::max(t_lo, (lo + reach - origin) * inv_delta);
        }
        if range.1 > hi {
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

    /// ln L at `x`, or NaN when `x` is off the usable grid or near an
    /// unreliable node (NaN propagates through the interpolation).
    #[inline]
    pub(crate) fn lookup(&self, x: f64) -> f64 {
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
    pub(crate) fn upper_bound(&self, x: f64) -> f64 {
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
