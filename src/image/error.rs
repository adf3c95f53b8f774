//! Errors of the image module (store, registry client, layer conversion), each
//! carrying what was being done and on what, plus a coarse [`ErrorKind`] that the CRI
//! layer maps to a gRPC code in one place.

use std::path::PathBuf;

/// What went wrong while pulling, converting, storing or looking up an image.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A reference that is not a valid docker reference.
    #[error("invalid image reference {reference:?}: {why}")]
    InvalidReference {
        /// The text given.
        reference: String,
        /// What is wrong with it.
        why: String,
    },
    /// No image in the store (or no manifest in the registry) by that name.
    #[error("image {0} not found")]
    NotFound(String),
    /// An I/O error while `op` on `path`.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The registry could not be reached (connection refused, DNS, TLS, timeout).
    #[error("registry {url} unreachable: {why}")]
    Unreachable {
        /// The URL tried last.
        url: String,
        /// The transport error.
        why: String,
    },
    /// The registry refused our credentials, or asked for some we do not have.
    #[error("authentication to {url} failed: {why}")]
    Unauthorized {
        /// The URL that answered 401/403.
        url: String,
        /// The registry's answer.
        why: String,
    },
    /// The registry answered with an unexpected HTTP status.
    #[error("registry {url} answered {status}: {why}")]
    Registry {
        /// The URL requested.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The body's first bytes.
        why: String,
    },
    /// Content whose SHA-256 is not the digest it was asked for by.
    #[error("digest mismatch for {what}: expected {expected}, got {got}")]
    DigestMismatch {
        /// What was fetched (blob, manifest).
        what: String,
        /// The digest asked for.
        expected: String,
        /// The digest of the bytes received.
        got: String,
    },
    /// Content of another size than its descriptor says.
    #[error("size mismatch for {what}: expected {expected} bytes, got {got}")]
    SizeMismatch {
        /// What was fetched.
        what: String,
        /// The size from the descriptor.
        expected: u64,
        /// The size received (at least).
        got: u64,
    },
    /// A manifest, index or config larger than we accept.
    #[error("{what} is larger than the limit of {limit} bytes")]
    TooLarge {
        /// What was fetched.
        what: String,
        /// The cap.
        limit: u64,
    },
    /// A media type we do not handle.
    #[error("unsupported media type {media_type:?} for {what}")]
    UnsupportedMediaType {
        /// What carried it.
        what: String,
        /// The media type.
        media_type: String,
    },
    /// A manifest, index or config that does not parse or makes no sense.
    #[error("invalid {what}: {why}")]
    InvalidManifest {
        /// Which document.
        what: String,
        /// Why.
        why: String,
    },
    /// The image index lists no manifest for our platform.
    #[error("no manifest for platform {0} in the image index")]
    NoMatchingPlatform(String),
    /// A layer member that is malformed or would land outside the root.
    #[error("layer {layer}: member {member:?}: {why}")]
    BadLayerMember {
        /// The layer's digest.
        layer: String,
        /// The member's path as stored in the tar.
        member: String,
        /// Why it is refused.
        why: String,
    },
    /// A layer that is not a readable (compressed) tar archive.
    #[error("layer {layer}: {why}")]
    BadLayer {
        /// The layer's digest.
        layer: String,
        /// Why.
        why: String,
    },
    /// mksquashfs failed.
    #[error("building the squashfs image: {0}")]
    Squashfs(String),
    /// A SIF file that cannot be read or written.
    #[error("SIF: {0}")]
    Sif(#[from] crate::sif::Error),
    /// A store index that does not parse.
    #[error("corrupt image store index {}: {why}", path.display())]
    CorruptStore {
        /// The index file.
        path: PathBuf,
        /// Why.
        why: String,
    },
}

/// The coarse class of an [`Error`], for mapping to gRPC codes and exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad reference or argument (`InvalidArgument`).
    InvalidArgument,
    /// No such image or manifest (`NotFound`).
    NotFound,
    /// Credentials missing or refused (`Unauthenticated`).
    Unauthenticated,
    /// The registry cannot be reached (`Unavailable`).
    Unavailable,
    /// The content is corrupt, malicious or unsupported (`FailedPrecondition`).
    BadContent,
    /// Local failure: disk, tools (`Internal`).
    Internal,
}

impl Error {
    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidReference { .. } => ErrorKind::InvalidArgument,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::Unauthorized { .. } => ErrorKind::Unauthenticated,
            Error::Unreachable { .. } => ErrorKind::Unavailable,
            Error::Registry { status, .. } if *status >= 500 => ErrorKind::Unavailable,
            Error::Registry { .. }
            | Error::DigestMismatch { .. }
            | Error::SizeMismatch { .. }
            | Error::TooLarge { .. }
            | Error::UnsupportedMediaType { .. }
            | Error::InvalidManifest { .. }
            | Error::NoMatchingPlatform(_)
            | Error::BadLayerMember { .. }
            | Error::BadLayer { .. } => ErrorKind::BadContent,
            Error::Io { .. } | Error::Squashfs(_) | Error::Sif(_) | Error::CorruptStore { .. } => {
                ErrorKind::Internal
            }
        }
    }

    /// An [`Error::Io`] for `op` on `path`.
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
