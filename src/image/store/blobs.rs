//! Layer blobs kept in the store for later pulls, and partial downloads kept across
//! a process death:
//!
//! ```text
//! ROOT/blobs/sha256/<hex>        verified layer blobs of stored images
//! ROOT/blobs/partial/<hex>       a download in progress or interrupted: the next pull
//!                                of that digest resumes it with a Range request
//! ROOT/blobs/partial/<hex>.lock  flock of the process downloading it
//! ```
//!
//! A blob is renamed into `sha256/` only after its size and digest were checked; the
//! images recording it in `layers` keep it, [`Store::gc`] removes the others.

use std::fs;
use std::path::{Path, PathBuf};

use super::fsutil::{rename_durable, FileLock};
use super::index::Index;
use super::Store;
use crate::image::{Digest, Error};

impl Store {
    /// Where the verified blob `digest` is kept.
    pub(crate) fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root.join("blobs/sha256").join(digest.hex())
    }

    /// The verified blob `digest` of `size` bytes: the kept one, or one fetched by
    /// `download` (given the partial file to continue) under the digest's lock, so
    /// two processes never write one partial file.
    pub(crate) fn layer_blob(
        &self,
        digest: &Digest,
        size: u64,
        download: impl FnOnce(&Path) -> Result<(), Error>,
    ) -> Result<PathBuf, Error> {
        let kept = self.blob_path(digest);
        let complete = |p: &Path| fs::metadata(p).is_ok_and(|m| m.len() == size);
        if complete(&kept) {
            return Ok(kept);
        }
        let partial = self.root.join("blobs/partial").join(digest.hex());
        let _lock = FileLock::acquire(&partial.with_extension("lock"))?;
        if complete(&kept) {
            return Ok(kept);
        }
        download(&partial)?;
        rename_durable(&partial, &kept)?;
        Ok(kept)
    }

    /// Removes kept blobs no image records (the index lock is held by the caller).
    pub(crate) fn gc_blobs(&self, index: &Index) -> usize {
        let dir = self.root.join("blobs/sha256");
        let Ok(entries) = fs::read_dir(&dir) else {
            return 0;
        };
        let used: std::collections::HashSet<&str> = index
            .images
            .values()
            .flat_map(|r| r.layers.iter())
            .filter_map(|d| d.strip_prefix("sha256:"))
            .collect();
        entries
            .flatten()
            .filter(|e| !used.contains(e.file_name().to_string_lossy().as_ref()))
            .filter(|e| fs::remove_file(e.path()).is_ok())
            .count()
    }
}
