//! Daemon errors and their one mapping to gRPC status codes.

use tonic::{Code, Status};

/// What a CRI call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A required field is missing or malformed.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// No such pod, container or image.
    #[error("{0} not found")]
    NotFound(String),
    /// The name is taken.
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// The object is in the wrong state for the call.
    #[error("{0}")]
    FailedPrecondition(String),
    /// A deadline passed (ExecSync's timeout).
    #[error("{0}")]
    DeadlineExceeded(String),
    /// Something on this host failed.
    #[error("{0}")]
    Internal(String),
    /// Not implemented by this runtime.
    #[error("{0} is not implemented by sifcri")]
    Unimplemented(&'static str),
    /// The pod store failed.
    #[error(transparent)]
    Pod(#[from] crate::pod::Error),
    /// Persisting state failed.
    #[error(transparent)]
    State(#[from] crate::state::Error),
}

impl From<Error> for Status {
    fn from(e: Error) -> Status {
        let code = match &e {
            Error::InvalidArgument(_) => Code::InvalidArgument,
            Error::NotFound(_) => Code::NotFound,
            Error::AlreadyExists(_) => Code::AlreadyExists,
            Error::FailedPrecondition(_) => Code::FailedPrecondition,
            Error::Unimplemented(_) => Code::Unimplemented,
            Error::DeadlineExceeded(_) => Code::DeadlineExceeded,
            Error::Internal(_) => Code::Internal,
            Error::Pod(p) => p.code(),
            Error::State(_) => Code::Internal,
        };
        if code == Code::Internal || code == Code::Unknown {
            tracing::error!(error = %e, "cri call failed");
        }
        Status::new(code, e.to_string())
    }
}
