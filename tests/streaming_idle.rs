//! The streaming server's idle timeout (`ServerConfig::idle_timeout`, the
//! daemon's `[streaming] idle_timeout`): a connection that keeps carrying
//! frames outlives the timeout; one that goes quiet is closed (GOAWAY over
//! SPDY, CLOSE 1001 over WebSocket) and its command is stopped. Driven by the
//! independent test client in `streaming_client`; the last test sets the
//! timeout in a real daemon's config file.

mod cri_common;
mod streaming_client;

use std::time::{Duration, Instant};

use sifcri::streaming::ServerConfig;
use streaming_client::harness::Harness;
use streaming_client::ws::{ws_collect, ws_connect};
use streaming_client::{collect, open_streams, upgrade, Client};

const IDLE: Duration = Duration::from_millis(1500);

fn harness() -> Harness {
    Harness::with_config(ServerConfig {
        idle_timeout: Some(IDLE),
        ..ServerConfig::default()
    })
}

/// Sends a line every `IDLE / 6` for twice `IDLE`: traffic keeps it open.
/// Returns when the last line went and how many did.
fn keep_busy(mut send: impl FnMut(&[u8])) -> (Instant, usize) {
    let (start, mut sent) = (Instant::now(), 0);
    while start.elapsed() < IDLE * 2 {
        send(b"tick\n");
        sent += 1;
        std::thread::sleep(IDLE / 6);
    }
    (Instant::now(), sent)
}

fn assert_closed_after_quiet(last: Instant) {
    let quiet = last.elapsed();
    assert!(quiet >= IDLE / 2, "closed after only {quiet:?} of quiet");
    assert!(
        quiet < IDLE + Duration::from_secs(4),
        "closed late: {quiet:?}"
    );
}

#[test]
fn spdy_session_closes_once_quiet_and_stops_the_command() {
    let h = harness();
    let url = h.exec("cat", false, true);
    let (tcp, hs) = upgrade(&url, &["v4.channel.k8s.io"]);
    assert_eq!(hs.status, 101);
    let mut c = Client::new(tcp);
    let ids = open_streams(&mut c, &["error", "stdin", "stdout", "stderr"]);
    let stdin = ids[1].1;
    let (last, sent) = keep_busy(|line| c.send(stdin, line, false));
    let o = collect(&mut c, &ids);
    assert_closed_after_quiet(last);
    assert!(o.goaway, "the session ended with a GOAWAY");
    let ticks = o.stdout().matches("tick").count();
    assert_eq!(ticks, sent, "busy time was cut short: {:?}", o.stdout());
    h.assert_no_process_left();
}

#[test]
fn websocket_connection_closes_once_quiet_and_stops_the_command() {
    let h = harness();
    let url = h.exec("cat", false, true);
    let (mut c, hs) = ws_connect(&url, &["v5.channel.k8s.io"]);
    assert_eq!(hs.status, 101);
    let (last, sent) = keep_busy(|line| c.send(0, line));
    let o = ws_collect(&mut c);
    assert_closed_after_quiet(last);
    assert_eq!(o.close, Some(1001), "closed as going away");
    assert_eq!(o.text(1).matches("tick").count(), sent, "{:?}", o.text(1));
    h.assert_no_process_left();
}

#[test]
fn no_timeout_keeps_a_quiet_session_open() {
    let h = Harness::with_config(ServerConfig {
        idle_timeout: None,
        ..ServerConfig::default()
    });
    let url = h.exec("cat", false, true);
    let (mut c, hs) = ws_connect(&url, &["v5.channel.k8s.io"]);
    assert_eq!(hs.status, 101);
    std::thread::sleep(IDLE * 2);
    c.send(0, b"still here\n");
    c.close_channel(0);
    let o = ws_collect(&mut c);
    assert_eq!(o.text(1), "still here\n");
    assert_eq!(o.status()["status"], "Success");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_takes_the_idle_timeout_from_its_config() {
    if !cri_common::require_root() {
        return;
    }
    const IMAGE: &str = "localhost/busybox:idle";
    let d = cri_common::Daemon::start_with(&[], "[streaming]\nidle_timeout = \"1s\"\n");
    cri_common::busybox_image(&d, IMAGE);
    let mut c = d.client().await;
    let pod = cri_common::pod_config("idle");
    let sleeper = cri_common::container_config("idle", IMAGE, &["sleep", "600"]);
    let (pod_id, id) = cri_common::run_pod_with(&mut c, &pod, sleeper).await;
    let req = proto::cri::ExecRequest {
        container_id: id.clone(),
        cmd: vec!["cat".into()],
        stdin: true,
        stdout: true,
        stderr: true,
        tty: false,
    };
    let url = c.exec(req).await.unwrap().into_inner().url;
    let start = Instant::now();
    let quiet = tokio::task::spawn_blocking(move || {
        let (tcp, hs) = upgrade(&url, &["v4.channel.k8s.io"]);
        assert_eq!(hs.status, 101);
        let mut client = Client::new(tcp);
        let ids = open_streams(&mut client, &["error", "stdin", "stdout", "stderr"]);
        collect(&mut client, &ids)
    });
    let o = quiet.await.unwrap();
    let waited = start.elapsed();
    assert!(o.goaway, "closed with a GOAWAY: {o:?}");
    assert!(
        waited >= Duration::from_millis(900),
        "closed after {waited:?}"
    );
    assert!(waited < Duration::from_secs(10), "closed after {waited:?}");
    let mut left = String::new();
    for _ in 0..50 {
        left = cri_common::exec_sh(&mut c, &id, "ps -o comm", 10).await.1;
        if !left.lines().any(|l| l.trim() == "cat") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!left.lines().any(|l| l.trim() == "cat"), "cat left: {left}");
    assert!(
        left.lines().any(|l| l.trim() == "sleep"),
        "ps works: {left}"
    );
    cri_common::remove_pod(&mut c, &pod_id).await;
}
