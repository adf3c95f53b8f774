//! Seeded corruption of streaming client input, in CI on stable (the fuzz
//! targets in fuzz/ need nightly): valid SPDY and WebSocket client streams
//! for exec, exec with a terminal, attach and port forward, mutated (flipped
//! bytes, lying length fields up to 2^63, truncation, spliced repeats) and
//! replayed into the server side with `sifcri::streaming::replay`. Every
//! replay must end by itself, without a panic, and the allocator's peak must
//! stay small: a length field of 2^31 must not cost 2 GiB.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use sifcri::streaming::replay::{self, Verb};
use sifcri::streaming::spdy::frame::{Frame, FLAG_FIN};
use sifcri::streaming::spdy::headers::HeaderCodec;
use sifcri::streaming::spdy::session::MAX_OPEN_STREAMS;

/// Counts live heap bytes and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; the
// counters are only statistics.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        // SAFETY: the caller's layout contract is passed on as is.
        unsafe { System.alloc(l) }
    }

    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        // SAFETY: `p` came from `alloc` above with this layout.
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// One replay at a time, so that the peak is that replay's: every test of
/// this file holds it while it allocates.
static SERIAL: Mutex<()> = Mutex::new(());

fn alone() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Most heap a replay may reach above what was live before it.
const HEAP_BOUND: usize = 4 << 20;

/// xorshift64*: deterministic, so a failure can be replayed from its round.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Lengths a hostile client writes into length fields.
const EXTREMES: [u64; 6] = [0, 0x7f, 0xffff, 0x00ff_ffff, 1 << 31, u64::MAX >> 1];

fn mutate(rng: &mut Rng, valid: &[u8]) -> Vec<u8> {
    let mut b = valid.to_vec();
    for _ in 0..=rng.below(3) {
        let at = rng.below(b.len());
        match rng.below(5) {
            0 | 1 => b[at] ^= (rng.next() as u8) | 1,
            2 => {
                let v = EXTREMES[rng.below(EXTREMES.len())].to_be_bytes();
                let n = [1, 2, 3, 4, 8][rng.below(5)];
                for (i, x) in v[8 - n..].iter().enumerate() {
                    if let Some(slot) = b.get_mut(at + i) {
                        *slot = *x;
                    }
                }
            }
            3 => b.truncate(at),
            _ => {
                let end = (at + 1 + rng.below(64)).min(b.len());
                let piece = b[at..end].to_vec();
                b.splice(at..at, piece);
            }
        }
        if b.is_empty() {
            break;
        }
    }
    b
}

/// A client's SPDY bytes for `verb`: its streams, some data, a resize, FINs.
fn spdy_client(verb: Verb) -> Vec<u8> {
    spdy_client_with(verb, 0)
}

/// [`spdy_client`] with `extra` streams of an unknown type opened after stdin's
/// first data.
fn spdy_client_with(verb: Verb, extra: u32) -> Vec<u8> {
    let mut codec = HeaderCodec::new();
    let mut out = Vec::new();
    let mut syn = |id: u32, h: &[(&str, &str)], out: &mut Vec<u8>| {
        let block = codec.encode(h).unwrap();
        let f = Frame::SynStream {
            stream_id: id,
            assoc_id: 0,
            priority: 0,
            flags: 0,
            block,
        };
        out.extend(f.encode());
    };
    let data = |id: u32, d: &[u8], fin: bool| {
        let flags = if fin { FLAG_FIN } else { 0 };
        Frame::Data {
            stream_id: id,
            flags,
            data: d.to_vec(),
        }
        .encode()
    };
    if verb == Verb::PortForward {
        for (i, req) in ["0", "1"].iter().enumerate() {
            let base = 1 + 4 * i as u32;
            syn(
                base,
                &[("streamtype", "error"), ("port", "80"), ("requestid", req)],
                &mut out,
            );
            syn(
                base + 2,
                &[("streamtype", "data"), ("port", "80"), ("requestid", req)],
                &mut out,
            );
            out.extend(data(base + 2, b"GET / HTTP/1.0\r\n\r\n", true));
        }
        return out;
    }
    for (i, t) in ["error", "stdin", "stdout", "stderr", "resize"]
        .iter()
        .enumerate()
    {
        syn(1 + 2 * i as u32, &[("streamtype", t)], &mut out);
    }
    out.extend(Frame::Ping { id: 1 }.encode());
    out.extend(data(3, b"hello\n", false));
    for i in 0..extra {
        syn(101 + 2 * i, &[("streamtype", "other")], &mut out);
    }
    out.extend(data(9, br#"{"Width":80,"Height":24}{"Width":100,"#, false));
    out.extend(data(9, br#""Height":30}"#, true));
    out.extend(data(3, b"bye\n", true));
    out
}

/// A client WebSocket frame: masked.
fn masked(first: u8, payload: &[u8]) -> Vec<u8> {
    let key = [0x3c, 0xa5, 0x01, 0x7e];
    let mut out = vec![first];
    match payload.len() {
        n @ 0..=125 => out.push(0x80 | n as u8),
        n => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    out.extend_from_slice(&key);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    out
}

/// A client's WebSocket bytes: binary channel messages, a fragmented one, a
/// PING, base64 text, the v5 close signal and a CLOSE.
fn ws_client(verb: Verb) -> Vec<u8> {
    let mut v = Vec::new();
    if verb == Verb::PortForward {
        v.extend(masked(0x82, b"\x00GET / HTTP/1.0\r\n\r\n"));
        v.extend(masked(0x82, b"\x02data for 81"));
    } else {
        v.extend(masked(0x82, b"\x00hello\n"));
        v.extend(masked(0x02, b"\x00frag"));
        v.extend(masked(0x89, b"ping"));
        v.extend(masked(0x80, b"ment\n"));
        v.extend(masked(0x82, b"\x04{\"Width\":80,\"Height\":24}"));
        v.extend(masked(0x81, b"0aGk="));
        v.extend(masked(0x82, &[255, 0]));
    }
    v.extend(masked(0x88, &1000u16.to_be_bytes()));
    v
}

/// Runs `f` alone and checks that it stayed under [`HEAP_BOUND`].
fn bounded<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let _one = alone();
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let out = f();
    let peak = PEAK.load(Ordering::Relaxed) - before;
    assert!(
        peak < HEAP_BOUND,
        "{what}: heap peaked {peak} bytes above the start"
    );
    out
}

const VERBS: [Verb; 4] = [Verb::Exec, Verb::ExecTty, Verb::Attach, Verb::PortForward];

#[test]
fn valid_streams_replay_cleanly() {
    let _one = alone();
    for verb in VERBS {
        let out = replay::spdy_session(&spdy_client(verb), verb, 0).expect("spdy session ended");
        assert!(!out.is_empty(), "{verb:?}: the server answered");
        let out = replay::ws_session(&ws_client(verb), verb, 0).expect("ws session ended");
        assert!(
            !out.is_empty(),
            "{verb:?}: the server answered over websocket"
        );
    }
    let sizes = replay::resizes(br#"{"Width":1,"Height":2} {"Width":3,"Height":4}"#, 5);
    assert_eq!(sizes.len(), 2);
}

/// How a transport is replayed: its valid client bytes, the session and the
/// bare frame reader.
struct Transport {
    name: &'static str,
    client: fn(Verb) -> Vec<u8>,
    session: fn(&[u8], Verb, usize) -> Option<Vec<u8>>,
    frames: fn(&[u8]) -> usize,
}

/// 240 mutations of `t`'s client bytes, each replayed into a session (with a
/// protocol version picked by the seed) and into the frame reader.
fn replay_mutated(t: Transport, seed: u64) {
    let mut rng = Rng(seed);
    for round in 0..240 {
        let verb = VERBS[round % 4];
        let input = mutate(&mut rng, &(t.client)(verb));
        let proto = rng.below(6);
        let what = format!("{} round {round} {verb:?}", t.name);
        let done = bounded(&what, || (t.session)(&input, verb, proto));
        assert!(done.is_some(), "{what}: the session did not end");
        bounded(&what, || (t.frames)(&input));
    }
}

#[test]
fn mutated_spdy_sessions_end_without_panic_in_bounded_memory() {
    let t = Transport {
        name: "spdy",
        client: spdy_client,
        session: replay::spdy_session,
        frames: replay::spdy_frames,
    };
    replay_mutated(t, 0x9e37_79b9_7f4a_7c15);
}

#[test]
fn mutated_websocket_connections_end_without_panic_in_bounded_memory() {
    let t = Transport {
        name: "ws",
        client: ws_client,
        session: replay::ws_session,
        frames: replay::ws_frames,
    };
    replay_mutated(t, 0x0123_4567_89ab_cdef);
}

#[test]
fn lying_lengths_cost_nothing() {
    // SPDY: a DATA frame and a SYN_STREAM claiming 16 MiB, then silence.
    let spdy = [
        &[0, 0, 0, 1, 0, 0xff, 0xff, 0xff][..],
        &[0x80, 3, 0, 1, 0, 0xff, 0xff, 0xff, 0, 0, 0, 1][..],
    ];
    for bytes in spdy {
        bounded("spdy 16 MiB claim", || {
            assert_eq!(replay::spdy_frames(bytes), 0);
            assert!(replay::spdy_session(bytes, Verb::Exec, 0).is_some());
        });
    }
    // WebSocket: 64-bit lengths of 2^31 (over the cap) and 4 MiB (at it).
    for len in [1u64 << 31, 4 << 20] {
        let mut ws = vec![0x82, 0x80 | 127];
        ws.extend_from_slice(&len.to_be_bytes());
        ws.extend_from_slice(&[1, 2, 3, 4, 5]);
        bounded("ws length claim", || {
            assert_eq!(replay::ws_frames(&ws), 0);
            assert!(replay::ws_session(&ws, Verb::Exec, 0).is_some());
        });
    }
    // A resize object that never ends is not buffered without limit.
    let endless: Vec<u8> = b"{\"Width\":"
        .iter()
        .copied()
        .chain(std::iter::repeat_n(b' ', 1 << 20))
        .collect();
    bounded("endless resize", || {
        assert!(replay::resizes(&endless, 4096).is_empty())
    });
}

#[test]
fn streams_opened_after_the_command_started_do_not_stall_the_session() {
    let _one = alone();
    // 40 streams of an unknown type after the command started: more than the
    // session queues, so a handler that stopped accepting would stall the reader.
    let input = spdy_client_with(Verb::Exec, 40);
    let out = replay::spdy_session(&input, Verb::Exec, 0);
    assert!(out.is_some(), "the session ended");
}

#[test]
fn a_session_refuses_streams_beyond_its_cap() {
    let _one = alone();
    // Port-forward data streams that stay open and never find their pair: the
    // first MAX_OPEN_STREAMS are taken, the rest refused (RST_STREAM 3).
    let mut codec = HeaderCodec::new();
    let mut input = Vec::new();
    let extra = 10;
    for i in 0..(MAX_OPEN_STREAMS + extra) as u32 {
        let rid = i.to_string();
        let h = [
            ("streamtype", "data"),
            ("port", "80"),
            ("requestid", rid.as_str()),
        ];
        let f = Frame::SynStream {
            stream_id: 1 + 2 * i,
            assoc_id: 0,
            priority: 0,
            flags: 0,
            block: codec.encode(&h).unwrap(),
        };
        input.extend(f.encode());
    }
    let out = replay::spdy_session(&input, Verb::PortForward, 0).expect("the session ended");
    let refused = server_frames(&out)
        .into_iter()
        .filter(|f| matches!(f, Frame::RstStream { status: 3, .. }))
        .count();
    assert_eq!(refused, extra);
}

/// The frames in a server's answer.
fn server_frames(mut bytes: &[u8]) -> Vec<Frame> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut out = Vec::new();
    while let Ok(Some(f)) = rt.block_on(sifcri::streaming::spdy::frame::read_frame(&mut bytes)) {
        out.push(f);
    }
    out
}
