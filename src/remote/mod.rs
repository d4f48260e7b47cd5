//! Remote caches: committed cache entries copied to a shared folder or to S3-compatible
//! object storage and back (`repro push`, `repro pull`, `repro run --pull`).
//!
//! A remote holds two kinds of objects:
//!
//! | object | path | content |
//! |---|---|---|
//! | file | `files/<first 2 hex digits>/<sha256>` | one output file, named by its SHA-256, so identical files of different entries are stored once |
//! | entry | `entries/<stage>/<key>.json` | the entry's manifest and whether its files were pushed (a dropped recomputable entry travels as its manifest alone) |
//!
//! An entry object is written only after every file it names is on the remote, so a
//! remote entry is never visible before its files; an interrupted push leaves at most
//! files no entry names yet, which the next push reuses. A pull checks every file's size
//! and SHA-256 before it commits the entry with the cache's own atomic commit.
//!
//! Credentials never come from `pipeline.toml`: S3 reads the usual `AWS_*` environment
//! variables, else the `~/.aws/credentials` profile (`AWS_PROFILE`, default `default`).

mod directory;
mod s3;
pub mod transfer;

use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum RemoteError {
    /// The remote's URL or settings are unusable.
    #[error("remote `{remote}`: {message}")]
    Config { remote: String, message: String },
    /// Reading or writing the remote failed (unreachable, refused, denied).
    #[error("remote {remote}: {object}: {message}")]
    Access {
        remote: String,
        object: String,
        message: String,
    },
    /// A downloaded object is not what the manifest recorded.
    #[error("remote {remote}: object {object} is corrupt or truncated: {message}; nothing was committed for {unit}")]
    Corrupt {
        remote: String,
        object: String,
        unit: String,
        message: String,
    },
    /// A remote entry that describes something other than what the plan expects (other
    /// parameters, inputs or code under the expected key), or names unsafe output paths.
    #[error(
        "remote {remote}: entry {object} refused for {unit}: {message}; nothing was committed"
    )]
    Refused {
        remote: String,
        object: String,
        unit: String,
        message: String,
    },
    #[error("{path}: {source}")]
    Local {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Cache(#[from] crate::engine::cache::CacheError),
}

/// Where a remote is: a folder, or a bucket and prefix of S3-compatible storage.
#[derive(Debug, Clone, PartialEq)]
pub enum Location {
    Directory(PathBuf),
    S3 {
        bucket: String,
        prefix: String,
        /// For servers other than AWS (MinIO, Ceph): e.g. `http://127.0.0.1:9000`.
        endpoint: Option<String>,
        region: Option<String>,
    },
}

impl Location {
    /// Parses a remote's `url` (`s3://bucket/prefix`, or a folder, relative to `base`).
    pub fn parse(
        url: &str,
        endpoint: Option<&str>,
        region: Option<&str>,
        base: &Path,
    ) -> Result<Location, String> {
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(format!("`{url}` names no bucket (s3://BUCKET/PREFIX)"));
            }
            if let Some(e) = endpoint {
                if !(e.starts_with("http://") || e.starts_with("https://")) {
                    return Err(format!(
                        "endpoint `{e}` must start with http:// or https://"
                    ));
                }
            }
            Ok(Location::S3 {
                bucket: bucket.to_string(),
                prefix: prefix.trim_matches('/').to_string(),
                endpoint: endpoint.map(str::to_string),
                region: region.map(str::to_string),
            })
        } else if url.contains("://") {
            Err(format!(
                "`{url}`: unsupported scheme (a folder path, or s3://BUCKET/PREFIX)"
            ))
        } else if endpoint.is_some() {
            Err("`endpoint` applies to s3:// remotes only".into())
        } else if url.is_empty() {
            Err("`url` is empty".into())
        } else {
            Ok(Location::Directory(base.join(url)))
        }
    }

    /// The remote as messages name it (never with credentials: they are not part of it).
    pub fn describe(&self) -> String {
        match self {
            Location::Directory(p) => p.display().to_string(),
            Location::S3 {
                bucket,
                prefix,
                endpoint,
                ..
            } => {
                let at = endpoint
                    .as_ref()
                    .map_or(String::new(), |e| format!(" at {e}"));
                format!("s3://{bucket}/{prefix}{at}")
            }
        }
    }
}

/// Object storage as push and pull need it. Paths are `/`-separated and relative to the
/// remote's root.
pub trait Store: Send + Sync {
    fn describe(&self) -> String;
    /// Whether an object exists.
    fn exists(&self, object: &str) -> Result<bool, RemoteError>;
    /// An object's bytes, `None` if there is no such object.
    fn get(&self, object: &str) -> Result<Option<Vec<u8>>, RemoteError>;
    /// Writes an object whole: readers see the old state or all of the new bytes.
    fn put(&self, object: &str, bytes: Vec<u8>) -> Result<(), RemoteError>;
    /// Fails unless the remote answers (the folder exists; the server is reachable and
    /// accepts the credentials): asked before anything moves.
    fn check(&self) -> Result<(), RemoteError> {
        self.exists("entries/.probe").map(|_| ())
    }
}

/// Opens the remote at `location` and checks that it answers.
pub fn open(location: &Location) -> Result<Box<dyn Store>, RemoteError> {
    let store: Box<dyn Store> = match location {
        Location::Directory(path) => Box::new(directory::DirStore::new(path.clone())),
        Location::S3 { .. } => Box::new(s3::S3Store::new(location)?),
    };
    store.check()?;
    Ok(store)
}
