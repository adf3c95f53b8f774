//! The image store on its own: stale work dirs of dead pulls removed at open, names
//! moving between images, lookups by id prefix, garbage collection, and the
//! `sifcri image import|export|inspect`, `images` and `rmi` verbs end to end.

mod image_common;

use std::path::{Path, PathBuf};
use std::process::Command;

use sifcri::image::{Digest, Store};
use sifcri::sif::{create, CreateOptions, DataType, ObjectInput};

/// A tiny valid SIF holding `text` as a generic object.
fn tiny_sif(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    let input = ObjectInput::new(DataType::Generic, text.as_bytes());
    create(&p, &CreateOptions::deterministic(), vec![input]).unwrap();
    p
}

#[test]
fn stale_work_dirs_are_removed_at_open() {
    let root = tempfile::tempdir().unwrap();
    let tmp = root.path().join("tmp");
    std::fs::create_dir_all(tmp.join("4194399.0.1/partial")).unwrap();
    std::fs::write(tmp.join("4194399.0.1.lock"), b"").unwrap();
    let store = Store::open(root.path()).unwrap();
    assert!(
        !tmp.join("4194399.0.1").exists(),
        "an interrupted pull's dir is removed"
    );
    assert!(!tmp.join("4194399.0.1.lock").exists());
    let live = store.temp_dir().unwrap();
    // Another process (here: a second open) leaves a live work dir alone.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sifcri"))
        .args(["images", "--root"])
        .arg(root.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(live.path().exists(), "a live pull's dir is kept");
    let path = live.path().to_path_buf();
    drop(live);
    assert!(!path.exists());
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "nothing left in tmp/"
    );
}

#[test]
fn names_move_and_ids_resolve() {
    let work = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(root.path()).unwrap();
    let a = store
        .import(&tiny_sif(work.path(), "a.sif", "a"), Some("app:1"))
        .unwrap();
    let b = store
        .import(&tiny_sif(work.path(), "b.sif", "b"), Some("app:1"))
        .unwrap();
    assert_ne!(a.id, b.id);
    assert_eq!(store.lookup("app:1").unwrap().id, b.id, "the name moved");
    assert_eq!(store.lookup("docker.io/library/app:1").unwrap().id, b.id);
    assert!(store.lookup(&a.id).unwrap().repo_tags.is_empty());
    let short = &a.id["sha256:".len().."sha256:".len() + 12];
    assert_eq!(store.lookup(short).unwrap().id, a.id);
    let bytes = std::fs::read(work.path().join("a.sif")).unwrap();
    assert_eq!(a.id, Digest::of(&bytes).to_string());
    // An unreferenced SIF file is garbage.
    std::fs::write(
        root.path()
            .join("sifs")
            .join(format!("{}.sif", "0".repeat(64))),
        b"junk",
    )
    .unwrap();
    assert_eq!(store.gc().unwrap(), 1);
    store.remove(&a.id).unwrap();
    assert_eq!(store.list().unwrap().len(), 1);
    let (bytes, inodes) = store.usage().unwrap();
    assert_eq!(
        (bytes, inodes),
        (std::fs::metadata(store.sif_path(&b)).unwrap().len(), 1)
    );
    let bad = work.path().join("bad.sif");
    std::fs::write(&bad, b"not a sif").unwrap();
    assert!(store.import(&bad, Some("bad:1")).is_err());
    assert_eq!(
        std::fs::read_dir(root.path().join("tmp")).unwrap().count(),
        0
    );
}

#[test]
fn cli_import_inspect_export_images_rmi() {
    let work = tempfile::tempdir().unwrap();
    let sif = tiny_sif(work.path(), "My Image.sif", "x");
    let root = work.path().join("store");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_sifcri"))
            .args(args)
            .arg("--root")
            .arg(&root)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let id = run(&["image", "import", sif.to_str().unwrap()]);
    let id = id.trim();
    let listing = run(&["images"]);
    assert!(listing.contains("localhost/my-image:latest"), "{listing}");
    let inspect: serde_json::Value =
        serde_json::from_str(&run(&["image", "inspect", "localhost/my-image"])).unwrap();
    assert_eq!(inspect["id"], id);
    assert_eq!(inspect["kind"], "native");
    let out = work.path().join("out.sif");
    run(&["image", "export", id, out.to_str().unwrap()]);
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&sif).unwrap());
    run(&["rmi", "localhost/my-image:latest"]);
    assert!(!run(&["images"]).contains("my-image"));
    let out = Command::new(env!("CARGO_BIN_EXE_sifcri"))
        .args(["rmi", "nope:1", "--root"])
        .arg(&root)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
}
