//! The remote-command protocols over WebSocket, driven by the test client in
//! `streaming_client::ws` (its own framing): v4 and v5 exec with and without
//! a tty (resize seen by `stty size`), the v5 stdin close signal, the base64
//! and pre-v4 variants, and bad input (unknown subprotocol, reused token,
//! bad handshakes, unmasked frames, a client that vanishes).

mod streaming_client;

use std::time::Duration;

use streaming_client::harness::{assert_fds_back_to, flood_then_hang_up, open_fds, Harness};
use streaming_client::ws::{ws_collect, ws_connect, WsIn};

const V4: &str = "v4.channel.k8s.io";
const V5: &str = "v5.channel.k8s.io";

#[test]
fn v4_exec_streams_stdin_stdout_stderr_and_the_exit_code() {
    let h = Harness::new(Duration::from_secs(30));
    let url = h.exec("read x; echo out:$x; echo err:$x >&2; exit 4", false, true);
    let (mut c, hs) = ws_connect(&url, &[V4, V5]);
    assert_eq!(hs.status, 101, "{:?}", hs.headers);
    assert_eq!(hs.header("Sec-WebSocket-Protocol"), Some(V4));
    c.send(0, b"hello\n");
    let o = ws_collect(&mut c);
    assert_eq!(o.first, Some((1, 0)), "an empty stdout message says ready");
    assert_eq!(o.text(1), "out:hello\n");
    assert_eq!(o.text(2), "err:hello\n");
    let st = o.status();
    assert_eq!(st["status"], "Failure", "{st}");
    assert_eq!(st["reason"], "NonZeroExitCode");
    assert_eq!(st["details"]["causes"][0]["message"], "4");
    assert_eq!(o.close, Some(1000));
    h.assert_no_process_left();
}

#[test]
fn v5_close_signal_ends_stdin() {
    let h = Harness::new(Duration::from_secs(30));
    let url = h.exec("cat; exit 7", false, true);
    let (mut c, hs) = ws_connect(&url, &[V5]);
    assert_eq!(hs.header("Sec-WebSocket-Protocol"), Some(V5));
    let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    for chunk in big.chunks(30_000) {
        c.send(0, chunk);
    }
    c.close_channel(0);
    let o = ws_collect(&mut c);
    assert!(o.channels[1] == big, "stdin echoed byte for byte");
    assert_eq!(o.status()["details"]["causes"][0]["message"], "7");
    h.assert_no_process_left();
}

#[test]
fn tty_exec_sees_resize_over_v4_and_v5() {
    let h = Harness::new(Duration::from_secs(30));
    for proto in [V4, V5] {
        let url = h.exec("read x; stty size; echo got:$x; exit 3", true, true);
        let (mut c, hs) = ws_connect(&url, &[proto]);
        assert_eq!(hs.status, 101);
        c.send(4, br#"{"Width":101,"Height":37}"#);
        std::thread::sleep(Duration::from_millis(500));
        c.send(0, b"typed\n");
        let o = ws_collect(&mut c);
        let out = o.text(1);
        assert!(out.contains("37 101"), "{proto}: stty size: {out:?}");
        assert!(out.contains("got:typed"), "{proto}: {out:?}");
        assert!(o.channels[2].is_empty(), "a tty has no stderr");
        assert_eq!(o.status()["details"]["causes"][0]["message"], "3");
    }
    h.assert_no_process_left();
}

#[test]
fn base64_and_pre_v4_protocols() {
    let h = Harness::new(Duration::from_secs(30));
    let url = h.exec("echo hi; exit 2", false, false);
    let (mut c, hs) = ws_connect(&url, &["v4.base64.channel.k8s.io"]);
    assert_eq!(
        hs.header("Sec-WebSocket-Protocol"),
        Some("v4.base64.channel.k8s.io")
    );
    let o = ws_collect(&mut c);
    assert_eq!(o.text(1), "hi\n");
    assert_eq!(o.status()["details"]["causes"][0]["message"], "2");
    for proto in ["base64.channel.k8s.io", "channel.k8s.io"] {
        let (mut c, _) = ws_connect(&h.exec("echo hi; exit 2", false, false), &[proto]);
        let o = ws_collect(&mut c);
        assert_eq!(o.text(1), "hi\n", "{proto}");
        assert_eq!(o.text(3), "command terminated with non-zero exit code: 2");
    }
    // No subprotocol at all: binary channels, errors as text, silent success.
    let (mut c, hs) = ws_connect(&h.exec("echo hi", false, false), &[]);
    assert_eq!(hs.header("Sec-WebSocket-Protocol"), None);
    let o = ws_collect(&mut c);
    assert_eq!(o.text(1), "hi\n");
    assert!(o.channels[3].is_empty());
}

#[test]
fn v5_attach_joins_a_running_container() {
    let h = Harness::new(Duration::from_secs(30));
    h.rt.block_on(h.runtime.start_container("box"));
    for line in ["one", "two"] {
        let url = h.attach_all("box");
        let (mut c, hs) = ws_connect(&url, &[V5]);
        assert_eq!(hs.status, 101);
        c.send(0, format!("{line}\n").as_bytes());
        c.close_channel(0);
        let o = ws_collect(&mut c);
        assert_eq!(o.text(1), format!("attached:{line}\n"));
        assert_eq!(o.status()["status"], "Success");
    }
}

#[test]
fn expired_tokens_are_refused() {
    let h = Harness::new(Duration::from_millis(200));
    let url = h.exec("true", false, false);
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(ws_connect(&url, &[V5]).1.status, 404);
}

#[test]
fn bad_handshakes_are_refused() {
    let h = Harness::new(Duration::from_secs(30));
    let url = h.exec("true", false, false);
    let (_, hs) = ws_connect(&url, &["v9.channel.k8s.io"]);
    assert_eq!(hs.status, 403, "unknown subprotocol");
    assert!(hs
        .header("X-Accepted-Stream-Protocol-Versions")
        .unwrap()
        .contains(V5));
    assert_eq!(ws_connect(&url, &[V4]).1.status, 404, "token already used");
    for (extra, want) in [("Sec-WebSocket-Version: 8\r\n", 426), ("", 400)] {
        let url = h.exec("true", false, false);
        let rest = url.strip_prefix("http://").unwrap();
        let (host, path) = rest.split_at(rest.find('/').unwrap());
        let mut tcp = std::net::TcpStream::connect(host).unwrap();
        let key = if extra.is_empty() {
            "Sec-WebSocket-Version: 13\r\n"
        } else {
            "Sec-WebSocket-Key: eA==\r\n"
        };
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n{extra}{key}\r\n"
        );
        std::io::Write::write_all(&mut tcp, req.as_bytes()).unwrap();
        assert_eq!(
            streaming_client::read_handshake(&mut tcp).status,
            want,
            "{extra:?}"
        );
    }
}

#[test]
fn unmasked_frames_close_with_protocol_error_and_stop_the_command() {
    let h = Harness::new(Duration::from_secs(30));
    let url = h.exec("echo started; sleep 30", false, true);
    let (mut c, _) = ws_connect(&url, &[V4]);
    c.ping(b"are you there");
    let (mut saw_pong, mut started) = (false, false);
    while !(saw_pong && started) {
        match c.read().expect("connection ended early") {
            WsIn::Pong(body) => saw_pong = body == b"are you there",
            WsIn::Data(1, d) if d.starts_with(b"started") => started = true,
            _ => {}
        }
    }
    std::io::Write::write_all(&mut c.tcp, &[0x82, 2, 0, b'x']).unwrap();
    let o = ws_collect(&mut c);
    assert!(saw_pong);
    assert_eq!(o.close, Some(1002));
    h.assert_no_process_left();
}

#[test]
fn a_vanishing_client_stops_the_command_and_leaks_nothing() {
    let h = Harness::new(Duration::from_secs(30));
    let (mut c, _) = ws_connect(&h.exec("true", false, false), &[V4]);
    ws_collect(&mut c);
    drop(c);
    std::thread::sleep(Duration::from_millis(200));
    let before = open_fds();
    for (tty, proto) in [(false, V4), (true, V5)] {
        let url = h.exec("echo started; sleep 30", tty, true);
        let (mut c, _) = ws_connect(&url, &[proto]);
        while let Some(m) = c.read() {
            if matches!(m, WsIn::Data(1, ref d) if !d.is_empty()) {
                break;
            }
        }
        drop(c);
        h.assert_no_process_left();
    }
    assert_fds_back_to(before);
}

#[test]
fn a_client_that_hangs_up_while_its_command_is_quiet_stops_it() {
    // As over SPDY: the reader is stalled on stdin nobody reads; the hang-up shows.
    let h = Harness::new(Duration::from_secs(30));
    let (c, hs) = ws_connect(&h.exec("exec sleep 30", false, true), &[V5]);
    assert_eq!(hs.status, 101);
    // One masked binary frame of 32 KiB on channel 0 (stdin); a zero mask keeps it simple.
    let mut frame = vec![0x82, 0x80 | 127];
    frame.extend_from_slice(&(32 * 1024u64 + 1).to_be_bytes());
    frame.extend_from_slice(&[0, 0, 0, 0, 0]);
    frame.resize(frame.len() + 32 * 1024, b'y');
    flood_then_hang_up(&c.tcp, frame);
    drop(c);
    h.assert_no_process_left();
}
