//! File-system helpers of the store: atomic replace (temp, fsync, rename, fsync of
//! the directory), per-pull temporary directories, and advisory file locks.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use nix::fcntl::{Flock, FlockArg};

use crate::image::Error;

/// Writes `data` to `path` atomically.
pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> Result<(), Error> {
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let res = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()
    })();
    if let Err(e) = res {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io("writing", &tmp, e));
    }
    rename_durable(&tmp, path)
}

/// Renames `from` to `to` and fsyncs the destination directory.
pub(crate) fn rename_durable(from: &Path, to: &Path) -> Result<(), Error> {
    fs::rename(from, to).map_err(|e| Error::io("renaming into place", to, e))?;
    let dir = to.parent().unwrap_or(Path::new("."));
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("syncing directory", dir, e))
}

/// An exclusive advisory lock on a file, released on drop.
pub(crate) struct FileLock(#[allow(dead_code)] Flock<File>);

impl FileLock {
    /// Blocks until `path` (created if needed) is locked exclusively.
    pub(crate) fn acquire(path: &Path) -> Result<FileLock, Error> {
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| Error::io("opening lock file", path, e))?;
        Flock::lock(f, FlockArg::LockExclusive)
            .map(FileLock)
            .map_err(|(_, errno)| Error::io("locking", path, errno.into()))
    }
}

/// A directory under the store's `tmp/`, removed on drop. While it lives, this
/// process holds an exclusive lock on `<dir>.lock`: a store opened by any process (in
/// any pid namespace) removes only directories whose lock nobody holds.
pub struct TempDir {
    path: PathBuf,
    lock_path: PathBuf,
    _lock: FileLock,
}

static NEXT_TMP: AtomicU64 = AtomicU64::new(0);

impl TempDir {
    pub(crate) fn new(tmp_root: &Path) -> Result<TempDir, Error> {
        let n = NEXT_TMP.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = tmp_root.join(format!("{}.{n}.{nanos}", std::process::id()));
        let lock_path = lock_of(&path);
        let lock = FileLock::acquire(&lock_path)?;
        fs::create_dir(&path).map_err(|e| Error::io("creating", &path, e))?;
        Ok(TempDir {
            path,
            lock_path,
            _lock: lock,
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
        let _ = fs::remove_file(&self.lock_path);
    }
}

fn lock_of(dir: &Path) -> PathBuf {
    let mut name = dir.as_os_str().to_os_string();
    name.push(".lock");
    PathBuf::from(name)
}

/// Removes work directories (and lock files) nobody holds the lock of: what
/// interrupted pulls left. Returns how many directories.
pub(crate) fn clean_stale_tmp(tmp_root: &Path) -> Result<usize, Error> {
    let entries = fs::read_dir(tmp_root).map_err(|e| Error::io("listing", tmp_root, e))?;
    let mut removed = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        let is_lock = path.extension().is_some_and(|e| e == "lock");
        let lock_path = if is_lock {
            path.clone()
        } else {
            lock_of(&path)
        };
        let Ok(f) = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
        else {
            continue;
        };
        let Ok(_held) = Flock::lock(f, FlockArg::LockExclusiveNonblock) else {
            continue;
        };
        if !is_lock && fs::remove_dir_all(&path).is_ok() {
            removed += 1;
        }
        let _ = fs::remove_file(&lock_path);
    }
    Ok(removed)
}
