//! The element-wise loops under the classifiers' scoring: a tiled, parallel transpose of
//! chosen rows, and additions of score vectors unrolled for ten classes.

use rayon::prelude::*;

/// Column-major copy of the rows `order` of a row-major matrix with `width`
/// columns: entry k of column j is `z[order[k]][j]`. Works on bands of 16
/// columns (one cache line of a row), in parallel, and within a band on
/// tiles of rows that stay in cache while their 16 columns are written.
pub(super) fn transpose_rows(z: &[f32], width: usize, order: &[u32]) -> Vec<f32> {
    const BAND: usize = 16;
    const TILE: usize = 256;
    let n = order.len();
    let mut columns = vec![0.0f32; n * width];
    if n == 0 {
        return columns;
    }
    columns
        .par_chunks_mut(BAND * n)
        .enumerate()
        .for_each(|(band, out)| {
            let j0 = band * BAND;
            let n_cols = out.len() / n;
            for (t, rows) in order.chunks(TILE).enumerate() {
                for (c, column) in out.chunks_exact_mut(n).enumerate().take(n_cols) {
                    let j = j0 + c;
                    for (o, &r) in column[t * TILE..].iter_mut().zip(rows) {
                        *o = z[r as usize * width + j];
                    }
                }
            }
        });
    columns
}

/// acc += values - minus, elementwise (ten classes unrolled, see
/// [`add_into`]).
#[inline(always)]
pub(super) fn add_difference(acc: &mut [f64], values: &[f64], minus: &[f64]) {
    if let (Ok(a), Ok(v), Ok(m)) = (
        <&mut [f64; 10]>::try_from(&mut *acc),
        <&[f64; 10]>::try_from(values),
        <&[f64; 10]>::try_from(minus),
    ) {
        for ((a, v), m) in a.iter_mut().zip(v).zip(m) {
            *a += v - m;
        }
        return;
    }
    for ((a, v), m) in acc.iter_mut().zip(values).zip(minus) {
        *a += v - m;
    }
}

/// acc += values, elementwise.
#[inline(always)]
pub(super) fn add_into(acc: &mut [f64], values: &[f64]) {
    // Ten classes get a fully unrolled loop: this runs three times per
    // sample and node.
    if let (Ok(a), Ok(v)) = (
        <&mut [f64; 10]>::try_from(&mut *acc),
        <&[f64; 10]>::try_from(values),
    ) {
        for (a, v) in a.iter_mut().zip(v) {
            *a += v;
        }
        return;
    }
    for (a, v) in acc.iter_mut().zip(values) {
        *a += v;
    }
}
