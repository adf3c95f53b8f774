//! Helpers shared by the `sif_*` tests: where the reference SIF fixtures live, and a
//! seeded random generator.

#![allow(dead_code)]

pub mod rng;

use std::path::PathBuf;

/// The reference implementation's fixtures: `$SIFCRI_TESTDATA`, else
/// `../shared/testdata/sif` beside the checkout. Fails loudly when they are missing.
pub fn testdata() -> PathBuf {
    let dir = std::env::var_os("SIFCRI_TESTDATA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata/sif"),
        PathBuf::from,
    );
    assert!(
        dir.join("images").is_dir(),
        "SIF fixtures missing at {}",
        dir.display()
    );
    dir
}
