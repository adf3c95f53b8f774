//! The image being written (output, position, superblock) and the tables after the
//! inode and directory tables, in the order the kernel checks them: fragment table,
//! export table, id table, xattr table (key/value area, id entries, header).

use std::collections::HashMap;
use std::io::{Seek, SeekFrom, Write};

use super::compress::Packer;
use super::data::Data;
use super::error::WriteError;
use super::inode::write_tables;
use super::layout::Layout;
use super::meta::lookup_table;
pub(crate) use super::xattr::XattrTable;
use super::{Options, Summary};

const MAGIC: u32 = 0x7371_7368;
const NO_TABLE: u64 = u64::MAX;
const FLAG_ALWAYS_FRAGMENTS: u16 = 0x0020;
const FLAG_EXPORTABLE: u16 = 0x0080;

/// The output and how many bytes of the image it holds.
pub(crate) struct Image<'w, W> {
    out: &'w mut W,
    base: u64,
    pos: u64,
}

impl<'w, W: Write + Seek> Image<'w, W> {
    /// Reserves the superblock at the current position.
    pub(crate) fn start(out: &'w mut W, _opts: &Options) -> Result<Self, WriteError> {
        let base = out
            .stream_position()
            .map_err(WriteError::io("seeking the output"))?;
        let mut img = Image { out, base, pos: 0 };
        img.write(&[0u8; 96])?;
        Ok(img)
    }

    /// Image offset of the next byte.
    pub(crate) fn pos(&self) -> u64 {
        self.pos
    }

    pub(crate) fn write(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        self.out
            .write_all(bytes)
            .map_err(WriteError::io("writing the image"))?;
        self.pos += bytes.len() as u64;
        Ok(())
    }

    /// Writes the metadata tables and the superblock, pads to 4 KiB.
    pub(crate) fn finish(
        mut self,
        layout: &Layout<'_>,
        data: &Data,
        opts: &Options,
    ) -> Result<Summary, WriteError> {
        let mut p = Packer::new(opts.compression);
        let (mut ids, mut xattrs) = (IdTable::default(), XattrTable::default());
        let t = write_tables(layout, data, &mut ids, &mut xattrs, &mut p)?;
        let inode_table = self.pos;
        self.write(&t.inodes)?;
        let dir_table = self.pos;
        self.write(&t.dirs)?;
        let frag_table = self.table(
            &mut p,
            &data
                .frags
                .iter()
                .flat_map(|(at, w)| {
                    let mut e = at.to_le_bytes().to_vec();
                    e.extend_from_slice(&w.to_le_bytes());
                    e.extend_from_slice(&0u32.to_le_bytes());
                    e
                })
                .collect::<Vec<u8>>(),
        )?;
        let export_table = if opts.exportable {
            self.table(
                &mut p,
                &t.refs[1..]
                    .iter()
                    .flat_map(|r| r.to_le_bytes())
                    .collect::<Vec<u8>>(),
            )?
        } else {
            NO_TABLE
        };
        let id_bytes: Vec<u8> = ids.list.iter().flat_map(|i| i.to_le_bytes()).collect();
        let id_table = self.table(&mut p, &id_bytes)?;
        let skipped_xattrs = xattrs.skipped;
        let xattr_table = match xattrs.finish(&mut p, self.pos) {
            Some(bytes_and_table) => {
                self.write(&bytes_and_table.0)?;
                bytes_and_table.1
            }
            None => NO_TABLE,
        };
        let bytes_used = self.pos;
        let mut flags = FLAG_ALWAYS_FRAGMENTS;
        if opts.exportable {
            flags |= FLAG_EXPORTABLE;
        }
        let mut sb = Vec::with_capacity(96);
        for w in [
            MAGIC,
            layout.inode_count,
            opts.mkfs_time,
            opts.block_size,
            data.frags.len() as u32,
        ] {
            sb.extend_from_slice(&w.to_le_bytes());
        }
        let block_log = opts.block_size.trailing_zeros() as u16;
        let id_count = u16::try_from(ids.list.len())
            .map_err(|_| WriteError::TooLarge("more than 65535 ids"))?;
        for h in [opts.compression.id(), block_log, flags, id_count, 4, 0] {
            sb.extend_from_slice(&h.to_le_bytes());
        }
        for q in [
            t.root,
            bytes_used,
            id_table,
            xattr_table,
            inode_table,
            dir_table,
            frag_table,
            export_table,
        ] {
            sb.extend_from_slice(&q.to_le_bytes());
        }
        let pad = (4096 - bytes_used % 4096) % 4096;
        self.write(&vec![0u8; pad as usize])?;
        let io = WriteError::io("writing the superblock");
        self.out.seek(SeekFrom::Start(self.base)).map_err(io)?;
        self.out
            .write_all(&sb)
            .map_err(WriteError::io("writing the superblock"))?;
        self.out
            .seek(SeekFrom::Start(self.base + self.pos))
            .map_err(WriteError::io("seeking the output"))?;
        Ok(Summary {
            bytes_used,
            inodes: layout.inode_count,
            skipped_xattrs,
        })
    }

    /// Writes a lookup table (`NO_TABLE` when it has no entries).
    fn table(&mut self, p: &mut Packer, entries: &[u8]) -> Result<u64, WriteError> {
        if entries.is_empty() {
            return Ok(NO_TABLE);
        }
        let (bytes, at) = lookup_table(p, entries, self.pos);
        self.write(&bytes)?;
        Ok(at)
    }
}

/// The id table: every uid and gid once, in first-use order.
#[derive(Default)]
pub(crate) struct IdTable {
    map: HashMap<u32, u16>,
    pub(crate) list: Vec<u32>,
}

impl IdTable {
    /// The index of `id`, added if new.
    pub(crate) fn index(&mut self, id: u32) -> Result<u16, WriteError> {
        if let Some(&i) = self.map.get(&id) {
            return Ok(i);
        }
        let i = u16::try_from(self.list.len())
            .map_err(|_| WriteError::TooLarge("more than 65535 ids"))?;
        self.map.insert(id, i);
        self.list.push(id);
        Ok(i)
    }
}
