//! The Singularity Image Format (SIF), version 01, as laid out by the reference
//! implementation (github.com/sylabs/sif v2).
//!
//! Input: a SIF file (or bytes, for the fuzzer). [`Sif::open`] reads and checks the
//! global header (`header.rs`) and the descriptor table (`descriptor.rs`); the
//! typed meaning of a descriptor's `extra` field lives in `datatype.rs`,
//! `partition.rs`, `signature.rs`, `message.rs`, `sbom.rs` and `oci.rs`.
//! Output: typed descriptors for `sifcri mount` (which hands the primary partition's
//! offset and size to `fusefs`), new SIF files ([`create`], written atomically) and
//! in-place edits ([`Sif::add`], [`Sif::delete`], [`Sif::set_primary`]).
//! [`siftool`] renders `header`, `list` and `info` exactly as the reference `siftool`.

mod arch;
mod atomic;
mod codes;
mod create;
mod datatype;
mod descriptor;
mod error;
mod header;
mod image;
mod input;
mod message;
mod modify;
mod oci;
mod partition;
mod sbom;
pub mod siftool;
mod signature;
mod source;
mod time;

pub use arch::Arch;
pub use create::{create, write_new, CreateOptions};
pub use datatype::DataType;
pub use descriptor::{
    Descriptor, DescriptorId, Link, DESCRIPTOR_SIZE, EXTRA_SIZE, GROUP_MASK, NAME_SIZE,
};
pub use error::Error;
pub use header::{Header, HEADER_SIZE};
pub use image::Sif;
pub use input::ObjectInput;
pub use message::{CryptoMessageInfo, FormatType, MessageType};
pub use modify::{DeleteOptions, ModifyOptions};
pub use oci::OciDigest;
pub use partition::{FsType, PartType, PartitionInfo};
pub use sbom::SbomFormat;
pub use signature::{HashType, SignatureInfo};
pub use time::{format_uuid, parse_uuid, GO_ZERO_TIME};

/// Where the magic string starts in a SIF file (after the 32-byte launch script).
pub const MAGIC_OFFSET: usize = 32;

/// The magic string, NUL included, as stored at [`MAGIC_OFFSET`].
pub const MAGIC: [u8; 10] = *b"SIF_MAGIC\0";

/// How many leading bytes [`is_sif`] needs to decide.
pub const PREFIX_LEN: usize = MAGIC_OFFSET + MAGIC.len();

/// Tells a SIF file from anything else (a plain squashfs image, say) by its first
/// [`PREFIX_LEN`] bytes; a shorter prefix is never a SIF.
pub fn is_sif(file_prefix: &[u8]) -> bool {
    file_prefix.get(MAGIC_OFFSET..PREFIX_LEN) == Some(&MAGIC[..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_sif_checks_magic_at_offset() {
        let mut b = vec![0u8; 64];
        assert!(!is_sif(&b));
        b[32..42].copy_from_slice(&MAGIC);
        assert!(is_sif(&b));
        assert!(!is_sif(&b[..41]));
        assert!(!is_sif(b"hsqs"));
    }
}
