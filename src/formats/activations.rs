//! The activation file (analysis spec, section 1), one HDF5 file per model snapshot:
//!
//! | path | type | shape |
//! |---|---|---|
//! | `/{split}/labels` | uint8 | [N] |
//! | `/{split}/preact/{l}` | float32 | [N, width], l = 1..depth |
//! | `/{split}/output` | float32 | [N, classes] |
//!
//! with root attributes `dataset`, `depth`, `width`, `activation`, `loss`, `optimizer`,
//! `training` (the other training settings, one label), `seed`, `epoch`, `step` and
//! `snapshot`. The file does not name its cache key: identical activations from edited
//! code are identical bytes, so an unchanged forward pass leaves the analysis fresh.
//! Datasets are chunked by rows and compressed with a filter
//! plain h5py reads (lzf, or gzip with shuffle).

/// The file name of a snapshot's activation file inside its cache entry.
pub const FILE: &str = "activations.h5";

use hdf5::types::VarLenUnicode;
use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ActivationFileError {
    #[error("{file}: {path}: {source}")]
    Hdf5 {
        file: PathBuf,
        path: String,
        #[source]
        source: hdf5::Error,
    },
    #[error("{file}: {path}: {problem}")]
    Invalid {
        file: PathBuf,
        path: String,
        problem: String,
    },
    #[error(
        "{file}: the HDF5 library loaded now is {loaded}, but repro was built against {built}, \
         and keys name the version it was built with; rebuild repro (./setup.sh or cargo build \
         --release) so that they name the library that writes"
    )]
    LibraryChanged {
        file: PathBuf,
        built: String,
        loaded: String,
    },
}

/// The libhdf5 version the build script found, which enters the keys of every stage that
/// reads or writes these files (`(libhdf5)` in their fingerprints).
const BUILT_LIBHDF5: &str = env!("REPRO_TOOLCHAIN_LIBHDF5");

/// Refuses to touch `file` through another HDF5 library than the one the keys name: an
/// upgraded system library under an old binary would otherwise write under stale keys.
fn check_library(file: &Path) -> Result<(), ActivationFileError> {
    let (major, minor, micro) = hdf5::library_version();
    let loaded = format!("{major}.{minor}.{micro}");
    library_matches(BUILT_LIBHDF5, &loaded)
        .then_some(())
        .ok_or_else(|| ActivationFileError::LibraryChanged {
            file: file.to_path_buf(),
            built: BUILT_LIBHDF5.to_string(),
            loaded,
        })
}

/// Whether a library reporting `loaded` (`1.10.8`) is the one found at build time
/// (`1.10.8`, or a distribution's `1.10.8-2`); a build that found none (`unknown`) has
/// nothing to compare.
fn library_matches(built: &str, loaded: &str) -> bool {
    built == "unknown"
        || built
            .strip_prefix(loaded)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['-', '+']))
}

/// Maps an HDF5 error to one that names the file and the object path at fault.
fn hdf5_error(file: &Path, path: &str) -> impl Fn(hdf5::Error) -> ActivationFileError {
    let (file, path) = (file.to_path_buf(), path.to_string());
    move |source| ActivationFileError::Hdf5 {
        file: file.clone(),
        path: path.clone(),
        source,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Lzf,
    /// Deflate (gzip) at this level, after the byte-shuffle filter.
    Gzip,
}

/// Root attributes of an activation file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attributes {
    pub dataset: String,
    pub depth: usize,
    pub width: usize,
    pub activation: String,
    pub loss: String,
    pub optimizer: String,
    /// [`crate::model::settings::training_label`]: lr, batch, stopping rule, cap, subset.
    pub training: String,
    pub seed: u64,
    pub epoch: usize,
    pub step: usize,
    pub snapshot: String,
}

/// Writes one split at a time, in row blocks.
pub struct ActivationWriter {
    file: hdf5::File,
    path: PathBuf,
    compression: Compression,
    chunk_rows: usize,
}

/// One split's datasets being filled.
pub struct SplitWriter {
    labels: hdf5::Dataset,
    preact: Vec<hdf5::Dataset>,
    output: hdf5::Dataset,
    rows: usize,
    written: usize,
}

impl ActivationWriter {
    pub fn create(
        path: &Path,
        attrs: &Attributes,
        compression: Compression,
        chunk_rows: usize,
    ) -> Result<Self, ActivationFileError> {
        check_library(path)?;
        let err = |p: &str| hdf5_error(path, p);
        let file = hdf5::File::create(path).map_err(err("/"))?;
        let text = |name: &str, value: &str| -> Result<(), ActivationFileError> {
            let v: VarLenUnicode = value.parse().expect("attribute text has no NUL");
            file.new_attr::<VarLenUnicode>()
                .create(name)
                .and_then(|a| a.write_scalar(&v))
                .map_err(err(&format!("@{name}")))
        };
        let int = |name: &str, value: i64| -> Result<(), ActivationFileError> {
            file.new_attr::<i64>()
                .create(name)
                .and_then(|a| a.write_scalar(&value))
                .map_err(err(&format!("@{name}")))
        };
        text("dataset", &attrs.dataset)?;
        int("depth", attrs.depth as i64)?;
        int("width", attrs.width as i64)?;
        text("activation", &attrs.activation)?;
        text("loss", &attrs.loss)?;
        text("optimizer", &attrs.optimizer)?;
        text("training", &attrs.training)?;
        int("seed", attrs.seed as i64)?;
        int("epoch", attrs.epoch as i64)?;
        int("step", attrs.step as i64)?;
        text("snapshot", &attrs.snapshot)?;
        Ok(ActivationWriter {
            file,
            path: path.to_path_buf(),
            compression,
            chunk_rows: chunk_rows.max(1),
        })
    }

    fn err(&self, p: &str) -> impl Fn(hdf5::Error) -> ActivationFileError {
        hdf5_error(&self.path, p)
    }

    fn dataset<T: hdf5::H5Type>(
        &self,
        group: &hdf5::Group,
        name: &str,
        shape: &[usize],
    ) -> Result<hdf5::Dataset, ActivationFileError> {
        let mut chunk = shape.to_vec();
        chunk[0] = self.chunk_rows.min(shape[0]).max(1);
        let builder = group.new_dataset::<T>().shape(shape.to_vec()).chunk(chunk);
        let builder = match self.compression {
            Compression::None => builder,
            Compression::Lzf => builder.lzf(),
            Compression::Gzip => builder.shuffle().deflate(4),
        };
        builder
            .create(name)
            .map_err(self.err(&format!("{}/{name}", group.name())))
    }

    /// Creates the datasets of a split with `rows` samples.
    pub fn split(
        &self,
        split: &str,
        rows: usize,
        depth: usize,
        width: usize,
        classes: usize,
    ) -> Result<SplitWriter, ActivationFileError> {
        let g = self.file.create_group(split).map_err(self.err(split))?;
        let pre = g
            .create_group("preact")
            .map_err(self.err(&format!("{split}/preact")))?;
        let labels = self.dataset::<u8>(&g, "labels", &[rows])?;
        let preact = (1..=depth)
            .map(|l| self.dataset::<f32>(&pre, &l.to_string(), &[rows, width]))
            .collect::<Result<Vec<_>, _>>()?;
        let output = self.dataset::<f32>(&g, "output", &[rows, classes])?;
        Ok(SplitWriter {
            labels,
            preact,
            output,
            rows,
            written: 0,
        })
    }

    pub fn finish(self) -> Result<(), ActivationFileError> {
        self.file.flush().map_err(self.err("/"))?;
        Ok(())
    }
}

impl SplitWriter {
    /// Appends a block of rows: labels [n], each layer's pre-activations [n, width]
    /// (row-major) and the output's [n, classes].
    pub fn write_block(
        &mut self,
        labels: &[u8],
        preact: &[Vec<f32>],
        output: &[f32],
    ) -> Result<(), hdf5::Error> {
        let n = labels.len();
        let range = self.written..self.written + n;
        assert!(range.end <= self.rows, "block beyond the split's size");
        self.labels.write_slice(labels, range.clone())?;
        for (ds, values) in self.preact.iter().zip(preact) {
            let width = values.len() / n.max(1);
            let view = ArrayView2::from_shape((n, width), values).expect("block shape");
            ds.write_slice(view, (range.clone(), ..))?;
        }
        let classes = output.len() / n.max(1);
        self.output.write_slice(
            ArrayView2::from_shape((n, classes), output).expect("block shape"),
            (range.clone(), ..),
        )?;
        self.written = range.end;
        Ok(())
    }

    pub fn is_complete(&self) -> bool {
        self.written == self.rows
    }
}

/// Reads activation files, checking every dataset against the attributes.
pub struct ActivationReader {
    file: hdf5::File,
    path: PathBuf,
    pub attrs: Attributes,
}

impl ActivationReader {
    pub fn open(path: &Path) -> Result<Self, ActivationFileError> {
        check_library(path)?;
        let hdf = |p: &str| hdf5_error(path, p);
        let file = hdf5::File::open(path).map_err(hdf("/"))?;
        let text = |name: &str| -> Result<String, ActivationFileError> {
            let v: VarLenUnicode = file
                .attr(name)
                .and_then(|a| a.read_scalar())
                .map_err(hdf(&format!("@{name}")))?;
            Ok(v.as_str().to_string())
        };
        let int = |name: &str| -> Result<i64, ActivationFileError> {
            file.attr(name)
                .and_then(|a| a.read_scalar::<i64>())
                .map_err(hdf(&format!("@{name}")))
        };
        let attrs = Attributes {
            dataset: text("dataset")?,
            depth: int("depth")? as usize,
            width: int("width")? as usize,
            activation: text("activation")?,
            loss: text("loss")?,
            optimizer: text("optimizer")?,
            training: text("training")?,
            seed: int("seed")? as u64,
            epoch: int("epoch")? as usize,
            step: int("step")? as usize,
            snapshot: text("snapshot")?,
        };
        Ok(ActivationReader {
            file,
            path: path.to_path_buf(),
            attrs,
        })
    }

    fn invalid(&self, path: &str, problem: String) -> ActivationFileError {
        ActivationFileError::Invalid {
            file: self.path.clone(),
            path: path.to_string(),
            problem,
        }
    }

    fn hdf(&self, path: &str) -> impl Fn(hdf5::Error) -> ActivationFileError {
        hdf5_error(&self.path, path)
    }

    pub fn has_split(&self, split: &str) -> bool {
        self.file.group(split).is_ok()
    }

    /// Number of classes: the width of `/{split}/output`.
    pub fn classes(&self, split: &str) -> Result<usize, ActivationFileError> {
        let path = format!("/{split}/output");
        let ds = self.file.dataset(&path).map_err(self.hdf(&path))?;
        match ds.shape().as_slice() {
            [_, c] if *c >= 1 => Ok(*c),
            other => Err(self.invalid(&path, format!("shape {other:?}, expected [N, classes]"))),
        }
    }

    /// Labels of a split, checked to be below `classes`.
    pub fn labels(&self, split: &str, classes: usize) -> Result<Vec<u8>, ActivationFileError> {
        let path = format!("/{split}/labels");
        let ds = self.file.dataset(&path).map_err(self.hdf(&path))?;
        if ds.ndim() != 1 {
            return Err(self.invalid(&path, format!("rank {}, expected 1", ds.ndim())));
        }
        let v: Vec<u8> = ds.read_raw().map_err(self.hdf(&path))?;
        if let Some(i) = v.iter().position(|&l| l as usize >= classes) {
            return Err(self.invalid(
                &path,
                format!(
                    "label {} at row {i} is out of range (classes = {classes})",
                    v[i]
                ),
            ));
        }
        Ok(v)
    }

    /// A float matrix [rows, cols] (row-major), checked for shape and finite values.
    pub fn matrix(
        &self,
        path: &str,
        rows: usize,
        cols: usize,
    ) -> Result<Vec<f32>, ActivationFileError> {
        let ds = self.file.dataset(path).map_err(self.hdf(path))?;
        let shape = ds.shape();
        if shape != [rows, cols] {
            return Err(self.invalid(
                path,
                format!(
                    "shape {shape:?} disagrees with the attributes and labels ([{rows}, {cols}])"
                ),
            ));
        }
        let v: Vec<f32> = ds.read_raw().map_err(self.hdf(path))?;
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            return Err(self.invalid(
                path,
                format!(
                    "non-finite value {} at row {}, column {}",
                    v[i],
                    i / cols,
                    i % cols
                ),
            ));
        }
        Ok(v)
    }

    /// Pre-activations of hidden layer `layer` (1-based) for a split of `rows` samples.
    pub fn preact(
        &self,
        split: &str,
        layer: usize,
        rows: usize,
    ) -> Result<Vec<f32>, ActivationFileError> {
        self.matrix(&format!("/{split}/preact/{layer}"), rows, self.attrs.width)
    }

    pub fn output(
        &self,
        split: &str,
        rows: usize,
        classes: usize,
    ) -> Result<Vec<f32>, ActivationFileError> {
        self.matrix(&format!("/{split}/output"), rows, classes)
    }
}

#[cfg(test)]
#[path = "activations_tests.rs"]
mod tests;
