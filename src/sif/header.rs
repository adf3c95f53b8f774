//! The SIF global header: 128 bytes at offset 0 (launch script, magic, version,
//! architecture, UUID, times, descriptor table and data section extents), all
//! integers little-endian.

use super::codes::{array, le_i64};
use super::{Arch, Error, MAGIC};

/// Size of the global header on disk.
pub const HEADER_SIZE: usize = 128;

/// Size of the launch script field (`#!/usr/bin/env ...`, NUL-padded).
pub const LAUNCH_SCRIPT_SIZE: usize = 32;

/// The only SIF version there is, NUL-terminated.
pub const VERSION: [u8; 3] = *b"01\0";

/// The global header, field by field as on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Launch script, NUL-padded.
    pub launch_script: [u8; LAUNCH_SCRIPT_SIZE],
    /// Format version (`"01\0"`).
    pub version: [u8; 3],
    /// Architecture of the primary partition ([`Arch::UNKNOWN`] without one).
    pub arch: Arch,
    /// Image UUID (all zero in deterministic images).
    pub id: [u8; 16],
    /// Creation time, seconds since the epoch.
    pub created_at: i64,
    /// Modification time, seconds since the epoch.
    pub modified_at: i64,
    /// Number of free descriptor slots.
    pub descriptors_free: i64,
    /// Number of descriptor slots.
    pub descriptors_total: i64,
    /// Offset of the descriptor table.
    pub descriptors_offset: i64,
    /// Size of the descriptor table in bytes.
    pub descriptors_size: i64,
    /// Offset of the data section.
    pub data_offset: i64,
    /// Size of the data section in bytes.
    pub data_size: i64,
}

impl Header {
    /// Decodes and checks magic and version.
    pub fn decode(b: &[u8; HEADER_SIZE]) -> Result<Self, Error> {
        let corrupt = || Error::Truncated("global header");
        let magic: [u8; 10] = array(b, 32).ok_or_else(corrupt)?;
        if magic != MAGIC {
            return Err(Error::InvalidMagic);
        }
        let version: [u8; 3] = array(b, 42).ok_or_else(corrupt)?;
        if version != VERSION {
            let text = super::codes::trim_nul(&version);
            return Err(Error::IncompatibleVersion(
                String::from_utf8_lossy(text).into_owned(),
            ));
        }
        let i = |at| le_i64(b, at).ok_or_else(corrupt);
        Ok(Header {
            launch_script: array(b, 0).ok_or_else(corrupt)?,
            version,
            arch: Arch(array(b, 45).ok_or_else(corrupt)?),
            id: array(b, 48).ok_or_else(corrupt)?,
            created_at: i(64)?,
            modified_at: i(72)?,
            descriptors_free: i(80)?,
            descriptors_total: i(88)?,
            descriptors_offset: i(96)?,
            descriptors_size: i(104)?,
            data_offset: i(112)?,
            data_size: i(120)?,
        })
    }

    /// Encodes to the on-disk layout.
    pub fn encode(&self) -> [u8; HEADER_SIZE] {
        let mut b = [0u8; HEADER_SIZE];
        b[0..32].copy_from_slice(&self.launch_script);
        b[32..42].copy_from_slice(&MAGIC);
        b[42..45].copy_from_slice(&self.version);
        b[45..48].copy_from_slice(&self.arch.0);
        b[48..64].copy_from_slice(&self.id);
        let ints = [
            self.created_at,
            self.modified_at,
            self.descriptors_free,
            self.descriptors_total,
            self.descriptors_offset,
            self.descriptors_size,
            self.data_offset,
            self.data_size,
        ];
        for (chunk, v) in b[64..].chunks_exact_mut(8).zip(ints) {
            chunk.copy_from_slice(&v.to_le_bytes());
        }
        b
    }

    /// The launch script without its NUL padding.
    pub fn launch_script(&self) -> &[u8] {
        super::codes::trim_nul(&self.launch_script)
    }

    /// The version without its NUL (`"01"`).
    pub fn version(&self) -> String {
        String::from_utf8_lossy(super::codes::trim_nul(&self.version)).into_owned()
    }

    /// Whether UUID and times hold the reference implementation's deterministic values
    /// (nil UUID, Go's zero time).
    pub fn is_deterministic(&self) -> bool {
        let zero = super::GO_ZERO_TIME;
        self.id == [0; 16] && self.created_at == zero && self.modified_at == zero
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_checks() {
        let mut h = Header {
            launch_script: [0; 32],
            version: VERSION,
            arch: Arch::AMD64,
            id: [7; 16],
            created_at: -1,
            modified_at: 2,
            descriptors_free: 3,
            descriptors_total: 4,
            descriptors_offset: 4096,
            descriptors_size: 6,
            data_offset: 7,
            data_size: 8,
        };
        h.launch_script[..4].copy_from_slice(b"#!/x");
        let b = h.encode();
        assert_eq!(Header::decode(&b).unwrap(), h);
        assert_eq!(h.launch_script(), b"#!/x");
        let mut bad = b;
        bad[32] = b'X';
        assert!(matches!(Header::decode(&bad), Err(Error::InvalidMagic)));
        let mut bad = b;
        bad[43] = b'2';
        assert!(matches!(
            Header::decode(&bad),
            Err(Error::IncompatibleVersion(v)) if v == "02"
        ));
    }
}
