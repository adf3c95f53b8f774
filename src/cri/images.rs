//! Resolves a CRI image reference to a SIF in the image store (`crate::image::Store`
//! at the daemon's root directory).

use super::container::ImageInfo;
use super::Error;

/// Finds `name` (a reference or an image id) in the store under `root`.
pub fn resolve(root: &std::path::Path, name: &str) -> Result<ImageInfo, Error> {
    if name.is_empty() {
        return Err(Error::InvalidArgument("no image given".into()));
    }
    let store = crate::image::Store::open(root)
        .map_err(|e| Error::Internal(format!("image store: {e}")))?;
    let rec = store.lookup(name).map_err(|e| match e {
        crate::image::Error::NotFound(_) => Error::NotFound(format!("image {name}")),
        other => Error::Internal(format!("image {name}: {other}")),
    })?;
    Ok(ImageInfo {
        sif: store.sif_path(&rec),
        config: rec.config.clone(),
        id: rec.id,
    })
}
