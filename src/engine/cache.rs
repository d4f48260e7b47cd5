//! The content-addressed cache: `cache/<stage>/<key>/` holds a unit's outputs and its
//! `manifest.json`. An entry is built in a private staging folder and becomes visible by a
//! rename once every output and the manifest are on disk; `publish.rs` has that protocol
//! and the recovery that makes a crash at any step of it lose nothing.

use super::hash::hash_file;
use super::manifest::{Manifest, OutputFile};
use super::unit::UnitRef;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;

pub use super::publish::Staging;

pub const MANIFEST: &str = "manifest.json";
pub(crate) const STAGING: &str = ".staging";
const POINTERS: &str = ".units";
/// Entries on their way out: moved here by one rename, then deleted.
pub(crate) const TRASH: &str = ".trash";
/// Marks an entry whose payload was dropped (a recomputable stage's): the manifest stays,
/// so keys and early cutoff still see the entry's content; the files come back when a
/// unit needs them.
pub(crate) const DROPPED: &str = ".dropped";

#[derive(Debug, Error)]
pub enum CacheError {
    #[error("cache I/O on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("manifest {path} is unreadable: {message}")]
    BadManifest { path: PathBuf, message: String },
    #[error("non-deterministic: regenerating {stage}/{unit} wrote {file} with other bytes than recorded ({found} vs {recorded}); the dropped entry stays as it was")]
    Regenerated {
        stage: String,
        unit: String,
        file: String,
        found: String,
        recorded: String,
    },
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(io::Error) -> CacheError + '_ {
    move |source| CacheError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One problem found by [`Cache::verify`].
#[derive(Debug, Clone, PartialEq)]
pub struct Corruption {
    pub entry: PathBuf,
    pub file: String,
    pub problem: String,
}

#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    pub fn open(root: impl Into<PathBuf>) -> Result<Cache, CacheError> {
        let root = root.into();
        fs::create_dir_all(&root).map_err(io_err(&root))?;
        Ok(Cache { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn entry_dir(&self, stage: &str, key: &str) -> PathBuf {
        self.root.join(stage).join(key)
    }

    /// A committed entry exists: its folder has a manifest (only commits create the folder).
    pub fn contains(&self, stage: &str, key: &str) -> bool {
        self.entry_dir(stage, key).join(MANIFEST).is_file()
    }

    pub fn read_manifest(&self, stage: &str, key: &str) -> Result<Manifest, CacheError> {
        read_manifest_at(&self.entry_dir(stage, key))
    }

    /// The key of the last committed run of a unit, whatever its parameters were then.
    pub fn last_key(&self, unit: &UnitRef) -> Option<String> {
        let text = fs::read_to_string(self.pointer_path(unit)).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        v.get("key")?.as_str().map(str::to_owned)
    }

    pub(crate) fn pointer_path(&self, unit: &UnitRef) -> PathBuf {
        self.root
            .join(&unit.stage)
            .join(POINTERS)
            .join(format!("{}.json", sanitize(&unit.id)))
    }

    /// Lists the outputs of a finished staging folder with their sizes and digests. This is
    /// the one time each output is hashed; later runs trust the manifest.
    pub fn describe_outputs(&self, staging: &Staging) -> Result<Vec<OutputFile>, CacheError> {
        let mut files = Vec::new();
        collect_files(&staging.dir, &staging.dir, &mut files)?;
        files.sort();
        let mut outputs = Vec::with_capacity(files.len());
        for rel in files {
            if rel == MANIFEST {
                continue;
            }
            let path = staging.dir.join(&rel);
            let (size, sha256) = hash_file(&path).map_err(io_err(&path))?;
            // Flush the data before the rename makes the entry visible.
            fs::File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(io_err(&path))?;
            outputs.push(OutputFile {
                path: rel,
                size,
                sha256,
            });
        }
        Ok(outputs)
    }

    /// Whether the entry's payload was dropped (its manifest remains).
    pub fn is_dropped(&self, stage: &str, key: &str) -> bool {
        self.entry_dir(stage, key).join(DROPPED).is_file()
    }

    /// Deletes a committed entry's output files, keeping its manifest; returns the bytes
    /// freed. The marker is written first, so an interrupted drop leaves an entry that is
    /// known to be dropped, never one that looks complete without its files.
    pub fn drop_payload(&self, stage: &str, key: &str) -> Result<u64, CacheError> {
        let dir = self.entry_dir(stage, key);
        let manifest = read_manifest_at(&dir)?;
        write_synced(&dir.join(DROPPED), b"")?;
        let mut freed = 0;
        for out in &manifest.outputs {
            let path = dir.join(&out.path);
            match fs::remove_file(&path) {
                Ok(()) => freed += out.size,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err(&path)(e)),
            }
        }
        Ok(freed)
    }

    /// Every committed entry as (stage, key, folder).
    pub fn entries(&self) -> Result<Vec<(String, String, PathBuf)>, CacheError> {
        let mut out = Vec::new();
        for stage_dir in read_dir_sorted(&self.root)? {
            let Some(stage) = file_name(&stage_dir) else {
                continue;
            };
            if stage.starts_with('.') || !stage_dir.is_dir() {
                continue;
            }
            for entry in read_dir_sorted(&stage_dir)? {
                let Some(key) = file_name(&entry) else {
                    continue;
                };
                if !key.starts_with('.') && entry.join(MANIFEST).is_file() {
                    out.push((stage.clone(), key, entry));
                }
            }
        }
        Ok(out)
    }

    /// Takes an entry out of the cache with one atomic rename into `.trash/`, so that no
    /// half-deleted entry is ever visible; [`Cache::empty_trash`] then deletes it.
    pub fn discard(&self, stage: &str, key: &str) -> Result<(), CacheError> {
        let trash = self.root.join(TRASH);
        fs::create_dir_all(&trash).map_err(io_err(&trash))?;
        let from = self.entry_dir(stage, key);
        let to = trash.join(format!("{stage}-{key}-{}", std::process::id()));
        fs::rename(&from, &to).map_err(io_err(&from))?;
        if let Some(parent) = from.parent() {
            let _ = fs::File::open(parent).and_then(|d| d.sync_all());
        }
        Ok(())
    }

    /// Deletes whatever is in `.trash/` (also what an interrupted `gc` left there).
    pub fn empty_trash(&self) -> Result<usize, CacheError> {
        let trash = self.root.join(TRASH);
        let mut removed = 0;
        for dir in read_dir_sorted(&trash)? {
            fs::remove_dir_all(&dir).map_err(io_err(&dir))?;
            removed += 1;
        }
        Ok(removed)
    }

    /// Re-hashes every output of every entry and names each file that no longer matches.
    pub fn verify(
        &self,
        mut on_entry: impl FnMut(&Path),
    ) -> Result<(usize, Vec<Corruption>), CacheError> {
        let mut problems = Vec::new();
        let entries = self.entries()?;
        for (_, _, dir) in &entries {
            on_entry(dir);
            let manifest = match read_manifest_at(dir) {
                Ok(m) => m,
                Err(e) => {
                    problems.push(Corruption {
                        entry: dir.clone(),
                        file: MANIFEST.into(),
                        problem: e.to_string(),
                    });
                    continue;
                }
            };
            if dir.join(DROPPED).is_file() {
                continue; // nothing to check until it is regenerated
            }
            for out in &manifest.outputs {
                let path = dir.join(&out.path);
                let problem = match hash_file(&path) {
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Some("missing".to_string()),
                    Err(e) => Some(format!("unreadable: {e}")),
                    Ok((size, _)) if size != out.size => Some(format!(
                        "truncated or resized: {size} bytes, manifest says {}",
                        out.size
                    )),
                    Ok((_, digest)) if digest != out.sha256 => {
                        Some("corrupted: SHA-256 differs from the manifest".to_string())
                    }
                    Ok(_) => None,
                };
                if let Some(problem) = problem {
                    problems.push(Corruption {
                        entry: dir.clone(),
                        file: out.path.clone(),
                        problem,
                    });
                }
            }
        }
        Ok((entries.len(), problems))
    }
}

pub fn read_manifest_at(dir: &Path) -> Result<Manifest, CacheError> {
    let path = dir.join(MANIFEST);
    let text = fs::read_to_string(&path).map_err(io_err(&path))?;
    serde_json::from_str(&text).map_err(|e| CacheError::BadManifest {
        path,
        message: e.to_string(),
    })
}

/// Total size in bytes of a folder tree (for `gc --dry-run`).
pub fn tree_size(dir: &Path) -> u64 {
    let mut files = Vec::new();
    if collect_files(dir, dir, &mut files).is_err() {
        return 0;
    }
    files
        .iter()
        .filter_map(|f| fs::metadata(dir.join(f)).ok())
        .map(|m| m.len())
        .sum()
}

/// Writes a small file so that readers see the old or the new content, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CacheError> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io_err(parent))?;
    }
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    write_synced(&tmp, bytes)?;
    fs::rename(&tmp, path).map_err(io_err(path))
}

pub(crate) fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), CacheError> {
    let mut f = fs::File::create(path).map_err(io_err(path))?;
    f.write_all(bytes).map_err(io_err(path))?;
    f.sync_all().map_err(io_err(path))
}

fn collect_files(base: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), CacheError> {
    for path in read_dir_sorted(dir)? {
        if path.is_dir() {
            collect_files(base, &path, out)?;
        } else {
            let rel = path.strip_prefix(base).expect("inside base");
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}

pub(crate) fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>, CacheError> {
    let mut paths = Vec::new();
    match fs::read_dir(dir) {
        Ok(rd) => {
            for e in rd {
                paths.push(e.map_err(io_err(dir))?.path());
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(dir)(e)),
    }
    paths.sort();
    Ok(paths)
}

fn file_name(p: &Path) -> Option<String> {
    p.file_name().map(|n| n.to_string_lossy().into_owned())
}

/// Unit ids become file names: keep them readable but safe.
pub fn sanitize(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Makes `to` the same file as `from`: a hard link where the file system allows, a copy
/// otherwise (another file system).
pub fn link_or_copy(from: &Path, to: &Path) -> io::Result<()> {
    fs::hard_link(from, to).or_else(|_| fs::copy(from, to).map(|_| ()))
}
