//! Partition objects: the file system type, partition type and architecture stored in
//! the first 11 bytes of a partition descriptor's `extra` field.

use super::codes::{array, code_enum, le_i32};
use super::{Arch, EXTRA_SIZE};

code_enum! {
    /// The file system in a partition.
    FsType, unknown = "Unknown",
    {
        /// Squashfs, read-only.
        Squashfs = 1 => "Squashfs",
        /// Ext3, read-write (deprecated).
        Ext3 = 2 => "Ext3",
        /// An immutable data object archive.
        ImmutableObject = 3 => "Archive",
        /// Raw data.
        Raw = 4 => "Raw",
        /// Encrypted squashfs, read-only.
        EncryptedSquashfs = 5 => "Encrypted squashfs",
    }
}

code_enum! {
    /// What a partition is for.
    PartType, unknown = "Unknown",
    {
        /// An operating system.
        System = 1 => "System",
        /// The primary operating system (at most one per image).
        PrimarySystem = 2 => "*System",
        /// Data only.
        Data = 3 => "Data",
        /// An overlay.
        Overlay = 4 => "Overlay",
    }
}

impl FsType {
    /// The type for a `siftool --partfs` number or a name (`squashfs`, `ext3`, `raw`, ...).
    /// Like `siftool`, any non-zero number is accepted.
    pub fn from_name(s: &str) -> Option<Self> {
        if let Ok(n) = s.parse::<i32>() {
            return (n != 0).then(|| Self::from_code(n));
        }
        Some(
            match s.to_ascii_lowercase().replace(['-', '_', ' '], "").as_str() {
                "squashfs" | "squash" => Self::Squashfs,
                "ext3" => Self::Ext3,
                "immuobj" | "archive" | "immutableobject" => Self::ImmutableObject,
                "raw" => Self::Raw,
                "encryptedsquashfs" | "encryptedsquash" => Self::EncryptedSquashfs,
                _ => return None,
            },
        )
    }
}

impl PartType {
    /// The type for a `siftool --parttype` number or a name (`system`, `primsys`, `data`,
    /// `overlay`). Like `siftool`, any non-zero number is accepted.
    pub fn from_name(s: &str) -> Option<Self> {
        if let Ok(n) = s.parse::<i32>() {
            return (n != 0).then(|| Self::from_code(n));
        }
        Some(
            match s.to_ascii_lowercase().replace(['-', '_', ' '], "").as_str() {
                "system" | "sys" => Self::System,
                "primsys" | "primary" | "primarysystem" | "*system" => Self::PrimarySystem,
                "data" => Self::Data,
                "overlay" => Self::Overlay,
                _ => return None,
            },
        )
    }
}

/// The metadata of a partition object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PartitionInfo {
    /// The file system in it.
    pub fs: FsType,
    /// What it is for.
    pub part: PartType,
    /// The architecture of its programs.
    pub arch: Arch,
}

impl PartitionInfo {
    /// Decodes the `extra` field of a partition descriptor (never fails: every byte
    /// pattern is some value, as in the reference implementation).
    pub(crate) fn decode(extra: &[u8; EXTRA_SIZE]) -> Self {
        PartitionInfo {
            fs: FsType::from_code(le_i32(extra, 0).unwrap_or(0)),
            part: PartType::from_code(le_i32(extra, 4).unwrap_or(0)),
            arch: Arch(array(extra, 8).unwrap_or([0; 3])),
        }
    }

    /// Encodes into a zero-filled `extra` field.
    pub(crate) fn encode(&self) -> [u8; EXTRA_SIZE] {
        let mut extra = [0u8; EXTRA_SIZE];
        extra[0..4].copy_from_slice(&self.fs.code().to_le_bytes());
        extra[4..8].copy_from_slice(&self.part.code().to_le_bytes());
        extra[8..11].copy_from_slice(&self.arch.0);
        extra
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let p = PartitionInfo {
            fs: FsType::Squashfs,
            part: PartType::PrimarySystem,
            arch: Arch::AMD64,
        };
        assert_eq!(PartitionInfo::decode(&p.encode()), p);
        assert_eq!(&p.encode()[..11], b"\x01\0\0\0\x02\0\0\0\x30\x32\0");
    }

    #[test]
    fn names() {
        assert_eq!(FsType::from_name("squashfs"), Some(FsType::Squashfs));
        assert_eq!(FsType::from_name("5"), Some(FsType::EncryptedSquashfs));
        assert_eq!(FsType::from_name("0"), None);
        assert_eq!(
            PartType::from_name("primsys"),
            Some(PartType::PrimarySystem)
        );
        assert_eq!(PartType::from_name("9"), Some(PartType::Unknown(9)));
        assert_eq!(PartType::PrimarySystem.to_string(), "*System");
    }
}
