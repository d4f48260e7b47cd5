//! On/off patterns and layer perplexity (paper Eqs. 1-2).
//!
//! The pattern of a sample at a layer is the bit vector (z > 0) over the
//! layer's nodes. Patterns are packed 64 nodes to a `u64` word so that
//! comparing two patterns compares a few words, and distinct patterns are
//! counted by sorting the packed rows and counting runs: identity is the full
//! bit vector, never a hash, so no collision can change a count.

use crate::analysis::error::{check_labels, check_matrix, class_counts, Result};

/// Packed on/off patterns of `n_rows` samples, `words_per_row` `u64`s each.
///
/// Bit `j % 64` of word `j / 64` of a row is set when node `j` is on
/// (z > 0); padding bits beyond the layer width are always zero, so equal
/// patterns have equal words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patterns {
    n_rows: usize,
    width: usize,
    words_per_row: usize,
    words: Vec<u64>,
}

impl Patterns {
    /// Packs the patterns of a row-major `n_rows x width` pre-activation matrix.
    pub fn from_preactivations(z: &[f32], n_rows: usize, width: usize) -> Result<Self> {
        check_matrix("z", z, n_rows, width)?;
        let words_per_row = width.div_ceil(64);
        let mut words = vec![0u64; n_rows * words_per_row];
        if width > 0 {
            for (row, out) in z
                .chunks_exact(width)
                .zip(words.chunks_exact_mut(words_per_row))
            {
                for (chunk, word) in row.chunks(64).zip(out.iter_mut()) {
                    *word = chunk
                        .iter()
                        .enumerate()
                        .fold(0u64, |w, (b, &v)| w | (u64::from(v > 0.0) << b));
                }
            }
        }
        Ok(Self {
            n_rows,
            width,
            words_per_row,
            words,
        })
    }

    /// Number of samples.
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// Number of nodes (bits) per pattern.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The packed words of sample `row`.
    pub fn row(&self, row: usize) -> &[u64] {
        &self.words[row * self.words_per_row..(row + 1) * self.words_per_row]
    }

    /// Whether node `node` is on for sample `row`.
    pub fn is_on(&self, row: usize, node: usize) -> bool {
        (self.row(row)[node / 64] >> (node % 64)) & 1 == 1
    }

    /// Counts of each distinct pattern among the given rows, in pattern order.
    ///
    /// Sorting row indices by their packed words groups equal patterns; each
    /// run of equal rows is one distinct pattern.
    pub fn distinct_counts(&self, rows: &[usize]) -> Vec<usize> {
        let mut order = rows.to_vec();
        order.sort_unstable_by(|&a, &b| self.row(a).cmp(self.row(b)));
        let mut counts = Vec::new();
        let mut start = 0;
        for i in 1..=order.len() {
            if i == order.len() || self.row(order[i]) != self.row(order[start]) {
                counts.push(i - start);
                start = i;
            }
        }
        counts
    }
}

/// Perplexity of a layer's patterns for each class, and their mean.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerPerplexity {
    /// P(c, l) = exp(H(c, l)) for each class; NaN for a class with no samples
    /// (the entropy of an empty distribution is undefined).
    pub per_class: Vec<f64>,
    /// Mean of `per_class` over the classes that have samples (NaN if none).
    pub mean: f64,
    /// N_c, the number of samples of each class.
    pub class_counts: Vec<usize>,
    /// Number of distinct patterns of each class.
    pub distinct: Vec<usize>,
}

/// Entropy (nats) of the distribution given by counts: H = -sum p ln p.
///
/// Computed as ln N - (1/N) sum n_k ln n_k, which avoids forming tiny ratios.
pub fn entropy_from_counts(counts: &[usize]) -> f64 {
    let total: usize = counts.iter().sum();
    if total == 0 {
        return f64::NAN;
    }
    let n = total as f64;
    let s: f64 = counts
        .iter()
        .filter(|&&k| k > 0)
        .map(|&k| {
            let k = k as f64;
            k * k.ln()
        })
        .sum();
    // Rounding can leave a tiny negative value for a single pattern.
    (n.ln() - s / n).max(0.0)
}

/// Layer perplexity per class (paper Eqs. 1-2) from pre-activations.
///
/// `z` is row-major `n_rows x width`, `labels` one class per row. Exact: the
/// distinct patterns of each class are counted by comparing full bit vectors.
pub fn layer_perplexity(
    z: &[f32],
    n_rows: usize,
    width: usize,
    labels: &[u8],
    n_classes: usize,
) -> Result<LayerPerplexity> {
    let patterns = Patterns::from_preactivations(z, n_rows, width)?;
    perplexity_from_patterns(&patterns, labels, n_classes)
}

/// Layer perplexity per class from already packed patterns.
pub fn perplexity_from_patterns(
    patterns: &Patterns,
    labels: &[u8],
    n_classes: usize,
) -> Result<LayerPerplexity> {
    check_labels("labels", labels, patterns.n_rows(), n_classes)?;
    let mut rows_of_class: Vec<Vec<usize>> = vec![Vec::new(); n_classes];
    for (row, &l) in labels.iter().enumerate() {
        rows_of_class[l as usize].push(row);
    }
    let mut per_class = Vec::with_capacity(n_classes);
    let mut distinct = Vec::with_capacity(n_classes);
    for rows in &rows_of_class {
        let counts = patterns.distinct_counts(rows);
        distinct.push(counts.len());
        per_class.push(entropy_from_counts(&counts).exp());
    }
    let present: Vec<f64> = per_class.iter().copied().filter(|p| !p.is_nan()).collect();
    let mean = if present.is_empty() {
        f64::NAN
    } else {
        present.iter().sum::<f64>() / present.len() as f64
    };
    Ok(LayerPerplexity {
        per_class,
        mean,
        class_counts: class_counts(labels, n_classes),
        distinct,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a matrix whose row i has node j on iff bit j of `bits[i]` is set.
    fn from_bits(bits: &[u128], width: usize) -> Vec<f32> {
        bits.iter()
            .flat_map(|&b| (0..width).map(move |j| if (b >> j) & 1 == 1 { 0.5 } else { -0.5 }))
            .collect()
    }

    #[test]
    fn one_shared_pattern_gives_perplexity_one() {
        let z = from_bits(&[0b101, 0b101, 0b101, 0b101], 3);
        let p = layer_perplexity(&z, 4, 3, &[0, 0, 0, 0], 1).unwrap();
        assert_eq!(p.per_class, vec![1.0]);
        assert_eq!(p.distinct, vec![1]);
    }

    #[test]
    fn all_distinct_patterns_give_class_size() {
        let z = from_bits(&[0, 1, 2, 3, 4, 5, 6], 3);
        let p = layer_perplexity(&z, 7, 3, &[0; 7], 1).unwrap();
        assert!((p.per_class[0] - 7.0).abs() < 1e-12, "{:?}", p.per_class);
    }

    #[test]
    fn two_patterns_half_and_half_give_two() {
        let z = from_bits(&[1, 2, 1, 2, 1, 2], 2);
        let p = layer_perplexity(&z, 6, 2, &[0; 6], 1).unwrap();
        assert!((p.per_class[0] - 2.0).abs() < 1e-12);
    }

    #[test]
    fn zero_is_off_and_classes_are_separate() {
        // Class 0: two samples, z = 0 and z = -1 are both "off": one pattern.
        // Class 1: patterns {on} and {off}: perplexity 2.
        let z = [0.0, -1.0, 2.0, 0.0];
        let p = layer_perplexity(&z, 4, 1, &[0, 0, 1, 1], 2).unwrap();
        assert_eq!(p.per_class[0], 1.0);
        assert!((p.per_class[1] - 2.0).abs() < 1e-12);
        assert!((p.mean - 1.5).abs() < 1e-12);
    }

    #[test]
    fn empty_class_is_nan_and_skipped_in_mean() {
        let z = from_bits(&[1, 2], 2);
        let p = layer_perplexity(&z, 2, 2, &[0, 0], 3).unwrap();
        assert!((p.per_class[0] - 2.0).abs() < 1e-12);
        assert!(p.per_class[1].is_nan() && p.per_class[2].is_nan());
        assert!((p.mean - 2.0).abs() < 1e-12);
        assert_eq!(p.class_counts, vec![2, 0, 0]);
    }

    #[test]
    fn wide_layers_use_every_word() {
        // Width 130: patterns differ only in node 129 (third word).
        let width = 130;
        let mut z = vec![-1.0f32; 4 * width];
        z[width + 129] = 1.0;
        z[3 * width + 129] = 1.0;
        z[2 * width + 64] = 1.0; // differs in the second word
        let p = layer_perplexity(&z, 4, width, &[0; 4], 1).unwrap();
        assert_eq!(p.distinct, vec![3]);
        let expected = (-(0.5f64 * 0.5f64.ln() + 2.0 * 0.25 * 0.25f64.ln())).exp();
        assert!((p.per_class[0] - expected).abs() < 1e-12);
        let pats = Patterns::from_preactivations(&z, 4, width).unwrap();
        assert!(pats.is_on(1, 129) && !pats.is_on(0, 129) && pats.is_on(2, 64));
    }

    #[test]
    fn bad_inputs_are_named() {
        let err = layer_perplexity(&[1.0, f32::NAN], 1, 2, &[0], 1).unwrap_err();
        assert!(matches!(
            err,
            crate::analysis::KernelError::NonFinite { row: 0, col: 1, .. }
        ));
        let err = layer_perplexity(&[1.0, 2.0], 1, 2, &[5], 2).unwrap_err();
        assert!(matches!(
            err,
            crate::analysis::KernelError::LabelOutOfRange { label: 5, .. }
        ));
        let err = layer_perplexity(&[1.0, 2.0, 3.0], 1, 2, &[0], 1).unwrap_err();
        assert!(matches!(
            err,
            crate::analysis::KernelError::ShapeMismatch { .. }
        ));
    }
}
