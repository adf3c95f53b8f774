//! Errors of reading a squashfs image, folded up from every table reader.

use crate::source::SourceError;

/// An error of opening or reading a squashfs image.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The image bytes could not be read.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The superblock does not start with the squashfs magic.
    #[error("not a squashfs image (magic {0:#x})")]
    BadMagic(u32),
    /// Only squashfs 4.0 is read.
    #[error("unsupported squashfs version {major}.{minor}")]
    Version {
        /// Major version found.
        major: u16,
        /// Minor version found.
        minor: u16,
    },
    /// The compressor id is unknown.
    #[error("unsupported compressor id {0}")]
    Compressor(u16),
    /// A structure of the image is inconsistent.
    #[error("corrupt image: {what} (at {at:#x})")]
    Corrupt {
        /// What was wrong.
        what: &'static str,
        /// Offset or reference where it was found.
        at: u64,
    },
    /// A block did not decompress.
    #[error("corrupt image: {compressor} block at {at:#x} does not decompress: {detail}")]
    Decompress {
        /// The compressor name.
        compressor: &'static str,
        /// Image offset of the block.
        at: u64,
        /// The decoder's message.
        detail: String,
    },
    /// A path component does not exist.
    #[error("no such file or directory: {0}")]
    NotFound(String),
    /// A directory operation on something else.
    #[error("not a directory")]
    NotDir,
    /// A file operation on a directory.
    #[error("is a directory")]
    IsDir,
    /// A symlink operation on something else.
    #[error("not a symbolic link")]
    NotSymlink,
    /// The inode has no extended attribute of that name.
    #[error("no such extended attribute")]
    NoXattr,
}

impl Error {
    /// A corruption found at `at`.
    pub(crate) fn corrupt(what: &'static str, at: u64) -> Self {
        Self::Corrupt { what, at }
    }

    /// True for errors that mean the image is damaged or unreadable (EIO).
    pub fn is_corrupt(&self) -> bool {
        matches!(
            self,
            Self::Source(_)
                | Self::BadMagic(_)
                | Self::Version { .. }
                | Self::Compressor(_)
                | Self::Corrupt { .. }
                | Self::Decompress { .. }
        )
    }
}

/// Result of the squashfs readers.
pub type Result<T> = std::result::Result<T, Error>;
