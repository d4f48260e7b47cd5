//! One error type for every kernel, plus the input checks they share.
//!
//! Kernels are called on data read from activation files; a bad file must give
//! an error that names what is wrong (which argument, which row and column),
//! never a panic or a silently wrong number.

use thiserror::Error;

/// Everything a kernel can reject.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum KernelError {
    /// A slice does not have the length its stated shape implies.
    #[error("{what}: expected {expected} elements ({shape}), got {got}")]
    ShapeMismatch {
        what: &'static str,
        shape: String,
        expected: usize,
        got: usize,
    },
    /// A NaN or infinite value where only finite numbers make sense.
    #[error("{what}: non-finite value {value} at row {row}, column {col}")]
    NonFinite {
        what: &'static str,
        row: usize,
        col: usize,
        value: f32,
    },
    /// A class label not below the number of classes.
    #[error("{what}: label {label} of sample {index} is not below n_classes = {n_classes}")]
    LabelOutOfRange {
        what: &'static str,
        index: usize,
        label: u8,
        n_classes: usize,
    },
    /// An argument outside its meaningful range (zero classes, zero bins, ...).
    #[error("{what}: {reason}")]
    InvalidArgument { what: &'static str, reason: String },
    /// No data where at least one value is needed.
    #[error("{what}: no data ({reason})")]
    Empty { what: &'static str, reason: String },
}

/// Result alias used by all kernels.
pub type Result<T> = std::result::Result<T, KernelError>;

/// Checks that `data` is a row-major `n_rows x n_cols` matrix of finite values.
pub(crate) fn check_matrix(
    what: &'static str,
    data: &[f32],
    n_rows: usize,
    n_cols: usize,
) -> Result<()> {
    let expected = n_rows
        .checked_mul(n_cols)
        .ok_or_else(|| KernelError::InvalidArgument {
            what,
            reason: format!("shape {n_rows} x {n_cols} overflows usize"),
        })?;
    if data.len() != expected {
        return Err(KernelError::ShapeMismatch {
            what,
            shape: format!("{n_rows} rows x {n_cols} columns"),
            expected,
            got: data.len(),
        });
    }
    check_finite(what, data, n_cols.max(1))
}

/// Checks that every value is finite; `n_cols` is only used to name the position.
pub(crate) fn check_finite(what: &'static str, data: &[f32], n_cols: usize) -> Result<()> {
    let Some(i) = data.iter().position(|v| !v.is_finite()) else {
        return Ok(());
    };
    let value = data[i];
    Err(KernelError::NonFinite {
        what,
        row: i / n_cols,
        col: i % n_cols,
        value,
    })
}

/// Checks that there is one label per row and that each is below `n_classes`.
pub(crate) fn check_labels(
    what: &'static str,
    labels: &[u8],
    n_rows: usize,
    n_classes: usize,
) -> Result<()> {
    if n_classes == 0 {
        return Err(KernelError::InvalidArgument {
            what: "n_classes",
            reason: "must be at least 1".into(),
        });
    }
    if labels.len() != n_rows {
        return Err(KernelError::ShapeMismatch {
            what,
            shape: format!("one label per row, {n_rows} rows"),
            expected: n_rows,
            got: labels.len(),
        });
    }
    if let Some((index, &label)) = labels
        .iter()
        .enumerate()
        .find(|(_, &l)| l as usize >= n_classes)
    {
        return Err(KernelError::LabelOutOfRange {
            what,
            index,
            label,
            n_classes,
        });
    }
    Ok(())
}

/// Number of samples of each class (labels already checked).
pub(crate) fn class_counts(labels: &[u8], n_classes: usize) -> Vec<usize> {
    let mut counts = vec![0usize; n_classes];
    for &l in labels {
        counts[l as usize] += 1;
    }
    counts
}
