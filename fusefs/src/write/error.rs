//! Errors of writing a squashfs image: the tree handed in is inconsistent, an id or
//! count does not fit the format, or reading the spool / writing the output failed.

use std::io;

/// An error of [`write_image`](super::write_image).
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Reading file contents or writing the image failed.
    #[error("{op}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// An entry's parent is missing or not a directory.
    #[error("entry {path:?} has no parent directory in the tree")]
    Orphan {
        /// The entry's path.
        path: String,
    },
    /// A name squashfs cannot hold (empty, over 256 bytes, with `/` or NUL).
    #[error("entry {path:?}: {why}")]
    BadEntry {
        /// The entry's path.
        path: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The image needs more than squashfs allows (65536 ids, 2^32 inodes, …).
    #[error("image too large for squashfs: {0}")]
    TooLarge(&'static str),
}

impl WriteError {
    pub(crate) fn io(op: &'static str) -> impl FnOnce(io::Error) -> WriteError {
        move |source| WriteError::Io { op, source }
    }

    pub(crate) fn entry(path: &[u8], why: &'static str) -> WriteError {
        WriteError::BadEntry {
            path: String::from_utf8_lossy(path).into_owned(),
            why,
        }
    }
}
