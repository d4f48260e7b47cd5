//! Datasets: what exists (pinned digests), how files are fetched, and the prepared splits
//! the data stage writes and the training stage reads.

pub mod datasets;
pub mod fetch;

use crate::formats::npy::read_npy;
use std::path::Path;

/// The three splits the data stage writes: `train` (used for updates), `val` (early
/// stopping) and `test` (the official test set).
pub const SPLITS: [&str; 3] = ["train", "val", "test"];

/// One prepared split: images scaled to [0, 1], flattened row-major.
#[derive(Debug, Clone)]
pub struct Split {
    pub images: Vec<f32>,
    pub labels: Vec<u8>,
    pub len: usize,
    pub features: usize,
}

/// Loads a split from a data stage entry folder, scaling the stored pixel bytes to [0, 1]
/// (`p / 255` in float32).
pub fn load_split(entry: &Path, split: &str) -> std::io::Result<Split> {
    let (shape, pixels) = read_npy::<u8>(&entry.join(format!("{split}-images.npy")))?;
    let images = pixels.iter().map(|&p| p as f32 / 255.0).collect();
    let (lshape, labels) = read_npy::<u8>(&entry.join(format!("{split}-labels.npy")))?;
    if shape.len() != 2 || lshape != [shape[0]] {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{}: {split} images {shape:?} and labels {lshape:?} disagree",
                entry.display()
            ),
        ));
    }
    Ok(Split {
        images,
        labels,
        len: shape[0],
        features: shape[1],
    })
}
