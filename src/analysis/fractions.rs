//! Class activation fractions (paper Fig. 1).
//!
//! f(c, j) = (number of class-c samples with z > 0 at node j) / N_c shows how
//! selectively a node fires for each class.

use crate::analysis::error::{check_labels, check_matrix, class_counts, Result};

/// Fraction of each class's samples for which each node is on.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivationFractions {
    /// Number of classes (rows of `values`).
    pub n_classes: usize,
    /// Layer width (columns of `values`).
    pub width: usize,
    /// Row-major `n_classes x width`: f(c, j). A class with no samples has a
    /// row of NaN (0/0 is not a fraction).
    pub values: Vec<f64>,
    /// N_c, the number of samples of each class.
    pub class_counts: Vec<usize>,
}

impl ActivationFractions {
    /// f(c, j).
    pub fn get(&self, class: usize, node: usize) -> f64 {
        self.values[class * self.width + node]
    }
}

/// Computes f(c, j) for a row-major `n_rows x width` pre-activation matrix.
pub fn activation_fractions(
    z: &[f32],
    n_rows: usize,
    width: usize,
    labels: &[u8],
    n_classes: usize,
) -> Result<ActivationFractions> {
    check_matrix("z", z, n_rows, width)?;
    check_labels("labels", labels, n_rows, n_classes)?;
    let mut on = vec![0usize; n_classes * width];
    if width > 0 {
        for (row, &label) in z.chunks_exact(width).zip(labels) {
            let counts = &mut on[label as usize * width..(label as usize + 1) * width];
            for (count, &v) in counts.iter_mut().zip(row) {
                *count += usize::from(v > 0.0);
            }
        }
    }
    let class_counts = class_counts(labels, n_classes);
    let values = on
        .iter()
        .enumerate()
        .map(|(i, &k)| match class_counts[i / width] {
            0 => f64::NAN,
            n => k as f64 / n as f64,
        })
        .collect();
    Ok(ActivationFractions {
        n_classes,
        width,
        values,
        class_counts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_count_strictly_positive_values() {
        // Two nodes; class 0 rows: (1, 0), (2, -1); class 1 row: (0.5, 3).
        let z = [1.0, 0.0, 2.0, -1.0, 0.5, 3.0];
        let f = activation_fractions(&z, 3, 2, &[0, 0, 1], 3).unwrap();
        assert_eq!(f.get(0, 0), 1.0);
        assert_eq!(f.get(0, 1), 0.0);
        assert_eq!(f.get(1, 0), 1.0);
        assert_eq!(f.get(1, 1), 1.0);
        assert!(f.get(2, 0).is_nan());
        assert_eq!(f.class_counts, vec![2, 1, 0]);
    }
}
