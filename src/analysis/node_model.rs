//! One node's fitted likelihoods and its per-value posteriors for the three
//! systems (see [`crate::analysis::classifiers`] for the definitions).

use crate::analysis::bandwidth::silverman_from_sorted;
use crate::analysis::classifiers::{log_posteriors, LN_POSTERIOR_FLOOR};
use crate::analysis::kde::Kde;
use crate::analysis::mathx::sort_f32_to_f64;
use crate::analysis::posterior_table::PosteriorTable;

/// Terms this far (nats) below the largest are left out of a log-sum-exp;
/// e^-40 = 4e-18 is below half an ulp of the sum, which is at least 1.
pub(crate) const LSE_CUTOFF: f64 = 40.0;

/// A class whose log joint value is provably this far (nats) below the best
/// class's is given posterior 0 without evaluating its KDE exactly. Its true
/// posterior is below e^-30 < 1e-10, so it is floored either way, and leaving
/// it out of the normaliser shifts the other classes' log posteriors by less
/// than n_classes * e^-30 ~ 1e-12 nats.
const SKIP_BELOW_BEST: f64 = 30.0;

/// Table spacing: nodes per bandwidth of the narrowest class.
const TABLE_CELLS_PER_H: f64 = 12.0;
/// Largest posterior table (nodes); wider nodes are evaluated per sample.
const MAX_TABLE_NODES: usize = 8192;
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
    /// Floored discrete node log posteriors for z > 0 and for z <= 0.
    pub(crate) posterior_on: Vec<f64>,
    pub(crate) posterior_off: Vec<f64>,
    /// Continuous-system log posteriors tabulated over the train range.
    pub(crate) table: Option<PosteriorTable>,
    /// Values many samples share exactly (0 for pixels, a constant
    /// pre-activation, ...), where KDEs are spiky and direct evaluation is
    /// slow, with their floored continuous posteriors (`hot_posteriors`,
    /// n_classes per value).
    hot_values: Vec<f64>,
    hot_posteriors: Vec<f64>,
}

/// Reusable buffers for evaluating one chunk of samples.
pub(crate) struct ChunkScratch {
    /// Class-major n_classes x n_samples KDE log-likelihoods.
    lnl: Vec<f64>,
    /// One sample's log joint values.
    joint: Vec<f64>,
    /// Per sample, whether its posteriors are already final.
    done: Vec<bool>,
}

impl ChunkScratch {
    pub(crate) fn new(n_samples: usize, n_classes: usize) -> Self {
        Self {
            lnl: vec![0.0; n_samples * n_classes],
            joint: vec![0.0; n_classes],
            done: vec![false; n_samples],
        }
    }
}

impl NodeModel {
    /// Fits the node from its train values (`column`, one per train row).
    pub(crate) fn fit(column: &[f32], rows_of_class: &[Vec<usize>], log_prior: &[f64]) -> Self {
        let n_c = rows_of_class.len();
        let mut kdes = Vec::with_capacity(n_c);
        let mut p_on = Vec::with_capacity(n_c);
        let (mut values, mut scratch, mut sorted) = (Vec::new(), Vec::new(), Vec::new());
        for rows in rows_of_class {
            values.clear();
            values.extend(rows.iter().map(|&r| column[r]));
            let k_on = values.iter().filter(|&&v| v > 0.0).count();
            p_on.push((k_on as f64 + 1.0) / (rows.len() as f64 + 2.0));
            if values.is_empty() {
                kdes.push(None);
            } else {
                sort_f32_to_f64(&values, &mut scratch, &mut sorted);
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
            posterior_on,
            posterior_off,
            table: None,
            hot_values: Vec::new(),
            hot_posteriors: Vec::new(),
        };
        node.table = node.build_table(log_prior);
        node.find_hot_values(log_prior, column.len());
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
    /// into `post` (n_samples x n_classes): precomputed for hot values, from
    /// the table where it answers, otherwise directly.
    pub(crate) fn continuous_posteriors(
        &self,
        log_prior: &[f64],
        xs: &[f64],
        post: &mut [f64],
        scratch: &mut ChunkScratch,
    ) {
        let n_c = self.kdes.len();
        let nb = xs.len();
        for ((&x, p), done) in xs
            .iter()
            .zip(post.chunks_exact_mut(n_c))
            .zip(&mut scratch.done)
        {
            *done = match self.hot(x) {
                Some(hot) => {
                    p.copy_from_slice(hot);
                    true
                }
                None => false,
            };
        }
        if let Some(table) = &self.table {
            for ((&x, p), &done) in xs.iter().zip(post.chunks_exact_mut(n_c)).zip(&scratch.done) {
                if done {
                    continue;
                }
                if table.lookup(x, p) {
                    for v in p.iter_mut() {
                        *v = v.max(LN_POSTERIOR_FLOOR);
                    }
                } else {
                    self.continuous_log_posteriors(
                        log_prior,
                        x,
                        &mut scratch.joint,
                        p,
                        LN_POSTERIOR_FLOOR,
                    );
                }
            }
            return;
        }
        // No table: all classes' grid lookups, class by class so that one
        // grid stays in L1, into a class-major buffer (NaN = needs the exact
        // path), then per sample the posteriors.
        for (c, kde) in self.kdes.iter().enumerate() {
            let lnl = &mut scratch.lnl[c * nb..(c + 1) * nb];
            match kde {
                Some(kde) => {
                    for ((l, &x), &done) in lnl.iter_mut().zip(xs).zip(&scratch.done) {
                        if !done {
                            *l = kde.grid_log_density(x);
                        }
                    }
                }
                None => lnl.fill(f64::NEG_INFINITY),
            }
        }
        for ((s, &x), p) in xs.iter().enumerate().zip(post.chunks_exact_mut(n_c)) {
            if scratch.done[s] {
                continue;
            }
            for (c, a) in scratch.joint.iter_mut().enumerate() {
                *a = scratch.lnl[c * nb + s];
            }
            self.resolve_joint(log_prior, x, &mut scratch.joint);
            log_posteriors(&scratch.joint, p, LN_POSTERIOR_FLOOR);
        }
    }

    /// Tabulates the continuous posteriors over the range of the train
    /// values with spacing h_min / 12, unless that takes too many points.
    fn build_table(&self, log_prior: &[f64]) -> Option<PosteriorTable> {
        let fitted = self.kdes.iter().flatten();
        let h_min = fitted
            .clone()
            .map(Kde::bandwidth)
            .fold(f64::INFINITY, f64::min);
        let lo = fitted.clone().map(Kde::min).fold(f64::INFINITY, f64::min);
        let hi = fitted.map(Kde::max).fold(f64::NEG_INFINITY, f64::max);
        let delta = h_min / TABLE_CELLS_PER_H;
        let cells = (hi - lo) / delta;
        if cells.is_nan() || cells >= MAX_TABLE_NODES as f64 {
            return None;
        }
        let n_c = self.kdes.len();
        let mut joint = vec![0.0; n_c];
        let table =
            PosteriorTable::build(lo, hi, delta, n_c, LN_POSTERIOR_FLOOR - 1.0, |x, out| {
                self.continuous_log_posteriors(log_prior, x, &mut joint, out, -LSE_CUTOFF)
            });
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
        for (a, kde) in joint.iter_mut().zip(&self.kdes) {
            *a = match kde {
                Some(kde) => kde.grid_log_density(x),
                None => f64::NEG_INFINITY,
            };
        }
        self.resolve_joint(log_prior, x, joint);
        log_posteriors(joint, out, lower);
    }

    /// Turns KDE log-likelihoods from the grid (`joint` on entry; NaN where
    /// the grid had no answer) into log joint values a_c = ln L + ln pi_c.
    ///
    /// A class the grid could not answer is evaluated exactly, unless a cheap
    /// upper bound shows it is more than `SKIP_BELOW_BEST` below the best
    /// class: then it is -inf (see the constant for why that is harmless).
    pub(crate) fn resolve_joint(&self, log_prior: &[f64], x: f64, joint: &mut [f64]) {
        let mut best = f64::NEG_INFINITY;
        let mut pending = false;
        for (a, &p) in joint.iter_mut().zip(log_prior) {
            if a.is_nan() {
                pending = true;
            } else {
                *a += p;
                best = best.max(*a);
            }
        }
        if !pending {
            return;
        }
        for ((a, kde), &p) in joint.iter_mut().zip(&self.kdes).zip(log_prior) {
            if !a.is_nan() {
                continue;
            }
            // NaN only comes from a class that has a KDE.
            let Some(kde) = kde else {
                *a = f64::NEG_INFINITY;
                continue;
            };
            if kde.log_density_upper_bound(x) + p < best - SKIP_BELOW_BEST {
                *a = f64::NEG_INFINITY;
            } else {
                *a = kde.log_density_walk(x) + p;
                best = best.max(*a);
            }
        }
    }
}
