//! Seeded corruption of the reference SIF images: flipped bytes, extreme field values
//! and truncation. The parser must answer with an error or a valid `Sif` (whose every
//! object lies inside the file), never panic or hang; the reports and writers must
//! cope with whatever it accepts.

mod sif_common;

use sif_common::{rng::Rng, testdata};

use std::io::Cursor;
use std::time::{Duration, Instant};

use sifcri::sif::{
    self, siftool, DataType, DeleteOptions, DescriptorId, ModifyOptions, ObjectInput, Sif,
};

fn images() -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(testdata().join("images"))
        .expect("read images")
        .map(|e| e.expect("entry").path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Offsets where a flip matters most: the header and the first descriptors.
fn hot_offset(rng: &mut Rng, len: usize) -> usize {
    match rng.below(3) {
        0 => rng.below(128.min(len)),
        1 => (4096 + rng.below(3 * 585)).min(len.saturating_sub(1)),
        _ => rng.below(len),
    }
}

fn mutate(rng: &mut Rng, orig: &[u8]) -> Vec<u8> {
    let mut b = orig.to_vec();
    for _ in 0..=rng.below(4) {
        match rng.below(4) {
            0 => {
                let i = hot_offset(rng, b.len());
                b[i] ^= 1 << rng.below(8);
            }
            1 => {
                // An extreme little-endian integer over a field-sized window.
                let i = hot_offset(rng, b.len());
                let v = [0, u64::MAX, 1 << 63, (1 << 63) - 1, 0x8000_0000, 585, 4096][rng.below(7)];
                for (k, byte) in v.to_le_bytes().iter().enumerate() {
                    if let Some(x) = b.get_mut(i + k) {
                        *x = *byte;
                    }
                }
            }
            2 => b.truncate(rng.below(b.len() + 1)),
            _ => {
                let i = hot_offset(rng, b.len());
                b[i] = rng.next() as u8;
            }
        }
        if b.is_empty() {
            break;
        }
    }
    b
}

/// Uses everything a parsed image offers.
fn exercise(s: &Sif, len: usize) {
    let _ = siftool::header(s);
    let _ = siftool::list(s);
    let _ = s.primary_partition();
    for d in s.descriptors() {
        assert!(d
            .offset()
            .checked_add(d.size())
            .is_some_and(|e| e <= len as u64));
        let _ = siftool::info(d);
        let _ = (
            d.partition(),
            d.signature(),
            d.crypto_message(),
            d.sbom_format(),
            d.oci_digest(),
        );
        let _ = s.find(d.id());
        if d.size() <= 4096 {
            assert_eq!(
                s.read_object(d).expect("object inside the file").len() as u64,
                d.size()
            );
        }
    }
}

#[test]
fn corrupt_images_never_panic() {
    let start = Instant::now();
    let mut rng = Rng(0x5eed_51f0_c0ff_ee01);
    let (mut accepted, mut rejected) = (0, 0);
    for (name, orig) in images() {
        for round in 0..150 {
            let b = mutate(&mut rng, &orig);
            match Sif::from_bytes(&b) {
                Ok(s) => {
                    accepted += 1;
                    exercise(&s, b.len());
                }
                Err(_) => rejected += 1,
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{name} round {round}: too slow"
            );
        }
    }
    assert!(
        accepted > 100 && rejected > 100,
        "accepted {accepted}, rejected {rejected}"
    );
}

#[test]
fn writers_cope_with_corrupt_images() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sif");
    let mut rng = Rng(0xdead_beef_0bad_f00d);
    let opts = ModifyOptions { time: Some(1) };
    for (_, orig) in images().into_iter().filter(|(_, b)| b.len() < 64 * 1024) {
        for _ in 0..12 {
            std::fs::write(&path, mutate(&mut rng, &orig)).unwrap();
            let Ok(mut s) = Sif::open_rw(&path) else {
                continue;
            };
            let _ = s.set_primary(DescriptorId(1), &opts);
            let _ = s.add(
                ObjectInput::new(DataType::Generic, Cursor::new(vec![7; 100])),
                &opts,
            );
            let _ = s.delete(
                DescriptorId(2),
                &DeleteOptions {
                    zero: true,
                    compact: true,
                    time: None,
                },
            );
            drop(s);
            if let Ok(s) = Sif::open(&path) {
                exercise(&s, std::fs::metadata(&path).unwrap().len() as usize);
            }
        }
    }
}

#[test]
fn truncated_at_every_header_byte() {
    let b = std::fs::read(testdata().join("images/one-group.sif")).unwrap();
    for n in (0..200).chain([4096, 4096 + 585, 32175, 32176, 36864, 40959]) {
        assert!(
            Sif::from_bytes(&b[..n]).is_err(),
            "accepted a {n}-byte prefix"
        );
    }
    assert!(Sif::from_bytes(&b).is_ok());
    assert!(sif::is_sif(&b) && !sif::is_sif(&b[..41]));
}

/// A header whose data section starts inside the descriptor table: writers refuse to put
/// data there, and the file stays as it was.
#[test]
fn writers_never_overwrite_header_or_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("overlap.sif");
    let mut b = std::fs::read(testdata().join("images/empty.sif")).unwrap();
    b[112..120].copy_from_slice(&128i64.to_le_bytes()); // data offset
    std::fs::write(&path, &b).unwrap();
    let mut s = Sif::open_rw(&path).unwrap();
    let input = ObjectInput::new(DataType::Generic, Cursor::new(vec![0xee; 64]));
    assert!(s.add(input, &ModifyOptions::default()).is_err());
    drop(s);
    assert!(std::fs::read(&path).unwrap() == b, "file changed");
}
