//! In-place edits of an opened SIF (`add`, `delete`, `set_primary`), with the reference
//! implementation's semantics. Every check runs before the first write, so a refused
//! request leaves the file byte-identical. Writes are ordered so that a crash leaves a
//! readable SIF: new object data is written and synced before the descriptor that
//! points to it; a deleted object's descriptor is cleared before its data is zeroed;
//! only the changed descriptor slots and the header are rewritten.

use super::create::{data_end, metadata_end, place};
use super::time::now;
use super::{
    Arch, Descriptor, DescriptorId, Error, Header, ObjectInput, PartType, Sif, DESCRIPTOR_SIZE,
    GO_ZERO_TIME,
};

/// Options of [`Sif::add`] and [`Sif::set_primary`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ModifyOptions {
    /// Modification time; `None`: Go's zero time for a deterministic image (nil UUID,
    /// zero times), else now (as the reference implementation).
    pub time: Option<i64>,
}

/// Options of [`Sif::delete`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    /// Modification time, as in [`ModifyOptions::time`].
    pub time: Option<i64>,
    /// Overwrite the object's data with zeros.
    pub zero: bool,
    /// Truncate the file after the last remaining object.
    pub compact: bool,
}

impl Sif {
    fn resolve_time(&self, time: Option<i64>) -> i64 {
        time.unwrap_or_else(|| match self.header.is_deterministic() {
            true => GO_ZERO_TIME,
            false => now(),
        })
    }

    /// Adds an object after the current end of data, in the first free slot; returns its id.
    pub fn add(
        &mut self,
        mut input: ObjectInput<'_>,
        opts: &ModifyOptions,
    ) -> Result<DescriptorId, Error> {
        self.source.writable()?;
        let t = self.resolve_time(opts.time);
        let i = self.slots.iter().take_while(|d| d.used).count();
        if i >= self.slots.len() {
            return Err(Error::InsufficientCapacity);
        }
        let orig_len = self.source.len()?;
        let mut h = self.header.clone();
        let source = &self.source;
        let mut sink = |chunk: &[u8], at: u64| source.write_all_at(chunk, at);
        let d = match place(&mut h, &self.slots, i, &mut input, t, &mut sink) {
            Ok(d) => d,
            Err(e) => {
                if self.source.len().is_ok_and(|l| l > orig_len) {
                    let _ = self.source.set_len(orig_len);
                }
                return Err(e);
            }
        };
        self.source.sync()?;
        h.modified_at = t;
        self.commit(&[(i, d)], h)?;
        Ok(DescriptorId(u32::try_from(i + 1).unwrap_or(u32::MAX)))
    }

    /// Deletes every object with this id.
    pub fn delete(&mut self, id: DescriptorId, opts: &DeleteOptions) -> Result<(), Error> {
        self.source.writable()?;
        let found = self.slots_with_id(id)?;
        let mut h = self.header.clone();
        let gone: Vec<Descriptor> = found.iter().map(|&i| self.slots[i].clone()).collect();
        for d in &gone {
            h.descriptors_free = h.descriptors_free.saturating_add(1);
            if d.is_primary_partition() {
                h.arch = Arch::UNKNOWN;
            }
        }
        h.modified_at = self.resolve_time(opts.time);
        let meta_end = metadata_end(&h)?;
        if opts.zero && gone.iter().any(|d| d.offset() < meta_end) {
            return Err(Error::Corrupt(
                "object overlaps the header or descriptor table".into(),
            ));
        }
        let changes: Vec<_> = found.iter().map(|&i| (i, Descriptor::empty())).collect();
        let remaining = self.with_changes(&changes);
        let new_end = data_end(&h, &remaining)?;
        if opts.compact {
            h.data_size = i64::try_from(new_end)
                .ok()
                .and_then(|e| e.checked_sub(h.data_offset))
                .ok_or(Error::Overflow("data size"))?;
        }
        self.commit(&changes, h)?;
        if opts.zero {
            gone.iter().try_for_each(|d| self.zero(d))?;
        }
        if opts.compact {
            self.source.set_len(new_end.max(meta_end))?;
        }
        self.source.sync()
    }

    /// Makes system partition `id` the primary one (the former primary becomes a plain
    /// system partition) and records its architecture in the header.
    pub fn set_primary(&mut self, id: DescriptorId, opts: &ModifyOptions) -> Result<(), Error> {
        self.source.writable()?;
        let [i] = self.slots_with_id(id)?[..] else {
            return Err(Error::MultipleObjectsFound);
        };
        let p = self.slots[i].partition().ok_or(Error::NotPartition)?;
        match p.part {
            PartType::PrimarySystem => return Ok(()),
            PartType::System => {}
            _ => return Err(Error::NotSystemPartition),
        }
        let t = self.resolve_time(opts.time);
        let old: Vec<usize> = (0..self.slots.len())
            .filter(|&j| self.slots[j].used && self.slots[j].is_primary_partition())
            .collect();
        if old.len() > 1 {
            return Err(Error::MultipleObjectsFound);
        }
        let mut changes = Vec::new();
        for &j in &old {
            changes.push((j, retyped(&self.slots[j], PartType::System, t)));
        }
        changes.push((i, retyped(&self.slots[i], PartType::PrimarySystem, t)));
        let mut h = self.header.clone();
        h.arch = p.arch;
        h.modified_at = t;
        self.commit(&changes, h)
    }

    /// Indices of the slots in use with this id; errors if there are none.
    fn slots_with_id(&self, id: DescriptorId) -> Result<Vec<usize>, Error> {
        if id.0 == 0 {
            return Err(Error::InvalidObjectId);
        }
        let found: Vec<usize> = (0..self.slots.len())
            .filter(|&i| self.slots[i].used && self.slots[i].id() == id)
            .collect();
        if found.is_empty() {
            return Err(Error::ObjectNotFound(id));
        }
        Ok(found)
    }

    fn with_changes(&self, changes: &[(usize, Descriptor)]) -> Vec<Descriptor> {
        let mut slots = self.slots.clone();
        for (i, d) in changes {
            slots[*i] = d.clone();
        }
        slots
    }

    /// Writes the changed slots, then the header, syncs, and adopts both.
    fn commit(&mut self, changes: &[(usize, Descriptor)], h: Header) -> Result<(), Error> {
        for (i, d) in changes {
            let at = slot_offset(&self.header, *i)?;
            self.source.write_all_at(&d.encode(), at)?;
        }
        self.source.write_all_at(&h.encode(), 0)?;
        self.source.sync()?;
        for (i, d) in changes {
            self.slots[*i] = d.clone();
        }
        self.header = h;
        Ok(())
    }

    /// Overwrites an object's data with zeros.
    fn zero(&self, d: &Descriptor) -> Result<(), Error> {
        let buf = vec![0u8; 64 * 1024];
        let (mut off, end) = (d.offset(), d.offset().saturating_add(d.size()));
        while off < end {
            let n = usize::try_from(end - off)
                .unwrap_or(buf.len())
                .min(buf.len());
            self.source.write_all_at(&buf[..n], off)?;
            off += n as u64;
        }
        Ok(())
    }
}

/// A copy of partition descriptor `d` with partition type `part` and time `t`.
fn retyped(d: &Descriptor, part: PartType, t: i64) -> Descriptor {
    let mut d = d.clone();
    if let Some(mut p) = d.partition() {
        p.part = part;
        d.extra = p.encode();
    }
    d.modified_at = t;
    d
}

/// Where slot `i` lives in the file.
fn slot_offset(h: &Header, i: usize) -> Result<u64, Error> {
    let rel = u64::try_from(i)
        .ok()
        .and_then(|i| i.checked_mul(DESCRIPTOR_SIZE as u64));
    u64::try_from(h.descriptors_offset)
        .ok()
        .zip(rel)
        .and_then(|(base, rel)| base.checked_add(rel))
        .ok_or(Error::Overflow("descriptor offset"))
}
