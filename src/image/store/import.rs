//! Local SIF files in and out of the store: `image import` copies a SIF in (id = its
//! SHA-256), `image export` copies an image's SIF out (atomically).

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use super::fsutil::rename_durable;
use super::{ImageKind, ImageRecord, Store};
use crate::image::digest::HashingWriter;
use crate::image::{Digest, Error, Reference};
use crate::sif::Sif;

impl Store {
    /// Copies the SIF at `path` into the store under `name` (a docker reference;
    /// default `localhost/<file stem>:latest`).
    pub fn import(&self, path: &Path, name: Option<&str>) -> Result<ImageRecord, Error> {
        let name = match name {
            Some(n) => Reference::parse(n)?,
            None => Reference::parse(&default_name(path))?,
        };
        let tmp = self.temp_dir()?;
        let copy = tmp.path().join("image.sif");
        let (digest, size) = copy_hashed(path, &copy)?;
        Sif::open(&copy)?;
        let rec = ImageRecord {
            id: digest.to_string(),
            kind: ImageKind::Native,
            size,
            repo_tags: name.tagged().into_iter().collect(),
            repo_digests: Vec::new(),
            sif_digest: digest.to_string(),
            config: None,
            layers: Vec::new(),
        };
        self.commit(&copy, rec)
    }

    /// Writes image `name`'s SIF to `dest` (replaced atomically).
    pub fn export(&self, name: &str, dest: &Path) -> Result<ImageRecord, Error> {
        let rec = self.lookup(name)?;
        let file = dest
            .file_name()
            .ok_or_else(|| Error::io("exporting to", dest, io::ErrorKind::InvalidInput.into()))?;
        let tmp = dest.with_file_name(format!(
            ".{}.tmp.{}",
            file.to_string_lossy(),
            std::process::id()
        ));
        if let Err(e) = copy_hashed(&self.sif_path(&rec), &tmp) {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        rename_durable(&tmp, dest)?;
        Ok(rec)
    }
}

/// Copies `from` to a new file `to` (fsynced), returning the digest and size.
pub(crate) fn copy_hashed(from: &Path, to: &Path) -> Result<(Digest, u64), Error> {
    let mut src = File::open(from).map_err(|e| Error::io("opening", from, e))?;
    let dst = File::create_new(to).map_err(|e| Error::io("creating", to, e))?;
    let mut w = HashingWriter::new(dst);
    io::copy(&mut src, &mut w).map_err(|e| Error::io("copying to", to, e))?;
    w.flush().map_err(|e| Error::io("writing", to, e))?;
    w.inner
        .sync_all()
        .map_err(|e| Error::io("syncing", to, e))?;
    Ok((Digest::from_hasher(w.hasher), w.written))
}

/// `localhost/<stem>:latest`, the stem lowercased and reduced to [a-z0-9._-].
fn default_name(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let clean: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let clean = clean.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    format!(
        "localhost/{}:latest",
        if clean.is_empty() { "image" } else { clean }
    )
}
