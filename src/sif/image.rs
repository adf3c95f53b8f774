//! An opened SIF: the checked global header and descriptor table, and the source its
//! objects are read from. Every descriptor it hands out lies inside the file.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

use super::source::Source;
use super::{Descriptor, DescriptorId, Error, Header, DESCRIPTOR_SIZE, HEADER_SIZE};

/// Most descriptor slots a SIF may have (the reference implementation creates 48).
pub const MAX_DESCRIPTORS: i64 = 1 << 20;

/// A SIF image: header, descriptors and the bytes behind them.
#[derive(Debug)]
pub struct Sif {
    pub(crate) source: Source,
    pub(crate) header: Header,
    pub(crate) slots: Vec<Descriptor>,
}

impl Sif {
    /// Opens a SIF file read-only and checks its header and descriptor table.
    pub fn open(path: &Path) -> Result<Sif, Error> {
        Self::open_with(path, false)
    }

    /// Opens a SIF file for [`Sif::add`], [`Sif::delete`] and [`Sif::set_primary`].
    pub fn open_rw(path: &Path) -> Result<Sif, Error> {
        Self::open_with(path, true)
    }

    fn open_with(path: &Path, writable: bool) -> Result<Sif, Error> {
        let file: File = OpenOptions::new()
            .read(true)
            .write(writable)
            .open(path)
            .map_err(|e| Error::io("opening", path, e))?;
        Self::load(Source::File {
            file,
            path: path.to_path_buf(),
            writable,
        })
    }

    /// Reads a SIF from `file`, already open for reading (read-only); `path` names it in
    /// messages.
    pub fn from_file(file: File, path: &Path) -> Result<Sif, Error> {
        Self::load(Source::File {
            file,
            path: path.to_path_buf(),
            writable: false,
        })
    }

    /// Parses a SIF held in memory (read-only).
    pub fn from_bytes(bytes: &[u8]) -> Result<Sif, Error> {
        Self::load(Source::Memory(bytes.to_vec()))
    }

    fn load(source: Source) -> Result<Sif, Error> {
        let len = source.len()?;
        let mut hb = [0u8; HEADER_SIZE];
        let have = usize::try_from(len).map_or(HEADER_SIZE, |l| l.min(HEADER_SIZE));
        source.read_exact_at(&mut hb[..have], 0, "global header")?;
        if !super::is_sif(&hb[..have]) {
            return Err(Error::InvalidMagic);
        }
        source.read_exact_at(&mut hb, 0, "global header")?;
        let header = Header::decode(&hb)?;
        let slots = read_table(&source, &header, len)?;
        for d in slots.iter().filter(|d| d.used) {
            check_extent(d, len)?;
        }
        Ok(Sif {
            source,
            header,
            slots,
        })
    }

    /// The global header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The file's path (`<memory>` for [`Sif::from_bytes`]).
    pub fn path(&self) -> &Path {
        self.source.path()
    }

    /// The descriptors in use, in table order.
    pub fn descriptors(&self) -> impl Iterator<Item = &Descriptor> {
        self.slots.iter().filter(|d| d.used)
    }

    /// The first descriptor in use with this id.
    pub fn descriptor(&self, id: DescriptorId) -> Option<&Descriptor> {
        self.descriptors().find(|d| d.id() == id)
    }

    /// The one descriptor with this id, with the reference implementation's errors
    /// (id 0, no objects at all, none found, several found).
    pub fn find(&self, id: DescriptorId) -> Result<&Descriptor, Error> {
        if self.header.descriptors_free == self.header.descriptors_total {
            return Err(Error::NoObjects);
        }
        if id.0 == 0 {
            return Err(Error::InvalidObjectId);
        }
        let mut found = self.descriptors().filter(|d| d.id() == id);
        match (found.next(), found.next()) {
            (Some(d), None) => Ok(d),
            (Some(_), Some(_)) => Err(Error::MultipleObjectsFound),
            (None, _) => Err(Error::ObjectNotFound(id)),
        }
    }

    /// The primary system partition, if there is one.
    pub fn primary_partition(&self) -> Option<&Descriptor> {
        self.descriptors().find(|d| d.is_primary_partition())
    }

    /// Copies an object's data to `out`; returns the number of bytes copied.
    pub fn copy_object(&self, d: &Descriptor, out: &mut dyn Write) -> Result<u64, Error> {
        let mut buf = vec![0u8; 64 * 1024];
        let (mut off, end) = (d.offset(), d.offset().saturating_add(d.size()));
        while off < end {
            let n = usize::try_from(end - off)
                .unwrap_or(buf.len())
                .min(buf.len());
            self.source
                .read_exact_at(&mut buf[..n], off, "object data")?;
            out.write_all(&buf[..n])
                .map_err(|e| Error::io("writing object data from", self.path(), e))?;
            off += n as u64;
        }
        Ok(d.size())
    }

    /// An object's data, read into memory (its size is checked against the file).
    pub fn read_object(&self, d: &Descriptor) -> Result<Vec<u8>, Error> {
        let mut v = Vec::new();
        let n = usize::try_from(d.size()).map_err(|_| Error::Overflow("object size"))?;
        v.try_reserve_exact(n)
            .map_err(|_| Error::InvalidInput(format!("object {} too large for memory", d.id())))?;
        self.copy_object(d, &mut v)?;
        Ok(v)
    }
}

/// Reads the descriptor table the header points to, checking its extent.
fn read_table(source: &Source, h: &Header, file_len: u64) -> Result<Vec<Descriptor>, Error> {
    let total = h.descriptors_total;
    if !(0..=MAX_DESCRIPTORS).contains(&total) {
        return Err(Error::Corrupt(format!(
            "descriptor count {total} out of range"
        )));
    }
    let bytes = total
        .checked_mul(DESCRIPTOR_SIZE as i64)
        .ok_or(Error::Overflow("descriptor table size"))?;
    if h.descriptors_offset < 0 || bytes > h.descriptors_size {
        return Err(Error::Truncated("descriptor table"));
    }
    let end = h
        .descriptors_offset
        .checked_add(bytes)
        .ok_or(Error::Overflow("descriptor table end"))?;
    if u64::try_from(end).map_or(true, |e| e > file_len) {
        return Err(Error::Truncated("descriptor table"));
    }
    let count = usize::try_from(total).map_err(|_| Error::Overflow("descriptor count"))?;
    let mut raw = Vec::new();
    raw.try_reserve_exact(count * DESCRIPTOR_SIZE)
        .map_err(|_| Error::Corrupt("descriptor table too large".into()))?;
    raw.resize(count * DESCRIPTOR_SIZE, 0);
    let off = u64::try_from(h.descriptors_offset).unwrap_or(0);
    source.read_exact_at(&mut raw, off, "descriptor table")?;
    Ok(raw
        .chunks_exact(DESCRIPTOR_SIZE)
        .filter_map(|c| c.try_into().ok())
        .map(Descriptor::decode)
        .collect())
}

/// Checks that an object in use lies inside the file.
fn check_extent(d: &Descriptor, file_len: u64) -> Result<(), Error> {
    let inside = d.offset >= 0
        && d.size >= 0
        && d.end()
            .and_then(|e| u64::try_from(e).ok())
            .is_some_and(|e| e <= file_len);
    if inside {
        Ok(())
    } else {
        Err(Error::Corrupt(format!(
            "object {} at offset {} with size {} lies outside the file ({file_len} bytes)",
            d.id, d.offset, d.size
        )))
    }
}
