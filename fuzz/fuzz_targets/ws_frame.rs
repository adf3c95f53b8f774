//! Fuzzes the WebSocket frame reader (client frames: masking, the three
//! length forms, control-frame rules, the 4 MiB cap). Any panic, hang or
//! huge allocation is a bug; errors are expected.
//!
//! Run with `cargo +nightly fuzz run ws_frame` from this folder.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = sifcri::streaming::replay::ws_frames(data);
});
