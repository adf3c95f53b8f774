//! `sifcri` (the small program) runs `mount`/`umount` itself and hands every other
//! command line to `sifcri-runtime`. Its parser must never read a command line other
//! than clap does: whatever it accepts, clap accepts with the same values; the usual
//! forms it does accept (else the small program would be for nothing); and the small
//! program really mounts on its own, without `sifcri-runtime` beside it.

use std::ffi::OsString;

use clap::Parser;
use sifcri::cli::fast::{self, Fast};
use sifcri::cli::{Cli, Command};

#[path = "sif_common/rng.rs"]
mod rng;

mod common;

/// clap's reading of `args`, as the fast parser's type; `None` if clap refuses them or
/// reads another verb.
fn clap_reads(args: &[OsString]) -> Option<Fast> {
    let argv = std::iter::once(OsString::from("sifcri")).chain(args.iter().cloned());
    match Cli::try_parse_from(argv).ok()? {
        Cli {
            log_level: None,
            command: Command::Mount(a),
        } => Some(Fast::Mount(a)),
        Cli {
            log_level: None,
            command: Command::Umount(a),
        } => Some(Fast::Umount(a)),
        _ => None,
    }
}

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

/// Asserts the fast parser reads `args` as clap does, or leaves them to clap; returns
/// whether it read them.
fn check(args: &[OsString]) -> bool {
    let Some(ours) = fast::parse(args) else {
        return false;
    };
    let theirs = clap_reads(args);
    assert_eq!(
        format!("{:?}", Some(&ours)),
        format!("{theirs:?}"),
        "{args:?}: the fast parser and clap differ"
    );
    true
}

#[test]
fn the_usual_forms_are_read_as_clap_reads_them() {
    let forms: &[&[&str]] = &[
        &["mount", "img.sif", "dir"],
        &["mount", "--foreground", "img.sif", "dir"],
        &["mount", "img.sif", "dir", "--foreground"],
        &["mount", "--partition", "3", "--threads=4", "img.sif", "dir"],
        &["mount", "--cache-size", "64", "img.sif", "dir"],
        &[
            "mount",
            "--cache-size=4096B",
            "--threads",
            "1",
            "img.sif",
            "dir",
        ],
        &[
            "mount",
            "--overlay",
            "up",
            "img.sif",
            "dir",
            "--",
            "sh",
            "-c",
            "ls",
        ],
        &["mount", "--notify-stdout", "img.sif", "dir"],
        &["umount", "dir"],
        &["umount", "-z", "dir"],
        &["umount", "dir", "--lazy"],
    ];
    for form in forms {
        assert!(check(&os(form)), "{form:?} is left to clap");
    }
}

#[test]
fn what_clap_would_refuse_or_read_otherwise_is_left_to_it() {
    let forms: &[&[&str]] = &[
        &["mount", "img.sif"],
        &["mount", "img.sif", "dir", "extra"],
        &["mount", "--foreground", "--foreground", "img.sif", "dir"],
        &["mount", "--foreground=yes", "img.sif", "dir"],
        &["mount", "--partition", "-1", "img.sif", "dir"],
        &["mount", "--partition", "+1", "img.sif", "dir"],
        &["mount", "--partition", "99999999999", "img.sif", "dir"],
        &["mount", "--threads", "img.sif", "dir"],
        &["mount", "--cache-size", "lots", "img.sif", "dir"],
        &["mount", "--overlay", "", "img.sif", "dir"],
        &["mount", "", "dir"],
        &["mount", "-", "dir"],
        &["mount", "img.sif", "dir", "--"],
        &["mount", "--log-level", "debug", "img.sif", "dir"],
        &["mount", "--help"],
        &["mount", "-h"],
        &["umount"],
        &["umount", "-zz", "dir"],
        &["umount", "-z", "-z", "dir"],
        &["umount", "a", "b"],
        &["--log-level", "debug", "mount", "img.sif", "dir"],
        &["serve"],
        &["--version"],
        &[],
    ];
    for form in forms {
        assert!(fast::parse(&os(form)).is_none(), "{form:?} is read");
    }
}

/// Random command lines from pieces of both verbs' syntax: each one the fast parser
/// reads, clap reads the same way.
#[test]
fn random_command_lines_are_never_read_otherwise() {
    const PIECES: &[&str] = &[
        "--foreground",
        "--notify-stdout",
        "--partition",
        "--partition=2",
        "--partition=x",
        "--threads",
        "--threads=3",
        "--cache-size",
        "--cache-size=8",
        "--cache-size=16B",
        "--cache-size=0B",
        "--overlay",
        "--overlay=up",
        "--lazy",
        "-z",
        "--",
        "--help",
        "--log-level",
        "--foreground=1",
        "img.sif",
        "dir",
        "up",
        "",
        "-",
        "-x",
        "2",
        "007",
        "+3",
        "18446744073709551616",
        "5B",
        "debug",
    ];
    let mut rng = rng::Rng(0x5eed_f00d);
    let mut read = 0;
    for _ in 0..50_000 {
        let mut args = vec![OsString::from(if rng.below(2) == 0 {
            "mount"
        } else {
            "umount"
        })];
        for _ in 0..rng.below(7) {
            args.push(PIECES[rng.below(PIECES.len())].into());
        }
        if check(&args) {
            read += 1;
        }
    }
    assert!(read > 500, "only {read} command lines were read");
}

/// The small program mounts and unmounts alone (no `sifcri-runtime` next to it), and
/// says clearly that it needs it for anything else; next to it, it hands over.
#[test]
fn the_small_program_mounts_alone_and_hands_over_the_rest() {
    if !common::require_root() {
        return;
    }
    let s = common::Scratch::new();
    let tree = s.mkdir("tree", common::Who::Root);
    std::fs::write(tree.join("f"), "x").unwrap();
    let img = common::image::squashfs(&tree, &s.path().join("image.sqfs"), "gzip");
    let alone = s.mkdir("alone", common::Who::Root).join("sifcri");
    std::fs::copy(env!("CARGO_BIN_EXE_sifcri"), &alone).unwrap();
    let mnt = s.mkdir("mnt", common::Who::Root);
    let run = |bin: &std::path::Path, args: &[&std::ffi::OsStr]| {
        std::process::Command::new(bin).args(args).output().unwrap()
    };
    let out = run(
        &alone,
        &["mount".as_ref(), img.as_os_str(), mnt.as_os_str()],
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(std::fs::read_to_string(mnt.join("f")).unwrap(), "x");
    let out = run(&alone, &["umount".as_ref(), mnt.as_os_str()]);
    assert!(out.status.success(), "{out:?}");
    assert!(!mnt.join("f").exists());

    let out = run(&alone, &["images".as_ref()]);
    assert_eq!(out.status.code(), Some(127));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("sifcri: cannot run ") && err.contains("sifcri-runtime"),
        "{err}"
    );
    // With SIFCRI_LOG set even a mount goes to sifcri-runtime (its log filter reads it).
    let out = std::process::Command::new(&alone)
        .env("SIFCRI_LOG", "debug")
        .args(["mount".as_ref(), img.as_os_str(), mnt.as_os_str()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127), "{out:?}");
    assert!(!mnt.join("f").exists());

    // Next to each other (as built), `sifcri` answers what `sifcri-runtime` answers.
    let both = |args: &[&str]| {
        let a: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
        let ours = run(env!("CARGO_BIN_EXE_sifcri").as_ref(), &a);
        let full = run(env!("CARGO_BIN_EXE_sifcri-runtime").as_ref(), &a);
        assert_eq!(ours.status.code(), full.status.code(), "{args:?}");
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        assert_eq!(text(&ours.stdout), text(&full.stdout), "{args:?}");
        assert_eq!(text(&ours.stderr), text(&full.stderr), "{args:?}");
    };
    both(&["--version"]);
    both(&["mount", "--help"]);
    both(&["mount", "--bogus", "a", "b"]);
    both(&["sif", "list", "/nonexistent.sif"]);
    s.assert_clean();
}
