//! Per-class histograms of one node's values (paper Fig. 11).
//!
//! All classes share one set of bins so that their distributions can be drawn
//! on one axis and compared. Bin rule (numpy's `histogram`): `bins` equal-width
//! bins spanning [min, max] over all classes; bin k holds e_k <= z < e_{k+1},
//! except the last, which also holds z = max. If all values are equal the
//! range is [v - 0.5, v + 0.5]. Bin indices are corrected against the
//! returned edges, so a value exactly on an edge always lands in the bin that
//! starts there.

use crate::analysis::error::{check_finite, check_labels, check_matrix, KernelError, Result};

/// Counts of each class in each shared bin.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassHistograms {
    /// `bins + 1` ascending edges.
    pub edges: Vec<f64>,
    /// Row-major `n_classes x bins`.
    pub counts: Vec<u64>,
    pub n_classes: usize,
    pub bins: usize,
}

impl ClassHistograms {
    /// The counts of one class, one per bin.
    pub fn class(&self, class: usize) -> &[u64] {
        &self.counts[class * self.bins..(class + 1) * self.bins]
    }
}

/// Histogram per class of `values` (one node, one value per sample).
pub fn class_histograms(
    values: &[f32],
    labels: &[u8],
    n_classes: usize,
    bins: usize,
) -> Result<ClassHistograms> {
    check_finite("values", values, 1)?;
    check_labels("labels", labels, values.len(), n_classes)?;
    if bins == 0 {
        return Err(KernelError::InvalidArgument {
            what: "bins",
            reason: "must be at least 1".into(),
        });
    }
    if values.is_empty() {
        return Err(KernelError::Empty {
            what: "values",
            reason: "the bin range comes from the values".into(),
        });
    }
    let (mut lo, mut hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(f64::from(v)), hi.max(f64::from(v)))
        });
    if lo == hi {
        lo -= 0.5;
        hi += 0.5;
    }
    let step = (hi - lo) / bins as f64;
    let mut edges: Vec<f64> = (0..=bins).map(|k| lo + step * k as f64).collect();
    // The last edge is exactly the maximum, whatever rounding did.
    edges[bins] = hi;
    let mut counts = vec![0u64; n_classes * bins];
    for (&v, &l) in values.iter().zip(labels) {
        let v = f64::from(v);
        let mut k = (((v - lo) / step) as usize).min(bins - 1);
        // Fix the rare off-by-one from rounding so the edges decide.
        if v < edges[k] {
            k -= 1;
        } else if k + 1 < bins && v >= edges[k + 1] {
            k += 1;
        }
        counts[l as usize * bins + k] += 1;
    }
    Ok(ClassHistograms {
        edges,
        counts,
        n_classes,
        bins,
    })
}

/// Histogram per class of node `node` of a row-major `n_rows x width` matrix.
pub fn node_class_histograms(
    z: &[f32],
    n_rows: usize,
    width: usize,
    node: usize,
    labels: &[u8],
    n_classes: usize,
    bins: usize,
) -> Result<ClassHistograms> {
    check_matrix("z", z, n_rows, width)?;
    if node >= width {
        return Err(KernelError::InvalidArgument {
            what: "node",
            reason: format!("node {node} is not below the layer width {width}"),
        });
    }
    let column: Vec<f32> = z.iter().skip(node).step_by(width).copied().collect();
    class_histograms(&column, labels, n_classes, bins)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_bins_and_edge_rule() {
        // Range 0..4, 4 bins of width 1: edges 0,1,2,3,4.
        let values = [0.0, 1.0, 1.5, 4.0, 3.0, 2.0];
        let labels = [0, 0, 1, 1, 1, 0];
        let h = class_histograms(&values, &labels, 2, 4).unwrap();
        assert_eq!(h.edges, vec![0.0, 1.0, 2.0, 3.0, 4.0]);
        // 1.0 starts bin 1; 4.0 (the max) is in the last bin.
        assert_eq!(h.class(0), &[1, 1, 1, 0]);
        assert_eq!(h.class(1), &[0, 1, 0, 2]);
    }

    #[test]
    fn constant_values_get_unit_range() {
        let h = class_histograms(&[2.0, 2.0], &[0, 1], 2, 2).unwrap();
        assert_eq!(h.edges, vec![1.5, 2.0, 2.5]);
        assert_eq!(h.class(0), &[0, 1]);
        assert_eq!(h.class(1), &[0, 1]);
    }

    #[test]
    fn node_column_is_selected() {
        let z = [0.0, 10.0, 1.0, 20.0];
        let h = node_class_histograms(&z, 2, 2, 1, &[0, 1], 2, 2).unwrap();
        assert_eq!(h.edges, vec![10.0, 15.0, 20.0]);
        assert_eq!(h.class(0), &[1, 0]);
        assert_eq!(h.class(1), &[0, 1]);
        assert!(node_class_histograms(&z, 2, 2, 2, &[0, 1], 2, 2).is_err());
    }
}
