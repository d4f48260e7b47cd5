//! A node's continuous-system log posteriors tabulated on a piecewise
//! regular grid.
//!
//! The log posterior of class c at a node, ln P(c | z), is a function of the
//! single number z, shared by every sample. Tabulating it once per node and
//! interpolating per sample replaces, for each of ~60,000 samples, one KDE
//! lookup per class plus a log-sum-exp by one cubic interpolation of all
//! classes at once: the classifiers' main cost.
//!
//! How fine the table must be varies along z: near the values of a class
//! with a small bandwidth the posteriors change on that class's scale, and
//! elsewhere on a much coarser one. On real networks the bandwidths of one
//! node differ by 10x or more (a class tightly clustered with a few outliers
//! far away has a tiny Silverman bandwidth), so one spacing for the whole
//! range would need tens of thousands of points. The range is therefore cut
//! into equal blocks, and each block gets its own spacing (a whole number of
//! cells per block), or none at all: a block with fewer samples than it
//! would cost to tabulate is left to the caller's direct computation.
//!
//! Each block stores its own nodes, one ghost node before it and two after
//! it, so that a lookup never mixes spacings: node k of block b is at
//! lo_b + (k - 1) * delta_b, k = 0 ..= cells_b + 2, and the cubic of cell i
//! uses nodes i ..= i + 3.
//!
//! Accuracy is checked, not assumed: at build time every cell's midpoint is
//! also computed directly and compared with the interpolant. Cells where
//! they differ by more than `TOLERANCE` for a class that is not floored are
//! marked, and lookups there report failure so the caller computes directly.
//! A block with marked cells may be tabulated again with more cells (the
//! caller decides whether its samples are worth it), and checked again.
//! Values are stored clamped below at `lower` (far below the 1e-10 floor),
//! so deep-tail values, which only ever end up floored, cannot disturb the
//! interpolation.

/// Largest allowed |interpolated - direct| at a cell midpoint (nats).
const TOLERANCE: f64 = 2e-4;

/// Points evaluated per call of the batch evaluator.
const EVAL_BATCH: usize = 256;

/// How many times a block with marked cells may be tabulated again.
const MAX_REFINEMENTS: usize = 2;

/// One block: its nodes start at `first`; `cells` = 0 means not tabulated.
#[derive(Debug, Clone, Copy)]
struct Block {
    first: u32,
    cells: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct PosteriorTable {
    /// Left end of block 0.
    origin: f64,
    /// 1 / block width.
    inv_block: f64,
    n_classes: usize,
    blocks: Vec<Block>,
    /// Node-major rows of `n_classes + 1`: `values[k * (n_classes + 1) + c]`
    /// is class c at node k. f32 halves the memory and cache traffic of the
    /// per-sample lookups; its rounding (< 3e-6 nats for values in [-40, 0])
    /// is included in the midpoint check. The last entry of a row is 1 if
    /// the cell that starts at that node (cell i of a block starts at node
    /// `first + i`) is stiff: lookups there fall back to the direct path.
    /// Keeping it in the row the lookup reads anyway saves a dependent
    /// cache miss per lookup.
    values: Vec<f32>,
    n_nodes: usize,
}

impl PosteriorTable {
    /// Tabulates `eval(xs, out)` (clamped log posteriors of all classes at
    /// each of `xs` into `out`, `xs.len() x n_classes`, row-major; `xs`
    /// ascending within each block) on blocks of width `block` starting at
    /// `origin`; block b gets `cells[b]` cells (0: not tabulated).
    /// `relevant` is the value below which a class's posterior is known to
    /// be floored (differences there do not matter).
    ///
    /// A block with marked cells is offered to `refine(b, cells, marked)`,
    /// which returns the block's new number of cells: if more, the block is
    /// tabulated again with that many (at most `MAX_REFINEMENTS` times).
    pub(crate) fn build(
        origin: f64,
        block: f64,
        cells: &[u32],
        n_classes: usize,
        relevant: f64,
        mut eval: impl FnMut(&[f64], &mut [f64]),
        mut refine: impl FnMut(usize, u32, usize) -> u32,
    ) -> Self {
        let mut table = Self {
            origin,
            inv_block: 1.0 / block,
            n_classes,
            blocks: vec![Block { first: 0, cells: 0 }; cells.len()],
            values: Vec::new(),
            n_nodes: 0,
        };
        let mut todo: Vec<(usize, u32)> = (0..cells.len())
            .filter(|&b| cells[b] > 0)
            .map(|b| (b, cells[b]))
            .collect();
        let mut refined = false;
        for round in 0..=MAX_REFINEMENTS {
            table.add_blocks(&todo, block, relevant, &mut eval);
            if round == MAX_REFINEMENTS {
                break;
            }
            todo.retain_mut(|(b, m)| {
                let marked = table.n_marked(*b);
                if marked == 0 {
                    return false;
                }
                let more = refine(*b, *m, marked);
                let again = more > *m;
                *m = more;
                again
            });
            if todo.is_empty() {
                break;
            }
            refined = true;
        }
        if refined {
            table.compact();
        }
        table.n_nodes = table
            .blocks
            .iter()
            .filter(|b| b.cells > 0)
            .map(|b| b.cells as usize + 3)
            .sum();
        table
    }

    /// Tabulates blocks `(b, cells)`: appends their nodes' rows (replacing
    /// any earlier rows of the block) and marks their cells.
    fn add_blocks(
        &mut self,
        todo: &[(usize, u32)],
        block: f64,
        relevant: f64,
        eval: &mut impl FnMut(&[f64], &mut [f64]),
    ) {
        let n_classes = self.n_classes;
        let stride = n_classes + 1;
        let first_new = self.values.len() / stride;
        let mut xs = Vec::new();
        for &(b, m) in todo {
            self.blocks[b] = Block {
                first: (first_new + xs.len()) as u32,
                cells: m,
            };
            let (lo, delta) = (self.origin + b as f64 * block, block / f64::from(m));
            xs.extend((0..m + 3).map(|k| lo + (f64::from(k) - 1.0) * delta));
        }
        self.values.resize((first_new + xs.len()) * stride, 0.0);
        let mut out = vec![0.0f64; EVAL_BATCH * n_classes];
        for (x, rows) in xs
            .chunks(EVAL_BATCH)
            .zip(self.values[first_new * stride..].chunks_mut(EVAL_BATCH * stride))
        {
            let out = &mut out[..x.len() * n_classes];
            eval(x, out);
            for (row, r) in rows
                .chunks_exact_mut(stride)
                .zip(out.chunks_exact(n_classes))
            {
                for (o, &r) in row.iter_mut().zip(r) {
                    *o = r as f32;
                }
            }
        }
        // Midpoints of every cell, with the node index of their cell.
        xs.clear();
        let mut midpoint_cells = Vec::new();
        for &(b, m) in todo {
            let first = self.blocks[b].first;
            let (lo, delta) = (self.origin + b as f64 * block, block / f64::from(m));
            for i in 0..m {
                xs.push(lo + (f64::from(i) + 0.5) * delta);
                midpoint_cells.push(first + i);
            }
        }
        let mut interpolated = vec![0.0; n_classes];
        for (x, nodes) in xs.chunks(EVAL_BATCH).zip(midpoint_cells.chunks(EVAL_BATCH)) {
            let direct = &mut out[..x.len() * n_classes];
            eval(x, direct);
            for (&node, direct) in nodes.iter().zip(direct.chunks_exact(n_classes)) {
                self.interpolate(node as usize, 0.5, f64::NEG_INFINITY, &mut interpolated);
                let stiff = direct
                    .iter()
                    .zip(&interpolated)
                    .any(|(&d, &i)| d.max(i) >= relevant && (d - i).abs() > TOLERANCE);
                self.values[node as usize * stride + n_classes] = f32::from(u8::from(stiff));
            }
        }
    }

    /// Number of marked cells of block `b`.
    fn n_marked(&self, b: usize) -> usize {
        let blk = self.blocks[b];
        (0..blk.cells as usize)
            .filter(|&i| self.is_stiff(blk.first as usize + i))
            .count()
    }

    /// Drops the rows of blocks that were tabulated again.
    fn compact(&mut self) {
        let stride = self.n_classes + 1;
        let mut values = Vec::new();
        for blk in self.blocks.iter_mut().filter(|b| b.cells > 0) {
            let (start, len) = (
                blk.first as usize * stride,
                (blk.cells as usize + 3) * stride,
            );
            blk.first = (values.len() / stride) as u32;
            values.extend_from_slice(&self.values[start..start + len]);
        }
        self.values = values;
    }

    /// Number of tabulated points.
    pub(crate) fn n_nodes(&self) -> usize {
        self.n_nodes
    }

    /// Whether the cell starting at node `node` is stiff.
    #[inline]
    fn is_stiff(&self, node: usize) -> bool {
        self.values[node * (self.n_classes + 1) + self.n_classes] != 0.0
    }

    /// Number of cells whose lookups fall back to the direct path.
    #[cfg(test)]
    pub(crate) fn n_stiff(&self) -> usize {
        (0..self.n_nodes).filter(|&k| self.is_stiff(k)).count()
    }

    /// Number of blocks, and of those not tabulated.
    #[cfg(test)]
    pub(crate) fn n_blocks(&self) -> (usize, usize) {
        let direct = self.blocks.iter().filter(|b| b.cells == 0).count();
        (self.blocks.len(), direct)
    }

    /// Interpolated clamped log posteriors at `x` into `out`; false (and
    /// `out` unspecified) if `x` is off the table, in a block that is not
    /// tabulated or in a marked cell.
    #[inline]
    #[cfg(test)]
    pub(crate) fn lookup(&self, x: f64, out: &mut [f64]) -> bool {
        match self.locate(x) {
            Some((node, f)) => self.interpolate_cell(node, f, f64::NEG_INFINITY, out),
            None => false,
        }
    }

    /// The first node of the cell holding `x` and the fraction of the way
    /// through it, or `None` off the table and in blocks not tabulated.
    /// Reads only the (small) block list, so that a caller can locate many
    /// points first, [`Self::touch`] their rows, and then interpolate:
    /// the table does not fit in cache, and one point at a time would wait
    /// for each point's rows in turn.
    #[inline]
    pub(crate) fn locate(&self, x: f64) -> Option<(usize, f64)> {
        let t = (x - self.origin) * self.inv_block;
        if !(t >= 0.0 && t < self.blocks.len() as f64) {
            return None;
        }
        // 0 <= t < blocks (<= 2^31), u < cells + 1: the i32 conversions are
        // exact and cheaper than saturating ones to usize.
        let b = t as i32 as usize;
        let blk = self.blocks[b];
        if blk.cells == 0 {
            return None;
        }
        let u = (t - b as f64) * f64::from(blk.cells);
        // u < cells up to rounding; keep the last cell's stencil.
        let i = (u as i32 as usize).min(blk.cells as usize - 1);
        Some((blk.first as usize + i, u - i as f64))
    }

    /// Reads one value of each cache line that a lookup in the cell
    /// starting at `node` will read, so that those lines are on their way
    /// into cache (a prefetch in safe code; the sum is meaningless, and
    /// callers only pass it to `std::hint::black_box`).
    #[inline]
    pub(crate) fn touch(&self, node: usize) -> f32 {
        let stride = self.n_classes + 1;
        let rows = &self.values[node * stride..(node + 4) * stride];
        // Entries 16 apart are 64 bytes apart: every line the rows span
        // holds one of these (for up to 11 classes these are all of them;
        // more classes read more lines than this warms).
        let last = rows.len() - 1;
        rows[0] + rows[16.min(last)] + rows[32.min(last)] + rows[last]
    }

    /// Interpolates in the cell starting at `node` (from [`Self::locate`])
    /// into `out`, raising values below `floor` to it; false (and `out`
    /// unspecified) if the cell is marked.
    #[inline]
    pub(crate) fn interpolate_cell(
        &self,
        node: usize,
        f: f64,
        floor: f64,
        out: &mut [f64],
    ) -> bool {
        if self.is_stiff(node) {
            return false;
        }
        self.interpolate(node, f, floor, out);
        true
    }

    /// Cubic Lagrange interpolation through nodes `node ..= node + 3`, at
    /// fraction `f` between the middle two, raised to at least `floor`.
    #[inline(always)]
    fn interpolate(&self, node: usize, f: f64, floor: f64, out: &mut [f64]) {
        let (fp1, fm1, fm2) = (f + 1.0, f - 1.0, f - 2.0);
        const SIXTH: f64 = 1.0 / 6.0;
        let w = [
            -f * fm1 * fm2 * SIXTH,
            0.5 * fp1 * fm1 * fm2,
            -0.5 * fp1 * f * fm2,
            fp1 * f * fm1 * SIXTH,
        ];
        // Ten classes (MNIST, CIFAR-10) get a fully unrolled loop without
        // bounds checks: this runs once per sample and node.
        if self.n_classes == 10 {
            self.interpolate_fixed::<10>(node, &w, floor, out);
            return;
        }
        let c = self.n_classes;
        let stride = c + 1;
        let v = &self.values[node * stride..(node + 4) * stride];
        let (v0, rest) = v.split_at(stride);
        let (v1, rest) = rest.split_at(stride);
        let (v2, v3) = rest.split_at(stride);
        let (v0, v1, v2, v3) = (&v0[..c], &v1[..c], &v2[..c], &v3[..c]);
        for ((((o, a), b), d), e) in out.iter_mut().zip(v0).zip(v1).zip(v2).zip(v3) {
            let v = w[0] * f64::from(*a)
                + w[1] * f64::from(*b)
                + w[2] * f64::from(*d)
                + w[3] * f64::from(*e);
            // (Not `f64::max`: this compiles to one instruction.)
            *o = if v > floor { v } else { floor };
        }
    }

    /// [`Self::interpolate`] for exactly `N` classes (same arithmetic).
    #[inline(always)]
    fn interpolate_fixed<const N: usize>(
        &self,
        node: usize,
        w: &[f64; 4],
        floor: f64,
        out: &mut [f64],
    ) {
        let stride = N + 1;
        let start = node * stride;
        let v = &self.values[start..start + 3 * stride + N];
        let out = &mut out[..N];
        for c in 0..N {
            let x = w[0] * f64::from(v[c])
                + w[1] * f64::from(v[stride + c])
                + w[2] * f64::from(v[2 * stride + c])
                + w[3] * f64::from(v[3 * stride + c]);
            out[c] = if x > floor { x } else { floor };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Evaluates a per-point function on a batch.
    fn batch(f: impl Fn(f64, &mut [f64]), n_c: usize) -> impl FnMut(&[f64], &mut [f64]) {
        move |xs, out| {
            for (&x, o) in xs.iter().zip(out.chunks_exact_mut(n_c)) {
                f(x, o);
            }
        }
    }

    #[test]
    fn smooth_functions_interpolate_and_kinks_are_marked() {
        // Class 0: a cubic (exact); class 1: a kink at x = 0.5.
        let f = |x: f64, out: &mut [f64]| {
            out[0] = -x * x * x - x;
            out[1] = if x > 0.5 { -100.0 * (x - 0.5) } else { 0.0 };
        };
        // Blocks of 0.1 with 10 cells: spacing 0.01.
        let table = PosteriorTable::build(0.0, 0.1, &[10; 11], 2, -30.0, batch(f, 2), |_, m, _| m);
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
        assert!(marked > 0 && table.n_stiff() > 0);
        assert!(!table.lookup(-0.5, &mut out) && !table.lookup(1.5, &mut out));
        assert_eq!(table.n_nodes(), 11 * 13);
    }

    #[test]
    fn blocks_have_their_own_spacing_and_untabulated_blocks_fail() {
        // A narrow feature in block 2 (width 1), smooth elsewhere; block 4
        // is not tabulated.
        let f = |x: f64, out: &mut [f64]| {
            let d = (x - 2.5) / 0.02;
            out[0] = -0.5 * x * x + (-0.5 * d * d).exp();
        };
        let cells = [4, 4, 600, 4, 0, 4];
        let table = PosteriorTable::build(0.0, 1.0, &cells, 1, -30.0, batch(f, 1), |_, m, _| m);
        assert_eq!(table.n_nodes(), 4 * 7 + 603);
        assert_eq!(table.n_blocks(), (6, 1));
        assert_eq!(table.n_stiff(), 0);
        let (mut out, mut expected) = ([0.0], [0.0]);
        for i in 0..6000 {
            let x = i as f64 / 1000.0;
            let found = table.lookup(x, &mut out);
            assert_eq!(found, !(4.0..5.0).contains(&x), "{x}");
            if found {
                f(x, &mut expected);
                assert!((out[0] - expected[0]).abs() < 2e-4, "{x}: {out:?}");
            }
        }
        assert!(!table.lookup(6.0, &mut out));
    }

    #[test]
    fn marked_blocks_are_refined_on_request() {
        // A bump of width 0.05 in block 1 (width 1): 12 and 24 cells there
        // are too coarse (marked cells), 48 are fine.
        let f = |x: f64, out: &mut [f64]| {
            let d = (x - 1.5) / 0.05;
            out[0] = -0.1 * x + 0.05 * (-0.5 * d * d).exp();
        };
        let build = |allow: bool| {
            let mut asked = Vec::new();
            let table = PosteriorTable::build(
                0.0,
                1.0,
                &[4, 12, 4],
                1,
                -30.0,
                batch(f, 1),
                |b, m, marked| {
                    asked.push((b, m, marked));
                    if allow && m < 96 {
                        2 * m
                    } else {
                        m
                    }
                },
            );
            (table, asked)
        };
        let (coarse, asked) = build(false);
        assert_eq!(asked.len(), 1);
        assert_eq!((asked[0].0, asked[0].1), (1, 12));
        assert!(coarse.n_stiff() > 0);
        let (fine, asked) = build(true);
        // Asked at 12 and 24 cells; 48 pass.
        assert_eq!(asked.iter().map(|a| a.1).collect::<Vec<_>>(), vec![12, 24]);
        assert_eq!(fine.n_stiff(), 0);
        assert_eq!(fine.n_nodes(), 7 + 51 + 7);
        let (mut out, mut expected) = ([0.0], [0.0]);
        for i in 0..3000 {
            let x = i as f64 / 1000.0;
            assert!(fine.lookup(x, &mut out), "{x}");
            f(x, &mut expected);
            assert!(
                (out[0] - expected[0]).abs() < 2e-4,
                "{x}: {out:?} vs {expected:?}"
            );
        }
    }
}
