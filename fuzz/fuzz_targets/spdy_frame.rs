//! Fuzzes the SPDY/3.1 frame reader and the zlib header-block decoder (with
//! the spec's dictionary): arbitrary bytes as the frames of one session. Any
//! panic, hang or huge allocation is a bug; errors are expected.
//!
//! Run with `cargo +nightly fuzz run spdy_frame` from this folder.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = sifcri::streaming::replay::spdy_frames(data);
});
