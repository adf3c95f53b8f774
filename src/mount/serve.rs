//! The serving process of `sifcri mount`: open the image, mount FUSE (and the
//! overlay), answer requests until unmounted, or run a command with the mount.
//!
//! Input: a [`MountRequest`] and a [`Launch`]; output: the exit status for the
//! command line. Order matters: the namespace is entered and signals are blocked while
//! the process has one thread; the FUSE workers must be running before overlayfs is
//! mounted (mounting it looks the lower's root up); in background mode the process
//! forks once the INIT handshake is done, before any thread is started.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use fusefs::mount::{Forked, MountError, MountOptions, Server};
use nix::sys::signal::{SigSet, Signal};
use nix::unistd::geteuid;

use super::image::ImageSource;
use super::overlay::{self, OverlayDirs};
use super::{background, namespace, Error, MountRequest};

/// Where the FUSE workers run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launch {
    /// On threads of this process, which serves until unmounted.
    Here,
    /// In a forked child that serves on its own; this process returns once mounted.
    Fork,
}

/// How a mount is being served.
enum Worker {
    None,
    Thread(JoinHandle<Result<(), MountError>>),
    Forked,
}

/// A served FUSE mount; dropping it before [`Served::join`] detaches the mount
/// (ending the server), also when the server never started.
struct Served {
    at: PathBuf,
    worker: Worker,
    armed: bool,
}

impl Served {
    fn join(mut self) -> Result<(), Error> {
        self.armed = false;
        match std::mem::replace(&mut self.worker, Worker::None) {
            Worker::Thread(handle) => match handle.join() {
                Ok(result) => Ok(result?),
                Err(_) => Err(MountError::Session(std::io::Error::other("worker panicked")).into()),
            },
            Worker::None | Worker::Forked => Ok(()),
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if self.armed {
            let _ = fusefs::mount::unmount(&self.at, true);
        }
    }
}

/// What the mount needs besides the image: the final mountpoint, the workers, and
/// where they run.
struct Plan<'a> {
    dir: &'a Path,
    threads: usize,
    launch: Launch,
    /// The forked server's process name (`comm`), if not its parent's.
    name: Option<&'static std::ffi::CStr>,
}

/// Serves `req` as `launch` says; `notify` is called once the mount is ready.
/// Returns the exit status: 0, or the command's.
pub fn serve(req: &MountRequest, launch: Launch, notify: impl FnOnce()) -> Result<u8, Error> {
    let private = !req.command.is_empty();
    if req.overlay.is_some() && !private && !geteuid().is_root() {
        return Err(Error::OverlayNeedsCommand);
    }
    let path = std::path::absolute(&req.image)
        .map_err(|e| Error::path("cannot resolve", &req.image, e))?;
    let image = ImageSource::open(&path, req.partition)?;
    let dir = req
        .dir
        .canonicalize()
        .map_err(|e| Error::path("cannot use mountpoint", &req.dir, e))?;
    if private {
        namespace::enter_private()?;
    }
    // A forked server blocks them itself: the command stays interruptible meanwhile.
    let signals = match launch {
        Launch::Here => Some(block_signals()?),
        Launch::Fork => None,
    };
    // One malloc arena for all workers: each arena keeps its freed memory (RSS).
    fusefs::mount::limit_malloc_arenas(1);
    let plan = Plan {
        dir: &dir,
        threads: req.threads,
        launch,
        name: None,
    };
    let served = match &req.overlay {
        None => mount_image(image, &dir, &plan, private)?,
        Some(upper) => mount_with_overlay(image, upper, &plan)?,
    };
    notify();
    if private {
        // Dropping `served` detaches the mount; the process then exits, closing the
        // FUSE connection even if something the command left behind still uses it.
        let code = namespace::run_command(&req.command);
        drop(served);
        return code;
    }
    if let Some(signals) = signals {
        watch_signals(signals, dir);
    }
    served.join()?;
    Ok(0)
}

/// Blocks the signals that end a server, so that [`watch_signals`] receives them;
/// call it while the process has one thread (new threads inherit the mask).
pub(super) fn block_signals() -> Result<SigSet, Error> {
    let mut set = SigSet::empty();
    for s in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        set.add(s);
    }
    set.thread_block()
        .map_err(|e| Error::namespace("blocking signals", e))?;
    Ok(set)
}

/// Unmounts `dir` lazily when one of `signals` arrives (the workers then end).
pub(super) fn watch_signals(signals: SigSet, dir: PathBuf) {
    std::thread::spawn(move || {
        if signals.wait().is_ok() {
            let _ = fusefs::mount::unmount(&dir, true);
        }
    });
}

/// Mounts the image's FUSE at `at` and starts its workers.
fn mount_image(
    image: ImageSource,
    at: &Path,
    plan: &Plan<'_>,
    direct: bool,
) -> Result<Served, Error> {
    let options = MountOptions::new(&image.path.to_string_lossy());
    let image_fd = image.file.as_raw_fd();
    let fs = filesystem(image)?;
    let fd: OwnedFd = if direct {
        fusefs::mount::mount_direct(at, &options)?
    } else {
        fusefs::mount::mount(at, &options)?.0
    };
    let mut served = Served {
        at: at.to_owned(),
        worker: Worker::None,
        armed: true,
    };
    let server = Server::start(fs, fd, plan.threads)?;
    served.worker = match plan.launch {
        Launch::Here => Worker::Thread(std::thread::spawn(move || server.run())),
        Launch::Fork => match server.fork(&[image_fd])? {
            Forked::Child(server) => {
                if let Some(name) = plan.name {
                    let _ = nix::sys::prctl::set_name(name);
                }
                background::serve_detached(server, plan.dir)
            }
            Forked::Parent(_) => Worker::Forked,
        },
    };
    Ok(served)
}

fn mount_with_overlay(image: ImageSource, upper: &Path, plan: &Plan<'_>) -> Result<Served, Error> {
    let dir = plan.dir;
    let dirs = OverlayDirs::prepare(upper)?;
    let lower = overlay::hidden_lower()?;
    let result = mount_image(image, &lower, plan, true).and_then(|mut served| {
        overlay::mount_overlay(&lower, &dirs, dir, in_userns())?;
        nix::mount::umount2(&lower, nix::mount::MntFlags::MNT_DETACH)
            .map_err(|e| Error::namespace("detaching the hidden lower", e))?;
        served.at = dir.to_owned();
        Ok(served)
    });
    let _ = std::fs::remove_dir(&lower);
    result
}

/// Mounts `image` read-only at `at` and forks its server, named `sifcri-lower`
/// (a lower shared by containers, see `shared`); returns once the mount is ready.
/// The process must have one thread.
pub(super) fn fork_lower(image: &Path, at: &Path) -> Result<(), Error> {
    let path = std::path::absolute(image).map_err(|e| Error::path("cannot resolve", image, e))?;
    let image = ImageSource::open(&path, None)?;
    fusefs::mount::limit_malloc_arenas(1);
    let plan = Plan {
        dir: at,
        threads: fusefs::mount::default_threads(),
        launch: Launch::Fork,
        name: Some(c"sifcri-lower"),
    };
    mount_image(image, at, &plan, true)?.join()
}

/// True inside a user namespace other than the initial one.
pub(super) fn in_userns() -> bool {
    std::fs::read_to_string("/proc/self/uid_map")
        .map(|m| !m.split_whitespace().eq(["0", "0", "4294967295"]))
        .unwrap_or(false)
}

fn filesystem(image: ImageSource) -> Result<fusefs::SquashFuse, Error> {
    let path = image.path.clone();
    let source = fusefs::Source::new(image.file, image.offset, image.len);
    let cache = fusefs::CacheConfig {
        bytes: super::cache_bytes(),
        ..fusefs::CacheConfig::default()
    };
    let squashfs =
        fusefs::Squashfs::open(source, cache).map_err(|source| Error::Squashfs { path, source })?;
    Ok(fusefs::SquashFuse::with_owners(
        squashfs,
        super::owner_map(),
    ))
}
