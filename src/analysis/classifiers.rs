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
//! under a second, also on trained networks whose classes are tight
//! clusters with a few far outliers, i.e. tiny Silverman bandwidths spread
//! over a wide range):
//!
//! - For a given z all classes use the same system, so the combined
//!   system's node posterior is the discrete one's "off" posterior when
//!   z <= 0 and the continuous one's when z > 0; the discrete posteriors take
//!   only two values per node (precomputed at fit). The discrete and
//!   combined scores start from the sum of the "off" posteriors over all
//!   nodes and are corrected for the nodes that are on. Only the continuous
//!   posterior depends on z in detail.
//! - The continuous log posterior of a node is a function of z alone. At fit
//!   it is tabulated over the train range on blocks, each with the spacing
//!   its classes need (h / 8 for the narrowest class with values near the
//!   block), and verified at every cell midpoint; blocks with too few
//!   samples to pay for their table are left out, and blocks with cells
//!   that fail the check are tabulated again more finely if their samples
//!   pay for it (module `posterior_table`). Per sample it is then one cubic
//!   interpolation of all classes. Values many samples share exactly (e.g.
//!   0) get their posteriors precomputed. Everything else (outside the train
//!   range, blocks left out, cells that failed the check) is computed
//!   directly, after the table pass and node by node in ascending order of
//!   z, so that each class's grid and values are read in order: one KDE
//!   evaluation per class and a log-sum-exp.
//! - In the direct computation a class whose log joint value is provably more
//!   than 25 nats below the best class's is not evaluated exactly: its
//!   posterior is below e^-25 < 1e-10, hence floored anyway, and leaving it
//!   out of the normaliser moves the other classes' log posteriors by less
//!   than 1e-10. Terms more than 40 nats below the largest are left out of
//!   every log-sum-exp (below half an ulp of the sum).
//!
//! Accuracy: the continuous and combined scores match a direct
//! implementation of the formulas (exact KDE sums) to ~1e-4 per node; the
//! discrete scores are the same up to rounding. Predictions and accuracies
//! are deterministic: each score entry gets its nodes' terms in an order
//! fixed by the data (table-answered nodes in node order, then directly
//! computed ones in node order), whatever the chunking and the number of
//! threads.

use rayon::prelude::*;

use crate::analysis::error::{check_labels, check_matrix, class_counts, KernelError, Result};
use crate::analysis::kde::Kde;
use crate::analysis::node_model::{ChunkScratch, EvalScratch, NodeModel};
use crate::analysis::posterior::LN_POSTERIOR_FLOOR;

mod sums;
use sums::{add_difference, add_into, transpose_rows};

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
/// grid of a few thousand points, tens of thousands for a tight class with
/// far outliers) and per node the posterior table: for MNIST-sized layers
/// (50,000 x 100) some tens of MB, up to about 100 MB for the deepest
/// layers of a trained network.
#[derive(Debug, Clone)]
pub struct LayerClassifiers {
    n_classes: usize,
    width: usize,
    /// ln pi_c; -inf for classes absent from train (prior 0: never likely).
    log_prior: Vec<f64>,
    nodes: Vec<NodeModel>,
    /// Sum over nodes (in order) of their discrete "off" posteriors.
    off_sum: Vec<f64>,
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
        check_rows_fit_u32("z_train", n_rows)?;
        let counts = class_counts(labels, n_classes);
        let log_prior: Vec<f64> = counts
            .iter()
            .map(|&n_c| (n_c as f64 / n_rows as f64).ln())
            .collect();
        // Rows grouped by class (in row order within a class), so that each
        // node's values of one class are contiguous after the transpose.
        let mut order: Vec<u32> = Vec::with_capacity(n_rows);
        let mut next: Vec<usize> = counts
            .iter()
            .scan(0, |start, &n| {
                let s = *start;
                *start += n;
                Some(s)
            })
            .collect();
        order.resize(n_rows, 0);
        for (row, &l) in labels.iter().enumerate() {
            // (n_rows fits u32, checked above.)
            order[next[l as usize]] = row as u32;
            next[l as usize] += 1;
        }
        let columns = transpose_rows(z_train, width, &order);
        let nodes: Vec<NodeModel> = columns
            .par_chunks(n_rows)
            .map(|column| NodeModel::fit(column, &counts, &log_prior))
            .collect();
        let mut off_sum = vec![0.0; n_classes];
        for node in &nodes {
            add_into(&mut off_sum, &node.posterior_off);
        }
        Ok(Self {
            n_classes,
            width,
            log_prior,
            nodes,
            off_sum,
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
    /// `None` where the node is evaluated per sample (no part of its train
    /// range has enough samples to pay for a table, e.g. a constant node).
    /// Parts of a tabulated node's range may still be evaluated per sample.
    pub fn table_points(&self, node: usize) -> Option<usize> {
        self.nodes[node].table.as_ref().map(|t| t.n_nodes())
    }

    /// Predictions of the three systems for a row-major `n_rows x width`
    /// matrix of the same layer (any split).
    pub fn predict(&self, z: &[f32], n_rows: usize) -> Result<[Vec<u8>; 3]> {
        let scores = self.scores(z, n_rows)?;
        let n_c = self.n_classes;
        Ok(scores.map(|scores| {
            let mut preds = vec![0u8; n_rows];
            preds
                .par_chunks_mut(CHUNK)
                .zip(scores.par_chunks(CHUNK * n_c.max(1)))
                .for_each(|(preds, scores)| {
                    for (p, s) in preds.iter_mut().zip(scores.chunks_exact(n_c)) {
                        // Labels are u8, so n_classes <= 256 and the index fits.
                        *p = argmax_lowest(s) as u8;
                    }
                });
            preds
        }))
    }

    /// Layer scores S(c) of the three systems, each row-major
    /// `n_rows x n_classes`.
    pub fn scores(&self, z: &[f32], n_rows: usize) -> Result<[Vec<f64>; 3]> {
        check_matrix("z", z, n_rows, self.width)?;
        check_rows_fit_u32("z", n_rows)?;
        let n_c = self.n_classes;
        let mut out = [
            vec![0.0; n_rows * n_c],
            vec![0.0; n_rows * n_c],
            vec![0.0; n_rows * n_c],
        ];
        if n_rows == 0 || self.width == 0 {
            // No nodes: every score is 0 (and ties go to class 0).
            return Ok(out);
        }
        let [d, c, b] = &mut out;
        // 1. Chunk by chunk, everything but the continuous posteriors the
        // tables cannot give; those samples are collected ...
        let pending: Vec<Vec<Pending>> = z
            .par_chunks(CHUNK * self.width)
            .zip(d.par_chunks_mut(CHUNK * n_c))
            .zip(c.par_chunks_mut(CHUNK * n_c))
            .zip(b.par_chunks_mut(CHUNK * n_c))
            .enumerate()
            .map(|(k, (((rows, d), c), b))| self.score_chunk(rows, k * CHUNK, d, c, b))
            .collect();
        let mut by_node: Vec<Vec<(u32, f64)>> = vec![Vec::new(); self.width];
        for p in pending.iter().flatten() {
            by_node[p.node as usize].push((p.row, p.x));
        }
        // 2. ... and evaluated directly, node by node in ascending order of
        // their values (so that each class's grid and values are read in
        // order, not at random) ...
        let direct: Vec<Vec<f64>> = by_node
            .par_iter_mut()
            .zip(&self.nodes)
            .map(|(list, node)| {
                list.sort_unstable_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
                let xs: Vec<f64> = list.iter().map(|&(_, x)| x).collect();
                let mut post = vec![0.0; xs.len() * n_c];
                let mut scratch = EvalScratch::new(n_c);
                node.continuous_log_posteriors_many(
                    &self.log_prior,
                    &xs,
                    &mut post,
                    LN_POSTERIOR_FLOOR,
                    true,
                    &mut scratch,
                );
                post
            })
            .collect();
        // 3. ... and added node by node, so that each entry still gets its
        // terms in a fixed order whatever the chunking and thread count.
        for ((list, post), node) in by_node.iter().zip(&direct).zip(&self.nodes) {
            for (&(row, x), p) in list.iter().zip(post.chunks_exact(n_c)) {
                let row = row as usize * n_c..(row as usize + 1) * n_c;
                add_into(&mut c[row.clone()], p);
                if x > 0.0 {
                    add_difference(&mut b[row], p, &node.posterior_off);
                }
            }
        }
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

    /// Layer scores of the rows of one chunk (row-major, `width` columns;
    /// the first is row `first_row` of the split) into `discrete`,
    /// `continuous` and `combined` (each rows x n_classes), except for the
    /// continuous posteriors the tables cannot give: those samples and
    /// nodes are returned, for [`Self::scores`] to complete.
    fn score_chunk(
        &self,
        rows: &[f32],
        first_row: usize,
        discrete: &mut [f64],
        continuous: &mut [f64],
        combined: &mut [f64],
    ) -> Vec<Pending> {
        let n_c = self.n_classes;
        let width = self.width;
        let nb = rows.len() / width;
        let mut xs = vec![0.0f64; nb];
        // Continuous node log posteriors of the chunk, nb x n_c.
        let mut post = vec![0.0f64; nb * n_c];
        let mut on = vec![0usize; nb];
        let mut scratch = ChunkScratch::new(nb);
        let mut pending = Vec::new();
        // The discrete and combined systems use each node's discrete "off"
        // posterior unless its z > 0: start from the sum of those over all
        // nodes, and correct it for the nodes that are on. Most nodes are
        // off for most samples, so most of their terms cost nothing.
        for (d, b) in discrete
            .chunks_exact_mut(n_c)
            .zip(combined.chunks_exact_mut(n_c))
        {
            d.copy_from_slice(&self.off_sum);
            b.copy_from_slice(&self.off_sum);
        }
        for (j, node) in self.nodes.iter().enumerate() {
            for (x, row) in xs.iter_mut().zip(rows.chunks_exact(width)) {
                *x = f64::from(row[j]);
            }
            node.table_posteriors(&xs, &mut post, &mut scratch);
            // Entries left to the direct path get their continuous terms
            // later. Meanwhile stand-ins that add exactly nothing keep the
            // loops below branch-free: 0 here, and `off` for the combined
            // system's `post - off`.
            for &s in &scratch.pending {
                post[s * n_c..(s + 1) * n_c].fill(0.0);
                pending.push(Pending {
                    row: (first_row + s) as u32,
                    node: j as u32,
                    x: xs[s],
                });
            }
            // Every entry gets its nodes' terms added in node order, so the
            // sums do not depend on the chunking (or the number of threads).
            add_into(continuous, &post);
            for &s in &scratch.pending {
                post[s * n_c..(s + 1) * n_c].copy_from_slice(&node.posterior_off);
            }
            // The samples for which this node is on (branch-free).
            let mut n_on = 0;
            for (s, &x) in xs.iter().enumerate() {
                on[n_on] = s;
                n_on += usize::from(x > 0.0);
            }
            for &s in &on[..n_on] {
                let row = s * n_c..(s + 1) * n_c;
                add_into(&mut discrete[row.clone()], &node.on_minus_off);
                add_difference(&mut combined[row.clone()], &post[row], &node.posterior_off);
            }
        }
        pending
    }
}

/// Rows are indexed with u32 internally (half the memory of the lists of
/// samples evaluated directly).
fn check_rows_fit_u32(what: &'static str, n_rows: usize) -> Result<()> {
    if u32::try_from(n_rows).is_err() {
        return Err(KernelError::InvalidArgument {
            what,
            reason: format!("at most {} rows, got {n_rows}", u32::MAX),
        });
    }
    Ok(())
}

/// A sample (row of the split) whose continuous posterior at a node the
/// table could not give.
struct Pending {
    row: u32,
    node: u32,
    x: f64,
}

#[cfg(test)]
#[path = "classifiers_tests.rs"]
mod tests;
