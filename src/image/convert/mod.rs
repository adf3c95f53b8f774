//! OCI layers to a reproducible SIF: the layers are applied in order to an
//! in-memory tree (`layer.rs`, `tree.rs`; file contents go to one spool file),
//! written as squashfs by fusefs' writer (`squash.rs`), and wrapped in a SIF with
//! the OCI config as a JSON object (`sif.rs`).
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
    let spool = stage.join("spool");
    let f = File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&spool)
        .map_err(|e| Error::io("creating", &spool, e))?;
    let mut t = tree::Tree::new(f);
    for (i, (digest, path)) in layers.iter().enumerate() {
        let f = File::open(path).map_err(|e| Error::io("opening layer", *path, e))?;
        layer::apply(&mut t, i, digest, f)?;
    }
    let sqfs = stage.join("rootfs.squashfs");
    squash::build(&mut t, &sqfs)?;
    drop(t);
    let _ = std::fs::remove_file(&spool);
    sif::write(&sqfs, config, out)
}

/// Applies one layer to an empty tree spooling in `stage`, for the fuzzer and tests.
pub fn apply_layer_for_test(raw: &[u8], stage: &Path) -> Result<usize, Error> {
    let spool = stage.join("spool");
    let f = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&spool)
        .map_err(|e| Error::io("creating", &spool, e))?;
    let mut t = tree::Tree::new(f);
    layer::apply(&mut t, 0, "sha256:test", raw)?;
    Ok(t.nodes.len())
}
