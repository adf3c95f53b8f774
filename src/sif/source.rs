//! Where a [`super::Sif`]'s bytes live: an open file (read-only or read-write) or a
//! byte buffer (for the fuzzer and tests). Positioned reads and writes only.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::Error;

/// The bytes behind a SIF.
#[derive(Debug)]
pub(crate) enum Source {
    /// An open file.
    File {
        file: File,
        path: PathBuf,
        writable: bool,
    },
    /// Bytes in memory (read-only).
    Memory(Vec<u8>),
}

impl Source {
    /// The path used in error messages.
    pub(crate) fn path(&self) -> &Path {
        match self {
            Source::File { path, .. } => path,
            Source::Memory(_) => Path::new("<memory>"),
        }
    }

    /// The current length in bytes.
    pub(crate) fn len(&self) -> Result<u64, Error> {
        match self {
            Source::File { file, path, .. } => file
                .metadata()
                .map(|m| m.len())
                .map_err(|e| Error::io("reading metadata of", path, e)),
            Source::Memory(b) => Ok(u64::try_from(b.len()).unwrap_or(u64::MAX)),
        }
    }

    /// Fills `buf` from offset `off`; a short file is [`Error::Truncated`].
    pub(crate) fn read_exact_at(
        &self,
        buf: &mut [u8],
        off: u64,
        what: &'static str,
    ) -> Result<(), Error> {
        match self {
            Source::File { file, path, .. } => file.read_exact_at(buf, off).map_err(|e| {
                if e.kind() == std::io::ErrorKind::UnexpectedEof {
                    Error::Truncated(what)
                } else {
                    Error::io("reading", path, e)
                }
            }),
            Source::Memory(b) => {
                let start = usize::try_from(off).map_err(|_| Error::Truncated(what))?;
                let end = start.checked_add(buf.len()).ok_or(Error::Truncated(what))?;
                let src = b.get(start..end).ok_or(Error::Truncated(what))?;
                buf.copy_from_slice(src);
                Ok(())
            }
        }
    }

    /// The writable file, or [`Error::ReadOnly`].
    pub(crate) fn writable(&self) -> Result<(&File, &Path), Error> {
        match self {
            Source::File {
                file,
                path,
                writable: true,
            } => Ok((file, path)),
            _ => Err(Error::ReadOnly),
        }
    }

    /// Writes all of `buf` at offset `off`.
    pub(crate) fn write_all_at(&self, buf: &[u8], off: u64) -> Result<(), Error> {
        let (file, path) = self.writable()?;
        file.write_all_at(buf, off)
            .map_err(|e| Error::io("writing", path, e))
    }

    /// Flushes written data and metadata to stable storage.
    pub(crate) fn sync(&self) -> Result<(), Error> {
        let (file, path) = self.writable()?;
        file.sync_all().map_err(|e| Error::io("syncing", path, e))
    }

    /// Truncates or extends the file to `len` bytes.
    pub(crate) fn set_len(&self, len: u64) -> Result<(), Error> {
        let (file, path) = self.writable()?;
        file.set_len(len)
            .map_err(|e| Error::io("truncating", path, e))
    }
}
