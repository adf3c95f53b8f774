//! The on-disk image store under a root directory:
//!
//! ```text
//! ROOT/index.json        image records (id, tags, repo digests, size, config)
//! ROOT/index.lock        lock for index read-modify-write
//! ROOT/sifs/<hex>.sif    one SIF per image id
//! ROOT/tmp/<name>/       work dirs of running pulls, each flocked via <name>.lock;
//!                        unlocked ones (interrupted pulls) removed at open
//! ROOT/locks/<hex>.lock  per-reference pull locks (coalesce pulls across processes)
//! ROOT/blobs/            layer blobs kept for later pulls, partial downloads (blobs.rs)
//! ```
//!
//! Input: SIF files made by the pull/convert code or imported by the user. Output:
//! SIF paths for the mount and runtime code. Every write is atomic; methods take
//! `&self` and the store is `Send + Sync`, so a daemon shares one in an `Arc` and
//! calls it from `tokio::task::spawn_blocking`.

mod blobs;
mod fsutil;
mod import;
mod index;

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

pub use fsutil::TempDir;
pub use index::{ImageKind, ImageRecord};

use fsutil::{rename_durable, FileLock};
use index::IndexFile;

use super::{Digest, Error, Reference};

/// The image store.
pub struct Store {
    root: PathBuf,
    index: IndexFile,
    inflight: Arc<Inflight>,
}

impl Store {
    /// Opens (creating) a store at `root` and removes what interrupted pulls left.
    pub fn open(root: &Path) -> Result<Store, Error> {
        for sub in ["sifs", "tmp", "locks", "blobs/sha256", "blobs/partial"] {
            let p = root.join(sub);
            fs::create_dir_all(&p).map_err(|e| Error::io("creating", &p, e))?;
        }
        fsutil::clean_stale_tmp(&root.join("tmp"))?;
        Ok(Store {
            root: root.to_path_buf(),
            index: IndexFile {
                path: root.join("index.json"),
                lock: root.join("index.lock"),
            },
            inflight: Arc::default(),
        })
    }

    /// The default root: /var/lib/sifcri for root, `$XDG_DATA_HOME/sifcri` (or
    /// `~/.local/share/sifcri`) for other users.
    pub fn default_root() -> PathBuf {
        if nix::unistd::geteuid().is_root() {
            return PathBuf::from("/var/lib/sifcri");
        }
        if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|x| !x.is_empty()) {
            return PathBuf::from(x).join("sifcri");
        }
        let home = std::env::var_os("HOME").unwrap_or_else(|| "/tmp".into());
        PathBuf::from(home).join(".local/share/sifcri")
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every image, ordered by id.
    pub fn list(&self) -> Result<Vec<ImageRecord>, Error> {
        Ok(self.index.read()?.images.into_values().collect())
    }

    /// Finds an image by reference (tag or repo digest), by id, or by unique id prefix
    /// of at least 12 hex digits.
    pub fn lookup(&self, name: &str) -> Result<ImageRecord, Error> {
        let index = self.index.read()?;
        find(&index.images, name).ok_or_else(|| Error::NotFound(name.to_string()))
    }

    /// The SIF file of an image.
    pub fn sif_path(&self, rec: &ImageRecord) -> PathBuf {
        let hex = rec.id.strip_prefix("sha256:").unwrap_or(&rec.id);
        self.root.join("sifs").join(format!("{hex}.sif"))
    }

    /// A fresh work directory under `tmp/`, removed on drop.
    pub fn temp_dir(&self) -> Result<TempDir, Error> {
        TempDir::new(&self.root.join("tmp"))
    }

    /// Moves `sif` (a finished file on the store's file system) into place as image
    /// `rec` and records it, merging tags with any image of that id.
    pub fn commit(&self, sif: &Path, rec: ImageRecord) -> Result<ImageRecord, Error> {
        let dest = self.sif_path(&rec);
        let id = rec.id.clone();
        self.index.update(|index| {
            if !index.images.contains_key(&id) || !dest.exists() {
                rename_durable(sif, &dest)?;
            }
            index.insert(rec);
            Ok(())
        })?;
        self.lookup(&id)
    }

    /// Adds tags and repo digests to the existing image `id`.
    pub fn tag(&self, id: &str, tags: Vec<String>, digests: Vec<String>) -> Result<(), Error> {
        self.index.update(|index| {
            let mut rec = index
                .images
                .get(id)
                .cloned()
                .ok_or_else(|| Error::NotFound(id.to_string()))?;
            rec.repo_tags = tags;
            rec.repo_digests = digests;
            index.insert(rec);
            Ok(())
        })
    }

    /// Removes a name; the image (and its SIF) goes when it was named by id or has no
    /// names left. Returns the image's record as it was.
    pub fn remove(&self, name: &str) -> Result<ImageRecord, Error> {
        let rec = self.index.update(|index| {
            let rec = find(&index.images, name).ok_or_else(|| Error::NotFound(name.into()))?;
            let by_id = rec.id == name
                || rec
                    .id
                    .strip_prefix("sha256:")
                    .is_some_and(|h| h.starts_with(name));
            let norm = Reference::parse(name).ok();
            let Some(slot) = index.images.get_mut(&rec.id) else {
                return Ok(rec);
            };
            if let (false, Some(r)) = (by_id, &norm) {
                slot.repo_tags.retain(|t| Some(t) != r.tagged().as_ref());
                slot.repo_digests
                    .retain(|d| Some(d.clone()) != r.digest.as_ref().map(|dg| r.with_digest(dg)));
            }
            if by_id || slot.repo_tags.is_empty() {
                index.images.remove(&rec.id);
            }
            Ok(rec)
        })?;
        self.gc()?;
        Ok(rec)
    }

    /// Bytes and inodes the stored SIFs use (for CRI `ImageFsInfo`).
    pub fn usage(&self) -> Result<(u64, u64), Error> {
        let dir = self.root.join("sifs");
        let mut bytes = 0u64;
        let mut inodes = 0u64;
        for entry in fs::read_dir(&dir)
            .map_err(|e| Error::io("listing", &dir, e))?
            .flatten()
        {
            bytes = bytes.saturating_add(entry.metadata().map(|m| m.len()).unwrap_or(0));
            inodes += 1;
        }
        Ok((bytes, inodes))
    }

    /// Deletes SIF files and kept layer blobs no record points at; returns how many.
    pub fn gc(&self) -> Result<usize, Error> {
        let _guard = FileLock::acquire(&self.index.lock)?;
        let index = self.index.read()?;
        let dir = self.root.join("sifs");
        let mut removed = self.gc_blobs(&index);
        for entry in fs::read_dir(&dir)
            .map_err(|e| Error::io("listing", &dir, e))?
            .flatten()
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            let id = format!("sha256:{}", name.trim_end_matches(".sif"));
            if !index.images.contains_key(&id) && fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Takes the pull lock of `key` (a normalized reference): one pull per key at a
    /// time in this process and across processes sharing the root.
    pub fn lock_pull(&self, key: &str) -> Result<PullGuard, Error> {
        let inflight = self.inflight.clone();
        {
            let mut set = inflight.keys.lock().unwrap_or_else(|p| p.into_inner());
            while set.contains(key) {
                set = inflight.done.wait(set).unwrap_or_else(|p| p.into_inner());
            }
            set.insert(key.to_string());
        }
        let mut guard = PullGuard {
            _file: None,
            inflight,
            key: key.to_string(),
        };
        let hex = Digest::of(key.as_bytes()).hex().to_string();
        guard._file = Some(FileLock::acquire(
            &self.root.join("locks").join(format!("{hex}.lock")),
        )?);
        Ok(guard)
    }
}

/// Keys being pulled in this process.
#[derive(Default)]
struct Inflight {
    keys: Mutex<HashSet<String>>,
    done: Condvar,
}

/// Holds a reference's pull lock, in-process and across processes; released on drop.
pub struct PullGuard {
    _file: Option<FileLock>,
    inflight: Arc<Inflight>,
    key: String,
}

impl Drop for PullGuard {
    fn drop(&mut self) {
        let mut set = self.inflight.keys.lock().unwrap_or_else(|p| p.into_inner());
        set.remove(&self.key);
        self.inflight.done.notify_all();
    }
}

/// The record `name` designates, if any.
fn find(
    images: &std::collections::BTreeMap<String, ImageRecord>,
    name: &str,
) -> Option<ImageRecord> {
    if let Some(r) = images.get(name) {
        return Some(r.clone());
    }
    let hex = name.strip_prefix("sha256:").unwrap_or(name);
    if hex.len() >= 12 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        let mut hits = images
            .values()
            .filter(|r| r.id["sha256:".len()..].starts_with(hex));
        if let (Some(r), None) = (hits.next(), hits.next()) {
            return Some(r.clone());
        }
    }
    let r = Reference::parse(name).ok()?;
    let want_tag = r.tagged();
    let want_digest = r.digest.as_ref().map(|d| r.with_digest(d));
    images
        .values()
        .find(|rec| {
            want_digest
                .as_ref()
                .is_some_and(|d| rec.repo_digests.contains(d))
                || (want_digest.is_none()
                    && want_tag.as_ref().is_some_and(|t| rec.repo_tags.contains(t)))
        })
        .cloned()
}
