//! `sifcri serve`: Version, Status, RuntimeConfig, socket mode, a client sending a
//! URL-encoded socket path as `:authority`, sd_notify readiness, SIGTERM, bad config.

mod cri_common;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use cri_common::{require_root, Daemon};
use proto::cri;

#[tokio::test]
async fn version_status_and_runtime_config() {
    if !require_root() {
        return;
    }
    let d = Daemon::start();
    let mut c = d.client().await;
    let v = c.version(cri::VersionRequest::default()).await.unwrap();
    let v = v.into_inner();
    assert_eq!(v.runtime_name, "sifcri");
    assert_eq!(v.runtime_api_version, "v1");
    let s = c.status(cri::StatusRequest::default()).await.unwrap();
    let conds = s.into_inner().status.unwrap().conditions;
    let runtime = conds.iter().find(|c| c.r#type == "RuntimeReady").unwrap();
    assert!(runtime.status);
    let net = conds.iter().find(|c| c.r#type == "NetworkReady").unwrap();
    assert!(!net.status, "empty CNI dir must not be ready");
    assert_eq!(net.reason, "NetworkPluginNotReady");
    let rc = c
        .runtime_config(cri::RuntimeConfigRequest {})
        .await
        .unwrap();
    let driver = rc.into_inner().linux.unwrap().cgroup_driver;
    assert_eq!(driver, cri::CgroupDriver::Cgroupfs as i32);
    let mode = std::fs::metadata(d.socket()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o660);
    std::fs::write(d.dir.path().join("cni/10-x.conflist"), "{}").unwrap();
    let s = c.status(cri::StatusRequest::default()).await.unwrap();
    let conds = s.into_inner().status.unwrap().conditions;
    assert!(conds.iter().all(|c| c.status), "{conds:?}");
}

/// HPACK "literal, never indexed, new name" fields without Huffman coding.
fn literal_block(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (n, v) in fields {
        out.push(0x10);
        for s in [n, v] {
            assert!(s.len() < 127);
            out.push(s.len() as u8);
            out.extend_from_slice(s.as_bytes());
        }
    }
    out
}

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = (payload.len() as u32).to_be_bytes()[1..].to_vec();
    f.extend_from_slice(&[kind, flags]);
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

#[test]
fn accepts_a_url_encoded_socket_path_as_authority() {
    if !require_root() {
        return;
    }
    let d = Daemon::start();
    let mut s = std::os::unix::net::UnixStream::connect(d.socket()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let authority = d.socket().display().to_string().replace('/', "%2F");
    let headers = literal_block(&[
        (":method", "POST"),
        (":scheme", "http"),
        (":path", "/runtime.v1.RuntimeService/Version"),
        (":authority", &authority),
        ("content-type", "application/grpc"),
        ("te", "trailers"),
    ]);
    let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    out.extend(frame(4, 0, 0, &[]));
    out.extend(frame(1, 0x4, 1, &headers));
    out.extend(frame(0, 0x1, 1, &[0, 0, 0, 0, 0]));
    s.write_all(&out).unwrap();
    let mut data = Vec::new();
    loop {
        let mut head = [0u8; 9];
        s.read_exact(&mut head)
            .expect("connection closed: authority rejected?");
        let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
        let mut payload = vec![0u8; len];
        s.read_exact(&mut payload).unwrap();
        let (kind, flags) = (head[3], head[4]);
        match kind {
            4 if flags & 1 == 0 => s.write_all(&frame(4, 1, 0, &[])).unwrap(),
            0 => data.extend_from_slice(&payload),
            3 | 7 => panic!("stream reset or goaway: {payload:?}"),
            _ => {}
        }
        if (kind == 0 || kind == 1) && flags & 1 != 0 {
            break;
        }
    }
    assert!(data.len() > 5, "no gRPC message in the answer");
    let v: cri::VersionResponse = prost::Message::decode(&data[5..]).unwrap();
    assert_eq!(v.runtime_name, "sifcri");
}

#[test]
fn notifies_systemd_and_stops_on_sigterm() {
    if !require_root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let notify = dir.path().join("notify.sock");
    let listener = std::os::unix::net::UnixDatagram::bind(&notify).unwrap();
    listener
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let notify = notify.to_str().unwrap();
    let mut d = Daemon::start_full(&[], "", &[("NOTIFY_SOCKET", notify)]);
    let mut buf = [0u8; 64];
    let n = listener.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"READY=1");
    let status = d.terminate().unwrap();
    assert!(status.success(), "{status}: {}", d.log());
    assert!(!d.socket().exists(), "socket left behind");
    let n = listener.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"STOPPING=1");
}

#[test]
fn bad_config_is_refused_with_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "sokcet = \"/x\"\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sifcri"))
        .arg("serve")
        .arg("--config")
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sokcet"), "{err}");
}

#[test]
fn a_second_daemon_on_the_same_socket_is_refused() {
    if !require_root() {
        return;
    }
    let d = Daemon::start();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sifcri"))
        .arg("serve")
        .arg("--socket")
        .arg(d.socket())
        .arg("--root")
        .arg(d.dir.path().join("root2"))
        .arg("--state")
        .arg(d.dir.path().join("state2"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("another daemon"));
}

#[tokio::test]
async fn a_client_that_stopped_answering_does_not_hold_up_sigterm() {
    if !require_root() {
        return;
    }
    let mut d = Daemon::start();
    let mut c = d.client().await;
    c.version(cri::VersionRequest::default()).await.unwrap();
    // The connection stays open and, while this single-threaded test blocks below,
    // nobody answers on it (HTTP/2's graceful close waits for the client's PING
    // acknowledgement). The daemon must still stop on its own: Daemon::terminate kills
    // it after 10 s, which is not a success.
    let status = d.terminate().unwrap();
    assert!(status.success(), "{status}: {}", d.log());
    assert!(!d.socket().exists(), "socket left behind");
    drop(c);
}
