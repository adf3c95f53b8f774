//! `sifcri serve` started by an ordinary user: the daemon's own user, mount and
//! network namespaces, held by a *keeper* process ([`keeper`]), user-mode egress for
//! the keeper's network namespace, the per-user default paths, and whether cgroup
//! limits are possible ([`cgroup`]).
//!
//! The keeper (`sifcri serve --userns-keeper`, started detached in its own session)
//! creates a user namespace where the user is root — uid/gid 0 map to the user's own
//! ids and 1..=N to the first range of /etc/subuid and /etc/subgid through the setuid
//! `newuidmap`/`newgidmap` when the user has one, else only the user's own ids — plus a
//! private mount namespace and a network namespace owned by it, then sleeps until
//! SIGTERM. Its pid is in `STATE/userns.pid`. `pasta` or `slirp4netns` gives that
//! network namespace its way out (see [`crate::network`]).
//!
//! The daemon joins the keeper's user and mount namespaces with `setns(2)` before it
//! starts any thread (the kernel refuses those joins to a multi-threaded process) and
//! stays in the host's network namespace, so its socket, streaming server and hostPort
//! listeners are on the host; the pods' bridge lives in the keeper's network namespace.
//! A daemon restarted after `kill -9` finds the keeper through the pid file and joins
//! the same namespaces, so it sees its containers' mounts and pinned pod namespaces
//! again and can exec into them. The keeper outlives the daemon on purpose (pods and
//! containers survive a restart); `kill $(cat STATE/userns.pid)` ends it, and with it
//! every process and mount of its namespaces.

pub mod cgroup;
mod keeper;

use std::path::{Path, PathBuf};

pub use keeper::keeper;

use crate::config::Config;

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
    /// A namespace could not be joined or made.
    #[error("cannot join or make the {kind} namespace: {source}")]
    Join {
        /// user, mnt or net.
        kind: &'static str,
        /// Why.
        source: nix::Error,
    },
    /// User-mode networking could not start.
    #[error(transparent)]
    Network(#[from] crate::network::UserNetError),
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

static CURRENT: std::sync::OnceLock<Keeper> = std::sync::OnceLock::new();

/// The keeper this daemon joined, if it runs unprivileged.
pub fn current() -> Option<&'static Keeper> {
    CURRENT.get()
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

/// Finds the keeper of `config.state` (or starts one, with its user-mode network) and
/// joins its user and mount namespaces. Must be called while the process has a single
/// thread.
pub fn enter(config: &Config) -> Result<Keeper, Error> {
    let keeper = keeper::find_or_start(&config.state, config.rootless.network)?;
    keeper::join(&keeper)?;
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
    if let Err(message) = cgroup::delegated() {
        tracing::warn!("containers run without resource limits: {message}");
    }
    Ok(keeper)
}
