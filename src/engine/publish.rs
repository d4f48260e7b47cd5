//! Publishing a cache entry, and recovering from a crash at any step of it.
//!
//! A unit writes into `<stage>/.staging/<key>.<host>.<pid>/`. Publishing it:
//!
//! 1. the manifest is written (and fsynced) into the staging folder, after every output;
//! 2. only if the entry exists already (a forced rerun): the old entry is renamed aside,
//!    to `<stage>/.staging/<key>.<host>.<pid>.old`;
//! 3. the staging folder is renamed to `<stage>/<key>`;
//! 4. the old entry, if any, moves into `.trash/` by one rename and is deleted there;
//! 5. the unit's pointer (`.units/<unit>.json`, its last key) is rewritten.
//!
//! A crash between any two steps leaves a state the next run (under the lock, in
//! [`Cache::clean_dead_staging`]) repairs without losing an entry: before 2 or after 3
//! nothing is missing; between 2 and 3 the entry is missing but whole under its aside
//! name, which carries the dead process's host and pid, and it is renamed back. Both the
//! old and the new entry are valid for the key (a key decides the bytes), so restoring the
//! old one loses nothing; the new one's staging folder is deleted. An aside is only ever
//! deleted after it has left the `.old` name (step 4), so a half-deleted folder is never
//! taken for a whole entry. A stale pointer only words a later staleness reason less
//! precisely.

use super::cache::{
    io_err, read_dir_sorted, read_manifest_at, write_atomic, write_synced, Cache, CacheError,
    DROPPED, MANIFEST, STAGING, TRASH,
};
use super::fault;
use super::host::{hostname, process_alive};
use super::manifest::{Manifest, OutputFile};
use super::unit::UnitRef;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// The suffix of a replaced entry moved aside while its successor is renamed in.
const ASIDE: &str = "old";

/// A unit's private folder for outputs in progress; see [`Cache::begin`].
#[derive(Debug)]
pub struct Staging {
    pub dir: PathBuf,
    stage: String,
    key: String,
}

/// What a name in `.staging/` says: whose folder it is, and whether it is an aside.
#[derive(Debug, PartialEq)]
struct StagingName<'a> {
    key: &'a str,
    host: &'a str,
    pid: i32,
    aside: bool,
}

impl<'a> StagingName<'a> {
    /// `<key>.<host>.<pid>` or `<key>.<host>.<pid>.old` (host names have their dots
    /// replaced, keys are hex); anything else is `None`.
    fn parse(name: &'a str) -> Option<StagingName<'a>> {
        let (base, aside) = match name.strip_suffix(&format!(".{ASIDE}")) {
            Some(base) => (base, true),
            None => (name, false),
        };
        let mut parts = base.rsplitn(3, '.');
        let pid = parts.next()?.parse().ok()?;
        let host = parts.next()?;
        let key = parts.next()?;
        Some(StagingName {
            key,
            host,
            pid,
            aside,
        })
    }
}

impl Cache {
    /// Creates an empty staging folder for one unit. The name carries host and pid so that
    /// leftovers of dead processes can be recognised and removed (or, for an aside,
    /// restored).
    pub fn begin(&self, stage: &str, key: &str) -> Result<Staging, CacheError> {
        let dir = self.root().join(stage).join(STAGING).join(format!(
            "{key}.{}.{}",
            hostname(),
            std::process::id()
        ));
        if dir.exists() {
            fs::remove_dir_all(&dir).map_err(io_err(&dir))?;
        }
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        Ok(Staging {
            dir,
            stage: stage.into(),
            key: key.into(),
        })
    }

    /// Writes the manifest and publishes the entry (see the module's steps).
    pub fn commit(&self, staging: Staging, manifest: &Manifest) -> Result<PathBuf, CacheError> {
        let manifest_path = staging.dir.join(MANIFEST);
        write_synced(
            &manifest_path,
            serde_json::to_string_pretty(manifest)
                .expect("manifest serialises")
                .as_bytes(),
        )?;
        fault::point("publish:staged");
        let target = self.entry_dir(&staging.stage, &staging.key);
        // Appended, not substituted: the aside keeps the pid that tells recovery whether
        // its process is gone.
        let aside = PathBuf::from(format!("{}.{ASIDE}", staging.dir.display()));
        let replaced = target.exists();
        if replaced {
            // A forced rerun replaces the entry; a rename cannot replace a non-empty folder.
            fs::rename(&target, &aside).map_err(io_err(&target))?;
            fault::point("publish:after-aside");
        }
        fs::rename(&staging.dir, &target).map_err(io_err(&target))?;
        fault::point("publish:after-rename");
        if replaced {
            self.delete_aside(&aside, &staging.stage, &staging.key);
        }
        if let Some(parent) = target.parent() {
            let _ = fs::File::open(parent).and_then(|d| d.sync_all());
        }
        fault::point("publish:before-pointer");
        let unit = UnitRef::new(&manifest.ingredients.stage, &manifest.ingredients.unit);
        let pointer = self.pointer_path(&unit);
        let body = serde_json::json!({ "key": manifest.key }).to_string();
        write_atomic(&pointer, body.as_bytes())?;
        Ok(target)
    }

    /// Deletes a replaced entry: first out of its `.old` name by one rename (so recovery
    /// never restores a half-deleted folder), then its files. Failing to delete it only
    /// costs disk space until the next run's clean-up.
    fn delete_aside(&self, aside: &Path, stage: &str, key: &str) {
        let trash = self.root().join(TRASH);
        let gone = trash.join(format!("aside-{stage}-{key}-{}", std::process::id()));
        let moved = fs::create_dir_all(&trash).and_then(|()| fs::rename(aside, &gone));
        if moved.is_ok() {
            let _ = fs::remove_dir_all(&gone);
        }
    }

    /// Commits an entry whose payload is dropped from the start: its manifest alone, with
    /// the marker, as [`Cache::drop_payload`] would leave it (a recomputable entry that a
    /// remote holds as its manifest only).
    pub fn commit_dropped(
        &self,
        staging: Staging,
        manifest: &Manifest,
    ) -> Result<PathBuf, CacheError> {
        write_synced(&staging.dir.join(DROPPED), b"")?;
        self.commit(staging, manifest)
    }

    /// Puts the regenerated outputs of a dropped entry back, after checking that every
    /// file has the size and SHA-256 its manifest recorded; on any difference nothing is
    /// moved and the error names the first differing file. The marker goes last, so a
    /// crash midway leaves an entry that still counts as dropped and is regenerated again.
    pub fn restore(&self, staging: Staging, outputs: &[OutputFile]) -> Result<PathBuf, CacheError> {
        let target = self.entry_dir(&staging.stage, &staging.key);
        let recorded = read_manifest_at(&target)?;
        let found: BTreeMap<&str, &OutputFile> =
            outputs.iter().map(|o| (o.path.as_str(), o)).collect();
        for want in &recorded.outputs {
            let got = found.get(want.path.as_str());
            if got.map(|g| (&g.sha256, g.size)) != Some((&want.sha256, want.size)) {
                let err = CacheError::Regenerated(Box::new(super::cache::Mismatch {
                    stage: staging.stage.clone(),
                    unit: recorded.ingredients.unit.clone(),
                    file: want.path.clone(),
                    found: got.map_or("no such file".into(), |g| {
                        g.sha256[..12.min(g.sha256.len())].to_string()
                    }),
                    recorded: want.sha256[..12.min(want.sha256.len())].to_string(),
                    recorded_on: format!(
                        "{} with {} {}",
                        recorded
                            .machine
                            .as_deref()
                            .unwrap_or("an unrecorded machine"),
                        recorded.device,
                        recorded.tool_version
                    ),
                    here: super::manifest::this_machine(),
                }));
                self.abandon(staging);
                return Err(err);
            }
        }
        for (n, out) in recorded.outputs.iter().enumerate() {
            let (from, to) = (staging.dir.join(&out.path), target.join(&out.path));
            if let Some(parent) = to.parent() {
                fs::create_dir_all(parent).map_err(io_err(parent))?;
            }
            fs::rename(&from, &to).map_err(io_err(&to))?;
            if n == 0 {
                fault::point("restore:after-first-file");
            }
        }
        let marker = target.join(DROPPED);
        fs::remove_file(&marker).map_err(io_err(&marker))?;
        self.abandon(staging);
        Ok(target)
    }

    /// Removes a staging folder after a failed unit, so nothing half-written stays behind.
    pub fn abandon(&self, staging: Staging) {
        let _ = fs::remove_dir_all(&staging.dir);
    }

    /// Repairs what dead processes of this host left (a crash or `kill -9`): an entry
    /// moved aside and never replaced goes back in place; other staging folders were never
    /// visible as entries and are deleted. Also empties the trash an interrupted `gc` or
    /// publish left behind. Call it holding the cache lock. Returns the folders handled.
    pub fn clean_dead_staging(&self) -> Result<usize, CacheError> {
        let host = hostname();
        let me = std::process::id() as i32;
        let mut handled = self.empty_trash()?;
        for stage_dir in read_dir_sorted(self.root())? {
            let staging = stage_dir.join(STAGING);
            if !staging.is_dir() {
                continue;
            }
            for dir in read_dir_sorted(&staging)? {
                let name = dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let parsed = StagingName::parse(&name);
                // Under the lock this process has no staging folder yet, so one bearing
                // its pid is a dead process's whose pid was reused.
                let dead = parsed
                    .as_ref()
                    .is_none_or(|n| n.host == host && (n.pid == me || !process_alive(n.pid)));
                if !dead {
                    continue;
                }
                let target = parsed
                    .filter(|n| n.aside)
                    .map(|n| stage_dir.join(n.key))
                    .filter(|t| !t.join(MANIFEST).is_file() && is_whole(&dir));
                match target {
                    Some(target) => {
                        if target.exists() {
                            fs::remove_dir_all(&target).map_err(io_err(&target))?;
                        }
                        fs::rename(&dir, &target).map_err(io_err(&target))?;
                        let _ = fs::File::open(&stage_dir).and_then(|d| d.sync_all());
                    }
                    None => fs::remove_dir_all(&dir).map_err(io_err(&dir))?,
                }
                handled += 1;
            }
        }
        Ok(handled)
    }
}

/// An aside about to be restored has its manifest and every output of the size recorded
/// (or is dropped): a last check, since a restored folder is trusted as an entry.
fn is_whole(dir: &Path) -> bool {
    let Ok(manifest) = read_manifest_at(dir) else {
        return false;
    };
    dir.join(DROPPED).is_file()
        || manifest.outputs.iter().all(|o| {
            fs::metadata(dir.join(&o.path)).is_ok_and(|m| m.is_file() && m.len() == o.size)
        })
}

#[cfg(test)]
mod tests {
    use super::StagingName;

    #[test]
    fn staging_names_keep_their_pid_when_moved_aside() {
        let live = StagingName::parse("ab12.node_1.4242").unwrap();
        assert_eq!(
            (live.key, live.host, live.pid, live.aside),
            ("ab12", "node_1", 4242, false)
        );
        let aside = StagingName::parse("ab12.node_1.4242.old").unwrap();
        assert_eq!(
            (aside.key, aside.host, aside.pid, aside.aside),
            ("ab12", "node_1", 4242, true)
        );
        assert_eq!(StagingName::parse("ab12.node_1.old"), None);
        assert_eq!(StagingName::parse("junk"), None);
    }
}
