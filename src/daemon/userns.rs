//! `sifcri serve` started by an ordinary user: the daemon's own user, mount and
//! network namespaces, held by a *keeper* process, and the per-user default paths.
//!
//! The keeper (`sifcri serve --userns-keeper`, started detached in its own session)
//! creates a user namespace where the user is root — uid/gid 0 map to the user's own
//! ids and 1..=N to the first range of /etc/subuid and /etc/subgid through the setuid
//! `newuidmap`/`newgidmap` when the user has one, else only the user's own ids — plus a
//! private mount namespace and a network namespace owned by it, then sleeps until
//! SIGTERM. Its pid is in `STATE/userns.pid`.
//!
//! The daemon joins the keeper's user and mount namespaces with `setns(2)` before it
//! starts any thread (the kernel refuses those joins to a multi-threaded process) and
//! stays in the host's network namespace, so its socket and streaming server are
//! reachable from the host; the pods' bridge lives in the keeper's network namespace
//! (see [`crate::network`]). A daemon restarted after `kill -9` finds the keeper through
//! the pid file and joins the same namespaces, so it sees its containers' mounts and
//! pinned pod namespaces again and can exec into them. The keeper outlives the daemon
//! on purpose (pods and containers survive a restart); `kill $(cat STATE/userns.pid)`
//! ends it together with every process and mount in its namespaces.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nix::sched::{setns, unshare, CloneFlags};

/// What can go wrong setting up or joining the namespaces.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file operation failed.
    #[error("cannot {what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// On what.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The keeper did not come up.
    #[error("the user namespace keeper failed: {0}")]
    Keeper(String),
    /// A namespace could not be joined.
    #[error("cannot join the keeper's {kind} namespace: {source}")]
    Join {
        /// user, mnt or net.
        kind: &'static str,
        /// Why.
        source: nix::Error,
    },
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io {
        what,
        path: path.to_owned(),
        source,
    }
}

/// The daemon's namespaces, once joined.
#[derive(Debug, Clone)]
pub struct Keeper {
    /// The keeper's pid (in the host's pid namespace).
    pub pid: i32,
    /// The uid map the keeper's user namespace got, as in /proc/PID/uid_map.
    pub uid_map: String,
}

impl Keeper {
    /// The keeper's network namespace, where the pods' bridge is.
    pub fn netns(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/ns/net", self.pid))
    }

    /// Whether only the user's own id is mapped (no subordinate range).
    pub fn single_id(&self) -> bool {
        self.uid_map.lines().count() < 2
    }
}

/// Default paths for an ordinary user: `(socket, root, state)` under
/// `$XDG_RUNTIME_DIR/sifcri` (else `/tmp/sifcri-UID`) and `$XDG_DATA_HOME/sifcri`
/// (else `~/.local/share/sifcri`). `None` for root.
pub fn user_paths() -> Option<(PathBuf, PathBuf, PathBuf)> {
    let uid = nix::unistd::geteuid();
    if uid.is_root() {
        return None;
    }
    let absolute = |v: String| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    let state = std::env::var("XDG_RUNTIME_DIR")
        .ok()
        .and_then(absolute)
        .map(|d| d.join("sifcri"))
        .unwrap_or_else(|| PathBuf::from(format!("/tmp/sifcri-{uid}")));
    let data = std::env::var("XDG_DATA_HOME")
        .ok()
        .and_then(absolute)
        .or_else(|| {
            std::env::var("HOME")
                .ok()
                .and_then(absolute)
                .map(|h| h.join(".local/share"))
        })
        .unwrap_or_else(|| PathBuf::from(format!("/tmp/sifcri-{uid}-data")));
    Some((state.join("sifcri.sock"), data.join("sifcri"), state))
}

/// Finds the keeper of `state` (or starts one) and joins its user and mount
/// namespaces. Must be called while the process has a single thread.
pub fn enter(state: &Path) -> Result<Keeper, Error> {
    make_private_dir(state)?;
    let pidfile = state.join("userns.pid");
    let keeper = match find(&pidfile) {
        Some(k) => {
            tracing::info!(pid = k.pid, "joining the existing user namespace keeper");
            k
        }
        None => start(&pidfile)?,
    };
    join(&keeper)?;
    let _ = CURRENT.set(keeper.clone());
    if keeper.single_id() {
        tracing::warn!(
            "no subordinate ids (/etc/subuid, /etc/subgid, newuidmap): only your own \
             uid and gid are mapped, as root; files of other owners show as nobody"
        );
    } else {
        let map = keeper
            .uid_map
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        tracing::info!(uid_map = %map, "user namespace with subordinate ids");
    }
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

/// Starts the keeper and waits for its `ready` line.
fn start(pidfile: &Path) -> Result<Keeper, Error> {
    let exe = std::env::current_exe().map_err(io("find", Path::new("/proc/self/exe")))?;
    let mut child = Command::new(exe)
        .args(["serve", "--userns-keeper"])
        .stdin(Stdio::null())
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
    // Not waited for: the keeper outlives this process (no thread may be started
    // before the joins below), and init reaps it once this process is gone.
    let pid = child.id() as i32;
    drop(child);
    crate::state::write_atomic(pidfile, pid.to_string().as_bytes())
        .map_err(|e| Error::Keeper(format!("pid file: {e}")))?;
    let uid_map = std::fs::read_to_string(format!("/proc/{pid}/uid_map"))
        .map_err(io("read", Path::new("/proc/PID/uid_map")))?;
    tracing::info!(pid, "started the user namespace keeper");
    Ok(Keeper { pid, uid_map })
}

fn join(keeper: &Keeper) -> Result<(), Error> {
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
    // Nothing else is ever written: drop the pipes so no reader waits on us.
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        let _ = nix::unistd::dup2_stdout(&null);
        let _ = nix::unistd::dup2_stderr(&null);
    }
    loop {
        std::thread::park();
    }
}

static CURRENT: std::sync::OnceLock<Keeper> = std::sync::OnceLock::new();

/// The keeper this daemon joined, if it runs unprivileged.
pub fn current() -> Option<&'static Keeper> {
    CURRENT.get()
}
