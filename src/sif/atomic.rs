//! Atomic replacement of a file: write a temporary file in the same directory, fsync
//! it, rename it over the destination, fsync the directory. Used by [`super::create`].

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::Error;

/// A temporary file next to its destination, removed unless persisted.
pub(crate) struct TempFile {
    pub(crate) file: File,
    path: PathBuf,
    keep: bool,
}

impl TempFile {
    /// Creates `.<name>.tmp.<pid>.<nanos>` next to `dest`, mode 0755 (less the umask).
    pub(crate) fn new(dest: &Path) -> Result<Self, Error> {
        let name = dest
            .file_name()
            .ok_or_else(|| Error::InvalidInput(format!("{} is not a file path", dest.display())))?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".tmp.{}.{nanos}", std::process::id()));
        let path = dest.with_file_name(tmp_name);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o755)
            .open(&path)
            .map_err(|e| Error::io("creating", &path, e))?;
        Ok(TempFile {
            file,
            path,
            keep: false,
        })
    }

    /// Flushes the temporary file's data and metadata.
    pub(crate) fn sync(&self) -> Result<(), Error> {
        self.file
            .sync_all()
            .map_err(|e| Error::io("syncing", &self.path, e))
    }

    /// Renames the file over `dest` and syncs the directory.
    pub(crate) fn persist(mut self, dest: &Path) -> Result<(), Error> {
        std::fs::rename(&self.path, dest).map_err(|e| Error::io("renaming to", dest, e))?;
        self.keep = true;
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io("syncing directory", dir, e))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
