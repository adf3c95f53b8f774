//! Serving a mounted FUSE connection with several worker threads.
//!
//! Input: a `/dev/fuse` descriptor mounted by [`super::mount_direct`],
//! [`super::mount_fusermount`] or anyone else (a container runtime that mounted it
//! in a user namespace), and a `fuser::Filesystem`. fuser gives each worker its own
//! clone of the descriptor (`FUSE_DEV_IOC_CLONE`), so requests are read in parallel.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::{Arc, OnceLock};

use fuser::{Config, Filesystem, Notifier, Session, SessionACL};

use super::MountError;

/// A FUSE connection whose INIT handshake is done: the mount is ready.
pub struct Server<FS: Filesystem> {
    session: Session<FS>,
    /// The connection's descriptor number (owned by `session`).
    fd: RawFd,
}

impl<FS: Filesystem> std::fmt::Debug for Server<FS> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").finish_non_exhaustive()
    }
}

/// Where [`Server::start`] leaves the connection's notifier, for a filesystem that
/// sends the kernel notifications (`FUSE_NOTIFY_*`) of its own.
pub type NotifierSlot = Arc<OnceLock<Notifier>>;

/// A filesystem [`Server`] serves; it may ask for the connection's notifier.
pub trait Notifying: Filesystem {
    /// The slot to put the notifier in; `None` (the default): never notifies.
    fn notifier_slot(&self) -> Option<NotifierSlot> {
        None
    }
}

impl<FS: Notifying> Server<FS> {
    /// Answers the kernel's INIT request on `fd`, so that the mount serves requests
    /// once [`Server::run`] is called. Blocks until the kernel sends INIT, which it
    /// does as soon as the connection is mounted.
    ///
    /// The kernel already keeps other users out unless the mount has `allow_other`, so
    /// fuser's own per-request uid filter is off.
    pub fn start(filesystem: FS, fd: OwnedFd, threads: usize) -> Result<Self, MountError> {
        let mut config = Config::default();
        config.n_threads = Some(threads.max(1));
        config.clone_fd = true;
        let raw = fd.as_raw_fd();
        let slot = filesystem.notifier_slot();
        let session = Session::from_fd(filesystem, fd, SessionACL::All, config)
            .map_err(MountError::Session)?;
        if let Some(slot) = slot {
            let _ = slot.set(session.notifier());
        }
        Ok(Server { session, fd: raw })
    }
}

impl<FS: Filesystem> Server<FS> {
    /// Serves requests until the filesystem is unmounted (the workers then read
    /// `ENODEV`) and returns.
    pub fn run(self) -> Result<(), MountError> {
        self.session.run().map_err(MountError::Session)
    }

    /// Forks the process: the child gets the server (to [`Server::run`]), the parent
    /// the child's pid (its copy of the connection is closed). The mount is already
    /// ready, so the parent may return at once, as squashfuse's does.
    ///
    /// The child keeps what a re-exec would keep: descriptors marked close-on-exec
    /// are closed there, except the connection and `keep` (the filesystem's own, such
    /// as its image file). It must serve and exit, never return into its caller's
    /// code, which would find those descriptors gone.
    ///
    /// Refused unless the process has a single thread: a fork copies only the calling
    /// thread, and locks held by the others would stay locked in the child.
    pub fn fork(self, keep: &[RawFd]) -> Result<Forked<FS>, MountError> {
        match crate::sys::fork_single_threaded() {
            Ok(nix::unistd::ForkResult::Child) => {
                let mut all = keep.to_vec();
                all.push(self.fd);
                crate::sys::close_cloexec_except(&all);
                Ok(Forked::Child(self))
            }
            Ok(nix::unistd::ForkResult::Parent { child }) => Ok(Forked::Parent(child)),
            Err(e) => Err(MountError::Fork(e)),
        }
    }
}

/// The two sides of [`Server::fork`].
#[derive(Debug)]
pub enum Forked<FS: Filesystem> {
    /// In the child: the server to run.
    Child(Server<FS>),
    /// In the parent: the child's pid.
    Parent(nix::unistd::Pid),
}

/// Caps the process's glibc malloc arenas at `n` (see `crate::sys`): for a process
/// whose main work is serving FUSE, so that each worker thread does not keep an
/// arena of its own. Returns false where the allocator refused or is not glibc.
pub fn limit_malloc_arenas(n: usize) -> bool {
    crate::sys::limit_malloc_arenas(i32::try_from(n.max(1)).unwrap_or(i32::MAX))
}

/// A sensible number of workers: the machine's CPUs, at least 2, at most 8.
pub fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(2, 8)
}
