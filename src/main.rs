//! `sifcri`: the command users run. A small program: `sifcri mount` and `sifcri umount`
//! of the usual forms ([`sifcri::cli::fast`]) run here; every other command line goes,
//! unchanged, to `sifcri-runtime` next to this binary (the whole runtime, with the clap
//! parser). A cold `sifcri mount` then reads 1.5 MiB of program from disk instead of 17.

use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStringExt;
use std::process::ExitCode;

use sifcri::cli::fast::{self, Fast};

/// The full runtime's file name, in this binary's directory.
const RUNTIME: &str = "sifcri-runtime";

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    // With SIFCRI_LOG set, the runtime's log filter applies: it is the one that reads it.
    let verb = match args.get(1..) {
        Some(rest) if std::env::var_os("SIFCRI_LOG").is_none() => fast::parse(rest),
        _ => None,
    };
    let Some(verb) = verb else {
        return hand_over(args);
    };
    // What `sifcri-runtime` logs without SIFCRI_LOG or --log-level: warnings and errors.
    let _ = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_writer(std::io::stderr)
        .try_init();
    let run = match verb {
        Fast::Mount(a) => sifcri::commands::mount::mount(a),
        Fast::Umount(a) => sifcri::commands::mount::umount(a),
    };
    match run {
        Ok(code) => code,
        Err(err) => {
            eprintln!("sifcri: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Replaces this process with `sifcri-runtime`, same arguments (`argv[0]` too) and
/// environment; returns only if that fails.
fn hand_over(args: Vec<OsString>) -> ExitCode {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(err) => {
            eprintln!("sifcri: cannot find its own binary (/proc/self/exe): {err}");
            return ExitCode::from(127);
        }
    };
    let runtime = exe.with_file_name(RUNTIME);
    let argv: Result<Vec<CString>, _> = args
        .into_iter()
        .map(|a| CString::new(a.into_vec()))
        .collect();
    let (Ok(argv), Ok(path)) = (argv, CString::new(runtime.as_os_str().as_encoded_bytes())) else {
        eprintln!("sifcri: an argument holds a NUL byte");
        return ExitCode::from(127);
    };
    let err = nix::unistd::execv(&path, &argv).unwrap_err();
    eprintln!(
        "sifcri: cannot run {}: {err} (sifcri needs {RUNTIME} in its own directory)",
        runtime.display()
    );
    ExitCode::from(127)
}
