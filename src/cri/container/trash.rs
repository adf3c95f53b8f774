//! RemoveContainer's last step off the caller's path: the container's runtime
//! directory (bundle, overlay upper and work dirs, logs of the monitor) is renamed into
//! `STATE/trash/` — one atomic step, after which nothing refers to it — and deleted
//! there by a background thread. The daemon empties the trash when it starts, so a
//! directory left by a crash is deleted then.

use std::path::{Path, PathBuf};

/// The trash directory under the daemon's state directory.
#[derive(Debug, Clone)]
pub(super) struct Trash {
    dir: PathBuf,
}

impl Trash {
    /// The trash at `dir`; deletes what an earlier daemon left in it, in the background.
    pub(super) fn open(dir: PathBuf) -> Trash {
        let trash = Trash { dir };
        if let Ok(entries) = std::fs::read_dir(&trash.dir) {
            let left: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
            if !left.is_empty() {
                std::thread::spawn(move || left.iter().for_each(|p| delete(p)));
            }
        }
        trash
    }

    /// Moves `dir` (named after container `id`) into the trash and deletes it in the
    /// background; deletes it here when it cannot be moved. A missing `dir` is fine.
    pub(super) fn discard(&self, dir: &Path, id: &str) -> std::io::Result<()> {
        if let Err(e) = std::fs::create_dir_all(&self.dir) {
            tracing::debug!(error = %e, "no trash directory; deleting in place");
            return remove(dir);
        }
        let target = self.dir.join(id);
        match std::fs::rename(dir, &target) {
            Ok(()) => {
                std::thread::spawn(move || delete(&target));
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => {
                tracing::debug!(error = %e, "cannot move {} to the trash", dir.display());
                remove(dir)
            }
        }
    }
}

fn remove(dir: &Path) -> std::io::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn delete(path: &Path) {
    if let Err(e) = remove(path) {
        tracing::warn!(error = %e, "cannot delete {}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_discarded_directory_is_gone_from_its_place_at_once_and_from_the_trash_soon() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("containers/abc");
        std::fs::create_dir_all(dir.join("upper/etc")).unwrap();
        std::fs::write(dir.join("upper/etc/hosts"), "x").unwrap();
        let trash = Trash::open(tmp.path().join("trash"));
        trash.discard(&dir, "abc").unwrap();
        assert!(!dir.exists());
        trash.discard(&dir, "abc").unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while tmp.path().join("trash/abc").exists() {
            assert!(std::time::Instant::now() < deadline, "still in the trash");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    #[test]
    fn what_an_earlier_daemon_left_in_the_trash_is_deleted() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("trash/old/upper")).unwrap();
        let _trash = Trash::open(tmp.path().join("trash"));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while tmp.path().join("trash/old").exists() {
            assert!(std::time::Instant::now() < deadline, "still in the trash");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}
