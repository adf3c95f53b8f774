//! Bad input to `sifcri mount`: clear errors, a nonzero exit, nothing left mounted
//! or running — as root and as an ordinary user.

mod common;

use std::path::Path;

use common::image;
use common::{require_root, require_user, Scratch, Who};

/// Runs `sifcri mount IMAGE DIR` and returns its stderr, asserting it failed.
fn mount_fails(s: &Scratch, who: Who, extra: &[&str], img: &Path, dir: &Path) -> String {
    let bin = s.bin();
    let (img, dir) = (img.to_string_lossy(), dir.to_string_lossy());
    let mut argv = vec![bin.as_str(), "mount"];
    argv.extend_from_slice(extra);
    argv.extend_from_slice(&[&img, &dir]);
    let out = s.runner(who).output(&argv);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{argv:?} succeeded");
    assert!(err.starts_with("sifcri: "), "one clear line, got: {err}");
    s.assert_clean();
    err
}

fn bad_inputs(who: Who) {
    let s = Scratch::new();
    let mnt = s.mkdir("mnt", who);
    let tree = s.mkdir("tree", Who::Root);
    std::fs::write(tree.join("f"), "x").unwrap();
    let sqfs = image::squashfs(&tree, &s.path().join("ok.sqfs"), "gzip");
    let sif = image::sif(&s, &sqfs, &s.path().join("ok.sif"));

    let text = s.path().join("not-an-image");
    std::fs::write(&text, "just text\n").unwrap();
    let err = mount_fails(&s, who, &[], &text, &mnt);
    assert!(
        err.contains("neither a SIF image nor a squashfs file"),
        "{err}"
    );

    let missing = s.path().join("missing.sif");
    let err = mount_fails(&s, who, &[], &missing, &mnt);
    assert!(
        err.contains("cannot read image") && err.contains("No such file"),
        "{err}"
    );

    let truncated = s.path().join("truncated.sif");
    let bytes = std::fs::read(&sif).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len().min(200)]).unwrap();
    let err = mount_fails(&s, who, &[], &truncated, &mnt);
    assert!(err.contains("truncated.sif"), "{err}");

    let half = s.path().join("half.sif");
    std::fs::write(&half, &bytes[..bytes.len() - 512]).unwrap();
    let err = mount_fails(&s, who, &[], &half, &mnt);
    assert!(err.contains("half.sif"), "{err}");

    let raw = image::sif_with(&s, &sqfs, &s.path().join("raw.sif"), "primsys", "raw");
    let err = mount_fails(&s, who, &[], &raw, &mnt);
    assert!(err.contains("not a squashfs partition"), "{err}");
    let err = mount_fails(&s, who, &["--partition", "9"], &sif, &mnt);
    assert!(err.contains("has no descriptor 9"), "{err}");
    let err = mount_fails(&s, who, &["--partition", "1"], &sqfs, &mnt);
    assert!(err.contains("SIF images only"), "{err}");

    let nowhere = s.path().join("no/such/dir");
    let err = mount_fails(&s, who, &[], &sif, &nowhere);
    assert!(err.contains("no/such/dir"), "{err}");
}

#[test]
fn bad_input_as_root() {
    if require_root() {
        bad_inputs(Who::Root);
    }
}

#[test]
fn bad_input_as_user() {
    if require_user() {
        bad_inputs(Who::User);
    }
}

#[test]
fn overlay_without_a_command_is_refused_to_a_user() {
    if !require_user() {
        return;
    }
    let s = Scratch::new();
    let tree = s.mkdir("tree", Who::Root);
    let sqfs = image::squashfs(&tree, &s.path().join("ok.sqfs"), "gzip");
    let mnt = s.mkdir("mnt", Who::User);
    let upper = s.path().join("upper");
    let err = mount_fails(
        &s,
        Who::User,
        &["--overlay", &upper.to_string_lossy()],
        &sqfs,
        &mnt,
    );
    assert!(err.contains("user namespace"), "{err}");
}

#[test]
fn umount_of_something_else_fails_clearly() {
    if !require_root() {
        return;
    }
    let s = Scratch::new();
    let dir = s.mkdir("plain", Who::Root);
    let out = s
        .runner(Who::Root)
        .output(&[&s.bin(), "umount", &dir.to_string_lossy()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("plain is not a mountpoint"), "{err}");
}
