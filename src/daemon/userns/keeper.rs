//! The keeper process: found through `STATE/userns.pid` or started, joined with
//! `setns(2)`, and its own body (`sifcri serve --userns-keeper`).

use std::io::BufRead;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nix::sched::{setns, unshare, CloneFlags};

use super::{io, Error, Keeper};
use crate::config::UserNetwork;

/// The running keeper of `state`, or a new one with its user-mode network.
pub(super) fn find_or_start(state: &Path, network: UserNetwork) -> Result<Keeper, Error> {
    make_private_dir(state)?;
    let pidfile = state.join("userns.pid");
    if let Some(k) = find(&pidfile) {
        tracing::info!(pid = k.pid, "joining the running user namespace keeper");
        return Ok(k);
    }
    // The keeper holds the write end for as long as it lives; slirp4netns watches the
    // read end (--exit-fd) and so ends with it.
    let (exit_r, exit_w) = nix::unistd::pipe().map_err(|source| Error::Join {
        kind: "pipe",
        source,
    })?;
    let keeper = start(&pidfile, exit_w)?;
    crate::network::start_user_network(network, keeper.pid, exit_r, &state.join("usernet.pid"))?;
    Ok(keeper)
}

fn make_private_dir(dir: &Path) -> Result<(), Error> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io("create directory", dir))
}

/// The keeper named by the pid file, if it still runs and is ours.
fn find(pidfile: &Path) -> Option<Keeper> {
    let pid: i32 = std::fs::read_to_string(pidfile).ok()?.trim().parse().ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let ours = cmdline
        .split(|b| *b == 0)
        .any(|arg| arg == b"--userns-keeper");
    if !ours {
        return None;
    }
    let uid_map = std::fs::read_to_string(format!("/proc/{pid}/uid_map")).ok()?;
    Some(Keeper { pid, uid_map })
}

/// Starts the keeper (its stdin is `hold`) and waits for its `ready` line.
fn start(pidfile: &Path, hold: OwnedFd) -> Result<Keeper, Error> {
    let exe = std::env::current_exe().map_err(io("find", Path::new("/proc/self/exe")))?;
    let mut child = Command::new(exe)
        .args(["serve", "--userns-keeper"])
        .stdin(Stdio::from(hold))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::Keeper(format!("spawn: {e}")))?;
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = std::io::BufReader::new(out).read_line(&mut line);
    }
    if line.trim_end() != "ready" {
        let _ = child.kill();
        let out = child
            .wait_with_output()
            .map(|o| o.stderr)
            .unwrap_or_default();
        return Err(Error::Keeper(
            String::from_utf8_lossy(&out).trim().to_owned(),
        ));
    }
    // Not waited for: the keeper outlives this process (and no thread may be started
    // before the joins); once this process is gone, init reaps it.
    let pid = child.id() as i32;
    drop(child);
    crate::state::write_atomic(pidfile, pid.to_string().as_bytes())
        .map_err(|e| Error::Keeper(format!("pid file: {e}")))?;
    let map_path = PathBuf::from(format!("/proc/{pid}/uid_map"));
    let uid_map = std::fs::read_to_string(&map_path).map_err(io("read", &map_path))?;
    tracing::info!(pid, "started the user namespace keeper");
    Ok(Keeper { pid, uid_map })
}

/// Joins the keeper's user namespace, then its mount namespace.
pub(super) fn join(keeper: &Keeper) -> Result<(), Error> {
    for (kind, flag) in [
        ("user", CloneFlags::CLONE_NEWUSER),
        ("mnt", CloneFlags::CLONE_NEWNS),
    ] {
        let path = PathBuf::from(format!("/proc/{}/ns/{kind}", keeper.pid));
        let file = std::fs::File::open(&path).map_err(io("open", &path))?;
        setns(&file, flag).map_err(|source| Error::Join { kind, source })?;
    }
    Ok(())
}

/// The keeper's body (`sifcri serve --userns-keeper`): makes the namespaces, says
/// `ready` on stdout and sleeps until killed.
pub fn keeper() -> Result<std::convert::Infallible, Error> {
    let _ = nix::unistd::setsid();
    crate::mount::enter_private().map_err(|e| Error::Keeper(e.to_string()))?;
    unshare(CloneFlags::CLONE_NEWNET).map_err(|source| Error::Join {
        kind: "net",
        source,
    })?;
    let lo = Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .stdin(Stdio::null())
        .status();
    if !lo.is_ok_and(|s| s.success()) {
        eprintln!("sifcri keeper: cannot bring lo up (is iproute2 installed?)");
    }
    println!("ready");
    // Nothing else is ever written: let go of the pipes so no reader waits on us.
    // Stdin (the exit pipe) stays open until the keeper dies.
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        let _ = nix::unistd::dup2_stdout(&null);
        let _ = nix::unistd::dup2_stderr(&null);
    }
    loop {
        std::thread::park();
    }
}
