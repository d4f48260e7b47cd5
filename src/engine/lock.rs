//! One `repro` at a time per cache. The lock is an `flock` on `cache/.lock`: the kernel
//! drops it when its holder dies (even by `kill -9`), so a lock left by a killed process
//! is taken over without any clean-up. The holder's pid is written into the file only to
//! tell a waiting user who they are waiting for.

use super::cache::{io_err, CacheError};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::io::AsRawFd;
use std::path::Path;

pub struct CacheLock {
    file: File,
}

impl CacheLock {
    /// Takes the lock, calling `on_wait` once with the holder's description if it must wait.
    pub fn acquire(cache_root: &Path, on_wait: impl FnOnce(&str)) -> Result<CacheLock, CacheError> {
        let path = cache_root.join(".lock");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err(&path))?;
        let fd = file.as_raw_fd();
        if unsafe { libc::flock(fd, libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            on_wait(if holder.is_empty() {
                "another repro process"
            } else {
                holder
            });
            if unsafe { libc::flock(fd, libc::LOCK_EX) } != 0 {
                return Err(io_err(&path)(std::io::Error::last_os_error()));
            }
        }
        let _ = file.set_len(0);
        let _ = file.seek(SeekFrom::Start(0));
        let _ = write!(
            file,
            "repro pid {} on {}",
            std::process::id(),
            super::host::hostname()
        );
        let _ = file.flush();
        super::fault::point("lock:acquired");
        Ok(CacheLock { file })
    }
}

impl Drop for CacheLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        unsafe {
            libc::flock(self.file.as_raw_fd(), libc::LOCK_UN);
        }
    }
}
