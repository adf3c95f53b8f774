//! The streaming server: serves the URLs that the CRI Exec, Attach and
//! PortForward RPCs return, speaking the kubelet's remote-command and
//! port-forward protocols over SPDY/3.1 (what crictl and the kubelet's proxy
//! use) and over WebSocket.
//!
//! The daemon owns a [`Server`], asks it for URLs ([`Server::exec_url`],
//! [`Server::attach_url`], [`Server::port_forward_url`]) and implements
//! [`StreamRuntime`] to run things ([`connect_in_netns`] serves its
//! `port_forward`); this module owns the HTTP upgrade, the framing and the
//! stream protocols. See docs/streaming.md.

mod hangup;
mod idle;
mod netns;
mod portforward;
mod portforward_spdy;
mod remotecommand;
pub mod replay;
mod server;
pub mod spdy;
mod token;
mod upgrade;
mod wire;
pub mod ws;

use std::future::Future;
use std::pin::Pin;

use tokio::sync::{mpsc, watch};

pub use idle::{IdleTimeout, DEFAULT_IDLE_TIMEOUT};
pub use netns::{connect_in_netns, NetnsError};
pub use portforward::{PortForwardRequest, PORTFORWARD_PROTOCOL};
pub use remotecommand::{status_json, PROTOCOLS};
pub use server::{Server, ServerConfig};
pub use token::TokenCache;

/// A boxed future, so that [`StreamRuntime`] can be used as a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An exec request, as the Exec RPC carries it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecRequest {
    /// The container to run in.
    pub container_id: String,
    /// The command and its arguments.
    pub cmd: Vec<String>,
    /// Allocate a terminal (stdout and stderr then share it).
    pub tty: bool,
    /// Stream the client's stdin.
    pub stdin: bool,
    /// Stream stdout to the client.
    pub stdout: bool,
    /// Stream stderr to the client.
    pub stderr: bool,
}

/// An attach request, as the Attach RPC carries it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttachRequest {
    /// The container whose stdio to join.
    pub container_id: String,
    /// The container has a terminal.
    pub tty: bool,
    /// Stream the client's stdin.
    pub stdin: bool,
    /// Stream stdout to the client.
    pub stdout: bool,
    /// Stream stderr to the client.
    pub stderr: bool,
}

/// A terminal size sent on the resize stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
pub struct TermSize {
    /// Columns.
    #[serde(rename = "Width")]
    pub width: u16,
    /// Rows.
    #[serde(rename = "Height")]
    pub height: u16,
}

/// The client's streams, as channels, handed to the runtime.
#[derive(Debug)]
pub struct Streams {
    /// Client stdin; `None` when not requested; the channel ends at client EOF.
    pub stdin: Option<mpsc::Receiver<Vec<u8>>>,
    /// Client stdout (with a tty: the terminal's output).
    pub stdout: Option<mpsc::Sender<Vec<u8>>>,
    /// Client stderr; `None` with a tty.
    pub stderr: Option<mpsc::Sender<Vec<u8>>>,
    /// Terminal size changes; `None` without a tty.
    pub resize: Option<mpsc::Receiver<TermSize>>,
    /// Turns `true` when the client's connection ends: stop what was started.
    pub gone: watch::Receiver<bool>,
}

/// A failure the runtime reports to the client on the error stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeError {
    /// No such container (or pod).
    #[error("container {0} not found")]
    NotFound(String),
    /// The container is not running.
    #[error("container {0} is not running")]
    NotRunning(String),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

/// What the daemon implements to run streamed commands.
pub trait StreamRuntime: Send + Sync + 'static {
    /// Runs `req` with `streams`; returns its exit code once it ends and its
    /// output is handed to the stdout/stderr channels.
    fn exec(&self, req: ExecRequest, streams: Streams) -> BoxFuture<'_, Result<i32, RuntimeError>>;

    /// Joins the container's stdio until it exits or the client goes.
    fn attach(
        &self,
        req: AttachRequest,
        streams: Streams,
    ) -> BoxFuture<'_, Result<(), RuntimeError>>;

    /// Connects to `port` on the loopback address inside pod `pod_id`'s
    /// network namespace (see [`connect_in_netns`]); the server copies the
    /// bytes. Without an implementation port forwarding reports an error.
    fn port_forward(
        &self,
        pod_id: String,
        port: u16,
    ) -> BoxFuture<'_, Result<tokio::net::TcpStream, RuntimeError>> {
        let _ = port;
        Box::pin(async move {
            Err(RuntimeError::Other(format!(
                "port forwarding to pod {pod_id} is not supported"
            )))
        })
    }
}

/// Errors of the streaming server itself.
#[derive(Debug, thiserror::Error)]
pub enum StreamingError {
    /// Binding the listening socket failed.
    #[error("bind streaming server to {addr}")]
    Bind {
        /// The configured address.
        addr: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The SPDY session failed.
    #[error(transparent)]
    Spdy(#[from] spdy::SpdyError),
    /// The WebSocket connection failed.
    #[error(transparent)]
    Ws(#[from] ws::WsError),
    /// The client did not open the streams its request needs in time.
    #[error("client did not open the {0} stream in time")]
    StreamTimeout(&'static str),
}
