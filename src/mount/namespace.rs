//! The private namespace `sifcri mount ... -- COMMAND` runs in.
//!
//! As root: a new mount namespace. As an ordinary user: a new user namespace and a
//! mount namespace owned by it, where the user is root (uid and gid 0 map to the
//! user's own ids, and 1..=N to the user's subordinate range from /etc/subuid and
//! /etc/subgid through `newuidmap`/`newgidmap` when there is one, so every owner in
//! a typical image is mapped). There FUSE is mounted directly through /dev/fuse and
//! overlayfs may be mounted (kernel 5.11 or later).
//!
//! Must run while the process has one thread: `unshare(2)` refuses a new user or
//! mount namespace to a process whose threads share its filesystem information.

use std::io::Write;
use std::process::{Command, Stdio};

use nix::mount::{mount, MsFlags};
use nix::sched::{unshare, CloneFlags};
use nix::unistd::{getgid, getuid, Gid, Uid, User};

use super::Error;

/// Moves this process into a private mount namespace (and a user namespace of its
/// own when not root), with every mount in it private.
pub fn enter_private() -> Result<(), Error> {
    if getuid().is_root() {
        unshare(CloneFlags::CLONE_NEWNS)
            .map_err(|e| Error::namespace("unshare(CLONE_NEWNS)", e))?;
    } else {
        enter_user_namespace()?;
    }
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| Error::namespace("making / private", e))
}

/// One subordinate id range: `start` and `count`.
type Range = (u32, u32);

fn enter_user_namespace() -> Result<(), Error> {
    let (uid, gid) = (getuid(), getgid());
    let ranges = subordinate("/etc/subuid", uid).zip(subordinate("/etc/subgid", uid));
    let helper = match ranges {
        Some((u, g)) => Some(spawn_mapper(uid, gid, u, g)?),
        None => None,
    };
    unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS)
        .map_err(|e| Error::namespace("unshare(CLONE_NEWUSER | CLONE_NEWNS)", e))?;
    let mapped = match helper {
        Some(child) => finish_mapper(child),
        None => false,
    };
    if !mapped {
        map_self(uid, gid)?;
    }
    Ok(())
}

/// Starts, before we unshare, a helper in the parent user namespace that writes our
/// maps with the setuid `newuidmap`/`newgidmap` once we say so on its stdin.
fn spawn_mapper(uid: Uid, gid: Gid, u: Range, g: Range) -> Result<std::process::Child, Error> {
    let script = r#"read _ || exit 1; newuidmap "$1" $2 && newgidmap "$1" $3"#;
    Command::new("sh")
        .args(["-c", script, "sh"])
        .arg(std::process::id().to_string())
        .arg(format!("0 {uid} 1 1 {} {}", u.0, u.1))
        .arg(format!("0 {gid} 1 1 {} {}", g.0, g.1))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::namespace("starting newuidmap", e))
}

/// Tells the helper to go and waits; false (with a warning) if it failed.
fn finish_mapper(mut child: std::process::Child) -> bool {
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(b"go\n");
    }
    match child.wait_with_output() {
        Ok(out) if out.status.success() => true,
        Ok(out) => {
            let msg = String::from_utf8_lossy(&out.stderr);
            tracing::warn!(%msg, "newuidmap/newgidmap failed; mapping only your own ids");
            false
        }
        Err(e) => {
            tracing::warn!(%e, "newuidmap/newgidmap failed; mapping only your own ids");
            false
        }
    }
}

/// Maps only our own uid and gid to 0 (what an unprivileged process may write).
fn map_self(uid: Uid, gid: Gid) -> Result<(), Error> {
    let write = |file: &str, text: String| {
        std::fs::write(file, text).map_err(|e| Error::namespace(format!("writing {file}"), e))
    };
    write("/proc/self/setgroups", "deny".to_owned())?;
    write("/proc/self/uid_map", format!("0 {uid} 1"))?;
    write("/proc/self/gid_map", format!("0 {gid} 1"))
}

/// The first range of `user` (by name or number) in /etc/subuid or /etc/subgid.
fn subordinate(file: &str, uid: Uid) -> Option<Range> {
    let name = User::from_uid(uid).ok().flatten().map(|u| u.name);
    let text = std::fs::read_to_string(file).ok()?;
    let number = uid.to_string();
    text.lines().find_map(|line| {
        let mut parts = line.trim().split(':');
        let who = parts.next()?;
        if who != number && Some(who) != name.as_deref() {
            return None;
        }
        let start = parts.next()?.parse().ok()?;
        let count: u32 = parts.next()?.parse().ok()?;
        (count > 0).then_some((start, count))
    })
}

/// Runs the command of `sifcri mount ... -- COMMAND`; returns its exit status
/// (128 + the signal that killed it).
pub fn run_command(command: &[std::ffi::OsString]) -> Result<u8, Error> {
    let (program, args) = command.split_first().ok_or(Error::OverlayNeedsCommand)?;
    let status = Command::new(program)
        .args(args)
        .status()
        .map_err(|source| Error::Command {
            command: program.to_string_lossy().into_owned(),
            source,
        })?;
    use std::os::unix::process::ExitStatusExt;
    let code = match (status.code(), status.signal()) {
        (Some(c), _) => c,
        (None, Some(sig)) => 128 + sig,
        (None, None) => 1,
    };
    Ok(u8::try_from(code).unwrap_or(1))
}
