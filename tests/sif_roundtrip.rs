//! Seeded random sequences of `add`, `delete` and `set_primary` on a small SIF, checked
//! after every step against a model of what the image must hold: the same objects with
//! the same bytes, one primary partition at most, no two objects overlapping, nothing
//! before the end of the descriptor table.

mod sif_common;

use std::io::Cursor;

use sif_common::rng::Rng;
use sifcri::sif::{
    self, Arch, CreateOptions, DataType, DeleteOptions, DescriptorId, Error, FsType, ModifyOptions,
    ObjectInput, PartType, PartitionInfo, Sif,
};

/// What one slot must hold.
#[derive(Clone, Debug)]
struct Object {
    datatype: DataType,
    part: Option<PartType>,
    data: Vec<u8>,
}

const CAPACITY: usize = 6;

fn add(rng: &mut Rng, s: &mut Sif, model: &mut [Option<Object>]) {
    let data: Vec<u8> = (0..rng.below(3000)).map(|_| rng.next() as u8).collect();
    let (datatype, part) = match rng.below(4) {
        0 => (DataType::Partition, Some(PartType::System)),
        1 => (DataType::OciBlob, None),
        2 => (DataType::GenericJson, None),
        _ => (DataType::Generic, None),
    };
    let mut input = ObjectInput::new(datatype, Cursor::new(data.clone()))
        .alignment([0, 1, 8, 4096][rng.below(4)]);
    if part.is_some() {
        let arch = Arch::from_go_name("arm64").unwrap();
        input = input.partition(PartitionInfo {
            fs: FsType::Squashfs,
            part: PartType::System,
            arch,
        });
    }
    let result = s.add(input, &ModifyOptions { time: Some(7) });
    match model.iter().position(Option::is_none) {
        Some(i) => {
            assert_eq!(result.unwrap(), DescriptorId(i as u32 + 1));
            model[i] = Some(Object {
                datatype,
                part,
                data,
            });
        }
        None => assert!(matches!(result, Err(Error::InsufficientCapacity))),
    }
}

fn delete(rng: &mut Rng, s: &mut Sif, model: &mut [Option<Object>]) {
    let i = rng.below(CAPACITY);
    let opts = DeleteOptions {
        time: None,
        zero: rng.below(2) == 0,
        compact: rng.below(2) == 0,
    };
    let result = s.delete(DescriptorId(i as u32 + 1), &opts);
    match model[i].take() {
        Some(_) => result.unwrap(),
        None => assert!(matches!(result, Err(Error::ObjectNotFound(_)))),
    }
}

fn set_primary(rng: &mut Rng, s: &mut Sif, model: &mut [Option<Object>]) {
    let i = rng.below(CAPACITY);
    let result = s.set_primary(DescriptorId(i as u32 + 1), &ModifyOptions { time: Some(9) });
    match model[i].as_ref().map(|o| o.part) {
        None => assert!(matches!(result, Err(Error::ObjectNotFound(_)))),
        Some(None) => assert!(matches!(result, Err(Error::NotPartition))),
        Some(Some(_)) => {
            result.unwrap();
            for o in model.iter_mut().flatten().filter(|o| o.part.is_some()) {
                o.part = Some(PartType::System);
            }
            model[i].as_mut().unwrap().part = Some(PartType::PrimarySystem);
        }
    }
}

fn check(path: &std::path::Path, model: &[Option<Object>]) {
    let s = Sif::open(path).unwrap();
    let want: Vec<u32> = (0..CAPACITY)
        .filter(|&i| model[i].is_some())
        .map(|i| i as u32 + 1)
        .collect();
    let got: Vec<u32> = s.descriptors().map(|d| d.id().0).collect();
    assert_eq!(got, want);
    let mut extents = Vec::new();
    for d in s.descriptors() {
        let o = model[d.id().0 as usize - 1].as_ref().unwrap();
        assert_eq!(d.datatype(), o.datatype);
        assert_eq!(d.partition().map(|p| p.part), o.part);
        assert!(
            s.read_object(d).unwrap() == o.data,
            "object {} bytes differ",
            d.id()
        );
        if o.datatype == DataType::OciBlob {
            assert_eq!(d.oci_digest().unwrap(), sif::OciDigest::of(&o.data));
        }
        extents.push((d.offset(), d.offset() + d.size()));
    }
    extents.sort();
    let table_end = (s.header().descriptors_offset + s.header().descriptors_size) as u64;
    assert!(extents.first().is_none_or(|e| e.0 >= table_end));
    assert!(
        extents.windows(2).all(|w| w[0].1 <= w[1].0),
        "objects overlap: {extents:?}"
    );
    let primary = model.iter().position(|o| {
        o.as_ref()
            .is_some_and(|o| o.part == Some(PartType::PrimarySystem))
    });
    assert_eq!(
        s.primary_partition().map(|d| d.id().0 as usize - 1),
        primary
    );
    let arch = if primary.is_some() {
        "arm64"
    } else {
        "unknown"
    };
    assert_eq!(s.header().arch.go_name(), arch);
    let free = model.iter().filter(|o| o.is_none()).count() as i64;
    assert_eq!(s.header().descriptors_free, free);
}

#[test]
fn random_edits_match_the_model() {
    let dir = tempfile::tempdir().unwrap();
    for seed in 1..=6u64 {
        let path = dir.path().join(format!("rt{seed}.sif"));
        let opts = CreateOptions {
            descriptor_capacity: CAPACITY as u32,
            ..CreateOptions::deterministic()
        };
        sif::create(&path, &opts, vec![]).unwrap();
        let mut model: Vec<Option<Object>> = vec![None; CAPACITY];
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        for _ in 0..40 {
            let mut s = Sif::open_rw(&path).unwrap();
            match rng.below(5) {
                0 | 1 => add(&mut rng, &mut s, &mut model),
                2 => delete(&mut rng, &mut s, &mut model),
                _ => set_primary(&mut rng, &mut s, &mut model),
            }
            drop(s);
            check(&path, &model);
        }
    }
}
