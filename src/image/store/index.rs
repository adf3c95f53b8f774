//! The store's index (`index.json`): every image record, keyed by image id, with its
//! tags and repo digests. Read-modify-write happens under `index.lock`; the file is
//! replaced atomically.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::fsutil::{write_atomic, FileLock};
use crate::image::Error;

/// Largest index file we read.
const MAX_INDEX: u64 = 64 << 20;

/// How an image came to be a SIF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageKind {
    /// OCI layers converted to a SIF (id = config digest).
    Converted,
    /// A SIF stored as is (imported, or an ORAS SIF artifact; id = SIF digest).
    Native,
}

/// One image in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageRecord {
    /// The image id, `sha256:…`.
    pub id: String,
    /// Converted or native.
    pub kind: ImageKind,
    /// Size of the SIF in bytes.
    pub size: u64,
    /// Normalized `registry/repo:tag` names pointing at it.
    pub repo_tags: Vec<String>,
    /// `registry/repo@sha256:…` (manifest digests) it was pulled by.
    pub repo_digests: Vec<String>,
    /// The SIF's own digest.
    pub sif_digest: String,
    /// The OCI image config (JSON), for converted images and images pulled with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<serde_json::Value>,
    /// Digests of the layer blobs kept in the store for it (converted images).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<String>,
}

/// All records, by id.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Index {
    pub(crate) images: BTreeMap<String, ImageRecord>,
}

impl Index {
    pub(crate) fn load(path: &Path) -> Result<Index, Error> {
        let data = match std::fs::read(path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Index::default()),
            Err(e) => return Err(Error::io("reading", path, e)),
        };
        if data.len() as u64 > MAX_INDEX {
            return Err(corrupt(path, "index too large".into()));
        }
        serde_json::from_slice(&data).map_err(|e| corrupt(path, e.to_string()))
    }

    pub(crate) fn save(&self, path: &Path) -> Result<(), Error> {
        let data = serde_json::to_vec_pretty(self).map_err(|e| corrupt(path, e.to_string()))?;
        write_atomic(path, &data)
    }

    /// Adds or merges `rec`; its tags are moved away from any other image.
    pub(crate) fn insert(&mut self, rec: ImageRecord) {
        for other in self.images.values_mut().filter(|o| o.id != rec.id) {
            other.repo_tags.retain(|t| !rec.repo_tags.contains(t));
        }
        let slot = self
            .images
            .entry(rec.id.clone())
            .or_insert_with(|| ImageRecord {
                repo_tags: Vec::new(),
                repo_digests: Vec::new(),
                ..rec.clone()
            });
        for t in rec.repo_tags {
            if !slot.repo_tags.contains(&t) {
                slot.repo_tags.push(t);
            }
        }
        for d in rec.repo_digests {
            if !slot.repo_digests.contains(&d) {
                slot.repo_digests.push(d);
            }
        }
        slot.repo_tags.sort();
        slot.repo_digests.sort();
    }
}

fn corrupt(path: &Path, why: String) -> Error {
    Error::CorruptStore {
        path: path.to_path_buf(),
        why,
    }
}

/// The index file and its lock, with a locked read-modify-write.
pub(crate) struct IndexFile {
    pub(crate) path: PathBuf,
    pub(crate) lock: PathBuf,
}

impl IndexFile {
    /// Runs `f` on the index under the lock and saves it if `f` succeeds.
    pub(crate) fn update<T>(
        &self,
        f: impl FnOnce(&mut Index) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let _guard = FileLock::acquire(&self.lock)?;
        let mut index = Index::load(&self.path)?;
        let out = f(&mut index)?;
        index.save(&self.path)?;
        Ok(out)
    }

    /// A snapshot of the index.
    pub(crate) fn read(&self) -> Result<Index, Error> {
        Index::load(&self.path)
    }
}
