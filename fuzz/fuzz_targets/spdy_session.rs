//! Fuzzes a whole server-side SPDY session: the first byte picks exec, exec
//! with a terminal, attach or port forward (and the remote-command version),
//! the rest is what the client sends (frames, header blocks, stream types,
//! resize JSON, port and requestID headers). The session must end by itself
//! once the bytes run out; a panic or a hang is a bug.
//!
//! Run with `cargo +nightly fuzz run spdy_session` from this folder.

#![no_main]

use sifcri::streaming::replay::{spdy_session, Verb};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some((&pick, rest)) = data.split_first() {
        let (verb, proto) = Verb::from_byte(pick);
        assert!(spdy_session(rest, verb, proto).is_some(), "session hung");
    }
});
