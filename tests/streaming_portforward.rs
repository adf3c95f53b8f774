//! Port forwarding into a pod's network namespace (`unshare -n`, an echo
//! server listening on its loopback) over SPDY (`portforward.k8s.io`, stream
//! pairs by requestID) and WebSocket (`?port=`, two channels per port), with
//! the test clients' own framing; errors on the error stream; a vanishing
//! client leaves no fd behind. Needs root (skips loudly outside CI).

mod streaming_client;

use std::collections::HashMap;
use std::time::Duration;

use streaming_client::harness::{assert_fds_back_to, open_fds, Harness};
use streaming_client::netns::{require_root, PodNetns};
use streaming_client::ws::{ws_connect, WsIn};
use streaming_client::{open_port_pair, upgrade, Client, In};

const PF: &str = "portforward.k8s.io";

fn pod(h: &Harness) -> Option<PodNetns> {
    let ns = PodNetns::start();
    h.runtime
        .pods
        .lock()
        .unwrap()
        .insert("pod1".into(), ns.path.clone());
    Some(ns)
}

/// Reads frames until every stream in `ids` has ended; data by stream id.
fn until_closed(c: &mut Client, ids: &[u32]) -> HashMap<u32, Vec<u8>> {
    let mut data: HashMap<u32, Vec<u8>> = HashMap::new();
    let mut open: Vec<u32> = ids.to_vec();
    while !open.is_empty() {
        match c.read().expect("connection ended early") {
            In::Data { id, fin, data: d } => {
                data.entry(id).or_default().extend(d);
                if fin {
                    open.retain(|i| *i != id);
                }
            }
            In::Rst { id, .. } => open.retain(|i| *i != id),
            _ => {}
        }
    }
    data
}

#[test]
fn spdy_forwards_to_a_port_in_the_pod_and_reports_errors() {
    if !require_root("spdy_forwards_to_a_port_in_the_pod_and_reports_errors") {
        return;
    }
    let h = Harness::new(Duration::from_secs(30));
    let Some(ns) = pod(&h) else { return };
    let (tcp, hs) = upgrade(&h.server().port_forward_url("pod1"), &[PF]);
    assert_eq!(hs.status, 101, "{:?}", hs.headers);
    assert_eq!(hs.header("X-Stream-Protocol-Version"), Some(PF));
    let mut c = Client::new(tcp);
    // Two connections at once, data interleaved, then one to a closed port.
    let (e1, d1) = open_port_pair(&mut c, ns.port, 0);
    let (e2, d2) = open_port_pair(&mut c, ns.port, 1);
    c.send(d1, b"first ", false);
    c.send(d2, b"second", true);
    c.send(d1, b"connection", true);
    let got = until_closed(&mut c, &[e1, d1, e2, d2]);
    assert_eq!(
        got.get(&d1).map(Vec::as_slice),
        Some(&b"first connection"[..])
    );
    assert_eq!(got.get(&d2).map(Vec::as_slice), Some(&b"second"[..]));
    assert!(got.get(&e1).is_none_or(Vec::is_empty), "no error");
    let (e3, d3) = open_port_pair(&mut c, 1, 2);
    let got = until_closed(&mut c, &[e3, d3]);
    let err = String::from_utf8_lossy(&got[&e3]).to_string();
    assert!(err.contains("error forwarding port 1 to pod pod1"), "{err}");
    // The pod closes first while the client keeps its side open: both streams end.
    let (e4, d4) = open_port_pair(&mut c, ns.port, 3);
    c.send(d4, b"quit", false);
    let got = until_closed(&mut c, &[e4, d4]);
    assert_eq!(got.get(&d4).map(Vec::as_slice), Some(&b"bye"[..]));
    assert!(got.get(&e4).is_none_or(Vec::is_empty), "no error");
    // Streams without a requestID (old clients): paired by stream id.
    let error = c.open(&[("streamType", "error"), ("port", &ns.port.to_string())]);
    let data = c.open(&[("streamType", "data"), ("port", &ns.port.to_string())]);
    c.send(data, b"legacy", true);
    let got = until_closed(&mut c, &[error, data]);
    assert_eq!(got.get(&data).map(Vec::as_slice), Some(&b"legacy"[..]));
}

#[test]
fn spdy_port_forward_errors_without_a_pod() {
    let h = Harness::new(Duration::from_secs(30));
    let (tcp, hs) = upgrade(&h.server().port_forward_url("nopod"), &[PF]);
    assert_eq!(hs.status, 101);
    let mut c = Client::new(tcp);
    let (e, d) = open_port_pair(&mut c, 8080, 0);
    let got = until_closed(&mut c, &[e, d]);
    assert!(String::from_utf8_lossy(&got[&e]).contains("nopod not found"));
    let (e, d) = open_port_pair(&mut c, 0, 1);
    let got = until_closed(&mut c, &[e, d]);
    assert!(String::from_utf8_lossy(&got[&e]).contains("invalid port"));
    // A second error stream for the same requestID is refused on itself.
    let first = c.open(&[("streamType", "error"), ("port", "80"), ("requestID", "9")]);
    let second = c.open(&[("streamType", "error"), ("port", "80"), ("requestID", "9")]);
    let got = until_closed(&mut c, &[second]);
    assert!(String::from_utf8_lossy(&got[&second]).contains("already open"));
    assert!(
        !got.contains_key(&first),
        "the first one still waits for its pair"
    );
    // An exec token is no port-forward URL, and a remote-command version is refused.
    let url = h
        .exec("true", false, false)
        .replace("/exec/", "/portforward/");
    assert_eq!(upgrade(&url, &[PF]).1.status, 404);
    let url = h.server().port_forward_url("pod1");
    assert_eq!(upgrade(&url, &["v4.channel.k8s.io"]).1.status, 403);
}

#[test]
fn websocket_forwards_each_port_on_two_channels() {
    if !require_root("websocket_forwards_each_port_on_two_channels") {
        return;
    }
    let h = Harness::new(Duration::from_secs(30));
    let Some(ns) = pod(&h) else { return };
    for proto in ["v4.channel.k8s.io", "v4.base64.channel.k8s.io"] {
        let url = format!(
            "{}?port={}&port=1",
            h.server().port_forward_url("pod1"),
            ns.port
        );
        let (mut c, hs) = ws_connect(&url, &[proto]);
        assert_eq!(hs.status, 101, "{:?}", hs.headers);
        c.send(0, b"over websocket");
        let mut chans: [Vec<Vec<u8>>; 4] = Default::default();
        let mut echoed = Vec::new();
        while echoed.len() < 14 || chans[3].len() < 2 {
            match c.read().expect("connection ended early") {
                WsIn::Data(0, d) if !chans[0].is_empty() => {
                    echoed.extend(d.clone());
                    chans[0].push(d);
                }
                WsIn::Data(ch, d) => chans[usize::from(ch)].push(d),
                m => panic!("{m:?}"),
            }
        }
        let le = |p: u16| p.to_le_bytes().to_vec();
        assert_eq!(chans[0][0], le(ns.port), "{proto}: port first on data");
        assert_eq!(chans[1][0], le(ns.port), "{proto}: port first on error");
        assert_eq!(chans[2][0], le(1));
        assert_eq!(chans[3][0], le(1));
        assert!(String::from_utf8_lossy(&chans[3][1]).contains("error forwarding port 1"));
        assert_eq!(echoed, b"over websocket");
        c.close(1000);
        while c.read().is_some() {}
    }
    let base = h.server().port_forward_url("pod1");
    assert_eq!(
        ws_connect(&base, &["v4.channel.k8s.io"]).1.status,
        400,
        "no port"
    );
    let bad = format!("{}?port=x", h.server().port_forward_url("pod1"));
    assert_eq!(ws_connect(&bad, &["v4.channel.k8s.io"]).1.status, 400);
}

#[test]
fn a_vanishing_port_forward_client_leaks_nothing() {
    if !require_root("a_vanishing_port_forward_client_leaks_nothing") {
        return;
    }
    let h = Harness::new(Duration::from_secs(30));
    let Some(ns) = pod(&h) else { return };
    let before = open_fds();
    for _ in 0..2 {
        let (tcp, _) = upgrade(&h.server().port_forward_url("pod1"), &[PF]);
        let mut c = Client::new(tcp);
        let (_, d) = open_port_pair(&mut c, ns.port, 0);
        c.send(d, b"x", false);
        while !matches!(c.read(), Some(In::Data { id, .. }) if id == d) {}
        drop(c);
    }
    let url = format!("{}?port={}", h.server().port_forward_url("pod1"), ns.port);
    let (mut c, _) = ws_connect(&url, &["v4.channel.k8s.io"]);
    c.send(0, b"x");
    while c.read().is_some_and(|m| m != WsIn::Data(0, b"x".to_vec())) {}
    drop(c);
    // The server's sockets to the pod and the echo server's ends are closed.
    assert_fds_back_to(before);
}
