//! The streaming server over SPDY/3.1, driven by the test client in
//! `streaming_client` (its own framing): exec with and without a tty, exit
//! codes, attach, protocol negotiation, and bad input (reused and expired
//! tokens, garbage frames, a client that vanishes mid-stream).

mod streaming_client;

use std::time::Duration;

use sifcri::streaming::ExecRequest;
use streaming_client::harness::{assert_fds_back_to, flood_then_hang_up, open_fds, Harness};
use streaming_client::{collect, open_streams, upgrade, Client};

const V4: &str = "v4.channel.k8s.io";

fn run(url: &str, protocols: &[&str], types: &[&str], stdin: &[u8]) -> streaming_client::Outcome {
    let (tcp, hs) = upgrade(url, protocols);
    assert_eq!(hs.status, 101, "{:?}", hs.headers);
    let mut c = Client::new(tcp);
    let ids = open_streams(&mut c, types);
    if let Some((_, id)) = ids.iter().find(|(t, _)| t == "stdin") {
        c.send(*id, stdin, true);
    }
    collect(&mut c, &ids)
}

#[test]
fn exec_without_tty_streams_stdin_stdout_stderr_and_exit_codes() {
    let h = Harness::new(Duration::from_secs(30));
    let url = h.exec("read x; echo out:$x; echo err:$x >&2; exit 0", false, true);
    let o = run(
        &url,
        &[V4],
        &["error", "stdin", "stdout", "stderr"],
        b"hello\n",
    );
    assert_eq!(o.stdout(), "out:hello\n");
    assert_eq!(String::from_utf8_lossy(&o.stderr), "err:hello\n");
    assert_eq!(o.error_json()["status"], "Success", "{:?}", o.error_json());

    let url = h.exec("cat; exit 7", false, true);
    let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let o = run(&url, &[V4], &["error", "stdin", "stdout", "stderr"], &big);
    assert_eq!(o.stdout.len(), big.len());
    assert!(o.stdout == big, "stdin echoed byte for byte");
    let st = o.error_json();
    assert_eq!(st["status"], "Failure");
    assert_eq!(st["reason"], "NonZeroExitCode");
    assert_eq!(st["details"]["causes"][0]["reason"], "ExitCode");
    assert_eq!(st["details"]["causes"][0]["message"], "7");
    h.assert_no_process_left();
}

#[test]
fn exec_with_tty_sees_resize_and_echoes_stdin() {
    let h = Harness::new(Duration::from_secs(30));
    let url = h.exec("read x; stty size; echo got:$x; exit 3", true, true);
    let (tcp, hs) = upgrade(&url, &[V4, "v3.channel.k8s.io"]);
    assert_eq!(hs.status, 101);
    assert_eq!(hs.header("X-Stream-Protocol-Version"), Some(V4));
    let mut c = Client::new(tcp);
    let ids = open_streams(&mut c, &["error", "stdin", "stdout", "resize"]);
    c.send(ids[3].1, br#"{"Width":101,"Height":37}"#, false);
    std::thread::sleep(Duration::from_millis(500));
    c.send(ids[1].1, b"typed\n", false);
    let o = collect(&mut c, &ids);
    let out = o.stdout();
    assert!(out.contains("typed"), "tty echo: {out:?}");
    assert!(out.contains("37 101"), "stty size: {out:?}");
    assert!(out.contains("got:typed"), "{out:?}");
    assert_eq!(o.error_json()["details"]["causes"][0]["message"], "3");
    h.assert_no_process_left();
}

#[test]
fn older_protocols_report_errors_as_text() {
    let h = Harness::new(Duration::from_secs(30));
    for proto in ["v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"] {
        let url = h.exec("echo hi; exit 2", false, false);
        let o = run(&url, &[proto], &["error", "stdout", "stderr"], b"");
        assert_eq!(o.stdout(), "hi\n", "{proto}");
        assert_eq!(
            String::from_utf8_lossy(&o.error),
            "command terminated with non-zero exit code: 2"
        );
        let url = h.exec("true", false, false);
        let o = run(&url, &[proto], &["error", "stdout", "stderr"], b"");
        assert!(o.error.is_empty(), "{proto}: success is silent");
    }
    // An unknown container is an error on the error stream.
    let url = h.server().exec_url(ExecRequest {
        container_id: "missing".into(),
        cmd: vec!["true".into()],
        stdout: true,
        ..Default::default()
    });
    let o = run(&url, &[V4], &["error", "stdout"], b"");
    assert_eq!(o.error_json()["status"], "Failure");
    assert!(o.error_json()["message"]
        .as_str()
        .unwrap()
        .contains("not found"));
}

#[test]
fn attach_joins_a_running_container() {
    let h = Harness::new(Duration::from_secs(30));
    h.rt.block_on(h.runtime.start_container("box"));
    for line in ["one", "two"] {
        let url = h.attach_all("box");
        let o = run(
            &url,
            &[V4],
            &["error", "stdin", "stdout", "stderr"],
            format!("{line}\n").as_bytes(),
        );
        assert_eq!(o.stdout(), format!("attached:{line}\n"));
        assert_eq!(o.error_json()["status"], "Success");
    }
}

#[test]
fn tokens_are_single_use_and_expire() {
    let h = Harness::new(Duration::from_millis(300));
    let url = h.exec("true", false, false);
    let o = run(&url, &[V4], &["error", "stdout", "stderr"], b"");
    assert_eq!(o.error_json()["status"], "Success");
    let (_, hs) = upgrade(&url, &[V4]);
    assert_eq!(hs.status, 404, "reused token");
    let late = h.exec("true", false, false);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(upgrade(&late, &[V4]).1.status, 404, "expired token");
    let addr = h.server().local_addr();
    assert_eq!(
        upgrade(&format!("http://{addr}/exec/nonsense"), &[V4])
            .1
            .status,
        404
    );
    // A token for exec is not an attach URL.
    let url = h.exec("true", false, false).replace("/exec/", "/attach/");
    assert_eq!(upgrade(&url, &[V4]).1.status, 404);
    // No common protocol version.
    let url = h.exec("true", false, false);
    let (_, hs) = upgrade(&url, &["v9.channel.k8s.io"]);
    assert_eq!(hs.status, 403);
    assert!(hs
        .header("X-Accepted-Stream-Protocol-Versions")
        .unwrap()
        .contains(V4));
}

#[test]
fn garbage_frames_end_the_session_with_goaway() {
    let h = Harness::new(Duration::from_secs(30));
    let url = h.exec("sleep 30", false, false);
    let (tcp, hs) = upgrade(&url, &[V4]);
    assert_eq!(hs.status, 101);
    let mut c = Client::new(tcp);
    c.ping(9);
    // A SYN_STREAM whose header block is not zlib data.
    std::io::Write::write_all(
        &mut c.tcp,
        &[
            0x80, 3, 0, 1, 0, 0, 0, 14, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4,
        ],
    )
    .unwrap();
    let mut saw_goaway = false;
    while let Some(f) = c.read() {
        if let streaming_client::In::GoAway { status } = f {
            assert_eq!(status, 1, "PROTOCOL_ERROR");
            saw_goaway = true;
        }
    }
    assert!(saw_goaway);
    // The server still serves others.
    let o = run(
        &h.exec("echo ok", false, false),
        &[V4],
        &["error", "stdout", "stderr"],
        b"",
    );
    assert_eq!(o.stdout(), "ok\n");
}

#[test]
fn a_vanishing_client_stops_the_command_and_leaks_nothing() {
    let h = Harness::new(Duration::from_secs(30));
    // Warm up the runtime's threads and lazy fds once.
    let _ = run(
        &h.exec("true", false, false),
        &[V4],
        &["error", "stdout", "stderr"],
        b"",
    );
    std::thread::sleep(Duration::from_millis(200));
    let before = open_fds();
    for tty in [false, true] {
        let url = h.exec("echo started; sleep 30", tty, true);
        let (tcp, _) = upgrade(&url, &[V4]);
        let mut c = Client::new(tcp);
        let types: &[&str] = if tty {
            &["error", "stdin", "stdout", "resize"]
        } else {
            &["error", "stdin", "stdout", "stderr"]
        };
        let ids = open_streams(&mut c, types);
        // Wait for output so the command is surely running, then vanish.
        while let Some(f) = c.read() {
            if matches!(f, streaming_client::In::Data { id, .. } if id == ids[2].1) {
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
    // The command neither reads stdin nor writes: the session's reader ends up blocked
    // handing stdin over, and only the socket's hang-up can tell that the client went.
    let h = Harness::new(Duration::from_secs(30));
    let url = h.exec("exec sleep 30", false, true);
    let (tcp, hs) = upgrade(&url, &[V4]);
    assert_eq!(hs.status, 101);
    let mut c = Client::new(tcp);
    let ids = open_streams(&mut c, &["error", "stdin", "stdout", "stderr"]);
    let mut frame = ids[1].1.to_be_bytes().to_vec();
    frame.extend_from_slice(&[0, 0, 0x80, 0]); // no flags, 32 KiB
    frame.resize(frame.len() + 32 * 1024, b'y');
    flood_then_hang_up(&c.tcp, frame);
    drop(c);
    h.assert_no_process_left();
}
