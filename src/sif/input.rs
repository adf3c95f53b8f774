//! A data object to be added to a SIF: its type, where its bytes come from, and the
//! descriptor fields to record (group, link, alignment, name, time, metadata).
//! Defaults follow the reference implementation's `NewDescriptorInput`.

use std::io::Read;

use sha2::{Digest, Sha256};

use super::descriptor::GROUP_MASK;
use super::{
    CryptoMessageInfo, DataType, Descriptor, Error, OciDigest, PartitionInfo, SbomFormat,
    SignatureInfo, EXTRA_SIZE, NAME_SIZE,
};

/// The reference implementation's default object group.
pub const DEFAULT_GROUP: u32 = 1;

/// A data object to add: build with [`ObjectInput::new`] and the setters.
pub struct ObjectInput<'a> {
    pub(crate) datatype: DataType,
    reader: Box<dyn Read + 'a>,
    group: u32,
    link_raw: u32,
    pub(crate) alignment: u64,
    name: Vec<u8>,
    time: Option<i64>,
    pub(crate) extra: Option<[u8; EXTRA_SIZE]>,
    pub(crate) error: Option<Error>,
}

impl<'a> ObjectInput<'a> {
    /// An object of type `datatype` whose bytes are read from `reader`; in group 1,
    /// unlinked, unnamed, aligned to 4096 bytes if a partition, unaligned otherwise.
    /// OCI root index and blob objects get the SHA-256 digest of their bytes.
    pub fn new(datatype: DataType, reader: impl Read + 'a) -> Self {
        ObjectInput {
            datatype,
            reader: Box::new(reader),
            group: DEFAULT_GROUP,
            link_raw: 0,
            alignment: if datatype == DataType::Partition {
                4096
            } else {
                0
            },
            name: Vec::new(),
            time: None,
            extra: None,
            error: None,
        }
    }

    fn fail(mut self, e: Error) -> Self {
        self.error.get_or_insert(e);
        self
    }

    /// Puts the object in group `id` (non-zero).
    pub fn group(mut self, id: u32) -> Self {
        if id == 0 || id & GROUP_MASK != 0 {
            return self.fail(Error::InvalidGroupId);
        }
        self.group = id;
        self
    }

    /// Puts the object in no group.
    pub fn no_group(mut self) -> Self {
        self.group = 0;
        self
    }

    /// Links the object to object `id` (non-zero).
    pub fn link(mut self, id: u32) -> Self {
        if id == 0 || id & GROUP_MASK != 0 {
            return self.fail(Error::InvalidObjectId);
        }
        self.link_raw = id;
        self
    }

    /// Links the object to group `id` (non-zero).
    pub fn link_group(mut self, id: u32) -> Self {
        if id == 0 || id & GROUP_MASK != 0 {
            return self.fail(Error::InvalidGroupId);
        }
        self.link_raw = id | GROUP_MASK;
        self
    }

    /// Aligns the object's start to a multiple of `n` bytes (0 or 1: no alignment).
    pub fn alignment(mut self, n: u64) -> Self {
        self.alignment = n;
        self
    }

    /// Names the object (at most 128 bytes).
    pub fn name(mut self, name: impl Into<Vec<u8>>) -> Self {
        let name = name.into();
        if name.len() > NAME_SIZE {
            return self.fail(Error::InvalidInput("name value too large".into()));
        }
        self.name = name;
        self
    }

    /// Sets the object's creation/modification time (default: the image's time).
    pub fn time(mut self, secs: i64) -> Self {
        self.time = Some(secs);
        self
    }

    /// Sets raw metadata for the `extra` field.
    pub fn metadata(mut self, extra: [u8; EXTRA_SIZE]) -> Self {
        self.extra = Some(extra);
        self
    }

    fn typed(self, want: DataType, extra: [u8; EXTRA_SIZE], name: &'static str) -> Self {
        if self.datatype != want {
            let got = self.datatype;
            return self.fail(Error::UnexpectedDataType { got, want: name });
        }
        self.metadata(extra)
    }

    /// Partition metadata (partition objects; the architecture must be known).
    pub fn partition(self, p: PartitionInfo) -> Self {
        if !p.arch.is_known() {
            let msg = format!("unknown architecture: {}", p.arch);
            return self.fail(Error::InvalidInput(msg));
        }
        self.typed(DataType::Partition, p.encode(), "[FS]")
    }

    /// Signature metadata (signature objects).
    pub fn signature(self, s: SignatureInfo) -> Self {
        self.typed(DataType::Signature, s.encode(), "[Signature]")
    }

    /// Crypto message metadata (crypto message objects).
    pub fn crypto_message(self, m: CryptoMessageInfo) -> Self {
        let want = DataType::CryptoMessage;
        self.typed(want, m.encode(), "[Cryptographic Message]")
    }

    /// The SBOM format (SBOM objects).
    pub fn sbom(self, f: SbomFormat) -> Self {
        self.typed(DataType::Sbom, f.encode(), "[SBOM]")
    }

    /// The partition metadata this input will record, if any.
    pub(crate) fn partition_info(&self) -> Option<PartitionInfo> {
        let extra = self.extra.as_ref()?;
        (self.datatype == DataType::Partition).then(|| PartitionInfo::decode(extra))
    }

    /// Streams the bytes to `sink(chunk, offset)` starting at `offset`; returns the
    /// byte count and, for OCI objects, their digest.
    pub(crate) fn stream(
        &mut self,
        offset: u64,
        sink: &mut Sink<'_>,
    ) -> Result<(u64, Option<OciDigest>), Error> {
        let oci = matches!(self.datatype, DataType::OciRootIndex | DataType::OciBlob);
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut n: u64 = 0;
        loop {
            let got = match self.reader.read(&mut buf) {
                Ok(0) => break,
                Ok(got) => got,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io("reading object input", "<input>".as_ref(), e)),
            };
            let at = offset.checked_add(n).ok_or(Error::Overflow("object end"))?;
            sink(&buf[..got], at)?;
            if oci {
                hasher.update(&buf[..got]);
            }
            n = n
                .checked_add(got as u64)
                .ok_or(Error::Overflow("object size"))?;
        }
        Ok((n, oci.then(|| OciDigest(hasher.finalize().into()))))
    }

    /// Fills descriptor `d` (slot `id`) for data written at `offset`, `size` bytes,
    /// `padding` bytes after the previous end.
    pub(crate) fn fill(&self, d: &mut Descriptor, placed: Placed) -> Result<(), Error> {
        let i64_of = |v: u64, what| i64::try_from(v).map_err(|_| Error::Overflow(what));
        let t = self.time.unwrap_or(placed.time);
        *d = Descriptor::empty();
        d.datatype = self.datatype;
        d.used = true;
        d.id = placed.id;
        d.group_raw = self.group | GROUP_MASK;
        d.link_raw = self.link_raw;
        d.offset = i64_of(placed.offset, "object offset")?;
        d.size = i64_of(placed.size, "object size")?;
        let padded = placed.size.checked_add(placed.padding);
        d.size_with_padding = i64_of(padded.ok_or(Error::Overflow("padding"))?, "padding")?;
        d.created_at = t;
        d.modified_at = t;
        d.name[..self.name.len()].copy_from_slice(&self.name);
        d.extra = match (self.extra, placed.digest) {
            (Some(extra), _) => extra,
            (None, Some(digest)) => digest.encode(),
            (None, None) => [0; EXTRA_SIZE],
        };
        Ok(())
    }
}

/// Where streamed object bytes go: `sink(chunk, file_offset)`.
pub(crate) type Sink<'a> = dyn FnMut(&[u8], u64) -> Result<(), Error> + 'a;

/// Where and when an object was written, for [`ObjectInput::fill`].
pub(crate) struct Placed {
    pub(crate) id: u32,
    pub(crate) offset: u64,
    pub(crate) size: u64,
    pub(crate) padding: u64,
    pub(crate) time: i64,
    pub(crate) digest: Option<OciDigest>,
}

/// The first offset at or after `offset` that is a multiple of `alignment`.
pub(crate) fn align(offset: u64, alignment: u64) -> Result<u64, Error> {
    if alignment <= 1 || offset % alignment == 0 {
        return Ok(offset);
    }
    offset
        .checked_add(alignment - offset % alignment)
        .filter(|&o| i64::try_from(o).is_ok())
        .ok_or(Error::Overflow("alignment"))
}
