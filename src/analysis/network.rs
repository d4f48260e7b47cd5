//! The network's own accuracy (spec: argmax of `/{split}/output`, ties to the lowest class).

use crate::analysis::error::{check_labels, check_matrix, Result};

/// Fraction of rows of `logits` (row-major `n_rows x n_classes`) whose argmax, ties to
/// the lowest class, equals the label.
pub fn output_accuracy(
    logits: &[f32],
    n_rows: usize,
    n_classes: usize,
    labels: &[u8],
) -> Result<f64> {
    check_matrix("logits", logits, n_rows, n_classes)?;
    check_labels("labels", labels, n_rows, n_classes)?;
    if n_rows == 0 {
        return Ok(f64::NAN);
    }
    let correct = logits
        .chunks_exact(n_classes)
        .zip(labels)
        .filter(|(row, &label)| {
            // Strictly greater keeps the first maximum: ties go to the lowest class.
            let mut best = 0;
            for (c, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = c;
                }
            }
            best == label as usize
        })
        .count();
    Ok(correct as f64 / n_rows as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_go_to_the_lowest_class() {
        let logits = [1.0, 1.0, 0.0, 0.0, 2.0, 2.0];
        assert_eq!(output_accuracy(&logits, 2, 3, &[0, 1]).unwrap(), 1.0);
        assert_eq!(output_accuracy(&logits, 2, 3, &[1, 2]).unwrap(), 0.0);
    }
}
