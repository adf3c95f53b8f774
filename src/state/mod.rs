//! Records on disk: JSON files written atomically (temp file, fsync, rename, fsync of
//! the directory), so a `kill -9` at any instant leaves either the old or the new
//! record, never a torn one.
//!
//! Files under the state directory that describe processes (a container's bundle,
//! stdio plan, monitor pid, exit record) are written by [`write_volatile`] and
//! [`save_volatile`]: temp file and rename, atomic for every reader and against a
//! `kill -9`, but not fsynced — a reboot ends those processes and empties the state
//! directory anyway, and an fsync costs milliseconds on the path of every container.
//! (Also a stopped pod's record: a reboot's loss of that change is corrected at start.)
//!
//! Input: serde values from the pod and container stores. Output: files under the
//! daemon's root directory; [`load_dir`] reads them back at start-up.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

/// What can go wrong persisting a record.
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
    /// A record could not be (de)serialized.
    #[error("bad record {path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io {
        what,
        path: path.to_owned(),
        source,
    }
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io("create directory", dir))?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut f = std::fs::File::create(&tmp).map_err(io("create", &tmp))?;
    f.write_all(bytes).map_err(io("write", &tmp))?;
    f.sync_all().map_err(io("fsync", &tmp))?;
    std::fs::rename(&tmp, path).map_err(io("rename into", path))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically, without fsync (see the module doc).
pub fn write_volatile(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io("create directory", dir))?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes).map_err(io("write", &tmp))?;
    std::fs::rename(&tmp, path).map_err(io("rename into", path))
}

/// Serializes `value` as JSON into `path` atomically, without fsync.
pub fn save_volatile<T: Serialize>(path: &Path, value: &T) -> Result<(), Error> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|source| Error::Json {
        path: path.to_owned(),
        source,
    })?;
    write_volatile(path, &bytes)
}

/// Serializes `value` as JSON into `path` atomically.
pub fn save<T: Serialize>(path: &Path, value: &T) -> Result<(), Error> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|source| Error::Json {
        path: path.to_owned(),
        source,
    })?;
    write_atomic(path, &bytes)
}

/// Removes a record; a missing one is fine.
pub fn remove(path: &Path) -> Result<(), Error> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io("remove", path)(e)),
        _ => Ok(()),
    }
}

/// Every `*.json` record in `dir` that parses; unreadable ones are logged and skipped.
pub fn load_dir<T: DeserializeOwned>(dir: &Path) -> Result<Vec<T>, Error> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io("read directory", dir)(e)),
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let parsed = std::fs::read(&path)
            .map_err(io("read", &path))
            .and_then(|b| {
                serde_json::from_slice(&b).map_err(|source| Error::Json {
                    path: path.clone(),
                    source,
                })
            });
        match parsed {
            Ok(v) => out.push(v),
            Err(e) => tracing::warn!(error = %e, "skipping unreadable record"),
        }
    }
    Ok(out)
}

/// A fresh random id: 64 hex digits, as kubelet expects of sandbox and container ids.
pub fn new_id() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 32];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if read.is_err() {
        let seed = format!("{:?}{}", std::time::SystemTime::now(), std::process::id());
        bytes =
            sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(seed)).into();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Nanoseconds since the epoch, as CRI timestamps are.
pub fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_loads_and_removes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        save(&p, &vec![1, 2, 3]).unwrap();
        std::fs::write(dir.path().join("bad.json"), b"{").unwrap();
        let all: Vec<Vec<i32>> = load_dir(dir.path()).unwrap();
        assert_eq!(all, vec![vec![1, 2, 3]]);
        remove(&p).unwrap();
        remove(&p).unwrap();
        assert_eq!(new_id().len(), 64);
    }
}
