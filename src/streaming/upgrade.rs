//! The two upgrades a streaming URL accepts: SPDY/3.1 (subprotocol in
//! `X-Stream-Protocol-Version`) and WebSocket (RFC 6455 handshake,
//! subprotocol in `Sec-WebSocket-Protocol`). Each checks the request, answers
//! `101 Switching Protocols` and starts the protocol handler on the upgraded
//! connection once hyper hands it over.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

use super::hangup::HangUp;
use super::portforward::PORTFORWARD_PROTOCOL;
use super::portforward_spdy;
use super::remotecommand::{self, PROTOCOLS};
use super::server::Pending;
use super::spdy::Session;
use super::ws::{self, handshake, Conn};
use super::StreamRuntime;

/// A response of the streaming server.
pub(crate) type Resp = Response<Full<Bytes>>;

/// A text response.
pub(crate) fn plain(status: StatusCode, text: &str) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(format!("{text}\n"))));
    *r.status_mut() = status;
    r
}

/// The comma-separated values of header `name`, trimmed and lowercased.
fn header_values(req: &Request<Incoming>, name: &str) -> Vec<String> {
    req.headers()
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .collect()
}

/// `Connection: Upgrade` with `Upgrade: <proto>`.
pub(crate) fn requested(req: &Request<Incoming>, proto: &str) -> bool {
    header_values(req, "connection")
        .iter()
        .any(|v| v == "upgrade")
        && header_values(req, "upgrade").iter().any(|v| v == proto)
}

/// The first of the client's versions (its order of preference) that we
/// speak; no header at all means the original, unversioned protocol.
fn negotiate(req: &Request<Incoming>, ours: &[&'static str]) -> Option<&'static str> {
    let theirs = header_values(req, "x-stream-protocol-version");
    if theirs.is_empty() {
        return ours.last().copied();
    }
    theirs
        .iter()
        .find_map(|t| ours.iter().find(|o| **o == t.as_str()).copied())
}

fn no_common_version(ours: &[&str]) -> Resp {
    let mut r = plain(StatusCode::FORBIDDEN, "no common stream protocol version");
    if let Ok(v) = HeaderValue::from_str(&ours.join(",")) {
        r.headers_mut()
            .insert("X-Accepted-Stream-Protocol-Versions", v);
    }
    r
}

fn switching(upgrade: &'static str) -> Resp {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static(upgrade));
    r
}

/// Upgrades to SPDY/3.1 and serves `pending` on the session.
pub(crate) fn spdy(
    req: Request<Incoming>,
    pending: Pending,
    rt: Arc<dyn StreamRuntime>,
    idle: Option<Duration>,
    hangup: HangUp,
) -> Resp {
    let ours: &[&'static str] = match pending {
        Pending::Command(_) => PROTOCOLS,
        Pending::PortForward(_) => &[PORTFORWARD_PROTOCOL],
    };
    let Some(protocol) = negotiate(&req, ours) else {
        return no_common_version(ours);
    };
    let upgrade = hyper::upgrade::on(req);
    tokio::spawn(async move {
        let io = match upgrade.await {
            Ok(io) => io,
            Err(e) => return tracing::debug!(error = %e, "streaming upgrade failed"),
        };
        let session = Session::start_watched(TokioIo::new(io), idle, hangup);
        match pending {
            Pending::Command(cmd) => {
                if let Err(e) = remotecommand::serve(session, protocol, cmd, rt).await {
                    tracing::warn!(error = %e, "streaming request failed");
                }
            }
            Pending::PortForward(req) => portforward_spdy::serve_spdy(session, req, rt).await,
        }
    });
    let mut r = switching("SPDY/3.1");
    r.headers_mut().insert(
        "X-Stream-Protocol-Version",
        HeaderValue::from_static(protocol),
    );
    r
}

/// The ports of a WebSocket port forward: `?port=80&port=81,82`, each 1 to 65535.
fn query_ports(req: &Request<Incoming>) -> Result<Vec<u16>, String> {
    let query = req.uri().query().unwrap_or("");
    let mut ports = Vec::new();
    for (k, v) in query.split('&').filter_map(|kv| kv.split_once('=')) {
        if k != "port" {
            continue;
        }
        for p in v.split(',') {
            match p.parse::<u16>() {
                Ok(n @ 1..) if ports.len() < ws::MAX_PORTS => ports.push(n),
                Ok(1..) => return Err(format!("more than {} ports", ws::MAX_PORTS)),
                _ => return Err(format!("invalid port {p:?}")),
            }
        }
    }
    if ports.is_empty() {
        return Err("query parameter \"port\" is required".into());
    }
    Ok(ports)
}

/// Upgrades to WebSocket and serves `pending` on the channel connection.
pub(crate) fn websocket(
    req: Request<Incoming>,
    pending: Pending,
    rt: Arc<dyn StreamRuntime>,
    idle: Option<Duration>,
    hangup: HangUp,
) -> Resp {
    if header_values(&req, "sec-websocket-version") != ["13"] {
        let mut r = plain(StatusCode::UPGRADE_REQUIRED, "websocket version 13 only");
        r.headers_mut()
            .insert("Sec-WebSocket-Version", HeaderValue::from_static("13"));
        return r;
    }
    let Some(key) = req
        .headers()
        .get("sec-websocket-key")
        .and_then(|k| k.to_str().ok())
    else {
        return plain(StatusCode::BAD_REQUEST, "missing Sec-WebSocket-Key");
    };
    let accept = handshake::accept_key(key);
    let offered = header_values(&req, "sec-websocket-protocol");
    let (ours, ports) = match &pending {
        Pending::Command(_) => (ws::EXEC_PROTOCOLS, Vec::new()),
        Pending::PortForward(_) => match query_ports(&req) {
            Ok(ports) => (ws::PORTFORWARD_PROTOCOLS, ports),
            Err(e) => return plain(StatusCode::BAD_REQUEST, &e),
        },
    };
    let Some(&proto) = handshake::negotiate(&offered, ours) else {
        let names: Vec<&str> = ours
            .iter()
            .map(|p| p.name)
            .filter(|n| !n.is_empty())
            .collect();
        return no_common_version(&names);
    };
    let upgrade = hyper::upgrade::on(req);
    tokio::spawn(async move {
        let io = match upgrade.await {
            Ok(io) => TokioIo::new(io),
            Err(e) => return tracing::debug!(error = %e, "websocket upgrade failed"),
        };
        match pending {
            Pending::Command(cmd) => {
                let channels = ws::command_channels(&cmd);
                let conn = Conn::start_watched(io, proto, &channels, idle, hangup);
                ws::serve_command(conn, proto, cmd, rt).await;
            }
            Pending::PortForward(req) => {
                let channels = ws::port_channels(ports.len());
                let conn = Conn::start_watched(io, proto, &channels, idle, hangup);
                ws::serve_ports(conn, ports, req, rt).await;
            }
        }
    });
    let mut r = switching("websocket");
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&accept) {
        h.insert("Sec-WebSocket-Accept", v);
    }
    if !proto.name.is_empty() {
        h.insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static(proto.name),
        );
    }
    r
}
