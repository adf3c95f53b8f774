//! The 96-byte squashfs 4.0 superblock at the start of the image.
//!
//! Read once at open; every table start it names is checked against the image length
//! here, so the table readers can trust that their start lies inside the image.

use super::error::{Error, Result};
use super::le::Le;
use crate::source::Source;

/// `hsqs` read little-endian.
pub(crate) const MAGIC: u32 = 0x7371_7368;
/// Size of the on-disk superblock.
pub(crate) const SIZE: usize = 96;
/// Marks an absent optional table.
pub(crate) const NO_TABLE: u64 = u64::MAX;

/// Superblock flag bits used by the reader.
pub(crate) mod flags {
    pub(crate) const NO_XATTRS: u16 = 0x0200;
    pub(crate) const EXPORTABLE: u16 = 0x0080;
}

/// The fields of the superblock.
#[derive(Debug, Clone)]
pub struct Superblock {
    /// Number of inodes.
    pub inode_count: u32,
    /// Image modification time (seconds since the epoch).
    pub mod_time: u32,
    /// Data block size in bytes (4 KiB .. 1 MiB, a power of two).
    pub block_size: u32,
    /// Number of fragment table entries.
    pub frag_count: u32,
    /// Compressor id (1 gzip, 2 lzma, 3 lzo, 4 xz, 5 lz4, 6 zstd).
    pub compressor: u16,
    /// Flag bits.
    pub flags: u16,
    /// Number of id table entries.
    pub id_count: u16,
    /// Reference of the root directory inode.
    pub root_inode: u64,
    /// Bytes of the image in use.
    pub bytes_used: u64,
    pub(crate) id_table: u64,
    pub(crate) xattr_table: u64,
    /// Where the inode table starts: the metadata tables follow it to `bytes_used`.
    pub inode_table: u64,
    pub(crate) dir_table: u64,
    pub(crate) frag_table: u64,
    pub(crate) export_table: u64,
}

impl Superblock {
    /// Reads and validates the superblock of `source`.
    pub(crate) fn read(source: &Source) -> Result<Self> {
        let mut raw = [0u8; SIZE];
        source.read_exact_at(0, &mut raw)?;
        let mut le = Le::new(&raw, 0);
        let magic = le.u32()?;
        if magic != MAGIC {
            return Err(Error::BadMagic(magic));
        }
        let inode_count = le.u32()?;
        let mod_time = le.u32()?;
        let block_size = le.u32()?;
        let frag_count = le.u32()?;
        let compressor = le.u16()?;
        let block_log = le.u16()?;
        let flags = le.u16()?;
        let id_count = le.u16()?;
        let (major, minor) = (le.u16()?, le.u16()?);
        if (major, minor) != (4, 0) {
            return Err(Error::Version { major, minor });
        }
        let sb = Self {
            inode_count,
            mod_time,
            block_size,
            frag_count,
            compressor,
            flags,
            id_count,
            root_inode: le.u64()?,
            bytes_used: le.u64()?,
            id_table: le.u64()?,
            xattr_table: le.u64()?,
            inode_table: le.u64()?,
            dir_table: le.u64()?,
            frag_table: le.u64()?,
            export_table: le.u64()?,
        };
        sb.validate(block_log, source.len())?;
        Ok(sb)
    }

    fn validate(&self, block_log: u16, len: u64) -> Result<()> {
        let bs = self.block_size;
        if !(4096..=1 << 20).contains(&bs)
            || !bs.is_power_of_two()
            || bs.trailing_zeros() != u32::from(block_log)
        {
            return Err(Error::corrupt("bad block size", 12));
        }
        if self.bytes_used > len {
            return Err(Error::corrupt("image shorter than bytes_used", 40));
        }
        let inside = |t: u64| t < self.bytes_used;
        if !inside(self.inode_table) || !inside(self.dir_table) || !inside(self.id_table) {
            return Err(Error::corrupt("table start outside the image", 48));
        }
        for t in [self.xattr_table, self.frag_table, self.export_table] {
            if t != NO_TABLE && !inside(t) {
                return Err(Error::corrupt("table start outside the image", 56));
            }
        }
        if self.inode_table > self.dir_table {
            return Err(Error::corrupt("inode table after directory table", 64));
        }
        Ok(())
    }

    /// True when the image carries no extended attributes.
    pub fn has_xattrs(&self) -> bool {
        self.flags & flags::NO_XATTRS == 0 && self.xattr_table != NO_TABLE
    }

    /// True when the image has an export (NFS) table.
    pub fn is_exportable(&self) -> bool {
        self.flags & flags::EXPORTABLE != 0 && self.export_table != NO_TABLE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(edit: impl FnOnce(&mut Vec<u8>)) -> Result<Superblock> {
        let mut raw = vec![0u8; 4096];
        raw[0..4].copy_from_slice(&MAGIC.to_le_bytes());
        raw[12..16].copy_from_slice(&131_072u32.to_le_bytes());
        raw[20..22].copy_from_slice(&1u16.to_le_bytes());
        raw[22..24].copy_from_slice(&17u16.to_le_bytes());
        raw[28..30].copy_from_slice(&4u16.to_le_bytes());
        raw[40..48].copy_from_slice(&4096u64.to_le_bytes());
        for (at, v) in [
            (48, 200u64),
            (56, NO_TABLE),
            (64, 100),
            (72, 150),
            (80, NO_TABLE),
            (88, NO_TABLE),
        ] {
            raw[at..at + 8].copy_from_slice(&v.to_le_bytes());
        }
        edit(&mut raw);
        Superblock::read(&Source::from_bytes(&raw).expect("memfd"))
    }

    #[test]
    fn reads_a_valid_superblock() {
        let sb = image(|_| {}).expect("valid");
        assert_eq!((sb.block_size, sb.compressor), (131_072, 1));
        assert!(!sb.has_xattrs() && !sb.is_exportable());
    }

    #[test]
    fn rejects_bad_magic_version_and_block_size() {
        assert!(matches!(image(|r| r[0] = b'x'), Err(Error::BadMagic(_))));
        assert!(matches!(
            image(|r| r[28] = 3),
            Err(Error::Version { major: 3, .. })
        ));
        assert!(matches!(image(|r| r[22] = 16), Err(Error::Corrupt { .. })));
        assert!(matches!(
            image(|r| r[12..16].copy_from_slice(&3000u32.to_le_bytes())),
            Err(Error::Corrupt { .. })
        ));
    }

    #[test]
    fn rejects_tables_outside_the_image() {
        assert!(matches!(
            image(|r| r[40..48].copy_from_slice(&8192u64.to_le_bytes())),
            Err(Error::Corrupt { .. })
        ));
        assert!(matches!(
            image(|r| r[48..56].copy_from_slice(&5000u64.to_le_bytes())),
            Err(Error::Corrupt { .. })
        ));
        assert!(matches!(
            image(|r| r[64..72].copy_from_slice(&160u64.to_le_bytes())),
            Err(Error::Corrupt { .. })
        ));
        assert!(matches!(image(|_| {}).map(|_| ()), Ok(())));
        let short = Superblock::read(&Source::from_bytes(&[0u8; 50]).expect("memfd"));
        assert!(matches!(short, Err(Error::Source(_))));
    }
}
