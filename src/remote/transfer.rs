//! Push and pull of single cache entries, with the tallies a summary reports. Which
//! entries to move (the plan, the stages named) is decided by the caller.

use super::{RemoteError, Store};
use crate::engine::cache::Cache;
use crate::engine::cache::MANIFEST;
use crate::engine::hash::sha256_hex;
use crate::engine::key::{explain_change, KeyIngredients};
use crate::engine::manifest::Manifest;
use serde::{Deserialize, Serialize};

/// What a remote entry object holds.
#[derive(Serialize, Deserialize)]
struct RemoteEntry {
    manifest: Manifest,
    /// Whether the output files were pushed (false: a dropped recomputable entry).
    payload: bool,
}

/// The object holding the file with this SHA-256.
pub fn file_object(sha256: &str) -> String {
    format!("files/{}/{sha256}", &sha256[..2.min(sha256.len())])
}

/// The object holding an entry's manifest.
pub fn entry_object(stage: &str, key: &str) -> String {
    format!("entries/{stage}/{key}.json")
}

/// What a push or pull did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Tally {
    /// Entries written (push) or committed (pull).
    pub entries: usize,
    /// Entries already there (push: on the remote; pull: in the cache).
    pub present: usize,
    /// Entries moved as their manifest alone (dropped recomputable entries).
    pub manifest_only: usize,
    /// Pull: entries the remote does not hold.
    pub absent: usize,
    pub files: usize,
    /// Push: files already on the remote (stored once for every entry that has them).
    pub files_present: usize,
    pub bytes: u64,
}

impl Tally {
    /// One line: what moved and what was skipped.
    pub fn summary(&self, verb: &str) -> String {
        let mb = self.bytes as f64 / 1e6;
        let mut s = format!(
            "{} entr{} {verb} ({} file(s), {mb:.1} MB)",
            self.entries,
            if self.entries == 1 { "y" } else { "ies" },
            self.files
        );
        if self.manifest_only > 0 {
            s.push_str(&format!(
                ", {} of them as manifest only (dropped, recomputable)",
                self.manifest_only
            ));
        }
        s.push_str(&format!(", {} skipped as present", self.present));
        if self.files_present > 0 {
            s.push_str(&format!(
                ", {} file(s) already on the remote",
                self.files_present
            ));
        }
        if self.absent > 0 {
            s.push_str(&format!(", {} not on the remote", self.absent));
        }
        s
    }
}

/// Uploads a committed entry: its files first (each unless already there), its entry
/// object last. Nothing is sent for an entry the remote already has.
pub fn push_entry(
    store: &dyn Store,
    cache: &Cache,
    stage: &str,
    key: &str,
    tally: &mut Tally,
) -> Result<(), RemoteError> {
    let entry = entry_object(stage, key);
    if store.exists(&entry)? {
        tally.present += 1;
        return Ok(());
    }
    let manifest = cache.read_manifest(stage, key)?;
    let payload = !cache.is_dropped(stage, key);
    if payload {
        let dir = cache.entry_dir(stage, key);
        for out in &manifest.outputs {
            let object = file_object(&out.sha256);
            if store.exists(&object)? {
                tally.files_present += 1;
                continue;
            }
            let path = dir.join(&out.path);
            let bytes = std::fs::read(&path).map_err(|source| RemoteError::Local {
                path: path.clone(),
                source,
            })?;
            // A damaged local file must not reach the remote under its recorded digest.
            if bytes.len() as u64 != out.size || sha256_hex(&bytes) != out.sha256 {
                return Err(RemoteError::Local {
                    path,
                    source: std::io::Error::other(
                        "differs from its manifest (`repro verify` checks the cache); not pushed",
                    ),
                });
            }
            tally.bytes += bytes.len() as u64;
            store.put(&object, bytes)?;
            tally.files += 1;
        }
    } else {
        tally.manifest_only += 1;
    }
    let doc = serde_json::to_vec_pretty(&RemoteEntry { manifest, payload })
        .expect("a manifest serialises");
    store.put(&entry, doc)?;
    tally.entries += 1;
    Ok(())
}

/// Why a remote entry object is not what this plan expects, if it is not: its key, its
/// ingredients (parameters, code, version, inputs' content digests) and its output paths.
/// A remote is shared, so its manifests are checked, not believed: an entry filed under
/// the right key but describing other parameters or other inputs is refused, and no output
/// path may leave the entry's folder or overwrite its manifest.
fn mismatch(manifest: &Manifest, expected: &KeyIngredients) -> Option<String> {
    let key = expected.key();
    if manifest.ingredients != *expected {
        let mut reasons: Vec<String> = explain_change(expected, &manifest.ingredients)
            .iter()
            .map(ToString::to_string)
            .collect();
        if manifest.ingredients.stage != expected.stage
            || manifest.ingredients.unit != expected.unit
        {
            reasons.push(format!(
                "it describes {}/{}",
                manifest.ingredients.stage, manifest.ingredients.unit
            ));
        }
        if reasons.is_empty() {
            reasons.push("its key ingredients differ".into());
        }
        return Some(format!(
            "its manifest is not what this plan expects ({})",
            reasons.join("; ")
        ));
    }
    if manifest.key != key {
        return Some(format!(
            "its manifest names key {} for ingredients whose key is {}",
            manifest.key,
            &key[..12]
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for out in &manifest.outputs {
        let path = std::path::Path::new(&out.path);
        let plain = !out.path.is_empty()
            && path
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !plain || out.path == MANIFEST || out.path == ".dropped" {
            return Some(format!(
                "output path `{}` is not a file inside the entry",
                out.path
            ));
        }
        if !seen.insert(&out.path) {
            return Some(format!("output `{}` is listed twice", out.path));
        }
    }
    None
}

/// Writes a pulled file and flushes it to disk: the entry is committed right after, and
/// a committed entry must not turn out empty after a power cut.
fn write_synced(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut f = std::fs::File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Downloads the entry that `expected` describes into the cache if the remote has it: its
/// manifest must describe exactly these ingredients (see [`mismatch`]), every file is
/// checked against the manifest's size and SHA-256 in a staging folder, and the entry is
/// committed as a local run commits it. Returns whether the remote had it.
pub fn pull_entry(
    store: &dyn Store,
    cache: &Cache,
    expected: &KeyIngredients,
    tally: &mut Tally,
) -> Result<bool, RemoteError> {
    let (stage, key) = (expected.stage.as_str(), expected.key());
    let object = entry_object(stage, &key);
    let Some(doc) = store.get(&object)? else {
        tally.absent += 1;
        return Ok(false);
    };
    let unit = format!("{stage}/{}", expected.unit);
    let corrupt = |object: &str, message: String| RemoteError::Corrupt {
        remote: store.describe(),
        object: object.to_string(),
        unit: unit.clone(),
        message,
    };
    let entry: RemoteEntry =
        serde_json::from_slice(&doc).map_err(|e| corrupt(&object, e.to_string()))?;
    if let Some(message) = mismatch(&entry.manifest, expected) {
        return Err(RemoteError::Refused {
            remote: store.describe(),
            object,
            unit,
            message,
        });
    }
    let staging = cache.begin(stage, &key)?;
    let mut received = 0u64;
    if entry.payload {
        for out in &entry.manifest.outputs {
            let file = file_object(&out.sha256);
            let checked = match store.get(&file) {
                Err(e) => Err(e),
                Ok(None) => Err(corrupt(&file, "missing".into())),
                Ok(Some(bytes)) if bytes.len() as u64 != out.size => Err(corrupt(
                    &file,
                    format!("{} bytes, the manifest says {}", bytes.len(), out.size),
                )),
                Ok(Some(bytes)) if sha256_hex(&bytes) != out.sha256 => Err(corrupt(
                    &file,
                    format!(
                        "its SHA-256 is not the recorded {}",
                        &out.sha256[..12.min(out.sha256.len())]
                    ),
                )),
                Ok(Some(bytes)) => Ok(bytes),
            };
            let bytes = match checked {
                Ok(b) => b,
                Err(e) => {
                    cache.abandon(staging);
                    return Err(e);
                }
            };
            let path = staging.dir.join(&out.path);
            if let Err(source) = write_synced(&path, &bytes) {
                cache.abandon(staging);
                return Err(RemoteError::Local { path, source });
            }
            received += bytes.len() as u64;
            tally.files += 1;
        }
        cache.commit(staging, &entry.manifest)?;
    } else {
        cache.commit_dropped(staging, &entry.manifest)?;
        tally.manifest_only += 1;
    }
    tally.bytes += received;
    tally.entries += 1;
    Ok(true)
}
