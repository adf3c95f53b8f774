//! `sifcri mount --overlay`: a kernel overlayfs over our FUSE lower, as root (a
//! background mount in the host's namespace) and as an ordinary user (a command run
//! in a user namespace of the user's own). Every change kind is made through the
//! overlay, then the upper directory is checked from outside.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use common::image;
use common::{require_root, require_user, Scratch, Who};

/// Makes every change; prints `name=ok` or `name=fail:<message>` per change.
const OPS: &str = r#"
cd "$1" || exit 1
try() { name=$1; shift; if out=$("$@" 2>&1); then echo "$name=ok"; else echo "$name=fail:$out"; fi; }
try create sh -c 'echo created > new-file'
try append sh -c 'echo appended >> file'
try copy-up-user-xattr sh -c 'echo appended >> uxattr'
try copy-up-security-xattr sh -c 'echo appended >> sxattr'
try copy-up-trusted-xattr sh -c 'echo appended >> txattr'
try chmod chmod 0600 chm
try utimes touch -m -d @1500000000 tim
try rename mv ren-src ren-dst
try hardlink ln linksrc hardlink
try delete rm gone
try rmdir-lower-tree rm -r dir
try rmdir-lower-empty rmdir emptydir
check() { name=$1; shift; if [ "$@" ]; then echo "$name=ok"; else echo "$name=fail:[ $* ]"; fi; }
check see-append "$(cat file)" = "$(printf 'lower\nappended')"
check see-user-xattr "$(getfattr --only-values -n user.note uxattr)" = note
check see-delete ! -e gone
check see-rmdir "$(ls -d dir emptydir 2>/dev/null)" = ""
check see-rename "$(ls ren-src ren-dst 2>/dev/null)" = ren-dst
# overlayfs (index=off) reports a copied-up file's st_ino as its lower origin's, and
# the new link's as the upper inode's: compare link counts here, inodes in the upper.
check see-hardlink "$(stat -c %h linksrc) $(stat -c %h hardlink)" = "2 2"
check see-chmod "$(stat -c %a chm)" = 600
check see-utimes "$(stat -c %Y tim)" = 1500000000
check see-create "$(cat new-file)" = created
"#;

fn lower_image(s: &Scratch) -> std::path::PathBuf {
    let t = s.mkdir("lower", Who::Root);
    for f in [
        "file", "uxattr", "sxattr", "txattr", "chm", "tim", "ren-src", "linksrc", "gone",
    ] {
        std::fs::write(t.join(f), "lower\n").unwrap();
    }
    std::fs::create_dir_all(t.join("dir/sub")).unwrap();
    std::fs::write(t.join("dir/sub/inner"), "x").unwrap();
    std::fs::create_dir(t.join("emptydir")).unwrap();
    for (f, name, value) in [
        ("uxattr", "user.note", "note"),
        ("sxattr", "security.s", "ss"),
        ("txattr", "trusted.t", "tt"),
    ] {
        let st = std::process::Command::new("setfattr")
            .args(["-n", name, "-v", value])
            .arg(t.join(f))
            .status()
            .unwrap();
        assert!(st.success());
    }
    let sqfs = image::squashfs(&t, &s.path().join("lower.sqfs"), "zstd");
    image::sif(s, &sqfs, &s.path().join("lower.sif"))
}

fn results(stdout: &str) -> BTreeMap<String, String> {
    stdout
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn assert_ok(results: &BTreeMap<String, String>, skip: &[&str]) {
    let bad: Vec<_> = results
        .iter()
        .filter(|(k, v)| !skip.contains(&k.as_str()) && *v != "ok")
        .collect();
    assert!(
        bad.is_empty(),
        "changes through the overlay failed: {bad:#?}"
    );
    assert_eq!(results.len(), 21, "{results:#?}");
}

fn is_whiteout(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_char_device() && m.rdev() == 0)
}

/// The upper directory holds exactly the changes.
fn check_upper(upper: &Path, user_ns: bool) {
    let read = |f: &str| std::fs::read_to_string(upper.join(f)).unwrap();
    assert_eq!(read("new-file"), "created\n");
    assert_eq!(read("file"), "lower\nappended\n");
    for w in ["gone", "ren-src", "dir", "emptydir"] {
        assert!(
            is_whiteout(&upper.join(w)),
            "{w} is not a whiteout in the upper dir"
        );
    }
    let meta = |f: &str| std::fs::symlink_metadata(upper.join(f)).unwrap();
    assert_eq!(meta("chm").mode() & 0o7777, 0o600);
    assert_eq!(meta("tim").mtime(), 1_500_000_000);
    assert_eq!(meta("hardlink").ino(), meta("linksrc").ino());
    let out = std::process::Command::new("getfattr")
        .args(["--only-values", "-n", "user.note"])
        .arg(upper.join("uxattr"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "note",
        "user xattr lost in copy-up"
    );
    if !user_ns {
        let out = std::process::Command::new("getfattr")
            .args(["--only-values", "-n", "trusted.t"])
            .arg(upper.join("txattr"))
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "tt",
            "trusted xattr lost in copy-up"
        );
    }
}

#[test]
fn overlay_as_root_in_the_background() {
    if !require_root() {
        return;
    }
    let s = Scratch::new();
    let sif = lower_image(&s);
    let root = s.runner(Who::Root);
    let (upper, dir) = (s.path().join("upper"), s.mkdir("mnt", Who::Root));
    root.ok(&[
        &s.bin(),
        "mount",
        "--overlay",
        &upper.to_string_lossy(),
        &sif.to_string_lossy(),
        &dir.to_string_lossy(),
    ]);
    assert_eq!(
        common::mounts_below(s.path()),
        [dir.to_string_lossy()],
        "only the overlay is visible"
    );
    let ops = root.scratch_file("ops.sh", OPS);
    let out = root.ok(&["sh", &ops, &dir.to_string_lossy()]);
    image::umount(&s, &root, &dir);
    s.assert_clean();
    assert_ok(&results(&out), &[]);
    check_upper(&upper, false);
    assert!(
        s.path().join(".upper.work").is_dir(),
        "work dir next to the upper dir"
    );
}

#[test]
fn overlay_as_user_around_a_command() {
    if !require_user() {
        return;
    }
    let s = Scratch::new();
    let sif = lower_image(&s);
    let user = s.runner(Who::User);
    let base = s.mkdir("user", Who::User);
    let (upper, dir) = (base.join("upper"), s.mkdir("user/mnt", Who::User));
    let ops = user.scratch_file("ops.sh", OPS);
    let (u, d) = (upper.to_string_lossy(), dir.to_string_lossy());
    let out = user.ok(&[
        &s.bin(),
        "mount",
        "--overlay",
        &u,
        &sif.to_string_lossy(),
        &d,
        "--",
        "sh",
        &ops,
        &d,
    ]);
    s.assert_clean();
    let r = results(&out);
    // Kernel limits in a user namespace, checked so that a change is noticed:
    // - security.* (other than security.capability): the LSM commoncap lets only
    //   CAP_SYS_ADMIN in the user namespace owning the upper filesystem (the host's)
    //   set it, so copy-up fails with EPERM;
    // - trusted.*: invisible to the namespace's root (no CAP_SYS_ADMIN in the initial
    //   namespace), and fusefs leaves it out of listxattr for such callers, so copy-up
    //   works and the copy simply lacks it.
    assert!(
        r["copy-up-security-xattr"].contains("Operation not permitted"),
        "{r:#?}"
    );
    assert_ok(&r, &["copy-up-security-xattr"]);
    check_upper(&upper, true);
}

/// `-- COMMAND` without an overlay: the mount exists for the command only, and the
/// command's exit status is sifcri's.
#[test]
fn command_form_sees_the_image_and_returns_its_status() {
    if !require_root() {
        return;
    }
    let s = Scratch::new();
    let sif = lower_image(&s);
    let whos: &[Who] = if require_user() {
        &[Who::Root, Who::User]
    } else {
        &[Who::Root]
    };
    for &who in whos {
        let dir = s.mkdir(&format!("cmd-{who:?}"), who);
        let d = dir.to_string_lossy();
        let script =
            format!("cat {d}/file; if touch {d}/file 2>/dev/null; then exit 9; fi; exit 3");
        let out = s.runner(who).output(&[
            &s.bin(),
            "mount",
            &sif.to_string_lossy(),
            &d,
            "--",
            "sh",
            "-c",
            &script,
        ]);
        assert_eq!(out.status.code(), Some(3), "{who:?}: {out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "lower\n");
        assert!(common::mountinfo(&dir).is_none(), "the mount stays private");
        s.assert_clean();
    }
}
