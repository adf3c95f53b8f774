//! WebSocket, the other transport of the kubelet's streaming protocols:
//! frames ([`frame`]), the opening handshake and channel subprotocols
//! ([`handshake`]), the channel connection ([`conn`]), and the remote-command
//! and port-forward protocols on top of it (`exec`, `portforward`).
//!
//! Written here rather than taken from a crate: the framing is small, and the
//! channel layer, the protocols and their limits are ours either way.

pub mod conn;
mod exec;
pub mod frame;
pub mod handshake;
mod portforward;
mod reader;

pub use conn::{ChannelWriter, Conn};
pub(crate) use exec::{readable as command_channels, serve_command};
pub use handshake::{Protocol, EXEC_PROTOCOLS, PORTFORWARD_PROTOCOLS};
pub(crate) use portforward::{readable as port_channels, serve_ports, MAX_PORTS};

/// Errors of a WebSocket connection.
#[derive(Debug, thiserror::Error)]
pub enum WsError {
    /// Reading from or writing to the connection failed.
    #[error("websocket connection i/o")]
    Io(#[from] std::io::Error),
    /// A frame that breaks RFC 6455 (closed with 1002).
    #[error("websocket protocol error: {0}")]
    Protocol(&'static str),
    /// A frame or message over [`frame::MAX_PAYLOAD`] (closed with 1009).
    #[error("websocket message of {0} bytes is too big")]
    TooBig(u64),
    /// A base64 channel message that does not decode (closed with 1007).
    #[error("undecodable base64 message on channel {0}")]
    BadChannel(u8),
    /// The connection is gone.
    #[error("websocket connection closed")]
    Closed,
}
