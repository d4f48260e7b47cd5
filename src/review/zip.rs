//! The archive `repro export` writes, through the `zip` crate: deflate, with ZIP64 wherever
//! an entry or the archive passes 4 GiB (activations exported with `--with-activations`
//! do). Files are streamed from disk and hashed on the way through, never held whole in
//! memory. Every entry is dated 1980-01-01 00:00, the earliest a ZIP can say, so the same
//! files make the same archive.

use crate::engine::hash::to_hex;
use sha2::{Digest, Sha256};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

/// Why an archive could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("adding {name} to the archive: {source}")]
    Entry {
        name: String,
        source: zip::result::ZipError,
    },
    #[error("adding {name} to the archive: {source}")]
    Write { name: String, source: io::Error },
    #[error("reading {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("finishing the archive: {0}")]
    Finish(zip::result::ZipError),
}

/// What an added file held, as read while it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Added {
    pub sha256: String,
    pub size: u64,
}

pub struct Archive<W: Write + Seek> {
    zip: zip::ZipWriter<W>,
}

/// Deflate, the fixed date, and ZIP64 for an entry of `size` bytes that a 32-bit field
/// cannot hold (the crate refuses to write past 4 GiB into an entry not marked so).
fn options(size: u64) -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644)
        .large_file(size >= u64::from(u32::MAX))
}

/// Passes reads through, hashing and counting the bytes.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    size: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
}

impl<W: Write + Seek> Archive<W> {
    pub fn new(out: W) -> Self {
        Archive {
            zip: zip::ZipWriter::new(out),
        }
    }

    fn start(&mut self, name: &str, size: u64) -> Result<(), ArchiveError> {
        self.zip
            .start_file(name, options(size))
            .map_err(|source| ArchiveError::Entry {
                name: name.to_string(),
                source,
            })
    }

    /// Adds an entry named `name` (forward slashes) holding `data`.
    pub fn add_bytes(&mut self, name: &str, data: &[u8]) -> Result<(), ArchiveError> {
        self.start(name, data.len() as u64)?;
        self.zip
            .write_all(data)
            .map_err(|source| ArchiveError::Write {
                name: name.to_string(),
                source,
            })
    }

    /// Streams the file at `path` into an entry named `name`; returns what it held.
    pub fn add_file(&mut self, name: &str, path: &Path) -> Result<Added, ArchiveError> {
        let read_err = |source| ArchiveError::Read {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(read_err)?;
        let size = file.metadata().map_err(read_err)?.len();
        self.start(name, size)?;
        let mut reader = Hashing {
            inner: io::BufReader::with_capacity(1 << 20, file),
            hasher: Sha256::new(),
            size: 0,
        };
        io::copy(&mut reader, &mut self.zip).map_err(|source| ArchiveError::Write {
            name: name.to_string(),
            source,
        })?;
        Ok(Added {
            sha256: to_hex(&reader.hasher.finalize()),
            size: reader.size,
        })
    }

    /// Writes the central directory (ZIP64 where needed); returns the writer.
    pub fn finish(self) -> Result<W, ArchiveError> {
        self.zip.finish().map_err(ArchiveError::Finish)
    }
}
