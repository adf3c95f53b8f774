//! Creating a SIF: the header, a descriptor table of fixed capacity and the objects,
//! laid out exactly as the reference implementation's `CreateContainer` does
//! (table at 4096, 48 slots, objects appended in order with their alignment), so equal
//! inputs, UUID and time give byte-identical files. [`create`] replaces the target
//! atomically (temp file, fsync, rename, fsync of the directory).

use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use super::atomic::TempFile;
use super::header::{LAUNCH_SCRIPT_SIZE, VERSION};
use super::image::MAX_DESCRIPTORS;
use super::input::{align, Placed, Sink};
use super::time::{now, random_uuid};
use super::{Arch, Descriptor, Error, Header, ObjectInput, Sif, DESCRIPTOR_SIZE, GO_ZERO_TIME};

/// How to create a SIF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOptions {
    /// Launch script (shorter than 32 bytes), empty by default.
    pub launch_script: Vec<u8>,
    /// Image UUID; `None`: a random one.
    pub uuid: Option<[u8; 16]>,
    /// Image (and default object) time; `None`: now.
    pub time: Option<i64>,
    /// Number of descriptor slots (48, as the reference implementation).
    pub descriptor_capacity: u32,
    /// Offset of the descriptor table (4096, as the reference implementation).
    pub descriptors_offset: u32,
}

impl Default for CreateOptions {
    fn default() -> Self {
        CreateOptions {
            launch_script: Vec::new(),
            uuid: None,
            time: None,
            descriptor_capacity: 48,
            descriptors_offset: 4096,
        }
    }
}

impl CreateOptions {
    /// Reproducible output: nil UUID and Go's zero time, like the reference's
    /// `OptCreateDeterministic` (the test images are made this way).
    pub fn deterministic() -> Self {
        CreateOptions {
            uuid: Some([0; 16]),
            time: Some(GO_ZERO_TIME),
            ..Self::default()
        }
    }

    fn header(&self) -> Result<Header, Error> {
        let mut launch_script = [0u8; LAUNCH_SCRIPT_SIZE];
        if self.launch_script.len() >= LAUNCH_SCRIPT_SIZE {
            return Err(Error::InvalidInput("launch script too large".into()));
        }
        launch_script[..self.launch_script.len()].copy_from_slice(&self.launch_script);
        let cap = i64::from(self.descriptor_capacity);
        if cap > MAX_DESCRIPTORS {
            return Err(Error::InvalidInput(
                "descriptor capacity not supported".into(),
            ));
        }
        let size = cap * DESCRIPTOR_SIZE as i64;
        let time = self.time.unwrap_or_else(now);
        Ok(Header {
            launch_script,
            version: VERSION,
            arch: Arch::UNKNOWN,
            id: match self.uuid {
                Some(id) => id,
                None => random_uuid()?,
            },
            created_at: time,
            modified_at: time,
            descriptors_free: cap,
            descriptors_total: cap,
            descriptors_offset: i64::from(self.descriptors_offset),
            descriptors_size: size,
            data_offset: i64::from(self.descriptors_offset) + size,
            data_size: 0,
        })
    }
}

/// Writes a new SIF holding `inputs` to `w` (a fresh, empty file or buffer); returns
/// its header.
pub fn write_new<W: Write + Seek>(
    w: &mut W,
    opts: &CreateOptions,
    inputs: Vec<ObjectInput<'_>>,
) -> Result<Header, Error> {
    let mut h = opts.header()?;
    let mut slots =
        vec![Descriptor::empty(); usize::try_from(opts.descriptor_capacity).unwrap_or(0)];
    for (i, mut input) in inputs.into_iter().enumerate() {
        let slot = slots.get(i).ok_or(Error::InsufficientCapacity)?;
        debug_assert!(!slot.used);
        let mut sink = |chunk: &[u8], at: u64| {
            w.seek(SeekFrom::Start(at))
                .and_then(|_| w.write_all(chunk))
                .map_err(|e| Error::io("writing", Path::new("<new SIF>"), e))
        };
        let time = h.created_at;
        let d = place(&mut h, &slots, i, &mut input, time, &mut sink)?;
        slots[i] = d;
    }
    let mut table = Vec::with_capacity(slots.len() * DESCRIPTOR_SIZE);
    slots
        .iter()
        .for_each(|d| table.extend_from_slice(&d.encode()));
    let mut head = h.encode().to_vec();
    head.resize(
        usize::try_from(opts.descriptors_offset)
            .unwrap_or(0)
            .max(head.len()),
        0,
    );
    w.seek(SeekFrom::Start(0))
        .and_then(|_| w.write_all(&head))
        .and_then(|_| w.seek(SeekFrom::Start(u64::from(opts.descriptors_offset))))
        .and_then(|_| w.write_all(&table))
        .map_err(|e| Error::io("writing", Path::new("<new SIF>"), e))?;
    Ok(h)
}

/// Writes one object after the current data end into slot `i` and returns its
/// descriptor, updating the header (arch, free count, data size) as the reference does.
pub(crate) fn place(
    h: &mut Header,
    slots: &[Descriptor],
    i: usize,
    input: &mut ObjectInput<'_>,
    time: i64,
    sink: &mut Sink<'_>,
) -> Result<Descriptor, Error> {
    if let Some(e) = input.error.take() {
        return Err(e);
    }
    let id = u32::try_from(i + 1).map_err(|_| Error::Overflow("object id"))?;
    if let Some(p) = input.partition_info() {
        if p.part == super::PartType::PrimarySystem {
            if slots.iter().any(|d| d.used && d.is_primary_partition()) {
                return Err(Error::PrimaryPartitionExists);
            }
            h.arch = p.arch;
        }
    }
    let start = data_end(h, slots)?;
    if start < metadata_end(h)? {
        return Err(Error::Corrupt(
            "data section overlaps the header or descriptor table".into(),
        ));
    }
    let offset = align(start, input.alignment)?;
    let (size, digest) = input.stream(offset, sink)?;
    let mut d = Descriptor::empty();
    let padding = offset - start;
    let placed = Placed {
        id,
        offset,
        size,
        padding,
        time,
        digest,
    };
    input.fill(&mut d, placed)?;
    let end = d.end().ok_or(Error::Overflow("data end"))?;
    h.data_size = end
        .checked_sub(h.data_offset)
        .ok_or(Error::Overflow("data size"))?;
    h.descriptors_free = h.descriptors_free.saturating_sub(1);
    Ok(d)
}

/// The end of the data section as the objects in use define it (at least the data
/// offset), like the reference's `calculatedDataSize`.
pub(crate) fn data_end(h: &Header, slots: &[Descriptor]) -> Result<u64, Error> {
    let mut end = h.data_offset;
    for d in slots.iter().filter(|d| d.used) {
        end = end.max(d.end().ok_or(Error::Overflow("object end"))?);
    }
    u64::try_from(end).map_err(|_| Error::Corrupt(format!("data offset {end} is negative")))
}

/// The end of the header and descriptor table: object data must not start before it.
pub(crate) fn metadata_end(h: &Header) -> Result<u64, Error> {
    let end = h
        .descriptors_offset
        .checked_add(h.descriptors_size)
        .ok_or(Error::Overflow("descriptor table end"))?;
    Ok(u64::try_from(end)
        .unwrap_or(0)
        .max(super::HEADER_SIZE as u64))
}

/// Creates a SIF at `path` holding `inputs`, replacing any file there atomically, and
/// opens it read-only.
pub fn create(
    path: &Path,
    opts: &CreateOptions,
    inputs: Vec<ObjectInput<'_>>,
) -> Result<Sif, Error> {
    let tmp = TempFile::new(path)?;
    let mut file = &tmp.file;
    write_new(&mut file, opts, inputs)?;
    tmp.sync()?;
    tmp.persist(path)?;
    Sif::open(path)
}
