//! Checks of exec through the container's monitor, shared by the root daemon's test
//! (`tests/cri_exec_monitor.rs`) and the user daemon's (`tests/cri_rootless_stream.rs`):
//! ExecSync exit codes (0, non-zero, 128 + signal), an ExecSync timeout that kills the
//! process tree, a terminal exec (`tty` names a pty of the container, `stty size` sees
//! the resize), the exec'd process being a child of the monitor (not of the daemon),
//! and a client that vanishes (the exec is killed). Streamed execs are driven by the
//! independent SPDY client of `tests/streaming_client`.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use proto::cri;
use proto::cri::runtime_service_client::RuntimeServiceClient;
use tonic::transport::Channel;

use super::streaming_client::{self, collect, open_streams, upgrade, In, Outcome};

type Client = RuntimeServiceClient<Channel>;

const V4: &str = "v4.channel.k8s.io";

/// ExecSync of `sh -c script`: exit code and stdout.
pub async fn exec_sh(c: &mut Client, id: &str, script: &str) -> (i32, String) {
    let req = cri::ExecSyncRequest {
        container_id: id.into(),
        cmd: vec!["sh".into(), "-c".into(), script.into()],
        timeout: 0,
    };
    let r = c.exec_sync(req).await.expect("ExecSync").into_inner();
    (r.exit_code, String::from_utf8_lossy(&r.stdout).into_owned())
}

/// Exit codes 0, 3 and 137 (killed by SIGKILL) come back from ExecSync.
pub async fn exit_codes(c: &mut Client, id: &str) {
    assert_eq!(exec_sh(c, id, "true").await, (0, String::new()));
    assert_eq!(
        exec_sh(c, id, "echo out; exit 3").await,
        (3, "out\n".into())
    );
    assert_eq!(exec_sh(c, id, "kill -9 $$").await.0, 137);
}

/// An ExecSync that runs past its timeout fails with DeadlineExceeded, and no process
/// of its tree is left when the answer comes. `tag` makes its sleeps' command lines
/// this caller's own (tests run side by side and look for them host-wide).
pub async fn timeout_kills_the_tree(c: &mut Client, id: &str, tag: u32) {
    let (a, b) = (format!("sleep {tag}"), format!("sleep {}", tag + 1));
    let req = cri::ExecSyncRequest {
        container_id: id.into(),
        cmd: vec!["sh".into(), "-c".into(), format!("{a} & {b}; wait")],
        timeout: 1,
    };
    let e = c.exec_sync(req).await.expect_err("a timeout");
    assert_eq!(e.code(), tonic::Code::DeadlineExceeded, "{e}");
    let left = [pids_running(&a), pids_running(&b)].concat();
    assert!(left.is_empty(), "left after the timeout: {left:?}");
}

/// The Exec URL of `cmd` in `id`.
pub async fn exec_url(c: &mut Client, id: &str, cmd: &[&str], tty: bool) -> String {
    let req = cri::ExecRequest {
        container_id: id.into(),
        cmd: cmd.iter().map(|s| s.to_string()).collect(),
        tty,
        stdin: true,
        stdout: true,
        stderr: !tty,
    };
    c.exec(req).await.expect("Exec").into_inner().url
}

/// A terminal exec: `tty` names a pty of the container's devpts, `stty size` sees the
/// resize, typed input arrives, the exit code is right.
pub async fn terminal(c: &mut Client, id: &str) {
    let script = "busybox tty; read x; busybox stty size; echo got:$x; exit 6";
    let url = exec_url(c, id, &["sh", "-c", script], true).await;
    let o = tokio::task::spawn_blocking(move || {
        let (tcp, hs) = upgrade(&url, &[V4]);
        assert_eq!(hs.status, 101);
        let mut s = streaming_client::Client::new(tcp);
        let ids = open_streams(&mut s, &["error", "stdin", "stdout", "resize"]);
        s.send(ids[3].1, br#"{"Width":101,"Height":37}"#, false);
        std::thread::sleep(Duration::from_millis(500));
        s.send(ids[1].1, b"typed\n", false);
        collect(&mut s, &ids)
    })
    .await
    .unwrap();
    let out = o.stdout();
    assert!(out.contains("/dev/pts/"), "tty: {out:?}");
    assert!(out.contains("37 101"), "stty size: {out:?}");
    assert!(out.contains("got:typed"), "{out:?}");
    assert_eq!(exit_code(&o), "6");
}

/// The exit code an outcome's v4 status says.
pub fn exit_code(o: &Outcome) -> String {
    let st = o.error_json();
    if st["status"] == "Success" {
        return "0".into();
    }
    st["details"]["causes"][0]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no exit code in {st}"))
        .to_string()
}

/// A streamed exec of `sleep MARKER` (with or without a terminal) runs under the
/// container's monitor; its client vanishes, and no process of it is left.
pub async fn vanishing_client(c: &mut Client, id: &str, tty: bool, marker: u32) {
    let script = format!("echo started; exec sleep {marker}");
    let url = exec_url(c, id, &["sh", "-c", &script], tty).await;
    let needle = format!("sleep {marker}");
    let n = needle.clone();
    tokio::task::spawn_blocking(move || {
        let (tcp, hs) = upgrade(&url, &[V4]);
        assert_eq!(hs.status, 101);
        let mut s = streaming_client::Client::new(tcp);
        let types: &[&str] = if tty {
            &["error", "stdin", "stdout", "resize"]
        } else {
            &["error", "stdin", "stdout", "stderr"]
        };
        let ids = open_streams(&mut s, types);
        read_until(&mut s, ids[2].1, "started");
        let pids = pids_running(&n);
        assert_eq!(pids.len(), 1, "{n}: {pids:?}");
        assert_under_monitor(pids[0]);
        drop(s);
    })
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !pids_running(&needle).is_empty() {
        assert!(Instant::now() < deadline, "the exec outlived its client");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `pid`'s parent is a process forked from the container's monitor (`sifcri shim`),
/// and no ancestor is the daemon (`sifcri serve`).
pub fn assert_under_monitor(pid: i32) {
    let mut chain = Vec::new();
    let mut p = pid;
    while let Some(pp) = parent_of(p).filter(|pp| *pp > 1) {
        chain.push((pp, cmdline(pp)));
        p = pp;
    }
    let first = chain.first().map(|(_, c)| c.as_str()).unwrap_or_default();
    assert!(first.contains(" shim "), "exec {pid}'s parents: {chain:?}");
    assert!(
        !chain.iter().any(|(_, c)| c.contains(" serve ")),
        "exec {pid} under the daemon: {chain:?}"
    );
}

fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(1)?.parse().ok()
}

fn cmdline(pid: i32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    String::from_utf8_lossy(&raw).replace('\0', " ")
}

/// Pids whose command line contains `needle`.
pub fn pids_running(needle: &str) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if cmdline(pid).contains(needle) {
            out.push(pid);
        }
    }
    out
}

/// Reads frames until stream `id` has carried `want`, or 20 s pass.
fn read_until(c: &mut streaming_client::Client, id: u32, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = String::new();
    while !seen.contains(want) {
        assert!(Instant::now() < deadline, "no {want:?} in {seen:?}");
        match c.read() {
            Some(In::Data { id: i, data, .. }) if i == id => {
                seen.push_str(&String::from_utf8_lossy(&data))
            }
            Some(_) => {}
            None => panic!("connection ended before {want:?}; got {seen:?}"),
        }
    }
}
