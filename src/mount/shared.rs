//! One read-only FUSE mount per image, shared by all its containers (`STATE/lowers/`).
//!
//! Layout: `lowers/.lock` (flock(2), held while references or mounts change) and per
//! image `lowers/HEX/` (HEX: the image id without `sha256:`) with `mnt/`, the image's
//! FUSE mount, and `refs/ID`, one empty file per container that uses it. The daemon
//! takes a reference before it starts a container's monitor ([`Lowers::acquire`]) and
//! drops it when the container is removed or its creation failed ([`Lowers::release`]);
//! the last one out unmounts the image and removes its directory, or, with a linger
//! ([`Lowers::with_linger`], `[image_mounts] linger`), leaves it mounted for the next
//! container until [`Lowers::sweep`] finds it unused for that long. The monitor mounts
//! the image when nobody has ([`ensure_mounted`]): the server is forked off as
//! `sifcri mount` forks its own, so it outlives the monitor and the daemon. A crash
//! leaves at worst a reference too many, which [`Lowers::reconcile`] drops when the
//! daemon starts again.

use std::fs::File;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::fcntl::{Flock, FlockArg};
use nix::mount::{umount2, MntFlags};

use super::Error;

/// The shared lowers under one state directory.
#[derive(Debug, Clone)]
pub struct Lowers {
    dir: PathBuf,
    /// How long a lower nobody uses stays mounted for the next container of its image.
    linger: Duration,
}

/// The lock on every lower's references, released on drop (or when the process dies).
type Lock = Flock<File>;

/// What a lower's mountpoint holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MountState {
    /// Nothing is mounted there (or the directory is missing).
    Unmounted,
    /// A FUSE mount whose server answers.
    Live,
    /// A FUSE mount whose server is gone (`ENOTCONN`).
    Dead,
}

impl Lowers {
    /// The lowers under `dir` (`STATE/lowers`), unmounted as soon as nobody uses them.
    pub fn new(dir: PathBuf) -> Lowers {
        Lowers {
            dir,
            linger: Duration::ZERO,
        }
    }

    /// Keeps a lower that nobody uses mounted for `linger` (see [`Lowers::sweep`]): the
    /// next container of the image (a restart, the next pod) then finds it mounted,
    /// with the kernel's page cache of its files still warm.
    pub fn with_linger(mut self, linger: Duration) -> Lowers {
        self.linger = linger;
        self
    }

    /// How long an unused lower stays mounted.
    pub fn linger(&self) -> Duration {
        self.linger
    }

    /// The directory of the lower of image `image_id`.
    pub fn dir_of(&self, image_id: &str) -> Result<PathBuf, Error> {
        Ok(self
            .dir
            .join(name(image_id.strip_prefix("sha256:").unwrap_or(image_id))?))
    }

    /// Takes container `id`'s reference on the lower of `image_id`; returns the lower's
    /// directory, for the monitor (`sifcri shim --lower`).
    pub fn acquire(&self, image_id: &str, id: &str) -> Result<PathBuf, Error> {
        let dir = self.dir_of(image_id)?;
        let refs = dir.join("refs");
        let _lock = lock(&self.dir)?;
        make_dir(&refs)?;
        let path = refs.join(name(id)?);
        File::create(&path).map_err(|e| Error::path("cannot create", &path, e))?;
        Ok(dir)
    }

    /// Drops container `id`'s reference; the last one unmounts the lower and removes
    /// its directory. Dropping a reference that does not exist is fine.
    pub fn release(&self, image_id: &str, id: &str) -> Result<(), Error> {
        let dir = self.dir_of(image_id)?;
        let path = dir.join("refs").join(name(id)?);
        let _lock = lock(&self.dir)?;
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::path("cannot remove", &path, e))
            }
            _ => {}
        }
        // Otherwise the refs directory's mtime, just changed, says since when it is idle.
        if refs_of(&dir).is_empty() && self.linger.is_zero() {
            teardown(&dir)?;
        }
        Ok(())
    }

    /// Unmounts and removes the lowers that nobody has used for `max_idle` (every unused
    /// one with zero: at daemon shutdown); returns what it removed, for the log.
    pub fn sweep(&self, max_idle: Duration) -> Result<Vec<String>, Error> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Ok(Vec::new());
        };
        let _lock = lock(&self.dir)?;
        let mut done = Vec::new();
        for dir in entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()) {
            if refs_of(&dir).is_empty() && idle_for(&dir) >= max_idle {
                teardown(&dir)?;
                done.push(format!("unmounted the unused lower {}", dir.display()));
            }
        }
        Ok(done)
    }

    /// At daemon start: drops the references of containers for which `alive` is false,
    /// tears down the lowers nobody uses, and detaches the mount of a lower whose server
    /// died, so that the next container mounts the image afresh. Returns what it did,
    /// for the log.
    pub fn reconcile(&self, alive: impl Fn(&str) -> bool) -> Result<Vec<String>, Error> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Ok(Vec::new());
        };
        let _lock = lock(&self.dir)?;
        let mut done = Vec::new();
        for dir in entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()) {
            for id in refs_of(&dir).into_iter().filter(|id| !alive(id)) {
                let _ = std::fs::remove_file(dir.join("refs").join(&id));
                done.push(format!("dropped the reference of container {id}"));
            }
            let mnt = dir.join("mnt");
            if refs_of(&dir).is_empty() {
                teardown(&dir)?;
                done.push(format!("removed the unused lower {}", dir.display()));
            } else if mount_state(&mnt) == MountState::Dead {
                let _ = umount2(&mnt, MntFlags::MNT_DETACH);
                done.push(format!("detached the dead lower {}", mnt.display()));
            }
        }
        Ok(done)
    }
}

/// In a container's monitor, while it has one thread: mounts `image` at `lower/mnt`
/// unless it is mounted already (or again, when its server died); returns the mount.
pub fn ensure_mounted(lower: &Path, image: &Path) -> Result<PathBuf, Error> {
    let lowers = lower.parent().unwrap_or(Path::new("/"));
    let _lock = lock(lowers)?;
    let mnt = lower.join("mnt");
    match mount_state(&mnt) {
        MountState::Live => return Ok(mnt),
        MountState::Dead => {
            umount2(&mnt, MntFlags::MNT_DETACH)
                .map_err(|e| Error::path("cannot detach the dead mount", &mnt, e.into()))?;
        }
        MountState::Unmounted => {}
    }
    make_dir(&mnt)?;
    super::serve::fork_lower(image, &mnt)?;
    Ok(mnt)
}

/// Unmounts a lower and removes its directory (the caller holds the lock).
fn teardown(dir: &Path) -> Result<(), Error> {
    let mnt = dir.join("mnt");
    match umount2(&mnt, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::Error::EINVAL) | Err(nix::Error::ENOENT) => {}
        Err(e) => return Err(Error::path("cannot unmount", &mnt, e.into())),
    }
    for d in [mnt, dir.join("refs"), dir.to_owned()] {
        match std::fs::remove_dir(&d) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::path("cannot remove", &d, e))
            }
            _ => {}
        }
    }
    Ok(())
}

/// How long the lower at `dir` has had no reference: since its refs directory (or,
/// without one, the lower's directory) last changed.
fn idle_for(dir: &Path) -> Duration {
    let changed = std::fs::metadata(dir.join("refs"))
        .or_else(|_| std::fs::metadata(dir))
        .and_then(|m| m.modified());
    changed
        .ok()
        .and_then(|t| t.elapsed().ok())
        .unwrap_or(Duration::MAX)
}

/// The container ids holding a reference on the lower at `dir`.
fn refs_of(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir.join("refs"))
        .map(|r| {
            r.flatten()
                .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a FUSE mount is at `mnt`, and whether its server answers. statfs(2), not
/// stat(2): the kernel answers a stat of the root from its attribute cache, but asks
/// the server for every statfs, and a dead connection answers `ENOTCONN`.
fn mount_state(mnt: &Path) -> MountState {
    if matches!(nix::sys::statfs::statfs(mnt), Err(nix::Error::ENOTCONN)) {
        return MountState::Dead;
    }
    let parent = mnt.parent().and_then(|p| std::fs::metadata(p).ok());
    match std::fs::metadata(mnt) {
        Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => MountState::Dead,
        Ok(m) if parent.is_some_and(|p| p.dev() != m.dev()) => MountState::Live,
        _ => MountState::Unmounted,
    }
}

/// Takes the lock of the lowers under `dir`, creating `dir` if needed.
fn lock(dir: &Path) -> Result<Lock, Error> {
    make_dir(dir)?;
    let path = dir.join(".lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::path("cannot open", &path, e))?;
    Flock::lock(file, FlockArg::LockExclusive)
        .map_err(|(_, e)| Error::path("cannot lock", &path, e.into()))
}

fn make_dir(dir: &Path) -> Result<(), Error> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::path("cannot create", dir, e))
}

/// `s` if it is a safe file name (an id: letters, digits, `-`, `_`, at most 128).
fn name(s: &str) -> Result<&str, Error> {
    let ok = !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(s)
    } else {
        Err(Error::BadId { id: s.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_come_and_go_with_the_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let lowers = Lowers::new(tmp.path().join("lowers"));
        let dir = lowers.acquire("sha256:abc", "c1").unwrap();
        assert_eq!(dir, tmp.path().join("lowers/abc"));
        lowers.acquire("sha256:abc", "c2").unwrap();
        lowers.release("sha256:abc", "c1").unwrap();
        assert_eq!(refs_of(&dir), vec!["c2".to_owned()]);
        lowers.release("sha256:abc", "c1").unwrap();
        lowers.release("sha256:abc", "c2").unwrap();
        assert!(!dir.exists());
        assert!(lowers.acquire("sha256:../x", "c1").is_err());
        assert!(lowers.acquire("sha256:abc", "a/b").is_err());
    }

    #[test]
    fn an_unused_lower_lingers_until_swept() {
        let tmp = tempfile::tempdir().unwrap();
        let lowers = Lowers::new(tmp.path().join("lowers")).with_linger(Duration::from_secs(60));
        let dir = lowers.acquire("aa", "c1").unwrap();
        lowers.release("aa", "c1").unwrap();
        assert!(dir.exists(), "kept for the next container");
        assert!(lowers.sweep(Duration::from_secs(60)).unwrap().is_empty());
        lowers.acquire("aa", "c2").unwrap();
        assert!(lowers.sweep(Duration::ZERO).unwrap().is_empty(), "in use");
        lowers.release("aa", "c2").unwrap();
        assert_eq!(lowers.sweep(Duration::ZERO).unwrap().len(), 1);
        assert!(!dir.exists());
    }

    #[test]
    fn reconcile_drops_references_of_gone_containers() {
        let tmp = tempfile::tempdir().unwrap();
        let lowers = Lowers::new(tmp.path().join("lowers"));
        let a = lowers.acquire("aa", "keep").unwrap();
        lowers.acquire("aa", "gone").unwrap();
        let b = lowers.acquire("bb", "gone2").unwrap();
        let done = lowers.reconcile(|id| id == "keep").unwrap();
        assert_eq!(done.len(), 3, "{done:?}");
        assert_eq!(refs_of(&a), vec!["keep".to_owned()]);
        assert!(!b.exists());
        assert_eq!(mount_state(&a.join("mnt")), MountState::Unmounted);
    }
}
