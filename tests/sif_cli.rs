//! `sifcri sif` as a program: building the reference image with the CLI alone, clear
//! errors and untouched files on bad input, and the verbs run by an unprivileged user.

mod sif_common;

use sif_common::testdata;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sifcri(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sifcri"));
    cmd.arg("sif");
    for a in args {
        cmd.arg(a);
    }
    cmd.output().expect("run sifcri")
}

fn ok(out: Output) -> Vec<u8> {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn copy_image(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::copy(testdata().join("images").join(name), &path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    path
}

#[test]
fn cli_builds_reference_image_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let sif = dir.path().join("x.sif");
    let raw = dir.path().join("raw.bin");
    std::fs::write(&raw, [0xfa, 0xce, 0xfe, 0xed]).unwrap();
    let squash = testdata().join("input/root.squashfs");
    ok(sifcri(&[&"new", &"--deterministic", &sif]));
    ok(sifcri(&[
        &"add",
        &"--datatype",
        &"4",
        &"--parttype",
        &"1",
        &"--partfs",
        &"4",
        &"--partarch",
        &"1",
        &"--groupid",
        &"1",
        &sif,
        &raw,
    ]));
    ok(sifcri(&[
        &"add",
        &"--datatype",
        &"partition",
        &"--parttype",
        &"primsys",
        &"--partfs",
        &"squashfs",
        &"--partarch",
        &"386",
        &"--groupid",
        &"1",
        &sif,
        &squash,
    ]));
    let want = std::fs::read(testdata().join("images/one-group.sif")).unwrap();
    assert!(
        std::fs::read(&sif).unwrap() == want,
        "differs from one-group.sif"
    );
    assert_eq!(
        ok(sifcri(&[&"dump", &"2", &sif])),
        std::fs::read(&squash).unwrap()
    );
}

#[test]
fn cli_every_datatype_then_del_and_setprim() {
    let dir = tempfile::tempdir().unwrap();
    let sif = dir.path().join("all.sif");
    let obj = dir.path().join("obj");
    std::fs::write(&obj, b"{\"k\": 1}").unwrap();
    ok(sifcri(&[
        &"new",
        &"--uuid",
        &"3fa802cc-358b-45e3-bcc0-69dc7a45f9f8",
        &"--time",
        &"1593475316",
        &sif,
    ]));
    let add = |extra: &[&str]| {
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"add"];
        args.extend(extra.iter().map(|s| s as &dyn AsRef<std::ffi::OsStr>));
        args.push(&sif);
        args.push(&obj);
        ok(sifcri(&args));
    };
    add(&["--datatype", "deffile", "--filename", "Singularity"]);
    add(&["--datatype", "2"]);
    add(&["--datatype", "labels", "--groupid", "3"]);
    add(&[
        "--datatype",
        "partition",
        "--partfs",
        "ext3",
        "--parttype",
        "system",
        "--partarch",
        "arm64",
    ]);
    add(&[
        "--datatype",
        "signature",
        "--signhash",
        "2",
        "--signentity",
        "433FE984155206BD962725E20E8713472A879943",
        "--link",
        "4",
    ]);
    add(&["--datatype", "generic-json", "--alignment", "512"]);
    add(&["--datatype", "generic", "--linkgroup", "3"]);
    add(&[
        "--datatype",
        "8",
        "--msgformat",
        "pem",
        "--msgtype",
        "rsa-oaep",
    ]);
    add(&["--datatype", "sbom", "--sbomformat", "spdx-json"]);
    add(&["--datatype", "oci-root-index"]);
    add(&["--datatype", "oci.blob"]);
    let list = String::from_utf8(ok(sifcri(&[&"list", &sif]))).unwrap();
    for want in [
        "|Def.FILE",
        "|Env.Vars",
        "|JSON.Labels",
        "|FS (Ext3/System/arm64)",
        "|Signature (SHA-384)",
        "|JSON.Generic",
        "|Generic/Raw",
        "|Cryptographic Message (PEM/RSA-OAEP)",
        "|SBOM (spdx-json)",
        "|OCI.RootIndex",
        "|OCI.Blob",
        "|3   (G) ",
    ] {
        assert!(list.contains(want), "list lacks {want:?}:\n{list}");
    }
    let info = String::from_utf8(ok(sifcri(&[&"info", &"5", &sif]))).unwrap();
    assert!(
        info.contains("Entity:       433FE984155206BD962725E20E8713472A879943"),
        "{info}"
    );
    let info = String::from_utf8(ok(sifcri(&[&"info", &"11", &sif]))).unwrap();
    let digest = sifcri::sif::OciDigest::of(b"{\"k\": 1}").to_string();
    assert!(info.contains(&digest), "{info}");
    ok(sifcri(&[&"setprim", &"4", &sif]));
    let header = String::from_utf8(ok(sifcri(&[&"header", &sif]))).unwrap();
    assert!(header.contains("Primary Architecture: arm64"), "{header}");
    assert!(
        header.contains("Created At:           2020-06-30 00:01:56 +0000 UTC"),
        "{header}"
    );
    ok(sifcri(&[&"del", &"4", &sif]));
    let header = String::from_utf8(ok(sifcri(&[&"header", &sif]))).unwrap();
    assert!(!header.contains("Primary Architecture"), "{header}");
    assert!(header.contains("Descriptors Free:   38\n"), "{header}");
}

/// Runs a command that must fail: nonzero exit, the expected words on stderr, and the
/// SIF file byte-identical afterwards.
fn refused(file: &Path, args: &[&dyn AsRef<std::ffi::OsStr>], words: &str) {
    let before = std::fs::read(file).unwrap();
    let out = sifcri(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "accepted {:?}",
        args.iter()
            .map(|a| a.as_ref().to_owned())
            .collect::<Vec<_>>()
    );
    assert!(err.contains(words), "stderr {err:?} lacks {words:?}");
    assert!(
        std::fs::read(file).unwrap() == before,
        "file changed by a refused command"
    );
}

#[test]
fn bad_input_is_refused_and_leaves_file_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let sif = copy_image(dir.path(), "one-group.sif");
    let obj = dir.path().join("obj");
    std::fs::write(&obj, b"data").unwrap();
    let missing = dir.path().join("missing");
    refused(&sif, &[&"del", &"7", &sif], "object not found");
    refused(&sif, &[&"del", &"0", &sif], "invalid object ID");
    refused(&sif, &[&"del", &"x", &sif], "invalid value");
    refused(&sif, &[&"info", &"9", &sif], "object not found");
    refused(&sif, &[&"dump", &"0", &sif], "invalid object ID");
    refused(&sif, &[&"setprim", &"5", &sif], "object not found");
    refused(
        &sif,
        &[&"add", &"--datatype", &"4", &sif, &obj],
        "--partfs, --parttype and --partarch",
    );
    refused(
        &sif,
        &[&"add", &"--datatype", &"12", &sif, &obj],
        "invalid datatype",
    );
    refused(
        &sif,
        &[
            &"add",
            &"--datatype",
            &"partition",
            &"--partfs",
            &"1",
            &"--parttype",
            &"2",
            &"--partarch",
            &"2",
            &sif,
            &obj,
        ],
        "already contains a primary partition",
    );
    refused(
        &sif,
        &[
            &"add",
            &"--datatype",
            &"5",
            &"--signhash",
            &"1",
            &"--signentity",
            &"abcd",
            &sif,
            &obj,
        ],
        "fingerprint length",
    );
    refused(
        &sif,
        &[&"add", &"--datatype", &"sbom", &sif, &obj],
        "--sbomformat",
    );
    refused(
        &sif,
        &[&"add", &"--datatype", &"1", &sif, &missing],
        "missing",
    );
    refused(
        &sif,
        &[
            &"add",
            &"--datatype",
            &"1",
            &"--filename",
            &"n".repeat(129),
            &sif,
            &obj,
        ],
        "name value too large",
    );
    // Not a SIF at all: every verb says so and changes nothing.
    for verb in ["list", "header"] {
        refused(&obj, &[&verb, &obj], "SIF");
    }
    refused(
        &obj,
        &[&"add", &"--datatype", &"1", &obj, &obj],
        "invalid SIF magic",
    );
    refused(&obj, &[&"del", &"1", &obj], "invalid SIF magic");
    refused(&sif, &[&"list", &missing], "No such file");
}

/// Root while `sifcri-test` exists: runs the verbs as that user. Elsewhere the test
/// skips loudly, and fails under CI.
fn unprivileged_user() -> Option<&'static str> {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let root = nix::unistd::geteuid().is_root();
    let user = nix::unistd::User::from_name("sifcri-test")
        .ok()
        .flatten()
        .is_some();
    if root && user {
        return Some("sifcri-test");
    }
    assert!(
        !ci,
        "CI=true but cannot run as sifcri-test (root: {root}, user exists: {user})"
    );
    eprintln!("SKIPPED: needs root and the user sifcri-test (scripts/setup.sh)");
    None
}

#[test]
fn unprivileged_user_reads_and_cannot_write_others_files() {
    let Some(user) = unprivileged_user() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = dir.path().join("sifcri");
    std::fs::copy(env!("CARGO_BIN_EXE_sifcri"), &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let runtime = bin.with_file_name("sifcri-runtime");
    std::fs::copy(env!("CARGO_BIN_EXE_sifcri-runtime"), &runtime).unwrap();
    std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o755)).unwrap();
    let sif = copy_image(dir.path(), "one-group.sif");
    let as_user = |args: &[&dyn AsRef<std::ffi::OsStr>]| {
        let mut cmd = Command::new("setpriv");
        cmd.args([
            "--reuid",
            user,
            "--regid",
            user,
            "--init-groups",
            "--reset-env",
        ])
        .arg(&bin)
        .arg("sif");
        args.iter().for_each(|a| {
            cmd.arg(a);
        });
        cmd.output().expect("run setpriv")
    };
    let list = as_user(&[&"list", &sif]);
    let want =
        std::fs::read(testdata().join("siftool-golden/TestApp_List/OneGroup.golden")).unwrap();
    assert!(
        list.status.success() && list.stdout == want,
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    let before = std::fs::read(&sif).unwrap();
    let out = as_user(&[&"del", &"1", &sif]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Permission denied"));
    assert!(std::fs::read(&sif).unwrap() == before);
    // In a directory of its own, the user creates and edits images.
    let own = dir.path().join("own");
    std::fs::create_dir(&own).unwrap();
    nix::unistd::chown(
        &own,
        nix::unistd::User::from_name(user).unwrap().map(|u| u.uid),
        None,
    )
    .unwrap();
    let new = own.join("new.sif");
    assert!(as_user(&[&"new", &new]).status.success());
    let out = as_user(&[&"add", &"--datatype", &"7", &new, &sif]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(ok(sifcri(&[&"dump", &"1", &new])), before);
}
