//! Bad input ends in a clear, typed error and leaves nothing in the store: escaping
//! tar members (each kind), wrong media types, a truncated blob, bytes that do not
//! match their digest, a 100 MB manifest, an unreachable registry, bad credentials.

mod image_common;

use image_common::fake::{Answer, Fake};
use image_common::layers::Layer;
use image_common::registry::{client, config, push_image, Registry};
use sifcri::image::registry::manifest::{Descriptor, Manifest, OCI_CONFIG, OCI_MANIFEST};
use sifcri::image::registry::Auth;
use sifcri::image::{pull, Digest, Error, ErrorKind, PullOptions, Reference, Store};
use tar::EntryType;

/// A fresh store; checks on drop that nothing was left in it.
struct EmptyStore {
    dir: tempfile::TempDir,
    store: Store,
}

fn store() -> EmptyStore {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    EmptyStore { dir, store }
}

impl EmptyStore {
    fn assert_empty(&self) {
        assert!(self.store.list().unwrap().is_empty(), "no image recorded");
        for sub in ["sifs", "tmp"] {
            let n = std::fs::read_dir(self.dir.path().join(sub))
                .unwrap()
                .count();
            assert_eq!(n, 0, "{sub}/ is empty");
        }
    }
}

#[test]
fn escaping_members_are_refused() {
    let Some(reg) = Registry::start(None) else {
        return;
    };
    let c = client();
    type Build = fn(&mut Layer) -> &mut Layer;
    let cases: [(&str, Build, &str); 7] = [
        (
            "absolute",
            |l| l.raw(b"/etc/evil", EntryType::Regular, b""),
            "absolute path",
        ),
        (
            "dotdot",
            |l| l.raw(b"a/../../evil", EntryType::Regular, b""),
            "..",
        ),
        (
            "through-symlink",
            |l| {
                l.symlink("etc", "/etc")
                    .raw(b"etc/passwd", EntryType::Regular, b"")
            },
            "symlink",
        ),
        (
            "hardlink-dotdot",
            |l| l.raw(b"h", EntryType::Link, b"../outside"),
            "..",
        ),
        (
            "hardlink-absolute",
            |l| l.raw(b"h", EntryType::Link, b"/etc/passwd"),
            "absolute",
        ),
        (
            "hardlink-missing",
            |l| l.raw(b"h", EntryType::Link, b"nothere"),
            "does not exist",
        ),
        (
            "hardlink-to-dir",
            |l| l.dir("d", 0o755, (0, 0)).raw(b"h", EntryType::Link, b"d"),
            "not a regular file",
        ),
    ];
    for (name, build, why) in cases {
        let mut l = Layer::default();
        build(&mut l);
        let reference = reg.reference(&format!("evil/{name}:v1"));
        push_image(
            &c,
            &reference,
            &[l.gzip()],
            &config("amd64", 1),
            &Auth::Anonymous,
        );
        let s = store();
        let err = pull(&s.store, &c, &reference, &PullOptions::default()).unwrap_err();
        assert!(matches!(err, Error::BadLayerMember { .. }), "{name}: {err}");
        assert!(err.to_string().contains(why), "{name}: {err}");
        assert_eq!(err.kind(), ErrorKind::BadContent);
        s.assert_empty();
    }
}

#[test]
fn wrong_media_types_and_truncated_blobs_are_refused() {
    let Some(reg) = Registry::start(None) else {
        return;
    };
    let c = client();
    let (_, data) = Layer::default().file("a", b"a", 0o644, (0, 0)).gzip();
    let helm = (
        "application/vnd.cncf.helm.chart.content.v1.tar+gzip".to_string(),
        data.clone(),
    );
    let reference = reg.reference("bad/mediatype:v1");
    push_image(
        &c,
        &reference,
        &[helm],
        &config("amd64", 1),
        &Auth::Anonymous,
    );
    let s = store();
    let err = pull(&s.store, &c, &reference, &PullOptions::default()).unwrap_err();
    assert!(matches!(err, Error::UnsupportedMediaType { .. }), "{err}");
    s.assert_empty();
    // A manifest that says the layer is longer than it is.
    let r = Reference::parse(&reg.reference("bad/truncated:v1")).unwrap();
    let layer_digest = c.push_bytes(&r, &data, &Auth::Anonymous).unwrap();
    let cfg = serde_json::to_vec(&config("amd64", 1)).unwrap();
    let cfg_digest = c.push_bytes(&r, &cfg, &Auth::Anonymous).unwrap();
    let m = manifest(
        &cfg_digest,
        cfg.len() as u64,
        &layer_digest,
        data.len() as u64 + 100,
    );
    c.push_manifest(&r, "v1", &m, OCI_MANIFEST, &Auth::Anonymous)
        .unwrap();
    let err = pull(&s.store, &c, &r.to_string(), &PullOptions::default()).unwrap_err();
    assert!(matches!(err, Error::SizeMismatch { .. }), "{err}");
    s.assert_empty();
}

fn manifest(cfg: &Digest, cfg_size: u64, layer: &Digest, layer_size: u64) -> Vec<u8> {
    let d = |mt: &str, digest: &Digest, size| Descriptor {
        media_type: mt.into(),
        digest: digest.to_string(),
        size,
        platform: None,
        annotations: None,
    };
    let m = Manifest {
        schema_version: 2,
        media_type: Some(OCI_MANIFEST.into()),
        config: d(OCI_CONFIG, cfg, cfg_size),
        layers: vec![d(image_common::layers::TAR_GZIP, layer, layer_size)],
    };
    serde_json::to_vec(&m).unwrap()
}

#[test]
fn digest_mismatch_and_huge_manifest_are_refused() {
    let (_, layer) = Layer::default().file("a", b"a", 0o644, (0, 0)).gzip();
    let cfg = serde_json::to_vec(&config("amd64", 1)).unwrap();
    let (cfg_d, layer_d) = (Digest::of(&cfg), Digest::of(&layer));
    let good = manifest(&cfg_d, cfg.len() as u64, &layer_d, layer.len() as u64);
    let (cfg2, good2) = (cfg.clone(), good.clone());
    let fake = Fake::start(move |path| {
        if path.ends_with("/manifests/huge") {
            return Answer {
                stream_zeros: Some(100 << 20),
                ..Answer::ok(OCI_MANIFEST, Vec::new())
            };
        }
        if path.ends_with("/manifests/v1") {
            return Answer::ok(OCI_MANIFEST, good2.clone());
        }
        if path.ends_with(&format!("/blobs/{}", Digest::of(&cfg2))) {
            return Answer::ok("application/octet-stream", cfg2.clone());
        }
        if path.contains("/blobs/") {
            // Same length, other bytes.
            return Answer::ok("application/octet-stream", vec![b'x'; layer.len()]);
        }
        Answer::not_found()
    });
    let c = client();
    let s = store();
    let err = pull(
        &s.store,
        &c,
        &format!("{}/x/y:v1", fake.host),
        &PullOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
    s.assert_empty();
    let started = std::time::Instant::now();
    let err = pull(
        &s.store,
        &c,
        &format!("{}/x/y:huge", fake.host),
        &PullOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::TooLarge { .. }), "{err}");
    assert!(
        started.elapsed().as_secs() < 10,
        "refused before reading it all"
    );
    let by_digest = format!("{}/x/y@{}", fake.host, Digest::of(b"other"));
    let err = pull(&s.store, &c, &by_digest, &PullOptions::default()).unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err}");
    assert_eq!(err.kind(), ErrorKind::NotFound);
    s.assert_empty();
}

#[test]
fn unreachable_registry_is_unavailable() {
    let s = store();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = pull(
        &s.store,
        &client(),
        &format!("127.0.0.1:{port}/a/b:c"),
        &PullOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Unreachable { .. }), "{err}");
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    let err = pull(
        &s.store,
        &client(),
        "Not/A:Ref:erence",
        &PullOptions::default(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    s.assert_empty();
}
