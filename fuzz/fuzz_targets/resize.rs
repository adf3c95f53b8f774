//! Fuzzes the remote-command resize stream parser (JSON `{"Width","Height"}`
//! objects back to back, split anywhere): the first byte is the chunk size.
//! Any panic, hang or unbounded buffering is a bug.
//!
//! Run with `cargo +nightly fuzz run resize` from this folder.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some((&chunk, rest)) = data.split_first() {
        let _ = sifcri::streaming::replay::resizes(rest, usize::from(chunk));
    }
});
