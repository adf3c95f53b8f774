//! Fuzzes the squashfs reader: open arbitrary bytes as an image and read everything
//! reachable. Any panic, hang or huge allocation is a bug; errors are expected.
//!
//! Run with `cargo +nightly fuzz run squashfs` from this folder; seed the corpus with
//! small images (`mksquashfs dir seed.sqfs -b 4096 -comp <each>`).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let cache = fusefs::CacheConfig {
        bytes: 1 << 20,
        shards: 1,
    };
    if let Ok(source) = fusefs::Source::from_bytes(data) {
        let _ = fusefs::Squashfs::open(source, cache).and_then(|image| image.verify());
    }
});
