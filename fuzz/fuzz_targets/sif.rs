//! Fuzz target: the SIF parser (global header, descriptor table, extents) on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = sifcri::sif::Sif::from_bytes(data);
});
