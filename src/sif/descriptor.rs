//! Object descriptors: fixed 585-byte records in the descriptor table, one per slot,
//! describing a data object (type, ids, extent, times, name, type-specific `extra`).

use std::fmt;

use super::codes::{array, le_i32, le_i64, le_u32, trim_nul};
use super::{
    CryptoMessageInfo, DataType, Error, OciDigest, PartType, PartitionInfo, SbomFormat,
    SignatureInfo,
};

/// Size of one descriptor on disk.
pub const DESCRIPTOR_SIZE: usize = 585;
/// Size of the name field.
pub const NAME_SIZE: usize = 128;
/// Size of the type-specific `extra` field.
pub const EXTRA_SIZE: usize = 384;
/// The bits that mark a group id (in `groupid`, and in `linkid` when it names a group).
pub const GROUP_MASK: u32 = 0xf000_0000;

/// The id of a data object (1-based; 0 names no object).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DescriptorId(pub u32);

impl fmt::Display for DescriptorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What an object is linked to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Nothing.
    None,
    /// Another object (a signature of one partition, say).
    Object(DescriptorId),
    /// An object group (a signature of a whole group).
    Group(u32),
}

/// One descriptor, as read from (or to be written to) the descriptor table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    pub(crate) datatype: DataType,
    pub(crate) used: bool,
    pub(crate) id: u32,
    pub(crate) group_raw: u32,
    pub(crate) link_raw: u32,
    pub(crate) offset: i64,
    pub(crate) size: i64,
    pub(crate) size_with_padding: i64,
    pub(crate) created_at: i64,
    pub(crate) modified_at: i64,
    pub(crate) uid: i64,
    pub(crate) gid: i64,
    pub(crate) name: [u8; NAME_SIZE],
    pub(crate) extra: [u8; EXTRA_SIZE],
}

impl Descriptor {
    /// An unused slot (all zero).
    pub(crate) fn empty() -> Self {
        Self::decode(&[0; DESCRIPTOR_SIZE])
    }

    /// Decodes one on-disk descriptor (any bytes are some descriptor; ranges are
    /// checked by [`super::Sif`] for slots in use).
    pub(crate) fn decode(b: &[u8; DESCRIPTOR_SIZE]) -> Self {
        let i = |at| le_i64(b, at).unwrap_or(0);
        let u = |at| le_u32(b, at).unwrap_or(0);
        Descriptor {
            datatype: DataType::from_code(le_i32(b, 0).unwrap_or(0)),
            used: b[4] != 0,
            id: u(5),
            group_raw: u(9),
            link_raw: u(13),
            offset: i(17),
            size: i(25),
            size_with_padding: i(33),
            created_at: i(41),
            modified_at: i(49),
            uid: i(57),
            gid: i(65),
            name: array(b, 73).unwrap_or([0; NAME_SIZE]),
            extra: array(b, 201).unwrap_or([0; EXTRA_SIZE]),
        }
    }

    /// Encodes to the on-disk layout.
    pub(crate) fn encode(&self) -> [u8; DESCRIPTOR_SIZE] {
        let mut b = [0u8; DESCRIPTOR_SIZE];
        b[0..4].copy_from_slice(&self.datatype.code().to_le_bytes());
        b[4] = u8::from(self.used);
        b[5..9].copy_from_slice(&self.id.to_le_bytes());
        b[9..13].copy_from_slice(&self.group_raw.to_le_bytes());
        b[13..17].copy_from_slice(&self.link_raw.to_le_bytes());
        let ints = [
            self.offset,
            self.size,
            self.size_with_padding,
            self.created_at,
            self.modified_at,
            self.uid,
            self.gid,
        ];
        for (chunk, v) in b[17..73].chunks_exact_mut(8).zip(ints) {
            chunk.copy_from_slice(&v.to_le_bytes());
        }
        b[73..201].copy_from_slice(&self.name);
        b[201..].copy_from_slice(&self.extra);
        b
    }

    /// The object's id.
    pub fn id(&self) -> DescriptorId {
        DescriptorId(self.id)
    }

    /// The object's type.
    pub fn datatype(&self) -> DataType {
        self.datatype
    }

    /// Where the object's data starts in the file.
    pub fn offset(&self) -> u64 {
        // Checked non-negative by `Sif` for every descriptor it hands out.
        u64::try_from(self.offset).unwrap_or(0)
    }

    /// The object's size in bytes.
    pub fn size(&self) -> u64 {
        u64::try_from(self.size).unwrap_or(0)
    }

    /// The object's size plus the alignment padding before it.
    pub fn size_with_padding(&self) -> i64 {
        self.size_with_padding
    }

    /// The group the object is in, or `None`.
    pub fn group_id(&self) -> Option<u32> {
        Some(self.group_raw & !GROUP_MASK).filter(|&g| g != 0)
    }

    /// What the object is linked to.
    pub fn link(&self) -> Link {
        let id = self.link_raw & !GROUP_MASK;
        match (id, self.link_raw & GROUP_MASK == GROUP_MASK) {
            (0, _) => Link::None,
            (id, true) => Link::Group(id),
            (id, false) => Link::Object(DescriptorId(id)),
        }
    }

    /// Creation time, seconds since the epoch.
    pub fn created_at(&self) -> i64 {
        self.created_at
    }

    /// Modification time, seconds since the epoch.
    pub fn modified_at(&self) -> i64 {
        self.modified_at
    }

    /// The deprecated owner fields (uid, gid), kept for compatibility.
    pub fn owner(&self) -> (i64, i64) {
        (self.uid, self.gid)
    }

    /// The object's name without its NUL padding (raw bytes, usually UTF-8).
    pub fn name(&self) -> &[u8] {
        trim_nul(&self.name)
    }

    /// The raw type-specific metadata.
    pub fn extra(&self) -> &[u8; EXTRA_SIZE] {
        &self.extra
    }

    /// Partition metadata, for partition objects.
    pub fn partition(&self) -> Option<PartitionInfo> {
        (self.datatype == DataType::Partition).then(|| PartitionInfo::decode(&self.extra))
    }

    /// Whether this is the primary system partition.
    pub fn is_primary_partition(&self) -> bool {
        self.partition()
            .is_some_and(|p| p.part == PartType::PrimarySystem)
    }

    /// Signature metadata, for signature objects.
    pub fn signature(&self) -> Option<SignatureInfo> {
        (self.datatype == DataType::Signature).then(|| SignatureInfo::decode(&self.extra))
    }

    /// Crypto message metadata, for crypto message objects.
    pub fn crypto_message(&self) -> Option<CryptoMessageInfo> {
        (self.datatype == DataType::CryptoMessage).then(|| CryptoMessageInfo::decode(&self.extra))
    }

    /// The SBOM format, for SBOM objects.
    pub fn sbom_format(&self) -> Option<SbomFormat> {
        (self.datatype == DataType::Sbom).then(|| SbomFormat::decode(&self.extra))
    }

    /// The blob digest, for OCI root index and OCI blob objects.
    pub fn oci_digest(&self) -> Result<OciDigest, Error> {
        match self.datatype {
            DataType::OciRootIndex | DataType::OciBlob => OciDigest::decode(&self.extra),
            got => Err(Error::UnexpectedDataType {
                got,
                want: "[OCI.RootIndex OCI.Blob]",
            }),
        }
    }

    /// The end of the object's data (offset + size), checked.
    pub(crate) fn end(&self) -> Option<i64> {
        self.offset.checked_add(self.size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_every_field() {
        let mut b = [0u8; DESCRIPTOR_SIZE];
        for (i, x) in b.iter_mut().enumerate() {
            *x = u8::try_from(i % 251).unwrap();
        }
        b[4] = 1;
        let d = Descriptor::decode(&b);
        assert_eq!(d.encode(), b);
        assert_eq!(Descriptor::empty().encode(), [0; DESCRIPTOR_SIZE]);
    }

    #[test]
    fn groups_and_links() {
        let mut d = Descriptor::empty();
        d.group_raw = GROUP_MASK | 2;
        d.link_raw = GROUP_MASK | 1;
        assert_eq!(d.group_id(), Some(2));
        assert_eq!(d.link(), Link::Group(1));
        d.group_raw = GROUP_MASK;
        d.link_raw = 3;
        assert_eq!(d.group_id(), None);
        assert_eq!(d.link(), Link::Object(DescriptorId(3)));
    }
}
