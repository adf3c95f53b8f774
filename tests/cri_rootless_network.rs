//! Pod networking of a daemon started by the ordinary user `sifcri-test`, once with
//! pasta and once with slirp4netns: pods get IPs from the CNI bridge in the daemon's
//! own network namespace, reach each other, reach a server on the host's 127.0.0.1
//! (through the helper's host-loopback address), and a hostPort on the host reaches a
//! container. Nothing is left behind.

mod rootless_common;

use std::io::Write;
use std::process::Command;
use std::time::Duration;

use proto::cri;
use rootless_common::{
    busybox_image, container_config, exec_sh, have, pod_config, remove_pod, require_user,
    run_pod_with, Client, UserDaemon,
};

const IMAGE: &str = "localhost/busybox-net:latest";

/// A server on the host's 127.0.0.1 that greets every connection; returns its port.
fn host_server() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            let _ = s.write_all(b"hello-from-host\n");
        }
    });
    port
}

/// A pod serving /www on port 80; returns (pod, container).
async fn run_pod(d: &UserDaemon, c: &mut Client, name: &str, host_port: i32) -> (String, String) {
    let mut pod = pod_config(d, name);
    if host_port > 0 {
        pod.port_mappings = vec![cri::PortMapping {
            protocol: cri::Protocol::Tcp as i32,
            container_port: 80,
            host_port,
            host_ip: "127.0.0.1".into(),
        }];
    }
    let httpd = ["httpd", "-f", "-p", "80", "-h", "/www"];
    run_pod_with(c, &pod, container_config("web", IMAGE, &httpd)).await
}

/// Retries `script` in container `id` until its output contains `want`.
async fn eventually(c: &mut Client, id: &str, script: &str, want: &str) -> String {
    let mut last = String::new();
    for _ in 0..20 {
        let (_, out) = exec_sh(c, id, script, 20).await;
        if out.contains(want) {
            return out;
        }
        last = out;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{script:?} never printed {want:?}; last: {last}");
}

async fn pod_ip(c: &mut Client, pod: &str) -> String {
    let req = cri::PodSandboxStatusRequest {
        pod_sandbox_id: pod.into(),
        verbose: false,
    };
    let s = c.pod_sandbox_status(req).await.unwrap().into_inner();
    s.status.unwrap().network.map(|n| n.ip).unwrap_or_default()
}

/// The address that maps to the host's loopback, as seen from the daemon's namespace.
fn host_loopback(d: &UserDaemon, helper: &str) -> String {
    if helper == "slirp4netns" {
        return "10.0.2.2".into();
    }
    let out = Command::new("nsenter")
        .arg(format!("--net=/proc/{}/ns/net", d.keeper().unwrap()))
        .args(["ip", "-4", "route", "show", "default"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let mut words = text.split_whitespace();
    words.find(|w| *w == "via");
    words
        .next()
        .unwrap_or_else(|| panic!("no default route: {text}"))
        .to_owned()
}

async fn network_with(helper: &str) {
    if !require_user() {
        return;
    }
    if !have(helper) || !std::path::Path::new("/usr/lib/cni/bridge").exists() {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(
            !ci,
            "CI=true: {helper} or the CNI plugins missing (scripts/setup.sh)"
        );
        eprintln!("SKIP: {helper} or the CNI plugins are not installed");
        return;
    }
    let d = UserDaemon::start(&format!("[rootless]\nnetwork = \"{helper}\"\n"));
    let ipam = d.dir.path().join("data/ipam");
    let conflist = serde_json::json!({
        "cniVersion": "0.4.0",
        "name": "user-net",
        "plugins": [
            {"type": "bridge", "bridge": "sifcri0", "isGateway": true, "ipMasq": true,
             "ipam": {"type": "host-local", "dataDir": ipam,
                      "routes": [{"dst": "0.0.0.0/0"}],
                      "ranges": [[{"subnet": "10.89.0.0/24"}]]}},
            {"type": "portmap", "capabilities": {"portMappings": true}}
        ]
    });
    std::fs::write(
        d.dir.path().join("cni/10-user.conflist"),
        conflist.to_string(),
    )
    .unwrap();
    busybox_image(&d, IMAGE, |_| {});
    let mut c = d.client().await;
    let host_port =
        30000 + (std::process::id() % 2000) as i32 + if helper == "pasta" { 0 } else { 2000 };
    let a = run_pod(&d, &mut c, "net-a", host_port).await;
    let b = run_pod(&d, &mut c, "net-b", 0).await;
    let ip_a = pod_ip(&mut c, &a.0).await;
    let b = b.1;
    assert!(ip_a.starts_with("10.89.0."), "pod a's IP: {ip_a:?}");

    let get = "printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | timeout 5 nc";
    eventually(&mut c, &b, &format!("{get} {ip_a} 80"), "hello-from-pod").await;

    let port = host_server();
    let gw = host_loopback(&d, helper);
    let script = format!("sleep 2 | timeout 5 nc {gw} {port}");
    eventually(&mut c, &b, &script, "hello-from-host").await;

    let mut text = String::new();
    for _ in 0..50 {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", host_port as u16)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = s.write_all(b"GET /index.html HTTP/1.0\r\n\r\n");
            text.clear();
            let _ = std::io::Read::read_to_string(&mut s, &mut text);
            if text.contains("hello-from-pod") {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        text.contains("hello-from-pod"),
        "hostPort {host_port}: {text:?}\n{}",
        d.log()
    );

    let pods = c
        .list_pod_sandbox(cri::ListPodSandboxRequest { filter: None })
        .await
        .unwrap()
        .into_inner()
        .items;
    for p in pods {
        remove_pod(&mut c, &p.id).await;
    }
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", host_port as u16)).is_err(),
        "hostPort still open after the pod was removed"
    );
    let mut d = d;
    let left = d.shutdown();
    assert!(left.is_empty(), "processes left: {left:?}");
}

#[tokio::test]
async fn user_daemon_network_with_pasta() {
    network_with("pasta").await;
}

#[tokio::test]
async fn user_daemon_network_with_slirp4netns() {
    network_with("slirp4netns").await;
}
