//! Fuzzes the small `sifcri` program's command-line reader (`sifcri::cli::fast`): the
//! input, split at NUL bytes, is the arguments after `mount` or `umount` (the first
//! byte's low bit picks). Whatever the fast reader accepts, clap must read the same
//! way; a difference or a panic is a bug.
//!
//! Run with `cargo +nightly fuzz run cli_fast` from this folder.

#![no_main]

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use clap::Parser;
use sifcri::cli::fast::{self, Fast};
use sifcri::cli::{Cli, Command};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let verb = if first & 1 == 0 { "mount" } else { "umount" };
    let mut args = vec![OsString::from(verb)];
    if !rest.is_empty() {
        args.extend(
            rest.split(|&b| b == 0)
                .map(|a| OsString::from_vec(a.to_vec())),
        );
    }
    let Some(ours) = fast::parse(&args) else {
        return;
    };
    let argv = std::iter::once(OsString::from("sifcri")).chain(args.iter().cloned());
    let theirs = match Cli::try_parse_from(argv) {
        Ok(Cli {
            log_level: None,
            command: Command::Mount(a),
        }) => Some(Fast::Mount(a)),
        Ok(Cli {
            log_level: None,
            command: Command::Umount(a),
        }) => Some(Fast::Umount(a)),
        _ => None,
    };
    assert_eq!(
        format!("{:?}", Some(&ours)),
        format!("{theirs:?}"),
        "{args:?}"
    );
});
