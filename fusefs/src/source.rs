//! The bytes of one squashfs image: a file, an offset and a length.
//!
//! The caller (a SIF partition descriptor, or a whole `.sqfs` file) decides where the
//! image lives; every read here is a positioned `pread` checked against that window,
//! so the reader never sees bytes outside its partition.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Errors of reading the image window.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The file could not be opened or measured.
    #[error("cannot open image {path}")]
    Open {
        /// The path given.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A read reached past the end of the window.
    #[error("read of {len} bytes at {offset} is outside the image ({size} bytes)")]
    OutOfBounds {
        /// Offset inside the window.
        offset: u64,
        /// Bytes asked for.
        len: u64,
        /// Window length.
        size: u64,
    },
    /// The read itself failed.
    #[error("read of {len} bytes at {offset} failed")]
    Read {
        /// Offset inside the window.
        offset: u64,
        /// Bytes asked for.
        len: u64,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// A window `[offset, offset + len)` of a file holding a squashfs image.
#[derive(Debug)]
pub struct Source {
    file: File,
    offset: u64,
    len: u64,
}

impl Source {
    /// Serves `len` bytes of `file` starting at `offset`.
    pub fn new(file: File, offset: u64, len: u64) -> Self {
        Self { file, offset, len }
    }

    /// Serves a whole plain squashfs file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, SourceError> {
        let path = path.as_ref();
        let open_err = |source| SourceError::Open {
            path: path.display().to_string(),
            source,
        };
        let file = File::open(path).map_err(open_err)?;
        let len = file.metadata().map_err(open_err)?.len();
        Ok(Self::new(file, 0, len))
    }

    /// Serves a copy of `bytes` held in an anonymous memory file (tests, fuzzing).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SourceError> {
        let err = |source| SourceError::Open {
            path: "memfd".into(),
            source,
        };
        let fd =
            nix::sys::memfd::memfd_create("fusefs-image", nix::sys::memfd::MFdFlags::MFD_CLOEXEC)
                .map_err(|e| err(e.into()))?;
        let file = File::from(fd);
        file.write_all_at(bytes, 0).map_err(err)?;
        Ok(Self::new(file, 0, bytes.len() as u64))
    }

    /// Asks the kernel to start reading `[offset, offset + len)` of the window into the
    /// page cache in the background (a hint: errors are ignored).
    pub fn will_need(&self, offset: u64, len: u64) {
        use nix::fcntl::{posix_fadvise, PosixFadviseAdvice};
        let len = len.min(self.len.saturating_sub(offset));
        let (Some(abs), Ok(len)) = (self.offset.checked_add(offset), i64::try_from(len)) else {
            return;
        };
        if let Ok(abs) = i64::try_from(abs) {
            let _ = posix_fadvise(
                &self.file,
                abs,
                len,
                PosixFadviseAdvice::POSIX_FADV_WILLNEED,
            );
        }
    }

    /// The kernel's readahead on the file: off (`false`), each read brings in only the
    /// pages it asks for; on (`true`, the default), sequential reads are read ahead.
    /// Opening an image reads a few small pieces far apart, and with readahead on, the
    /// first ones look sequential and pull in hundreds of KiB around them from disk.
    /// A hint: errors are ignored.
    pub fn readahead(&self, on: bool) {
        use nix::fcntl::{posix_fadvise, PosixFadviseAdvice as A};
        let advice = if on {
            A::POSIX_FADV_NORMAL
        } else {
            A::POSIX_FADV_RANDOM
        };
        let _ = posix_fadvise(&self.file, 0, 0, advice);
    }

    /// Length of the window in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when the window holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Fills `buf` from window offset `offset`; fails when any byte lies outside.
    pub fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), SourceError> {
        let len = buf.len() as u64;
        let out = SourceError::OutOfBounds {
            offset,
            len,
            size: self.len,
        };
        let end = offset.checked_add(len).ok_or(out)?;
        if end > self.len {
            return Err(SourceError::OutOfBounds {
                offset,
                len,
                size: self.len,
            });
        }
        let abs = self
            .offset
            .checked_add(offset)
            .ok_or(SourceError::OutOfBounds {
                offset,
                len,
                size: self.len,
            })?;
        self.file
            .read_exact_at(buf, abs)
            .map_err(|source| SourceError::Read {
                offset,
                len,
                source,
            })
    }
}
