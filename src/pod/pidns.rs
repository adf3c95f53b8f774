//! The pod-level PID namespace (`NamespaceMode::POD`), without a pause container.
//!
//! A pid namespace dies with its first process, so a bind mount alone cannot keep it:
//! a holder, `unshare --pid --fork --kill-child BIN pod-init` in its own session,
//! whose child ([`init`]: our own binary, which only reaps orphans, like a pause
//! container; no `sleep` for the pod's processes to see) is that first process; it
//! outlives a daemon restart, and its namespace is
//! also bind-mounted on `DIR/ns-pid` so containers join it by path. Stopping the pod
//! kills the holder (the kernel then kills whatever is left in the namespace).
//! Input: the pod's runtime directory; output: the holder's pid and the pinned file.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::Error;

/// `sifcri pod-init`: the first process of a pod's pid namespace. Reaps every orphan
/// handed to it and otherwise waits; signals other than SIGKILL do not reach a pid
/// namespace's init that has no handler for them, so only the pod's stop ends it.
pub fn init() -> std::process::ExitCode {
    use nix::sys::wait::{waitpid, WaitPidFlag};
    let mut set = nix::sys::signal::SigSet::empty();
    set.add(Signal::SIGCHLD);
    if set.thread_block().is_err() {
        return std::process::ExitCode::FAILURE;
    }
    loop {
        // Reap everything that has ended, then sleep until the next SIGCHLD.
        while let Ok(status) = waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            if status == nix::sys::wait::WaitStatus::StillAlive {
                break;
            }
        }
        let _ = set.wait();
    }
}

/// Starts the holder and pins its namespace; returns `(holder pid, ns file)`. A pod
/// with its own user namespace (`userns`, pinned) gets a pid namespace owned by it:
/// the holder enters it first (as its root), so that containers joining the user
/// namespace may mount /proc for this pid namespace.
pub fn create(dir: &Path, userns: Option<&Path>) -> Result<(i32, PathBuf), Error> {
    let script =
        "setsid ${1:+nsenter \"--user=$1\" --} unshare --pid --fork --kill-child \"$0\" pod-init \
                  </dev/null >/dev/null 2>&1 & echo $!";
    let bin = std::env::current_exe().unwrap_or_else(|_| "sifcri".into());
    let enter = userns.map(|f| f.as_os_str().to_owned()).unwrap_or_default();
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(bin)
        .arg(enter)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::io("start the pid namespace holder", Path::new("sh"), e))?;
    let holder: i32 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|_| command_error(&out.stderr))?;
    let file = dir.join("ns-pid");
    let pinned = first_child(holder).and_then(|init| {
        std::fs::File::create(&file).map_err(|e| Error::io("create namespace file", &file, e))?;
        let src = PathBuf::from(format!("/proc/{init}/ns/pid"));
        nix::mount::mount(
            Some(&src),
            &file,
            None::<&str>,
            nix::mount::MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|e| Error::io("pin the pid namespace", &file, e.into()))
    });
    if let Err(e) = pinned {
        release(holder, &file);
        return Err(e);
    }
    Ok((holder, file))
}

/// Kills the holder (if it is still ours) and unpins the namespace; returns failures.
pub fn release(holder: i32, file: &Path) -> Vec<Error> {
    // The namespace's first process too: killed right after the fork, the holder may
    // die before its child has asked for --kill-child's death signal.
    if let Some(init) = namespace_init(holder, file) {
        let _ = kill(Pid::from_raw(init), Signal::SIGKILL);
        let _ = kill(Pid::from_raw(holder), Signal::SIGKILL);
    }
    super::namespaces::release(&[("pid".to_owned(), file.to_owned())])
}

/// Releases pinned namespaces, first killing the pid namespace's holder, if any.
pub fn release_all(pinned: &[(String, PathBuf)], holder: Option<i32>) -> Vec<Error> {
    let mut errors = Vec::new();
    if let (Some(h), Some((_, file))) = (holder, pinned.iter().find(|(k, _)| k == "pid")) {
        errors.extend(release(h, file));
    }
    errors.extend(super::namespaces::release(pinned));
    errors
}

/// The child of `holder` whose pid namespace is pinned at `file`: none when the
/// holder is gone or its pid was reused (after a reboot or a crash), which must not be
/// killed.
fn namespace_init(holder: i32, file: &Path) -> Option<i32> {
    let pinned = std::fs::metadata(file).ok()?;
    children(holder).into_iter().find(|c| {
        std::fs::metadata(format!("/proc/{c}/ns/pid"))
            .is_ok_and(|m| m.ino() == pinned.ino() && m.dev() == pinned.dev())
    })
}

/// The holder's child: the namespace's first process (it appears within moments).
fn first_child(holder: i32) -> Result<i32, Error> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(c) = children(holder).first() {
            return Ok(*c);
        }
        if Instant::now() > deadline {
            return Err(command_error(b"the pid namespace holder has no child"));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn children(pid: i32) -> Vec<i32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn command_error(stderr: &[u8]) -> Error {
    Error::Command {
        command: "unshare --pid --fork --kill-child sh".into(),
        message: String::from_utf8_lossy(stderr).trim().to_owned(),
    }
}
