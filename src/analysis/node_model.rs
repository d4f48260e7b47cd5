//! One node's fitted likelihoods and its per-value posteriors for the three
//! systems (see [`crate::analysis::classifiers`] for the definitions).

use crate::analysis::bandwidth::silverman_from_sorted;
use crate::analysis::kde::Kde;
use crate::analysis::mathx::{exp_neg, ln_normal, sort_f32_to_f64};
use crate::analysis::posterior::{log_posteriors, LN_POSTERIOR_FLOOR, LSE_CUTOFF};
use crate::analysis::posterior_table::PosteriorTable;
use crate::analysis::table_plan::TablePlan;

/// A class whose log joint value is provably this far (nats) below the best
/// class's is given posterior 0 without evaluating its KDE exactly. Its true
/// posterior is below e^-25 < 1e-10, so it is floored either way, and leaving
/// it out of the normaliser shifts the other classes' log posteriors by less
/// than n_classes * e^-25 ~ 1e-10 nats.
const SKIP_BELOW_BEST: f64 = 25.0;

/// A value shared exactly by at least this fraction of a node's train
/// samples gets its posteriors precomputed ...
const HOT_FRACTION: f64 = 0.01;
/// ... for at most this many such values per node.
const MAX_HOT_VALUES: usize = 8;

#[derive(Debug, Clone)]
pub(crate) struct NodeModel {
    /// KDE per class; `None` for a class with no train samples.
    pub(crate) kdes: Vec<Option<Kde>>,
    /// p_on(c) of the discrete system.
    pub(crate) p_on: Vec<f64>,
    /// Floored discrete node log posteriors for z <= 0, and those for z > 0
    /// minus these.
    pub(crate) posterior_off: Vec<f64>,
    pub(crate) on_minus_off: Vec<f64>,
    /// Continuous-system log posteriors tabulated over the train range.
    pub(crate) table: Option<PosteriorTable>,
    /// Values many samples share exactly (0 for pixels, a constant
    /// pre-activation, ...), where KDEs are spiky and direct evaluation is
    /// slow, with their floored continuous posteriors (`hot_posteriors`,
    /// n_classes per value).
    hot_values: Vec<f64>,
    hot_posteriors: Vec<f64>,
}

/// Reusable buffers for evaluating a batch of points directly.
pub(crate) struct EvalScratch {
    /// Class-major n_classes x batch log joint values.
    lnl: Vec<f64>,
    /// Per point: the largest log joint value, then the log-sum-exp.
    best: Vec<f64>,
    sum: Vec<f64>,
    /// Per point: whether some class needs the exact path.
    pending: Vec<bool>,
    /// One point's log joint values, and bounds on those not yet known.
    joint: Vec<f64>,
    bounds: Vec<f64>,
    /// Per class, the position of x among the class's values, and of the
    /// previous point searched for (see [`Kde::position`]).
    positions: Vec<usize>,
    hints: Vec<usize>,
}

impl EvalScratch {
    pub(crate) fn new(n_classes: usize) -> Self {
        Self {
            lnl: Vec::new(),
            best: Vec::new(),
            sum: Vec::new(),
            pending: Vec::new(),
            joint: vec![0.0; n_classes],
            bounds: vec![0.0; n_classes],
            positions: vec![0; n_classes],
            hints: vec![0; n_classes],
        }
    }
}

/// Marks a sample off the posterior table.
const NO_CELL: usize = usize::MAX;

/// Reusable buffers for evaluating one chunk of samples.
pub(crate) struct ChunkScratch {
    /// Samples of the chunk that need the direct computation.
    pub(crate) pending: Vec<usize>,
    /// Table cell of each sample (see `PosteriorTable::locate`), or
    /// `NO_CELL`.
    cells: Vec<(usize, f64)>,
}

impl ChunkScratch {
    pub(crate) fn new(n_samples: usize) -> Self {
        Self {
            pending: Vec::with_capacity(n_samples),
            cells: Vec::with_capacity(n_samples),
        }
    }
}

impl NodeModel {
    /// Fits the node from its train values, `column`, grouped by class:
    /// first the `class_sizes[0]` values of class 0, then those of class 1,
    /// and so on.
    pub(crate) fn fit(column: &[f32], class_sizes: &[usize], log_prior: &[f64]) -> Self {
        let n_c = class_sizes.len();
        let mut kdes = Vec::with_capacity(n_c);
        let mut p_on = Vec::with_capacity(n_c);
        let (mut scratch, mut sorted) = (Vec::new(), Vec::new());
        let mut start = 0;
        for &size in class_sizes {
            let values = &column[start..start + size];
            start += size;
            let k_on = values.iter().filter(|&&v| v > 0.0).count();
            p_on.push((k_on as f64 + 1.0) / (size as f64 + 2.0));
            if values.is_empty() {
                kdes.push(None);
            } else {
                sort_f32_to_f64(values, &mut scratch, &mut sorted);
                let h = silverman_from_sorted(&sorted);
                kdes.push(Some(Kde::from_sorted(&sorted, h)));
            }
        }
        let joint_on: Vec<f64> = p_on
            .iter()
            .zip(log_prior)
            .map(|(p, lp)| p.ln() + lp)
            .collect();
        let joint_off: Vec<f64> = p_on
            .iter()
            .zip(log_prior)
            .map(|(p, lp)| (1.0 - p).ln() + lp)
            .collect();
        let mut posterior_on = vec![0.0; n_c];
        let mut posterior_off = vec![0.0; n_c];
        log_posteriors(&joint_on, &mut posterior_on, LN_POSTERIOR_FLOOR);
        log_posteriors(&joint_off, &mut posterior_off, LN_POSTERIOR_FLOOR);
        let mut node = Self {
            kdes,
            p_on,
            on_minus_off: posterior_on
                .iter()
                .zip(&posterior_off)
                .map(|(a, b)| a - b)
                .collect(),
            posterior_off,
            table: None,
            hot_values: Vec::new(),
            hot_posteriors: Vec::new(),
        };
        node.find_hot_values(log_prior, column.len());
        node.table = node.build_table(log_prior);
        node
    }

    /// Finds the values shared by many train samples and precomputes their
    /// posteriors.
    fn find_hot_values(&mut self, log_prior: &[f64], n_train: usize) {
        let min_count = ((n_train as f64 * HOT_FRACTION) as u32).max(2);
        let mut candidates: Vec<(f64, u32)> = self
            .kdes
            .iter()
            .flatten()
            .flat_map(|kde| kde.frequent_values(1.max(min_count / 16)))
            .collect();
        candidates.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        // Merge equal values (one entry per class) into total counts.
        let mut merged: Vec<(f64, u32)> = Vec::new();
        for (v, c) in candidates {
            match merged.last_mut() {
                Some(last) if last.0 == v => last.1 += c,
                _ => merged.push((v, c)),
            }
        }
        merged.retain(|&(_, c)| c >= min_count);
        merged.sort_unstable_by_key(|&(_, count)| std::cmp::Reverse(count));
        merged.truncate(MAX_HOT_VALUES);
        let n_c = self.kdes.len();
        let mut joint = vec![0.0; n_c];
        let mut post = vec![0.0; n_c];
        for (v, _) in merged {
            self.continuous_log_posteriors(log_prior, v, &mut joint, &mut post, LN_POSTERIOR_FLOOR);
            self.hot_values.push(v);
            self.hot_posteriors.extend_from_slice(&post);
        }
    }

    /// The precomputed posteriors of `x` if it is one of the hot values.
    #[inline]
    fn hot(&self, x: f64) -> Option<&[f64]> {
        let n_c = self.kdes.len();
        self.hot_values
            .iter()
            .position(|&v| v == x)
            .map(|i| &self.hot_posteriors[i * n_c..(i + 1) * n_c])
    }

    /// Floored continuous-system log posteriors of a chunk of values `xs`
    /// into `post` (n_samples x n_classes) where they are precomputed (hot
    /// values) or tabulated. The samples left for the direct computation
    /// ([`Self::continuous_log_posteriors_many`]) are listed in
    /// `scratch.pending`; their entries of `post` are unspecified.
    pub(crate) fn table_posteriors(
        &self,
        xs: &[f64],
        post: &mut [f64],
        scratch: &mut ChunkScratch,
    ) {
        let n_c = self.kdes.len();
        let any_hot = !self.hot_values.is_empty();
        let ChunkScratch { pending, cells } = scratch;
        pending.clear();
        match &self.table {
            Some(table) => {
                // First where each value's table cell is (prefetching its
                // rows), then the interpolations; see `PosteriorTable::locate`.
                cells.clear();
                let mut touched = 0.0;
                for &x in xs {
                    let cell = table.locate(x).unwrap_or((NO_CELL, 0.0));
                    if cell.0 != NO_CELL {
                        touched += table.touch(cell.0);
                    }
                    cells.push(cell);
                }
                std::hint::black_box(touched);
                for (s, ((&x, p), &(node, f))) in xs
                    .iter()
                    .zip(post.chunks_exact_mut(n_c))
                    .zip(cells.iter())
                    .enumerate()
                {
                    if any_hot {
                        if let Some(hot) = self.hot(x) {
                            p.copy_from_slice(hot);
                            continue;
                        }
                    }
                    if node == NO_CELL || !table.interpolate_cell(node, f, LN_POSTERIOR_FLOOR, p) {
                        pending.push(s);
                    }
                }
            }
            None => {
                for (s, (&x, p)) in xs.iter().zip(post.chunks_exact_mut(n_c)).enumerate() {
                    match self.hot(x) {
                        Some(hot) => p.copy_from_slice(hot),
                        None => pending.push(s),
                    }
                }
            }
        }
    }

    /// Tabulates the continuous posteriors over the range of the train
    /// values, block by block with the spacing each block needs
    /// (see [`crate::analysis::posterior_table`] and [`TablePlan`]); blocks
    /// with too few train samples to pay for their table are left to the
    /// direct path.
    fn build_table(&self, log_prior: &[f64]) -> Option<PosteriorTable> {
        let TablePlan {
            lo,
            block,
            cells,
            mut refiner,
        } = TablePlan::new(&self.kdes, &self.hot_values)?;
        let n_c = self.kdes.len();
        let mut scratch = EvalScratch::new(n_c);
        let table = PosteriorTable::build(
            lo,
            block,
            &cells,
            n_c,
            LN_POSTERIOR_FLOOR - 1.0,
            |xs, out| {
                self.continuous_log_posteriors_many(
                    log_prior,
                    xs,
                    out,
                    -LSE_CUTOFF,
                    true,
                    &mut scratch,
                )
            },
            |b, m, marked| refiner.refine(b, m, marked),
        );
        Some(table)
    }

    /// Continuous-system log posteriors at `x`, bounded below by `lower`,
    /// computed directly (one KDE evaluation per class that can matter).
    pub(crate) fn continuous_log_posteriors(
        &self,
        log_prior: &[f64],
        x: f64,
        joint: &mut [f64],
        out: &mut [f64],
        lower: f64,
    ) {
        for ((a, kde), &p) in joint.iter_mut().zip(&self.kdes).zip(log_prior) {
            *a = match kde {
                Some(kde) => kde.grid_log_density(x) + p,
                None => f64::NEG_INFINITY,
            };
        }
        let n_c = joint.len();
        let (mut bounds, mut positions) = (vec![0.0; n_c], vec![0; n_c]);
        self.resolve_joint(log_prior, x, joint, &mut bounds, &mut positions, None);
        log_posteriors(joint, out, lower);
    }

    /// [`Self::continuous_log_posteriors`] at each of `xs` into `out`
    /// (`xs.len() x n_classes`, row-major), with the same results. The work
    /// goes class by class over all points (one class's grid stays in
    /// cache, and the log-sum-exp vectorises across points); only points
    /// with classes the grids cannot answer take the per-point path. With
    /// `sorted` (`xs` roughly ascending) exact evaluations start their
    /// search where the previous one ended.
    pub(crate) fn continuous_log_posteriors_many(
        &self,
        log_prior: &[f64],
        xs: &[f64],
        out: &mut [f64],
        lower: f64,
        sorted: bool,
        scratch: &mut EvalScratch,
    ) {
        let n_c = self.kdes.len();
        let nb = xs.len();
        if nb == 0 {
            return;
        }
        let EvalScratch {
            lnl,
            best,
            sum,
            pending,
            joint,
            bounds,
            positions,
            hints,
        } = scratch;
        // Log joint values a_c = ln L + ln pi_c, class-major (NaN where the
        // grid has no answer), and per point the best known one.
        lnl.resize(n_c * nb, 0.0);
        best.clear();
        best.resize(nb, f64::NEG_INFINITY);
        pending.clear();
        pending.resize(nb, false);
        for ((lnl, kde), &p) in lnl.chunks_exact_mut(nb).zip(&self.kdes).zip(log_prior) {
            match kde {
                Some(kde) => {
                    for (l, &x) in lnl.iter_mut().zip(xs) {
                        *l = kde.grid_log_density(x) + p;
                    }
                }
                None => lnl.fill(f64::NEG_INFINITY),
            }
            for ((b, q), &l) in best.iter_mut().zip(pending.iter_mut()).zip(lnl.iter()) {
                // Branch-free; NaN compares false, so it leaves `best` alone.
                *b = if l > *b { l } else { *b };
                *q |= l.is_nan();
            }
        }
        for (s, &x) in xs.iter().enumerate() {
            if !pending[s] {
                continue;
            }
            for (c, a) in joint.iter_mut().enumerate() {
                *a = lnl[c * nb + s];
            }
            let hints = sorted.then_some(&mut hints[..]);
            self.resolve_joint(log_prior, x, joint, bounds, positions, hints);
            best[s] = f64::NEG_INFINITY;
            for (c, &a) in joint.iter().enumerate() {
                lnl[c * nb + s] = a;
                best[s] = best[s].max(a);
            }
        }
        // out_c = max(a_c - logsumexp(a), lower), as `log_posteriors` does
        // it (same terms, same order), but vectorised across points.
        sum.clear();
        sum.resize(nb, 0.0);
        for lnl in lnl.chunks_exact(nb) {
            for ((t, &a), &b) in sum.iter_mut().zip(lnl).zip(best.iter()) {
                let d = a - b;
                *t += if d >= -LSE_CUTOFF { exp_neg(d) } else { 0.0 };
            }
        }
        for (t, &b) in sum.iter_mut().zip(best.iter()) {
            // The best class adds exp(0) = 1, so t >= 1 unless every class
            // is -inf (b = -inf); then every output is `lower`.
            let lse = b + ln_normal(t.max(1.0));
            *t = if b == f64::NEG_INFINITY {
                f64::INFINITY
            } else {
                lse
            };
        }
        for (c, lnl) in lnl.chunks_exact(nb).enumerate() {
            for (o, (&a, &lse)) in out.chunks_exact_mut(n_c).zip(lnl.iter().zip(sum.iter())) {
                let v = a - lse;
                o[c] = if v > lower { v } else { lower };
            }
        }
    }

    /// Completes log joint values a_c = ln L + ln pi_c (`joint`; on entry
    /// NaN for the classes whose grid had no answer).
    ///
    /// A class the grid could not answer is evaluated exactly, unless an
    /// upper bound (the grid's, or off the grid the nearest value's kernel)
    /// shows it is more than `SKIP_BELOW_BEST` below the best class: then it
    /// is -inf
    /// (see the constant for why that is harmless). Classes are evaluated
    /// in order of decreasing bound, so that the likeliest ones raise the
    /// best value early. `bounds` and `positions` are scratch, one entry per
    /// class; `hints` (per class, see [`Kde::position`]) speed up the search
    /// for ascending points.
    pub(crate) fn resolve_joint(
        &self,
        log_prior: &[f64],
        x: f64,
        joint: &mut [f64],
        bounds: &mut [f64],
        positions: &mut [usize],
        mut hints: Option<&mut [usize]>,
    ) {
        let mut best = f64::NEG_INFINITY;
        let mut pending = false;
        for &a in joint.iter() {
            if a.is_nan() {
                pending = true;
            } else {
                best = best.max(a);
            }
        }
        if !pending {
            return;
        }
        for (c, (kde, &p)) in self.kdes.iter().zip(log_prior).enumerate() {
            if !joint[c].is_nan() {
                continue;
            }
            // NaN only comes from a class that has a KDE.
            let Some(kde) = kde else {
                joint[c] = f64::NEG_INFINITY;
                continue;
            };
            // The grid's bound is O(1) but stuck at its reliability floor;
            // the nearest value's kernel bounds the density tightly in the
            // sparse tails, once x's position among the values is known.
            let bound = kde.grid_upper_bound(x) + p;
            if bound < best - SKIP_BELOW_BEST {
                joint[c] = f64::NEG_INFINITY;
                continue;
            }
            let k = kde.position(x, hints.as_deref_mut().map(|h| &mut h[c]));
            positions[c] = k;
            // `min` ignores the grid's NaN where it does not reach.
            bounds[c] = (kde.nearest_upper_bound(x, k) + p).min(bound);
        }
        loop {
            let mut next = None;
            for (c, (&a, &b)) in joint.iter().zip(bounds.iter()).enumerate() {
                if a.is_nan() && next.is_none_or(|(_, nb)| b > nb) {
                    next = Some((c, b));
                }
            }
            let Some((c, bound)) = next else {
                return;
            };
            let kde = match &self.kdes[c] {
                Some(kde) if bound >= best - SKIP_BELOW_BEST => kde,
                _ => {
                    // This bound is the largest left: no class left can matter.
                    for a in joint.iter_mut().filter(|a| a.is_nan()) {
                        *a = f64::NEG_INFINITY;
                    }
                    return;
                }
            };
            let a = kde.walk_from(x, positions[c]) + log_prior[c];
            // (Never NaN for finite x; -inf keeps the loop finite regardless.)
            joint[c] = if a.is_nan() { f64::NEG_INFINITY } else { a };
            best = best.max(joint[c]);
        }
    }
}
