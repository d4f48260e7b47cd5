//! A remote in a folder (a shared file system). Each object is written to a temporary
//! file beside its place and renamed there, so readers never see part of one.

use super::{RemoteError, Store};
use std::path::PathBuf;

pub struct DirStore {
    root: PathBuf,
}

impl DirStore {
    pub fn new(root: PathBuf) -> DirStore {
        DirStore { root }
    }

    fn err(&self, object: &str, e: std::io::Error) -> RemoteError {
        RemoteError::Access {
            remote: self.describe(),
            object: object.to_string(),
            message: e.to_string(),
        }
    }
}

impl Store for DirStore {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn exists(&self, object: &str) -> Result<bool, RemoteError> {
        if !self.root.is_dir() {
            return Err(self.err(
                object,
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "the remote folder does not exist (create it to start a remote there)",
                ),
            ));
        }
        Ok(self.root.join(object).is_file())
    }

    fn get(&self, object: &str) -> Result<Option<Vec<u8>>, RemoteError> {
        if !self.exists(object)? {
            return Ok(None);
        }
        std::fs::read(self.root.join(object))
            .map(Some)
            .map_err(|e| self.err(object, e))
    }

    fn put(&self, object: &str, bytes: Vec<u8>) -> Result<(), RemoteError> {
        let path = self.root.join(object);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| self.err(object, e))?;
        }
        let tmp = PathBuf::from(format!("{}.partial.{}", path.display(), std::process::id()));
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            self.err(object, e)
        })
    }
}
