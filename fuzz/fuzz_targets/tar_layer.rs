//! Fuzzes layer application: arbitrary bytes as a (possibly compressed) tar layer
//! applied to an empty image tree. Any panic, hang or huge allocation is a bug;
//! errors (bad archive, refused member) are expected.
//!
//! Run with `cargo +nightly fuzz run tar_layer` from this folder; seed the corpus with
//! small layers (`tar c -C dir . | gzip > seed.tgz`).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let stage = std::env::temp_dir().join(format!("sifcri-fuzz-tar-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&stage);
    let _ = sifcri::image::convert::apply_layer_for_test(data, &stage);
    let _ = std::fs::remove_dir_all(&stage);
});
