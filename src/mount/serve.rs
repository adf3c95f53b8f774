//! The serving process of `sifcri mount`: open the image, mount FUSE (and the
//! overlay), answer requests until unmounted, or run a command with the mount.
//!
//! Input: a [`MountRequest`]; output: the exit status for the command line.
//! Order matters: the namespace is entered and signals are blocked while the process
//! has one thread; the FUSE workers must be running before overlayfs is mounted
//! (mounting it looks the lower's root up).

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use fusefs::mount::{MountError, MountOptions, Server};
use nix::sys::signal::{SigSet, Signal};
use nix::unistd::geteuid;

use super::image::ImageSource;
use super::overlay::{self, OverlayDirs};
use super::{namespace, Error, MountRequest};

/// A served FUSE mount; dropping it before [`Served::join`] detaches the mount
/// (ending the server), also when the server never started.
struct Served {
    at: PathBuf,
    worker: Option<JoinHandle<Result<(), MountError>>>,
    armed: bool,
}

impl Served {
    fn join(mut self) -> Result<(), Error> {
        self.armed = false;
        match self.worker.take().map(JoinHandle::join) {
            Some(Ok(result)) => Ok(result?),
            Some(Err(_)) => {
                Err(MountError::Session(std::io::Error::other("worker panicked")).into())
            }
            None => Ok(()),
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

/// Serves `req` in this process; `notify` is called once the mount is ready.
/// Returns the exit status: 0, or the command's.
pub fn serve(req: &MountRequest, notify: impl FnOnce()) -> Result<u8, Error> {
    let private = !req.command.is_empty();
    if req.overlay.is_some() && !private && !geteuid().is_root() {
        return Err(Error::OverlayNeedsCommand);
    }
    let image = ImageSource::open(&req.image, req.partition)?;
    let dir = req
        .dir
        .canonicalize()
        .map_err(|e| Error::path("cannot use mountpoint", &req.dir, e))?;
    if private {
        namespace::enter_private()?;
    }
    let signals = block_signals()?;
    // One malloc arena for all workers: each arena keeps its freed memory (RSS).
    fusefs::mount::limit_malloc_arenas(1);
    let served = match &req.overlay {
        None => mount_image(image, &dir, req.threads, private)?,
        Some(upper) => mount_with_overlay(image, upper, &dir, req.threads)?,
    };
    notify();
    if private {
        // Dropping `served` detaches the mount; the process then exits, closing the
        // FUSE connection even if something the command left behind still uses it.
        let code = run_command(&req.command);
        drop(served);
        return code;
    }
    std::thread::spawn(move || {
        if signals.wait().is_ok() {
            let _ = fusefs::mount::unmount(&dir, true);
        }
    });
    served.join()?;
    Ok(0)
}

fn block_signals() -> Result<SigSet, Error> {
    let mut set = SigSet::empty();
    for s in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        set.add(s);
    }
    set.thread_block()
        .map_err(|e| Error::namespace("blocking signals", e))?;
    Ok(set)
}

/// Mounts the image's FUSE at `at` and starts its workers.
fn mount_image(
    image: ImageSource,
    at: &Path,
    threads: usize,
    direct: bool,
) -> Result<Served, Error> {
    let options = MountOptions::new(&image.path.to_string_lossy());
    let fs = filesystem(image)?;
    let fd: OwnedFd = if direct {
        fusefs::mount::mount_direct(at, &options)?
    } else {
        fusefs::mount::mount(at, &options)?.0
    };
    let mut served = Served {
        at: at.to_owned(),
        worker: None,
        armed: true,
    };
    let server = Server::start(fs, fd, threads)?;
    served.worker = Some(std::thread::spawn(move || server.run()));
    Ok(served)
}

fn mount_with_overlay(
    image: ImageSource,
    upper: &Path,
    dir: &Path,
    threads: usize,
) -> Result<Served, Error> {
    let dirs = OverlayDirs::prepare(upper)?;
    let lower = overlay::hidden_lower()?;
    let result = mount_image(image, &lower, threads, true).and_then(|mut served| {
        overlay::mount_overlay(&lower, &dirs, dir, in_userns())?;
        nix::mount::umount2(&lower, nix::mount::MntFlags::MNT_DETACH)
            .map_err(|e| Error::namespace("detaching the hidden lower", e))?;
        served.at = dir.to_owned();
        Ok(served)
    });
    let _ = std::fs::remove_dir(&lower);
    result
}

/// True inside a user namespace other than the initial one.
fn in_userns() -> bool {
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
    Ok(fusefs::SquashFuse::new(squashfs))
}

fn run_command(command: &[std::ffi::OsString]) -> Result<u8, Error> {
    let (program, args) = command.split_first().ok_or(Error::OverlayNeedsCommand)?;
    let status = std::process::Command::new(program)
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
