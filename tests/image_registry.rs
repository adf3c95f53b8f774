//! Registry features against a real registry: basic auth (htpasswd), platform choice
//! from an image index, mirrors (and no silent fallback to the origin), SIF artifacts
//! pushed and pulled as is (ORAS layout), and local import/export/rmi.

mod image_common;

use image_common::layers::Layer;
use image_common::registry::{client, config, push_image, Registry};
use sifcri::image::registry::manifest::{Descriptor, Index, Platform, OCI_INDEX, OCI_MANIFEST};
use sifcri::image::registry::{Auth, Client, HostConfig, RegistryConfig};
use sifcri::image::{
    pull, push, Digest, Error, ErrorKind, ImageKind, PullOptions, Reference, Store,
};

#[test]
fn basic_auth_against_htpasswd() {
    let Some(reg) = Registry::start(Some(("alice", "s3cret"))) else {
        return;
    };
    let c = client();
    let good = Auth::Basic {
        username: "alice".into(),
        password: "s3cret".into(),
    };
    let reference = reg.reference("private/img:v1");
    push_image(
        &c,
        &reference,
        &[Layer::default().file("f", b"1", 0o644, (0, 0)).gzip()],
        &config("amd64", 1),
        &good,
    );
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(root.path()).unwrap();
    let err = pull(&store, &c, &reference, &PullOptions::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
    let bad = Auth::Basic {
        username: "alice".into(),
        password: "wrong".into(),
    };
    let err = pull(
        &store,
        &client(),
        &reference,
        &PullOptions {
            auth: bad,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
    let rec = pull(
        &store,
        &c,
        &reference,
        &PullOptions {
            auth: good,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(rec.repo_tags, vec![reference]);
}

#[test]
fn index_picks_the_platform() {
    let Some(reg) = Registry::start(None) else {
        return;
    };
    let c = client();
    let mut entries = Vec::new();
    for arch in ["arm64", "amd64", "riscv64"] {
        let l = Layer::default()
            .file(&format!("{arch}-only"), arch.as_bytes(), 0o644, (0, 0))
            .gzip();
        let (d, _) = push_image(
            &c,
            &reg.reference(&format!("multi/arch:{arch}")),
            &[l],
            &config(arch, 1),
            &Auth::Anonymous,
        );
        let r = Reference::parse(&reg.reference(&format!("multi/arch@{d}"))).unwrap();
        let size = c
            .manifest(&r, d.as_str(), &Auth::Anonymous)
            .unwrap()
            .bytes
            .len() as u64;
        let platform = Some(Platform {
            architecture: arch.into(),
            os: "linux".into(),
            variant: None,
        });
        entries.push(Descriptor {
            media_type: OCI_MANIFEST.into(),
            digest: d.to_string(),
            size,
            platform,
            annotations: None,
        });
    }
    let index = serde_json::to_vec(&Index {
        schema_version: 2,
        manifests: entries,
    })
    .unwrap();
    let reference = reg.reference("multi/arch:latest");
    let r = Reference::parse(&reference).unwrap();
    c.push_manifest(&r, "latest", &index, OCI_INDEX, &Auth::Anonymous)
        .unwrap();
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(root.path()).unwrap();
    let arm = Platform {
        architecture: "arm64".into(),
        os: "linux".into(),
        variant: None,
    };
    let rec = pull(
        &store,
        &c,
        &reference,
        &PullOptions {
            platform: Some(arm),
            ..Default::default()
        },
    )
    .unwrap();
    let list = image_common::list_sif(&store.sif_path(&rec));
    assert_eq!(list, ["drwxr-xr-x 0/0 /", "-rw-r--r-- 0/0 /arm64-only"]);
    assert_eq!(
        rec.repo_digests,
        vec![format!("{}@{}", r.name(), Digest::of(&index))]
    );
    let none = Platform {
        architecture: "s390x".into(),
        os: "linux".into(),
        variant: None,
    };
    let err = pull(
        &store,
        &c,
        &reference,
        &PullOptions {
            platform: Some(none),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(matches!(err, Error::NoMatchingPlatform(_)), "{err}");
}

#[test]
fn mirrors_serve_and_never_fall_back_unasked() {
    let Some(reg) = Registry::start(None) else {
        return;
    };
    let c = client();
    push_image(
        &c,
        &reg.reference("lib/app:v1"),
        &[Layer::default().file("m", b"m", 0o644, (0, 0)).gzip()],
        &config("amd64", 1),
        &Auth::Anonymous,
    );
    let mut cfg = RegistryConfig::default();
    let mirror = HostConfig {
        mirrors: vec![format!("http://{}", reg.host)],
        ..Default::default()
    };
    cfg.hosts.insert("registry.invalid".into(), mirror);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = HostConfig {
        mirrors: vec![format!("http://127.0.0.1:{port}")],
        ..Default::default()
    };
    cfg.hosts.insert(reg.host.clone(), dead);
    let mc = Client::new(cfg);
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(root.path()).unwrap();
    let rec = pull(
        &store,
        &mc,
        "registry.invalid/lib/app:v1",
        &PullOptions::default(),
    )
    .unwrap();
    assert_eq!(
        rec.repo_tags,
        vec!["registry.invalid/lib/app:v1".to_string()]
    );
    // The origin answers, but its only mirror is down and no fallback is configured.
    let err = pull(
        &store,
        &mc,
        &reg.reference("lib/app:v1"),
        &PullOptions::default(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
}

/// A small native SIF (a squashfs of one file as primary partition).
fn make_sif(dir: &std::path::Path) -> std::path::PathBuf {
    use sifcri::sif::{
        create, Arch, CreateOptions, DataType, FsType, ObjectInput, PartType, PartitionInfo,
    };
    let src = dir.join("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("hello"), b"hello").unwrap();
    let sq = dir.join("fs.sqfs");
    let ok = std::process::Command::new("mksquashfs")
        .arg(&src)
        .arg(&sq)
        .args(["-noappend", "-quiet", "-no-progress"])
        .status()
        .unwrap();
    assert!(ok.success());
    let part = PartitionInfo {
        fs: FsType::Squashfs,
        part: PartType::PrimarySystem,
        arch: Arch::AMD64,
    };
    let input =
        ObjectInput::new(DataType::Partition, std::fs::File::open(&sq).unwrap()).partition(part);
    let out = dir.join("native.sif");
    create(&out, &CreateOptions::deterministic(), vec![input]).unwrap();
    out
}

#[test]
fn sif_artifacts_round_trip_and_local_import_export() {
    let Some(reg) = Registry::start(None) else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let sif = make_sif(work.path());
    let bytes = std::fs::read(&sif).unwrap();
    let c = client();
    let reference = reg.reference("sif/native:v1");
    push(&c, &sif, &reference, &Auth::Anonymous).unwrap();
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(root.path()).unwrap();
    let rec = pull(&store, &c, &reference, &PullOptions::default()).unwrap();
    assert_eq!(rec.kind, ImageKind::Native);
    assert_eq!(
        rec.id,
        Digest::of(&bytes).to_string(),
        "native image id = SIF digest"
    );
    assert_eq!(
        std::fs::read(store.sif_path(&rec)).unwrap(),
        bytes,
        "stored as is"
    );
    // Local import of the same file: same id, one more name.
    let imported = store.import(&sif, Some("localhost/mine:1")).unwrap();
    assert_eq!(imported.id, rec.id);
    assert_eq!(
        imported.repo_tags,
        vec![reference.clone(), "localhost/mine:1".to_string()]
    );
    let out = work.path().join("exported.sif");
    store.export("localhost/mine:1", &out).unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), bytes);
    store.remove("localhost/mine:1").unwrap();
    assert!(
        store.lookup(&reference).is_ok(),
        "other names keep the image"
    );
    store.remove(&rec.id).unwrap();
    assert!(store.list().unwrap().is_empty());
    assert_eq!(
        std::fs::read_dir(root.path().join("sifs")).unwrap().count(),
        0,
        "SIF removed"
    );
    assert!(matches!(store.lookup(&reference), Err(Error::NotFound(_))));
}
