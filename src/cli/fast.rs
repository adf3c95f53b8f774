//! The command lines the small `sifcri` program runs itself: `mount` and `umount` in
//! the forms clap would read the same way. Anything else (another verb, `--help`, a
//! global option, a repeated or unknown option, a value that looks like an option) is
//! `None`, and `sifcri` hands the whole command line to `sifcri-runtime`, whose clap
//! parser answers it, errors and help included. So this parser never decides anything
//! clap would decide differently; tests hold it to that (`tests/cli_fast.rs`).
//!
//! Why: a cold `sifcri mount` (page cache dropped) spends most of its time reading the
//! program from disk, and the kernel reads a binary in windows of `read_ahead_kb`
//! around each page it faults in; a program of a few MiB is read in a few ms, the whole
//! runtime (18 MiB) in about twice what squashfuse_ll takes for the whole mount
//! (docs/fusefs.md, "Cold mount").

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use super::mount::{parse_cache_size, MountArgs, UmountArgs};

/// A verb the small program runs itself.
#[derive(Debug)]
pub enum Fast {
    /// `sifcri mount …`
    Mount(MountArgs),
    /// `sifcri umount …`
    Umount(UmountArgs),
}

/// Reads `args` (without the program name) as `mount` or `umount`; `None` for
/// anything to hand over to the full parser.
pub fn parse(args: &[OsString]) -> Option<Fast> {
    let (verb, rest) = args.split_first()?;
    match verb.as_bytes() {
        b"mount" => mount(rest).map(Fast::Mount),
        b"umount" => umount(rest).map(Fast::Umount),
        _ => None,
    }
}

/// An option's value: from `--name=value` or the next argument. Not one that is
/// empty or starts with `-` (clap reads those differently or refuses them).
fn value<'a>(
    inline: Option<&'a OsStr>,
    rest: &mut std::slice::Iter<'a, OsString>,
) -> Option<&'a OsStr> {
    let v = match inline {
        Some(v) => v,
        None => rest.next()?.as_os_str(),
    };
    (!v.is_empty() && !v.as_bytes().starts_with(b"-")).then_some(v)
}

/// A decimal number of ASCII digits only (no sign, no spaces), as `T`.
fn number<T: std::str::FromStr>(v: &OsStr) -> Option<T> {
    let s = v.to_str()?;
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Sets `slot` once; a second time is clap's "cannot be used multiple times".
fn once<T>(slot: &mut Option<T>, v: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(v);
    Some(())
}

/// A positional argument as a path: not empty (clap refuses an empty path).
fn positional(a: &OsStr, into: &mut Vec<PathBuf>) -> Option<()> {
    if a.is_empty() {
        return None;
    }
    into.push(PathBuf::from(a));
    Some(())
}

fn mount(args: &[OsString]) -> Option<MountArgs> {
    let mut partition = None;
    let mut overlay = None;
    let mut threads = None;
    let mut cache_size = None;
    let mut foreground = None;
    let mut notify_stdout = None;
    let mut paths = Vec::new();
    let mut command = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let bytes = arg.as_bytes();
        if bytes == b"--" {
            command = Some(rest.by_ref().cloned().collect::<Vec<_>>());
            break;
        }
        if !bytes.starts_with(b"-") {
            positional(arg, &mut paths)?;
            continue;
        }
        let (name, inline) = match bytes.iter().position(|&b| b == b'=') {
            Some(i) => (&bytes[..i], Some(OsStr::from_bytes(&bytes[i + 1..]))),
            None => (bytes, None),
        };
        match name {
            b"--foreground" if inline.is_none() => once(&mut foreground, ())?,
            b"--notify-stdout" if inline.is_none() => once(&mut notify_stdout, ())?,
            b"--partition" => once(&mut partition, number(value(inline, &mut rest)?)?)?,
            b"--threads" => once(&mut threads, number(value(inline, &mut rest)?)?)?,
            b"--overlay" => once(&mut overlay, PathBuf::from(value(inline, &mut rest)?))?,
            b"--cache-size" => {
                let v = value(inline, &mut rest)?.to_str()?;
                once(&mut cache_size, parse_cache_size(v).ok()?)?
            }
            _ => return None,
        }
    }
    // Exactly IMAGE and DIR; `--` with nothing after it is left to clap.
    let [image, dir]: [PathBuf; 2] = paths.try_into().ok()?;
    let command = match command {
        Some(c) if c.is_empty() => return None,
        Some(c) => c,
        None => Vec::new(),
    };
    Some(MountArgs {
        partition,
        overlay,
        foreground: foreground.is_some(),
        threads,
        cache_size,
        notify_stdout: notify_stdout.is_some(),
        image,
        dir,
        command,
    })
}

fn umount(args: &[OsString]) -> Option<UmountArgs> {
    let mut lazy = None;
    let mut paths = Vec::new();
    for arg in args {
        match arg.as_bytes() {
            b"--lazy" | b"-z" => once(&mut lazy, ())?,
            b if b.starts_with(b"-") => return None,
            _ => positional(arg, &mut paths)?,
        }
    }
    let [dir]: [PathBuf; 1] = paths.try_into().ok()?;
    Some(UmountArgs {
        lazy: lazy.is_some(),
        dir,
    })
}
