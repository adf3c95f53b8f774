//! Layer blobs kept in the store: a second image sharing a layer downloads only its
//! own layers, `rmi` of the last image using a blob removes it, and a partial blob
//! left in the store by an earlier process is resumed (a wrong partial prefix fails
//! the digest check and is removed, so the next pull starts over).

mod image_common;

use image_common::layers::Layer;
use image_common::registry::{client, config, push_image, Registry};
use sifcri::image::registry::Auth;
use sifcri::image::{pull, Digest, ErrorKind, PullOptions, Store};

fn config_named(name: &str, layers: usize) -> serde_json::Value {
    let mut c = config("amd64", layers);
    c["author"] = serde_json::Value::String(name.to_string());
    c
}

#[test]
fn shared_layers_download_once_and_partials_resume() {
    let Some(reg) = Registry::start(None) else {
        return;
    };
    let c = client();
    let base = Layer::default()
        .file("base", &vec![7u8; 300_000], 0o644, (0, 0))
        .gzip();
    let one = Layer::default().file("one", b"1", 0o644, (0, 0)).gzip();
    let two = Layer::default().file("two", b"2", 0o644, (0, 0)).gzip();
    let (ra, rb) = (reg.reference("share/a:v1"), reg.reference("share/b:v1"));
    let layers_a = [base.clone(), one.clone()];
    push_image(&c, &ra, &layers_a, &config_named("a", 2), &Auth::Anonymous);
    let layers_b = [base.clone(), two.clone()];
    push_image(&c, &rb, &layers_b, &config_named("b", 2), &Auth::Anonymous);
    let digest = |l: &(String, Vec<u8>)| Digest::of(&l.1);
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(root.path()).unwrap();

    // b's own layer was half downloaded by a process that died.
    let partial = root.path().join("blobs/partial").join(digest(&two).hex());
    let mut bad = two.1[..two.1.len() / 2].to_vec();
    bad[0] ^= 0xff;
    std::fs::write(&partial, &bad).unwrap();

    pull(&store, &c, &ra, &PullOptions::default()).unwrap();
    let err = pull(&store, &c, &rb, &PullOptions::default()).unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::BadContent,
        "a wrong partial prefix: {err}"
    );
    assert!(
        !partial.exists(),
        "a partial that failed its digest is removed"
    );
    std::fs::write(&partial, &two.1[..two.1.len() / 2]).unwrap();
    let rec_b = pull(&store, &c, &rb, &PullOptions::default()).unwrap();
    assert!(!partial.exists());
    assert_eq!(
        reg.blob_gets(&digest(&base).to_string()),
        1,
        "the shared layer once"
    );
    assert_eq!(
        reg.blob_gets(&digest(&two).to_string()),
        2,
        "b's layer: failed resume, resume"
    );
    let kept = |l: &(String, Vec<u8>)| root.path().join("blobs/sha256").join(digest(l).hex());
    assert!(kept(&base).exists() && kept(&one).exists() && kept(&two).exists());
    assert_eq!(
        rec_b.layers,
        vec![digest(&base).to_string(), digest(&two).to_string()]
    );

    store.remove(&ra).unwrap();
    assert!(!kept(&one).exists(), "a's own layer goes with a");
    assert!(
        kept(&base).exists() && kept(&two).exists(),
        "b still uses these"
    );
    store.remove(&rb).unwrap();
    assert!(!kept(&base).exists() && !kept(&two).exists());
}
