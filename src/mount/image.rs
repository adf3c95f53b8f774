//! Finds the squashfs to serve in an image file: a SIF's squashfs partition, or a
//! plain squashfs file as a whole.
//!
//! Input: the path given to `sifcri mount` and its `--partition`; output: the open
//! file with the byte range of the squashfs, for `fusefs::Source`.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::sif::{Descriptor, DescriptorId, FsType, PartType, Sif};

use super::Error;

/// squashfs' magic, little-endian, at offset 0 of the filesystem.
const SQUASHFS_MAGIC: &[u8; 4] = b"hsqs";

/// The squashfs byte range of an image.
#[derive(Debug)]
pub struct ImageSource {
    /// The image file.
    pub file: File,
    /// Where the squashfs starts.
    pub offset: u64,
    /// How long it is.
    pub len: u64,
    /// The image path, for messages and mountinfo.
    pub path: PathBuf,
}

impl ImageSource {
    /// Opens `path`: a SIF (its primary system partition, or descriptor `partition`)
    /// or a plain squashfs file (then `partition` must be `None`).
    pub fn open(path: &Path, partition: Option<u32>) -> Result<Self, Error> {
        let read_err = |source| Error::ReadImage {
            path: path.to_owned(),
            source,
        };
        let mut file = File::open(path).map_err(read_err)?;
        // The header and descriptors are a few KiB at the start: no readahead for them
        // (fusefs::Squashfs::open turns it back on for the data).
        let _ = nix::fcntl::posix_fadvise(
            &file,
            0,
            0,
            nix::fcntl::PosixFadviseAdvice::POSIX_FADV_RANDOM,
        );
        let mut prefix = Vec::with_capacity(crate::sif::PREFIX_LEN);
        (&mut file)
            .take(crate::sif::PREFIX_LEN as u64)
            .read_to_end(&mut prefix)
            .map_err(read_err)?;
        if crate::sif::is_sif(&prefix) {
            return Self::from_sif(file, path, partition);
        }
        if !prefix.starts_with(SQUASHFS_MAGIC) {
            return Err(Error::NotAnImage {
                path: path.to_owned(),
            });
        }
        if partition.is_some() {
            return Err(Error::PartitionOfPlainSquashfs {
                path: path.to_owned(),
            });
        }
        let len = file.metadata().map_err(read_err)?.len();
        Ok(ImageSource {
            file,
            offset: 0,
            len,
            path: path.to_owned(),
        })
    }

    fn from_sif(file: File, path: &Path, partition: Option<u32>) -> Result<Self, Error> {
        // The same open file (one readahead state), not a second open.
        let dup = file.try_clone().map_err(|source| Error::ReadImage {
            path: path.to_owned(),
            source,
        })?;
        let sif = Sif::from_file(dup, path).map_err(|source| Error::Sif {
            path: path.to_owned(),
            source,
        })?;
        let missing = |what: String| Error::NoPartition {
            path: path.to_owned(),
            what,
        };
        let desc = match partition {
            Some(id) => sif
                .descriptor(DescriptorId(id))
                .ok_or_else(|| missing(format!("descriptor {id}")))?,
            None => sif
                .primary_partition()
                .or_else(|| only_system_partition(&sif))
                .ok_or_else(|| missing("primary system partition".to_owned()))?,
        };
        let id = desc.id().0;
        match desc.partition() {
            Some(info) if info.fs == FsType::Squashfs => {}
            Some(info) => {
                return Err(Error::NotSquashfs {
                    path: path.to_owned(),
                    id,
                    kind: format!("a {:?} partition", info.fs),
                })
            }
            None => {
                return Err(Error::NotSquashfs {
                    path: path.to_owned(),
                    id,
                    kind: "not a partition".to_owned(),
                })
            }
        }
        Ok(ImageSource {
            file,
            offset: desc.offset(),
            len: desc.size(),
            path: path.to_owned(),
        })
    }
}

/// Without a primary system partition, the one squashfs system partition, if there
/// is exactly one (as `sifcri sif add --parttype system` makes).
fn only_system_partition(sif: &Sif) -> Option<&Descriptor> {
    let mut found = sif.descriptors().filter(|d| {
        d.partition()
            .is_some_and(|p| p.part == PartType::System && p.fs == FsType::Squashfs)
    });
    match (found.next(), found.next()) {
        (Some(d), None) => Some(d),
        _ => None,
    }
}
