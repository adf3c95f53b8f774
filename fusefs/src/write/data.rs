//! Data blocks and fragments: each distinct file's bytes, read from the spool in
//! `block_size` pieces; an all-zero piece is a hole (size 0, nothing written); the
//! tail (the part short of a whole block) is packed with other tails into fragment
//! blocks. Pieces are compressed in batches on scoped threads, one compressor each,
//! and written in the order they were read, so the output does not depend on timing.

use std::collections::HashMap;
use std::io::{Seek, Write};

use super::compress::Packer;
use super::error::WriteError;
use super::layout::Layout;
use super::tables::Image;
use super::{EntryKind, FileData, Options, Spool};

/// Bit of a block size word marking a stored (uncompressed) block.
pub(crate) const STORED: u32 = 1 << 24;

/// Where a file's bytes went.
#[derive(Debug, Default)]
pub(crate) struct FileRec {
    /// Image offset of its first block.
    pub(crate) start: u64,
    /// One size word per whole block (0 for a hole).
    pub(crate) sizes: Vec<u32>,
    /// Fragment index and offset of its tail.
    pub(crate) frag: Option<(u32, u32)>,
    /// Bytes in holes.
    pub(crate) sparse: u64,
}

/// Every file's record (by file id) and every fragment block (offset, size word).
#[derive(Debug, Default)]
pub(crate) struct Data {
    pub(crate) files: HashMap<u64, FileRec>,
    pub(crate) frags: Vec<(u64, u32)>,
}

enum Item {
    Block(u64, Vec<u8>),
    Hole(u64),
    Frag(usize, Vec<u8>),
}

struct DataWriter<'i, 'w, W> {
    img: &'i mut Image<'w, W>,
    packers: Vec<Packer>,
    batch: Vec<Item>,
    frag: Vec<u8>,
    data: Data,
    block: usize,
}

/// Writes the data of every distinct file of `layout`, in its data order.
pub(crate) fn write_data<W: Write + Seek, S: Spool + ?Sized>(
    layout: &Layout<'_>,
    spool: &S,
    img: &mut Image<'_, W>,
    opts: &Options,
) -> Result<Data, WriteError> {
    let threads = opts.threads.clamp(1, 64);
    let mut w = DataWriter {
        img,
        packers: (0..threads)
            .map(|_| Packer::new(opts.compression))
            .collect(),
        batch: Vec::new(),
        frag: Vec::new(),
        data: Data::default(),
        block: opts.block_size as usize,
    };
    for &n in &layout.files {
        if let EntryKind::File(d) = layout.nodes[n].entry.kind {
            w.add_file(spool, d)?;
        }
    }
    if !w.frag.is_empty() {
        let raw = std::mem::take(&mut w.frag);
        w.batch.push(Item::Frag(w.data.frags.len() - 1, raw));
    }
    w.flush()?;
    Ok(w.data)
}

impl<W: Write + Seek> DataWriter<'_, '_, W> {
    fn add_file<S: Spool + ?Sized>(&mut self, spool: &S, d: FileData) -> Result<(), WriteError> {
        let eof = || WriteError::Io {
            op: "reading the spool",
            source: std::io::ErrorKind::UnexpectedEof.into(),
        };
        let bs = self.block as u64;
        let mut rec = FileRec::default();
        for b in 0..d.len / bs {
            let at = d.offset.checked_add(b * bs).ok_or_else(eof)?;
            let mut raw = vec![0u8; self.block];
            spool
                .read_exact_at(&mut raw, at)
                .map_err(WriteError::io("reading the spool"))?;
            let item = if raw.iter().all(|&x| x == 0) {
                Item::Hole(d.id)
            } else {
                Item::Block(d.id, raw)
            };
            self.batch.push(item);
            if self.batch.len() >= 8 * self.packers.len() {
                self.data.files.insert(d.id, std::mem::take(&mut rec));
                self.flush()?;
                rec = self.data.files.remove(&d.id).unwrap_or_default();
            }
        }
        let tail = (d.len % bs) as usize;
        if tail > 0 {
            if self.frag.is_empty() || self.frag.len() + tail > self.block {
                if !self.frag.is_empty() {
                    let raw = std::mem::take(&mut self.frag);
                    self.batch.push(Item::Frag(self.data.frags.len() - 1, raw));
                }
                self.data.frags.push((0, 0));
            }
            let index = u32::try_from(self.data.frags.len() - 1)
                .map_err(|_| WriteError::TooLarge("fragment count"))?;
            rec.frag = Some((index, self.frag.len() as u32));
            let at = d.offset.checked_add(d.len - tail as u64).ok_or_else(eof)?;
            let old = self.frag.len();
            self.frag.resize(old + tail, 0);
            spool
                .read_exact_at(&mut self.frag[old..], at)
                .map_err(WriteError::io("reading the spool"))?;
        }
        self.data.files.insert(d.id, rec);
        if self.batch.len() >= 8 * self.packers.len() {
            self.flush()?;
        }
        Ok(())
    }

    /// Compresses the batch in parallel and writes it in order.
    fn flush(&mut self) -> Result<(), WriteError> {
        let items = std::mem::take(&mut self.batch);
        let mut packed: Vec<Option<Vec<u8>>> = (0..items.len()).map(|_| None).collect();
        let per = items.len().div_ceil(self.packers.len()).max(1);
        std::thread::scope(|s| {
            for ((out, its), p) in packed
                .chunks_mut(per)
                .zip(items.chunks(per))
                .zip(self.packers.iter_mut())
            {
                s.spawn(move || {
                    for (o, it) in out.iter_mut().zip(its) {
                        if let Item::Block(_, raw) | Item::Frag(_, raw) = it {
                            *o = p.pack(raw);
                        }
                    }
                });
            }
        });
        for (item, packed) in items.into_iter().zip(packed) {
            self.write_item(item, packed)?;
        }
        Ok(())
    }

    fn write_item(&mut self, item: Item, packed: Option<Vec<u8>>) -> Result<(), WriteError> {
        let pos = self.img.pos();
        let (bytes, word) = match (&item, packed) {
            (Item::Hole(_), _) => (Vec::new(), 0),
            (_, Some(c)) => {
                let len = c.len() as u32;
                (c, len)
            }
            (Item::Block(_, raw) | Item::Frag(_, raw), None) => {
                (raw.clone(), raw.len() as u32 | STORED)
            }
        };
        match item {
            Item::Block(id, _) | Item::Hole(id) => {
                let rec = self.data.files.entry(id).or_default();
                if rec.sizes.is_empty() {
                    rec.start = pos;
                }
                rec.sizes.push(word);
                if word == 0 {
                    rec.sparse += self.block as u64;
                }
            }
            Item::Frag(index, _) => self.data.frags[index] = (pos, word),
        }
        self.img.write(&bytes)
    }
}
