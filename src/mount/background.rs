//! Background mode, as squashfuse does it: the command returns once the mount is
//! ready and leaves a server process behind.
//!
//! The process mounts and answers the kernel's INIT itself, then forks (no re-exec,
//! before any thread is started: `fusefs::mount::Server::fork`); the parent finishes
//! (an overlay on top, if asked) and exits, the child serves. Errors thus reach the
//! command line directly. The child leaves the parent's process group, stdio and
//! working directory ([`serve_detached`]) and exits when the mount goes away
//! (`sifcri umount`, `umount`, `fusermount3 -u`) or on SIGINT/SIGTERM/SIGHUP, which
//! unmount lazily. `--notify-stdout` ([`notify_ready`]) remains for callers that run
//! `--foreground` in a child of their own and wait for `ready` on its stdout.

use std::path::Path;

use fusefs::mount::Server;
use fusefs::SquashFuse;

/// What the server writes on stdout once the mount is ready (`--notify-stdout`).
pub const READY: &str = "ready";

/// In the forked child: serves until the filesystem is unmounted, then exits.
///
/// `dir` is what a signal unmounts (the mountpoint, or the overlay on top).
pub fn serve_detached(server: Server<SquashFuse>, dir: &Path) -> ! {
    // A process group of its own, not a session (`setsid`): a terminal's Ctrl-C does
    // not reach it, and it stays in its caller's scheduling autogroup (a new session
    // is a new autogroup; on a loaded machine that made each request wait for the CPU
    // several times longer, see docs/benchmarks.md).
    let _ = nix::unistd::setpgid(nix::unistd::Pid::from_raw(0), nix::unistd::Pid::from_raw(0));
    detach_stdio();
    if let Ok(signals) = super::serve::block_signals() {
        super::serve::watch_signals(signals, dir.to_owned());
    }
    let code = match server.run() {
        Ok(()) => 0,
        Err(_) => 1,
    };
    std::process::exit(code)
}

/// Points stdin, stdout and stderr at /dev/null and leaves the working directory, so
/// the server holds nothing of its parent's (a caller waiting for the end of its
/// output would wait until unmount otherwise).
fn detach_stdio() {
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        let _ = nix::unistd::dup2_stdin(&null);
        let _ = nix::unistd::dup2_stdout(&null);
        let _ = nix::unistd::dup2_stderr(&null);
    }
    let _ = std::env::set_current_dir("/");
}

/// With `--notify-stdout`: says the mount is ready and lets go of the parent's pipes
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
