//! SPDY/3.1, the framing the kubelet's streaming clients speak after an HTTP
//! upgrade (`Upgrade: SPDY/3.1`): frames ([`frame`]), compressed header blocks
//! ([`headers`], [`dictionary`]) and the server side of a session ([`session`]).
//!
//! Written here because no maintained crate implements SPDY/3.1.

pub mod dictionary;
pub mod frame;
pub mod headers;
pub mod session;

pub use session::{Session, SpdyStream, StreamWriter};

/// Errors of a SPDY session.
#[derive(Debug, thiserror::Error)]
pub enum SpdyError {
    /// Reading from or writing to the connection failed.
    #[error("spdy connection i/o")]
    Io(#[from] std::io::Error),
    /// A control frame of another SPDY version.
    #[error("unsupported spdy version {0}")]
    Version(u16),
    /// A frame or header block that does not parse.
    #[error("malformed spdy input: {0}")]
    Malformed(&'static str),
    /// The header compression context failed.
    #[error("spdy header compression: {0}")]
    Zlib(String),
    /// The session is gone.
    #[error("spdy session closed")]
    Closed,
}
