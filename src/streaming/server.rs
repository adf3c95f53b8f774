//! The HTTP side of the streaming server: a hyper HTTP/1.1 listener that
//! checks the URL's token, negotiates `X-Stream-Protocol-Version`, answers
//! `101 Switching Protocols` with `Upgrade: SPDY/3.1` and hands the upgraded
//! connection to the protocol handler.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{header, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::remotecommand::{self, Command, PROTOCOLS};
use super::spdy::Session;
use super::token::TokenCache;
use super::{AttachRequest, ExecRequest, StreamRuntime, StreamingError};

/// Where and how the server listens.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Listen address; loopback by default. Port 0 picks a free port.
    pub addr: SocketAddr,
    /// How long a returned URL stays valid.
    pub token_ttl: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            token_ttl: Duration::from_secs(60),
        }
    }
}

struct Shared {
    tokens: TokenCache<Command>,
    runtime: Arc<dyn StreamRuntime>,
}

/// The streaming server: hands out URLs and serves them.
pub struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Binds `config.addr` and starts serving on the current tokio runtime.
    pub async fn start(
        config: ServerConfig,
        runtime: Arc<dyn StreamRuntime>,
    ) -> Result<Self, StreamingError> {
        let bind_err = |source| StreamingError::Bind {
            addr: config.addr.to_string(),
            source,
        };
        let listener = TcpListener::bind(config.addr).await.map_err(bind_err)?;
        let addr = listener.local_addr().map_err(bind_err)?;
        let shared = Arc::new(Shared {
            tokens: TokenCache::new(config.token_ttl),
            runtime,
        });
        let task = tokio::spawn(accept_loop(listener, shared.clone()));
        Ok(Self { addr, shared, task })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// A single-use URL for an exec.
    pub fn exec_url(&self, req: ExecRequest) -> String {
        self.url("exec", Command::Exec(req))
    }

    /// A single-use URL for an attach.
    pub fn attach_url(&self, req: AttachRequest) -> String {
        self.url("attach", Command::Attach(req))
    }

    fn url(&self, verb: &str, cmd: Command) -> String {
        format!(
            "http://{}/{verb}/{}",
            self.addr,
            self.shared.tokens.insert(cmd)
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((tcp, peer)) = listener.accept().await else {
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| handle(req, shared.clone()));
            let conn =
                hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tcp), svc);
            if let Err(e) = conn.with_upgrades().await {
                tracing::debug!(%peer, error = %e, "streaming connection ended with an error");
            }
        });
    }
}

type Resp = Response<Full<Bytes>>;

fn plain(status: StatusCode, text: &str) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(format!("{text}\n"))));
    *r.status_mut() = status;
    r
}

async fn handle(req: Request<Incoming>, shared: Arc<Shared>) -> Result<Resp, Infallible> {
    let path = req.uri().path().trim_start_matches('/').to_string();
    let Some((verb, token)) = path.split_once('/') else {
        return Ok(plain(StatusCode::NOT_FOUND, "not found"));
    };
    let Some(cmd) = shared.tokens.take(token) else {
        return Ok(plain(
            StatusCode::NOT_FOUND,
            "unknown or expired streaming token",
        ));
    };
    let verb_ok = matches!(
        (verb, &cmd),
        ("exec", Command::Exec(_)) | ("attach", Command::Attach(_))
    );
    if !verb_ok {
        return Ok(plain(
            StatusCode::NOT_FOUND,
            "token was issued for another verb",
        ));
    }
    if !upgrade_requested(&req, "spdy/3.1") {
        return Ok(plain(
            StatusCode::BAD_REQUEST,
            "expected an upgrade to SPDY/3.1",
        ));
    }
    let Some(protocol) = negotiate(&req, PROTOCOLS) else {
        let mut r = plain(StatusCode::FORBIDDEN, "no common stream protocol version");
        r.headers_mut().insert(
            "X-Accepted-Stream-Protocol-Versions",
            PROTOCOLS
                .join(",")
                .parse()
                .unwrap_or(header::HeaderValue::from_static("")),
        );
        return Ok(r);
    };
    let runtime = shared.runtime.clone();
    let upgrade = hyper::upgrade::on(req);
    tokio::spawn(async move {
        match upgrade.await {
            Ok(io) => {
                let session = Session::start(TokioIo::new(io));
                if let Err(e) = remotecommand::serve(session, protocol, cmd, runtime).await {
                    tracing::warn!(error = %e, "streaming request failed");
                }
            }
            Err(e) => tracing::debug!(error = %e, "streaming upgrade failed"),
        }
    });
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert(
        header::CONNECTION,
        header::HeaderValue::from_static("Upgrade"),
    );
    h.insert(
        header::UPGRADE,
        header::HeaderValue::from_static("SPDY/3.1"),
    );
    h.insert(
        "X-Stream-Protocol-Version",
        header::HeaderValue::from_static(protocol),
    );
    Ok(r)
}

fn header_values<'a>(req: &'a Request<Incoming>, name: &str) -> impl Iterator<Item = String> + 'a {
    let name = name.to_string();
    req.headers()
        .get_all(name.as_str())
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| {
            v.split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .collect::<Vec<_>>()
        })
        .collect::<Vec<_>>()
        .into_iter()
}

fn upgrade_requested(req: &Request<Incoming>, proto: &str) -> bool {
    header_values(req, "connection").any(|v| v == "upgrade")
        && header_values(req, "upgrade").any(|v| v == proto)
}

/// The first of the client's versions (its order of preference) that we
/// speak; no header at all means the original, unversioned protocol.
fn negotiate(req: &Request<Incoming>, ours: &[&'static str]) -> Option<&'static str> {
    let theirs: Vec<String> = header_values(req, "x-stream-protocol-version").collect();
    if theirs.is_empty() {
        return ours.last().copied();
    }
    theirs
        .iter()
        .find_map(|t| ours.iter().find(|o| **o == t.as_str()).copied())
}
