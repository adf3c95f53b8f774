//! The SIF writer against the reference: the reference's test images re-created from
//! their inputs (and, for the signed ones, from their signature objects added in place)
//! must come out byte-identical; round trips through create/add/del/setprim; determinism.

mod sif_common;

use sif_common::testdata;

use std::io::Cursor;
use std::path::{Path, PathBuf};

use sifcri::sif::{
    self, Arch, CreateOptions, CryptoMessageInfo, DataType, DeleteOptions, DescriptorId,
    FormatType, FsType, Link, MessageType, ModifyOptions, ObjectInput, PartType, PartitionInfo,
    SbomFormat, Sif,
};

fn input(name: &str) -> Vec<u8> {
    std::fs::read(testdata().join("input").join(name)).expect("read input")
}

fn image(name: &str) -> Vec<u8> {
    std::fs::read(testdata().join("images").join(name)).expect("read image")
}

fn part(fs: FsType, part: PartType, arch: &str) -> PartitionInfo {
    let arch = Arch::from_go_name(arch).expect("arch");
    PartitionInfo { fs, part, arch }
}

/// The objects of the reference generator (test/images/gen_sifs.go), by its names.
fn object(which: &str) -> ObjectInput<'static> {
    let data = |v: Vec<u8>| Cursor::new(v);
    match which {
        "generic-json" => {
            ObjectInput::new(DataType::GenericJson, data(b"{}".to_vec())).name("data.json")
        }
        "crypt-message" => {
            ObjectInput::new(DataType::CryptoMessage, data(vec![0xfe, 0xfe, 0xf0, 0xf0]))
                .crypto_message(CryptoMessageInfo {
                    format: FormatType::OpenPgp,
                    message: MessageType::ClearSignature,
                })
        }
        "sbom" => ObjectInput::new(DataType::Sbom, data(input("sbom.cdx.json")))
            .sbom(SbomFormat::CycloneDxJson),
        "oci-root-index" => ObjectInput::new(DataType::OciRootIndex, data(input("index.json"))),
        "oci-blob" => ObjectInput::new(DataType::OciBlob, data(input("oci-config.json"))),
        "part-system" => ObjectInput::new(DataType::Partition, data(vec![0xfa, 0xce, 0xfe, 0xed]))
            .partition(part(FsType::Raw, PartType::System, "386")),
        "part-primsys" => ObjectInput::new(DataType::Partition, data(input("root.squashfs")))
            .partition(part(FsType::Squashfs, PartType::PrimarySystem, "386")),
        "part-group2" => ObjectInput::new(DataType::Partition, data(input("root.ext3")))
            .partition(part(FsType::Ext3, PartType::System, "amd64"))
            .group(2),
        other => panic!("unknown object {other}"),
    }
}

/// Creates a SIF in memory from reference objects.
fn build(opts: &CreateOptions, objects: &[&str]) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    let inputs = objects.iter().map(|o| object(o)).collect();
    sif::write_new(&mut out, opts, inputs).expect("write_new");
    out.into_inner()
}

fn assert_same(got: &[u8], want: &[u8], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length differs");
    if let Some(i) = got.iter().zip(want).position(|(a, b)| a != b) {
        panic!("{what}: first difference at byte {i}");
    }
}

#[test]
fn recreates_reference_images_byte_identical() {
    let det = CreateOptions::deterministic;
    let cases: Vec<(&str, CreateOptions, Vec<&str>)> = vec![
        ("empty.sif", det(), vec![]),
        (
            "empty-id.sif",
            CreateOptions {
                uuid: Some(sif::parse_uuid("3fa802cc-358b-45e3-bcc0-69dc7a45f9f8").unwrap()),
                ..det()
            },
            vec![],
        ),
        (
            "empty-launch-script.sif",
            CreateOptions {
                launch_script: b"#!/usr/bin/env run-script\n".to_vec(),
                ..det()
            },
            vec![],
        ),
        (
            "one-object-time.sif",
            CreateOptions {
                time: Some(1_593_475_316),
                ..det()
            },
            vec!["generic-json"],
        ),
        ("one-object-generic-json.sif", det(), vec!["generic-json"]),
        ("one-object-crypt-message.sif", det(), vec!["crypt-message"]),
        ("one-object-sbom.sif", det(), vec!["sbom"]),
        (
            "one-object-oci-root-index.sif",
            det(),
            vec!["oci-root-index"],
        ),
        ("one-object-oci-blob.sif", det(), vec!["oci-blob"]),
        ("one-group.sif", det(), vec!["part-system", "part-primsys"]),
        (
            "two-groups.sif",
            det(),
            vec!["part-system", "part-primsys", "part-group2"],
        ),
    ];
    for (name, opts, objects) in cases {
        assert_same(&build(&opts, &objects), &image(name), name);
    }
}

#[test]
fn create_at_path_is_atomic_and_identical() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.sif");
    std::fs::write(&path, b"old contents").unwrap();
    let inputs = vec![object("part-system"), object("part-primsys")];
    let sif = sif::create(&path, &CreateOptions::deterministic(), inputs).unwrap();
    assert_eq!(
        sif.primary_partition().map(|d| d.id()),
        Some(DescriptorId(2))
    );
    assert_same(
        &std::fs::read(&path).unwrap(),
        &image("one-group.sif"),
        "one-group at path",
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        vec![std::ffi::OsString::from("x.sif")],
        "temp file left behind"
    );
}

/// The signed reference images = the unsigned ones plus signature objects appended
/// with `add` (linked to their group, in no group), as the reference signer does.
#[test]
fn add_recreates_signed_reference_images() {
    let dir = tempfile::tempdir().unwrap();
    for (signed, base) in [
        ("one-group-signed-pgp.sif", "one-group.sif"),
        ("one-group-signed-dsse.sif", "one-group.sif"),
        ("two-groups-signed-pgp.sif", "two-groups.sif"),
        ("two-groups-signed-dsse.sif", "two-groups.sif"),
    ] {
        let reference = Sif::open(&testdata().join("images").join(signed)).unwrap();
        let path = dir.path().join(signed);
        std::fs::write(&path, image(base)).unwrap();
        let mut sif = Sif::open_rw(&path).unwrap();
        for d in reference
            .descriptors()
            .filter(|d| d.datatype() == DataType::Signature)
        {
            let Link::Group(g) = d.link() else {
                panic!("signature not linked to a group")
            };
            let data = reference.read_object(d).unwrap();
            let input = ObjectInput::new(DataType::Signature, Cursor::new(data))
                .no_group()
                .link_group(g)
                .signature(d.signature().unwrap());
            sif.add(input, &ModifyOptions::default()).unwrap();
        }
        drop(sif);
        assert_same(&std::fs::read(&path).unwrap(), &image(signed), signed);
    }
}

fn tmp_copy(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, image(name)).unwrap();
    path
}

#[test]
fn round_trip_every_datatype_del_setprim() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rt.sif");
    let opts = CreateOptions {
        uuid: Some([9; 16]),
        time: Some(1_700_000_000),
        ..CreateOptions::default()
    };
    sif::create(&path, &opts, vec![]).unwrap();
    let mut s = Sif::open_rw(&path).unwrap();
    let t = ModifyOptions {
        time: Some(1_700_000_100),
    };
    for (i, dt) in DataType::KNOWN.iter().enumerate() {
        let body = format!("object {i}").into_bytes();
        let mut input = ObjectInput::new(*dt, Cursor::new(body))
            .name(format!("obj{i}"))
            .alignment(8);
        input = match dt {
            DataType::Partition => {
                input.partition(part(FsType::Squashfs, PartType::System, "amd64"))
            }
            DataType::Signature => input
                .signature(sif::SignatureInfo::new(sif::HashType::Sha512, &[1; 20]))
                .link(1),
            DataType::CryptoMessage => input.crypto_message(CryptoMessageInfo {
                format: FormatType::Pem,
                message: MessageType::RsaOaep,
            }),
            DataType::Sbom => input.sbom(SbomFormat::SpdxJson),
            _ => input,
        };
        assert_eq!(
            s.add(input, &t).unwrap(),
            DescriptorId(u32::try_from(i).unwrap() + 1)
        );
    }
    drop(s);
    let s = Sif::open(&path).unwrap();
    assert_eq!(s.header().descriptors_free, 48 - 11);
    assert_eq!(s.header().modified_at, 1_700_000_100);
    assert_eq!(s.header().created_at, 1_700_000_000);
    for (i, d) in s.descriptors().enumerate() {
        assert_eq!(d.datatype(), DataType::KNOWN[i]);
        assert_eq!(d.offset() % 8, 0);
        assert_eq!(
            s.read_object(d).unwrap(),
            format!("object {i}").into_bytes()
        );
        assert_eq!(d.name(), format!("obj{i}").as_bytes());
        assert_eq!(d.created_at(), 1_700_000_100);
        assert_eq!(d.group_id(), Some(1));
    }
    let sig = s.descriptor(DescriptorId(5)).unwrap().signature().unwrap();
    assert_eq!(
        (sig.hash, sig.fingerprint()),
        (sif::HashType::Sha512, Some([1; 20]))
    );
    assert_eq!(
        s.descriptor(DescriptorId(5)).unwrap().link(),
        Link::Object(DescriptorId(1))
    );
    assert_eq!(
        s.descriptor(DescriptorId(9)).unwrap().sbom_format(),
        Some(SbomFormat::SpdxJson)
    );
    let blob = s.descriptor(DescriptorId(11)).unwrap();
    assert_eq!(blob.oci_digest().unwrap(), sif::OciDigest::of(b"object 10"));
    assert!(s.primary_partition().is_none());
    drop(s);

    let mut s = Sif::open_rw(&path).unwrap();
    s.set_primary(DescriptorId(4), &t).unwrap();
    assert_eq!(s.primary_partition().map(|d| d.id()), Some(DescriptorId(4)));
    assert_eq!(s.header().arch, Arch::AMD64);
    s.delete(
        DescriptorId(4),
        &DeleteOptions {
            zero: true,
            ..DeleteOptions::default()
        },
    )
    .unwrap();
    assert!(s.primary_partition().is_none());
    assert_eq!(s.header().arch, Arch::UNKNOWN);
    // The freed slot is reused, and the new object goes after the last one.
    let id = s
        .add(
            ObjectInput::new(DataType::Generic, Cursor::new(b"again".to_vec())),
            &t,
        )
        .unwrap();
    assert_eq!(id, DescriptorId(4));
    drop(s);
    let s = Sif::open(&path).unwrap();
    let last_end = s
        .descriptors()
        .filter(|d| d.id().0 != 4)
        .map(|d| d.offset() + d.size())
        .max()
        .unwrap();
    assert_eq!(s.descriptor(id).unwrap().offset(), last_end);
    assert_eq!(s.read_object(s.descriptor(id).unwrap()).unwrap(), b"again");
}

#[test]
fn setprim_and_del_match_reference_semantics() {
    let dir = tempfile::tempdir().unwrap();
    let path = tmp_copy(dir.path(), "two-groups.sif");
    let mut s = Sif::open_rw(&path).unwrap();
    // Deterministic image: modification times stay Go's zero time.
    s.set_primary(DescriptorId(3), &ModifyOptions::default())
        .unwrap();
    drop(s);
    let s = Sif::open(&path).unwrap();
    assert_eq!(s.primary_partition().map(|d| d.id()), Some(DescriptorId(3)));
    assert_eq!(
        s.descriptor(DescriptorId(2))
            .unwrap()
            .partition()
            .unwrap()
            .part,
        PartType::System
    );
    assert_eq!(s.header().arch, Arch::AMD64);
    assert!(s.header().is_deterministic());
    drop(s);
    let mut s = Sif::open_rw(&path).unwrap();
    assert!(matches!(
        s.set_primary(DescriptorId(9), &ModifyOptions::default()),
        Err(sif::Error::ObjectNotFound(_))
    ));
    s.delete(
        DescriptorId(3),
        &DeleteOptions {
            compact: true,
            ..DeleteOptions::default()
        },
    )
    .unwrap();
    drop(s);
    // Compacting after deleting the last object truncates back to the end of object 2.
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 40960);
}

#[test]
fn same_inputs_same_bytes() {
    let opts = CreateOptions {
        uuid: Some([0x42; 16]),
        time: Some(1_234_567_890),
        ..CreateOptions::default()
    };
    let objects = [
        "part-system",
        "part-primsys",
        "part-group2",
        "oci-blob",
        "sbom",
    ];
    let a = build(&opts, &objects);
    let b = build(&opts, &objects);
    assert_eq!(a, b);
    let s = Sif::from_bytes(&a).unwrap();
    assert_eq!(s.header().created_at, 1_234_567_890);
    assert_eq!(s.header().id, [0x42; 16]);
    // Without a fixed UUID, two images differ (random UUID), unless deterministic.
    let r1 = build(
        &CreateOptions {
            time: Some(0),
            ..CreateOptions::default()
        },
        &[],
    );
    let r2 = build(
        &CreateOptions {
            time: Some(0),
            ..CreateOptions::default()
        },
        &[],
    );
    assert_ne!(r1, r2);
}

#[test]
fn refused_writes_leave_file_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = tmp_copy(dir.path(), "one-group.sif");
    let before = std::fs::read(&path).unwrap();
    let mut s = Sif::open_rw(&path).unwrap();
    let none = ModifyOptions::default();
    let second_primary = ObjectInput::new(DataType::Partition, Cursor::new(vec![1; 10]))
        .partition(part(FsType::Squashfs, PartType::PrimarySystem, "amd64"));
    assert!(matches!(
        s.add(second_primary, &none),
        Err(sif::Error::PrimaryPartitionExists)
    ));
    let bad_meta =
        ObjectInput::new(DataType::Generic, Cursor::new(vec![1])).sbom(SbomFormat::SpdxJson);
    assert!(matches!(
        s.add(bad_meta, &none),
        Err(sif::Error::UnexpectedDataType { .. })
    ));
    let long_name = ObjectInput::new(DataType::Generic, Cursor::new(vec![1])).name(vec![b'n'; 129]);
    assert!(s.add(long_name, &none).is_err());
    assert!(matches!(
        s.delete(DescriptorId(7), &DeleteOptions::default()),
        Err(sif::Error::ObjectNotFound(_))
    ));
    assert!(matches!(
        s.delete(DescriptorId(0), &DeleteOptions::default()),
        Err(sif::Error::InvalidObjectId)
    ));
    // Already primary: nothing to do, nothing written.
    s.set_primary(DescriptorId(2), &none).unwrap();
    drop(s);
    assert_eq!(std::fs::read(&path).unwrap(), before);
    let mut ro = Sif::open(&path).unwrap();
    assert!(matches!(
        ro.add(object("generic-json"), &none),
        Err(sif::Error::ReadOnly)
    ));
}
