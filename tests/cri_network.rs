//! Pod networking with the reference CNI plugins (bridge, host-local, portmap,
//! loopback): pod IPs reported, pod-to-pod traffic, a hostPort reaching a container,
//! and a teardown that leaves no veth, IPAM reservation or iptables rule behind.

mod cri_common;

use std::process::Command;
use std::time::Duration;

use cri_common::{
    busybox_image, ci, container_config, pod_config, remove_pod, require_root, run_pod_pair,
    try_run, Daemon, Pod,
};
use proto::cri;

const IMAGE: &str = "localhost/busybox:net";

fn require_cni() -> bool {
    let plugins = std::path::Path::new("/usr/lib/cni/bridge").exists();
    let iptables = Command::new("iptables")
        .args(["-t", "nat", "-S"])
        .output()
        .is_ok_and(|o| o.status.success());
    if plugins && iptables {
        return true;
    }
    assert!(
        !ci(),
        "CI=true: CNI plugins or iptables missing (scripts/setup.sh)"
    );
    eprintln!("SKIP: CNI plugins or a working iptables missing");
    false
}

/// Removes the test's bridge on drop.
struct Bridge(String);

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.0]).status();
    }
}

fn sh(cmd: &[&str]) -> (bool, String) {
    let out = Command::new(cmd[0]).args(&cmd[1..]).output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

async fn run_pod(c: &mut cri_common::Client, name: &str, host_port: i32) -> Pod {
    let mut config = pod_config(name);
    if host_port > 0 {
        config.port_mappings = vec![cri::PortMapping {
            protocol: cri::Protocol::Tcp as i32,
            container_port: 80,
            host_port,
            host_ip: String::new(),
        }];
    }
    run_pod_pair(c, config).await
}

async fn pod_ip(c: &mut cri_common::Client, id: &str) -> String {
    let req = cri::PodSandboxStatusRequest {
        pod_sandbox_id: id.into(),
        verbose: false,
    };
    let s = c.pod_sandbox_status(req).await.unwrap().into_inner();
    s.status.unwrap().network.map(|n| n.ip).unwrap_or_default()
}

#[tokio::test]
async fn pods_talk_to_each_other_and_a_host_port_reaches_a_container() {
    if !require_root() || !require_cni() {
        return;
    }
    let n = std::process::id() % 200 + 20;
    let bridge = Bridge(format!("sct{n}"));
    let host_port = 20000 + n as i32;
    let ipam = tempfile::tempdir().unwrap();
    let conflist = serde_json::json!({
        "cniVersion": "0.4.0",
        "name": "sifcri-test",
        "plugins": [
            {"type": "bridge", "bridge": bridge.0, "isGateway": true, "ipMasq": false,
             "ipam": {"type": "host-local", "dataDir": ipam.path(),
                      "ranges": [[{"subnet": format!("10.231.{n}.0/24")}]]}},
            {"type": "portmap", "capabilities": {"portMappings": true}}
        ]
    });
    let d = Daemon::start();
    std::fs::write(
        d.dir.path().join("cni/10-test.conflist"),
        conflist.to_string(),
    )
    .unwrap();
    busybox_image(&d, IMAGE);
    let mut c = d.client().await;
    let a = run_pod(&mut c, "net-a", host_port).await;
    let b = run_pod(&mut c, "net-b", 0).await;
    let ip_a = pod_ip(&mut c, &a.0).await;
    let ip_b = pod_ip(&mut c, &b.0).await;
    assert!(ip_a.starts_with(&format!("10.231.{n}.")), "{ip_a}");
    assert!(
        ip_b.starts_with(&format!("10.231.{n}.")) && ip_b != ip_a,
        "{ip_b}"
    );
    let netns_b = d.state().join("pods").join(&b.0).join("ns-net");
    let (ok, text) = sh(&[
        "nsenter",
        &format!("--net={}", netns_b.display()),
        "busybox",
        "ping",
        "-c1",
        "-W3",
        &ip_a,
    ]);
    assert!(ok, "pod b cannot reach pod a: {text}");

    let script =
        "mkdir -p /www; echo hello-from-pod > /www/index.html; exec httpd -f -p 80 -h /www";
    let web = container_config("web", IMAGE, &["sh", "-c", script]);
    try_run(&mut c, &a, web).await.unwrap();
    let gateway = format!("10.231.{n}.1");
    let url = format!("http://{gateway}:{host_port}/index.html");
    let mut last = String::new();
    for _ in 0..50 {
        let (ok, text) = sh(&["busybox", "wget", "-q", "-T", "2", "-O", "-", &url]);
        if ok && text.contains("hello-from-pod") {
            last.clear();
            break;
        }
        last = text;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(last.is_empty(), "hostPort {url} unreachable: {last}");

    for p in [&a.0, &b.0] {
        remove_pod(&mut c, p).await;
    }
    let (_, rules) = sh(&["iptables-save", "-t", "nat"]);
    for p in [&a.0, &b.0] {
        assert!(
            !rules.contains(p.as_str()),
            "iptables rules left for {p}:\n{rules}"
        );
    }
    let reserved: Vec<_> = std::fs::read_dir(ipam.path().join("sifcri-test"))
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        reserved
            .iter()
            .all(|f| f == "lock" || f.starts_with("last_reserved_ip")),
        "IPAM reservations left: {reserved:?}"
    );
    let (_, links) = sh(&["ip", "-o", "link", "show", "master", &bridge.0]);
    assert!(links.trim().is_empty(), "veths left on the bridge: {links}");
}
