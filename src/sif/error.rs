//! Errors of the SIF module: reading, checking and writing SIF files.

use std::path::PathBuf;

use super::{DataType, DescriptorId};

/// What went wrong with a SIF file or a request on one.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O error while `op` on `path`.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done ("opening", "reading", ...).
        op: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The file is shorter than its header or tables say.
    #[error("truncated SIF: {0}")]
    Truncated(&'static str),
    /// The magic string is missing: not a SIF file.
    #[error("invalid SIF magic")]
    InvalidMagic,
    /// A SIF version other than 01.
    #[error("incompatible SIF version {0:?}")]
    IncompatibleVersion(String),
    /// A header or descriptor field is out of range.
    #[error("corrupt SIF: {0}")]
    Corrupt(String),
    /// Object id 0 never names an object.
    #[error("invalid object ID")]
    InvalidObjectId,
    /// Group id 0 never names a group.
    #[error("invalid group ID")]
    InvalidGroupId,
    /// The image holds no objects at all.
    #[error("no objects in image")]
    NoObjects,
    /// No object has this id.
    #[error("object not found: {0}")]
    ObjectNotFound(DescriptorId),
    /// Several objects match where one was asked for.
    #[error("multiple objects found")]
    MultipleObjectsFound,
    /// Every descriptor slot is in use.
    #[error("insufficient descriptor capacity to add data object(s) to image")]
    InsufficientCapacity,
    /// A second primary system partition was asked for.
    #[error("image already contains a primary partition")]
    PrimaryPartitionExists,
    /// The object is not a partition.
    #[error("data object not a partition")]
    NotPartition,
    /// The object is a partition, but not a system one.
    #[error("data object not a system partition")]
    NotSystemPartition,
    /// Metadata given for the wrong kind of object.
    #[error("unexpected data type {got}, expected one of: {want}")]
    UnexpectedDataType {
        /// The object's type.
        got: DataType,
        /// The types the metadata belongs to.
        want: &'static str,
    },
    /// An argument is not acceptable (name too long, unknown architecture, ...).
    #[error("{0}")]
    InvalidInput(String),
    /// A value would not fit in its on-disk field.
    #[error("integer overflow computing {0}")]
    Overflow(&'static str),
    /// The image was opened read-only (or from memory) and cannot be modified.
    #[error("image not opened for writing")]
    ReadOnly,
}

impl Error {
    /// Wraps an I/O error with the operation and the path.
    pub(crate) fn io(op: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    }
}
