//! The three node-based classifiers of paper Sec. 5.1 and their layer scores.
//!
//! Every node of a layer is treated as a classifier in its own right; the
//! layer predicts by summing the nodes' floored log posteriors. The systems
//! differ only in the per-class likelihood of a node value z:
//!
//! - discrete: p_on(c) = (k_c + 1) / (N_c + 2) if z > 0, else 1 - p_on(c)
//!   (Laplace smoothing, k_c the class's train samples with z > 0);
//! - continuous: Gaussian KDE of the class's train values (see [`crate::analysis::kde`]);
//! - combined: the discrete likelihood if z <= 0, else the KDE.
//!
//! Node posterior (paper Eq. 11) in log space:
//! ln P_j(c | z) = ln L(z | c) + ln pi_c - logsumexp_m(ln L(z | m) + ln pi_m),
//! pi_c = N_c / N on the train split. Layer score
//! S(c) = sum_j max(ln P_j(c | z), ln 1e-10); prediction argmax_c S(c), ties
//! to the lowest class index.
//!
//! How the work is shared (the whole layer, both splits, must take well
//! under a second):
//!
//! - For a given z all classes use the same system, so the combined
//!   system's node posterior is the discrete one's "off" posterior when
//!   z <= 0 and the continuous one's when z > 0; the discrete posteriors take
//!   only two values per node (precomputed at fit). Only the continuous
//!   posterior depends on z in detail.
//! - The continuous log posterior of a node is a smooth function of z alone.
//!   At fit it is tabulated over the train range with spacing h_min / 12 and
//!   verified at every cell midpoint (module `posterior_table`); per
//!   sample it is then one cubic interpolation of all classes. Values many
//!   samples share exactly (e.g. 0) get their posteriors precomputed. Where
//!   neither applies (outside the train range, unverified cells, nodes whose
//!   table would be too large) the posterior is computed directly: one KDE
//!   evaluation per class and a log-sum-exp.
//! - In the direct computation a class whose log joint value is provably more
//!   than 30 nats below the best class's is not evaluated exactly: its
//!   posterior is below e^-30 < 1e-10, hence floored anyway, and leaving it
//!   out of the normaliser moves the other classes' log posteriors by less
//!   than 1e-12. Terms more than 40 nats below the largest are left out of
//!   every log-sum-exp (below half an ulp of the sum).
//!
//! Accuracy: the continuous and combined scores match a direct
//! implementation of the formulas (exact KDE sums) to ~1e-4 per node; the
//! discrete scores are the same up to rounding. Predictions and accuracies
//! are deterministic: each sample's score is summed over nodes in order,
//! whatever the number of threads.

use rayon::prelude::*;

use crate::analysis::error::{check_labels, check_matrix, class_counts, KernelError, Result};
use crate::analysis::kde::Kde;
use crate::analysis::mathx::exp_neg;
use crate::analysis::node_model::{ChunkScratch, NodeModel, LSE_CUTOFF};

/// ln 1e-10: the floor of a node's log posterior in the layer score.
pub const LN_POSTERIOR_FLOOR: f64 = -23.025_850_929_940_457;

/// Samples evaluated together: their values of all nodes stay in cache
/// while the node loop runs, and the chunks are the units of parallel work.
const CHUNK: usize = 512;

/// The three systems, in the order used by [`Evaluation`] arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum System {
    /// Laplace-smoothed on/off likelihood.
    Discrete = 0,
    /// Gaussian KDE likelihood.
    Continuous = 1,
    /// Discrete if z <= 0, else KDE.
    Combined = 2,
}

impl System {
    /// All systems in array order.
    pub const ALL: [System; 3] = [System::Discrete, System::Continuous, System::Combined];
}

/// Floored node log posteriors from per-class log joint values
/// a_c = ln L(z | c) + ln pi_c: out_c = max(a_c - logsumexp(a), ln 1e-10).
///
/// Entries of -inf (a class with prior 0) get the floor. Terms more than 40
/// nats below the largest are left out of the log-sum-exp (they cannot change
/// it in double precision). Everything stays in log space, so a posterior
/// that underflows to 0 in linear space still gets exactly the floor.
pub fn floored_log_posteriors(log_joint: &[f64], out: &mut [f64]) {
    log_posteriors(log_joint, out, LN_POSTERIOR_FLOOR);
}

/// out_c = max(a_c - logsumexp(a), lower); see [`floored_log_posteriors`].
pub(crate) fn log_posteriors(log_joint: &[f64], out: &mut [f64], lower: f64) {
    let max = log_joint.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        out.fill(lower);
        return;
    }
    // Branch-free so that it vectorises; exp_neg(-inf) is 0.
    let mut sum = 0.0;
    for &a in log_joint {
        let d = a - max;
        sum += if d >= -LSE_CUTOFF { exp_neg(d) } else { 0.0 };
    }
    let lse = max + sum.ln();
    for (o, &a) in out.iter_mut().zip(log_joint) {
        *o = (a - lse).max(lower);
    }
}

/// Index of the largest score; ties go to the lowest index.
pub fn argmax_lowest(scores: &[f64]) -> usize {
    let mut best = 0;
    for (c, &s) in scores.iter().enumerate() {
        if s > scores[best] {
            best = c;
        }
    }
    best
}

/// Node classifiers of one layer, fitted on the train split.
///
/// Holds, per node and class, the KDE (sorted distinct train values and a
/// grid of ~1,500 points) and per node the posterior table: for MNIST-sized
/// layers (50,000 x 100) some tens of MB, about twice the train matrix.
#[derive(Debug, Clone)]
pub struct LayerClassifiers {
    n_classes: usize,
    width: usize,
    /// ln pi_c; -inf for classes absent from train (prior 0: never likely).
    log_prior: Vec<f64>,
    nodes: Vec<NodeModel>,
}

/// Predictions and accuracy of one system on one split.
#[derive(Debug, Clone, PartialEq)]
pub struct SystemEvaluation {
    /// Fraction of samples whose prediction equals the label.
    pub accuracy: f64,
    /// Predicted class of each sample.
    pub predictions: Vec<u8>,
}

/// Results of the three systems, indexed by [`System`].
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub systems: [SystemEvaluation; 3],
}

impl Evaluation {
    /// The result of one system.
    pub fn get(&self, system: System) -> &SystemEvaluation {
        &self.systems[system as usize]
    }
}

impl LayerClassifiers {
    /// Fits all nodes of a layer on the train split: `z_train` is row-major
    /// `n_rows x width`, `labels` one class per row.
    ///
    /// Classes absent from train get prior 0 and no KDE; they never get more
    /// than the floor in any node posterior.
    pub fn fit(
        z_train: &[f32],
        n_rows: usize,
        width: usize,
        labels: &[u8],
        n_classes: usize,
    ) -> Result<Self> {
        check_matrix("z_train", z_train, n_rows, width)?;
        check_labels("labels", labels, n_rows, n_classes)?;
        if n_classes > 256 {
            // Predictions are u8 labels.
            return Err(KernelError::InvalidArgument {
                what: "n_classes",
                reason: format!("at most 256 classes (u8 labels), got {n_classes}"),
            });
        }
        if n_rows == 0 {
            return Err(KernelError::Empty {
                what: "z_train",
                reason: "classifiers need at least one train sample".into(),
            });
        }
        let counts = class_counts(labels, n_classes);
        let log_prior: Vec<f64> = counts
            .iter()
            .map(|&n_c| (n_c as f64 / n_rows as f64).ln())
            .collect();
        let mut rows_of_class: Vec<Vec<usize>> =
            counts.iter().map(|&n| Vec::with_capacity(n)).collect();
        for (row, &l) in labels.iter().enumerate() {
            rows_of_class[l as usize].push(row);
        }
        let columns = transpose(z_train, n_rows, width);
        let nodes = columns
            .par_chunks(n_rows)
            .map(|column| NodeModel::fit(column, &rows_of_class, &log_prior))
            .collect();
        Ok(Self {
            n_classes,
            width,
            log_prior,
            nodes,
        })
    }

    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Layer width the classifiers were fitted on.
    pub fn width(&self) -> usize {
        self.width
    }

    /// ln pi_c of each class.
    pub fn log_priors(&self) -> &[f64] {
        &self.log_prior
    }

    /// p_on(c) of node `node` (discrete system).
    pub fn p_on(&self, node: usize) -> &[f64] {
        &self.nodes[node].p_on
    }

    /// The fitted KDE of a node and class (`None` if the class had no train
    /// samples).
    pub fn kde(&self, node: usize, class: usize) -> Option<&Kde> {
        self.nodes[node].kdes[class].as_ref()
    }

    /// Number of points of node `node`'s tabulated continuous posteriors, or
    /// `None` where the node is evaluated per sample (its train range spans
    /// too many of its narrowest class's bandwidths).
    pub fn table_points(&self, node: usize) -> Option<usize> {
        self.nodes[node].table.as_ref().map(|t| t.n_nodes())
    }

    /// Predictions of the three systems for a row-major `n_rows x width`
    /// matrix of the same layer (any split).
    pub fn predict(&self, z: &[f32], n_rows: usize) -> Result<[Vec<u8>; 3]> {
        check_matrix("z", z, n_rows, self.width)?;
        let mut preds = [vec![0u8; n_rows], vec![0u8; n_rows], vec![0u8; n_rows]];
        if n_rows == 0 || self.width == 0 {
            // No nodes: every score is 0 and ties go to class 0.
            return Ok(preds);
        }
        let [d, c, b] = &mut preds;
        z.par_chunks(CHUNK * self.width)
            .zip(d.par_chunks_mut(CHUNK))
            .zip(c.par_chunks_mut(CHUNK))
            .zip(b.par_chunks_mut(CHUNK))
            .for_each(|(((rows, d), c), b)| {
                let scores = self.score_chunk(rows, d.len());
                for (system_scores, preds) in scores.iter().zip([d, c, b]) {
                    for (p, s) in preds
                        .iter_mut()
                        .zip(system_scores.chunks_exact(self.n_classes))
                    {
                        // Labels are u8, so n_classes <= 256 and the index fits.
                        *p = argmax_lowest(s) as u8;
                    }
                }
            });
        Ok(preds)
    }

    /// Layer scores S(c) of the three systems, each row-major
    /// `n_rows x n_classes` (for inspection; [`Self::predict`] does not keep
    /// them).
    pub fn scores(&self, z: &[f32], n_rows: usize) -> Result<[Vec<f64>; 3]> {
        check_matrix("z", z, n_rows, self.width)?;
        let n_c = self.n_classes;
        let mut out = [
            vec![0.0; n_rows * n_c],
            vec![0.0; n_rows * n_c],
            vec![0.0; n_rows * n_c],
        ];
        if n_rows == 0 || self.width == 0 {
            return Ok(out);
        }
        let [d, c, b] = &mut out;
        z.par_chunks(CHUNK * self.width)
            .zip(d.par_chunks_mut(CHUNK * n_c))
            .zip(c.par_chunks_mut(CHUNK * n_c))
            .zip(b.par_chunks_mut(CHUNK * n_c))
            .for_each(|(((rows, d), c), b)| {
                let scores = self.score_chunk(rows, d.len() / n_c);
                for (src, dst) in scores.iter().zip([d, c, b]) {
                    dst.copy_from_slice(src);
                }
            });
        Ok(out)
    }

    /// Predictions and accuracy of the three systems on a split.
    pub fn evaluate(&self, z: &[f32], n_rows: usize, labels: &[u8]) -> Result<Evaluation> {
        check_labels("labels", labels, n_rows, self.n_classes)?;
        if n_rows == 0 {
            return Err(KernelError::Empty {
                what: "z",
                reason: "accuracy of an empty split is undefined".into(),
            });
        }
        let preds = self.predict(z, n_rows)?;
        let systems = preds.map(|predictions| {
            let correct = predictions
                .iter()
                .zip(labels)
                .filter(|(p, l)| p == l)
                .count();
            SystemEvaluation {
                accuracy: correct as f64 / n_rows as f64,
                predictions,
            }
        });
        Ok(Evaluation { systems })
    }

    /// Layer scores of the `nb` rows of one chunk (row-major, `width`
    /// columns): per system, `nb x n_classes`.
    fn score_chunk(&self, rows: &[f32], nb: usize) -> [Vec<f64>; 3] {
        let n_c = self.n_classes;
        let width = self.width;
        let mut scores = [
            vec![0.0f64; nb * n_c],
            vec![0.0; nb * n_c],
            vec![0.0; nb * n_c],
        ];
        let mut xs = vec![0.0f64; nb];
        // Continuous node log posteriors of the chunk, nb x n_c.
        let mut post = vec![0.0f64; nb * n_c];
        let mut scratch = ChunkScratch::new(nb, n_c);
        for (j, node) in self.nodes.iter().enumerate() {
            for (s, x) in xs.iter_mut().enumerate() {
                *x = f64::from(rows[s * width + j]);
            }
            node.continuous_posteriors(&self.log_prior, &xs, &mut post, &mut scratch);
            for ((s, &x), p) in xs.iter().enumerate().zip(post.chunks_exact(n_c)) {
                let (discrete, combined) = if x > 0.0 {
                    (&node.posterior_on[..], p)
                } else {
                    (&node.posterior_off[..], &node.posterior_off[..])
                };
                let row = s * n_c..(s + 1) * n_c;
                add_into(
                    &mut scores[System::Discrete as usize][row.clone()],
                    discrete,
                );
                add_into(&mut scores[System::Continuous as usize][row.clone()], p);
                add_into(&mut scores[System::Combined as usize][row], combined);
            }
        }
        scores
    }
}

/// Column-major copy of a row-major matrix, so that each node's values are
/// contiguous. Works on bands of 16 columns (one cache line of a row), in
/// parallel, so each row's cache line is read once per band.
fn transpose(z: &[f32], n_rows: usize, width: usize) -> Vec<f32> {
    const BAND: usize = 16;
    let mut columns = vec![0.0f32; n_rows * width];
    if n_rows == 0 {
        return columns;
    }
    columns
        .par_chunks_mut(BAND * n_rows)
        .enumerate()
        .for_each(|(band, out)| {
            let j0 = band * BAND;
            let n_cols = out.len() / n_rows;
            for (r, row) in z.chunks_exact(width).enumerate() {
                for (k, &v) in row[j0..j0 + n_cols].iter().enumerate() {
                    out[k * n_rows + r] = v;
                }
            }
        });
    columns
}

fn add_into(acc: &mut [f64], values: &[f64]) {
    for (a, v) in acc.iter_mut().zip(values) {
        *a += v;
    }
}

#[cfg(test)]
#[path = "classifiers_tests.rs"]
mod tests;
