//! Fuzzes a whole server-side WebSocket channel connection: the first byte
//! picks exec, exec with a terminal, attach or port forward (ports 80 and 81)
//! and the channel subprotocol (binary, base64, v5 close signal), the rest is
//! what the client sends. The connection must end by itself once the bytes
//! run out; a panic or a hang is a bug.
//!
//! Run with `cargo +nightly fuzz run ws_session` from this folder.

#![no_main]

use sifcri::streaming::replay::{ws_session, Verb};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some((&pick, rest)) = data.split_first() {
        let (verb, proto) = Verb::from_byte(pick);
        assert!(ws_session(rest, verb, proto).is_some(), "connection hung");
    }
});
