//! The HTTP side of the streaming server: a hyper HTTP/1.1 listener that
//! hands out and checks the URLs' single-use tokens and routes each request
//! to the SPDY or WebSocket upgrade ([`super::upgrade`]), chosen by its
//! `Upgrade` header.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::hangup::HangUp;
use super::portforward::PortForwardRequest;
use super::remotecommand::Command;
use super::token::TokenCache;
use super::upgrade::{self, plain, Resp};
use super::{AttachRequest, ExecRequest, StreamRuntime, StreamingError};

/// Where and how the server listens.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Listen address; loopback by default. Port 0 picks a free port.
    pub addr: SocketAddr,
    /// How long a returned URL stays valid.
    pub token_ttl: Duration,
    /// A connection on which nothing passes for this long is closed (and its
    /// command stopped); `None`: never. The kubelet's default, 4 h.
    pub idle_timeout: Option<Duration>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            token_ttl: Duration::from_secs(60),
            idle_timeout: Some(super::idle::DEFAULT_IDLE_TIMEOUT),
        }
    }
}

/// What a URL's token stands for.
#[derive(Debug, Clone)]
pub(crate) enum Pending {
    /// An exec or attach.
    Command(Command),
    /// A port forward into a pod.
    PortForward(PortForwardRequest),
}

struct Shared {
    tokens: TokenCache<Pending>,
    runtime: Arc<dyn StreamRuntime>,
    idle_timeout: Option<Duration>,
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
            idle_timeout: config.idle_timeout,
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
        self.url("exec", Pending::Command(Command::Exec(req)))
    }

    /// A single-use URL for an attach.
    pub fn attach_url(&self, req: AttachRequest) -> String {
        self.url("attach", Pending::Command(Command::Attach(req)))
    }

    /// A single-use URL for port forwarding into pod `pod_id` (the client
    /// names the ports: SPDY stream headers, or `?port=` over WebSocket).
    pub fn port_forward_url(&self, pod_id: impl Into<String>) -> String {
        let req = PortForwardRequest {
            pod_id: pod_id.into(),
        };
        self.url("portforward", Pending::PortForward(req))
    }

    fn url(&self, verb: &str, cmd: Pending) -> String {
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
        // Dropped with the connection's task (or its upgraded session).
        let hangup = HangUp::of(&tcp);
        tokio::spawn(async move {
            let svc =
                hyper::service::service_fn(move |req| handle(req, shared.clone(), hangup.clone()));
            let conn =
                hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tcp), svc);
            if let Err(e) = conn.with_upgrades().await {
                tracing::debug!(%peer, error = %e, "streaming connection ended with an error");
            }
        });
    }
}

async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
    hangup: HangUp,
) -> Result<Resp, Infallible> {
    let path = req.uri().path().trim_start_matches('/').to_string();
    let Some((verb, token)) = path.split_once('/') else {
        return Ok(plain(StatusCode::NOT_FOUND, "not found"));
    };
    let Some(pending) = shared.tokens.take(token) else {
        return Ok(plain(
            StatusCode::NOT_FOUND,
            "unknown or expired streaming token",
        ));
    };
    let verb_ok = matches!(
        (verb, &pending),
        ("exec", Pending::Command(Command::Exec(_)))
            | ("attach", Pending::Command(Command::Attach(_)))
            | ("portforward", Pending::PortForward(_))
    );
    if !verb_ok {
        return Ok(plain(
            StatusCode::NOT_FOUND,
            "token was issued for another verb",
        ));
    }
    let runtime = shared.runtime.clone();
    Ok(if upgrade::requested(&req, "websocket") {
        upgrade::websocket(req, pending, runtime, shared.idle_timeout, hangup)
    } else if upgrade::requested(&req, "spdy/3.1") {
        upgrade::spdy(req, pending, runtime, shared.idle_timeout, hangup)
    } else {
        plain(
            StatusCode::BAD_REQUEST,
            "expected an upgrade to SPDY/3.1 or websocket",
        )
    })
}
