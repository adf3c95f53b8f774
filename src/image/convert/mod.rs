//! OCI layers to a reproducible SIF: the layers are applied in order to an
//! in-memory tree (`layer.rs`, `tree.rs`), written out as squashfs (`squash.rs`),
//! and wrapped in a SIF with the OCI config as a JSON object (`sif.rs`).
//! Nothing here reads the clock: equal layers and config give equal bytes.

mod layer;
mod member;
mod sif;
mod squash;
mod tree;

use std::fs::File;
use std::path::Path;

pub use sif::{read_config, CONFIG_OBJECT_NAME};

use crate::image::Error;

/// Converts `layers` (digest, file; bottom first) plus the OCI `config` JSON into a
/// SIF at `out`, working in `stage` (an empty directory).
pub fn convert(
    layers: &[(String, &Path)],
    config: &[u8],
    stage: &Path,
    out: &Path,
) -> Result<(), Error> {
    let data = stage.join("data");
    std::fs::create_dir(&data).map_err(|e| Error::io("creating", &data, e))?;
    let mut t = tree::Tree::new(data);
    for (i, (digest, path)) in layers.iter().enumerate() {
        let f = File::open(path).map_err(|e| Error::io("opening layer", *path, e))?;
        layer::apply(&mut t, i, digest, f)?;
    }
    let sqfs = stage.join("rootfs.squashfs");
    squash::build(&t, stage, &sqfs)?;
    sif::write(&sqfs, config, out)
}

/// Applies one layer to an empty tree in `stage`, for the fuzzer and tests.
pub fn apply_layer_for_test(raw: &[u8], stage: &Path) -> Result<usize, Error> {
    let mut t = tree::Tree::new(stage.to_path_buf());
    layer::apply(&mut t, 0, "sha256:test", raw)?;
    Ok(t.nodes.len())
}
