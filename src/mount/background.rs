//! Background mode, as squashfuse does it: the command starts a server process and
//! returns once that server says the mount is ready, or fails with its error.
//!
//! The server is this same binary, re-executed as `sifcri mount --foreground
//! --notify-stdout ...` in a process group of its own (so a terminal's Ctrl-C does
//! not reach it). Its stdout is a pipe on which it writes `ready`; its stderr is a
//! pipe that carries its error if it fails first. A re-exec, rather than a fork,
//! keeps the server free of anything the parent did before.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use super::{Error, MountRequest};

/// What the server writes on stdout once the mount is ready.
pub const READY: &str = "ready";

/// Starts the server for `req` and waits until the mount is ready.
pub fn spawn_background(req: &MountRequest) -> Result<(), Error> {
    let exe = std::env::current_exe().map_err(|e| {
        Error::path(
            "cannot find the sifcri binary",
            "/proc/self/exe".as_ref(),
            e,
        )
    })?;
    let image = absolute(&req.image)?;
    let dir = absolute(&req.dir)?;
    let mut cmd = Command::new(&exe);
    cmd.args(["mount", "--foreground", "--notify-stdout"]);
    cmd.arg("--threads").arg(req.threads.to_string());
    cmd.arg("--cache-size")
        .arg(format!("{}B", super::cache_bytes()));
    if let Some(id) = req.partition {
        cmd.arg("--partition").arg(id.to_string());
    }
    if let Some(upper) = &req.overlay {
        cmd.arg("--overlay").arg(absolute(upper)?);
    }
    cmd.arg(image).arg(dir);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd.spawn().map_err(|source| Error::Command {
        command: exe.display().to_string(),
        source,
    })?;
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    if line.trim_end() == READY {
        return Ok(());
    }
    let mut message = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut message);
    }
    let status = child.wait();
    let message = message.trim().trim_start_matches("sifcri: ").to_owned();
    Err(Error::Background {
        message: match (message.is_empty(), status) {
            (false, _) => message,
            (true, Ok(s)) => format!("the mount server exited early ({s})"),
            (true, Err(e)) => format!("the mount server failed: {e}"),
        },
    })
}

/// In the server: says the mount is ready and lets go of the parent's pipes
/// (stderr first, so nothing is written to a pipe nobody reads).
pub fn notify_ready() {
    use std::io::Write;
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        let _ = nix::unistd::dup2_stderr(&null);
        let mut out = std::io::stdout();
        let _ = writeln!(out, "{READY}");
        let _ = out.flush();
        let _ = nix::unistd::dup2_stdout(&null);
    }
    let _ = std::env::set_current_dir("/");
}

fn absolute(path: &std::path::Path) -> Result<std::path::PathBuf, Error> {
    std::path::absolute(path).map_err(|e| Error::path("cannot resolve", path, e))
}
