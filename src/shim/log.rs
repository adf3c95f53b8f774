//! The CRI log format kubelet reads: one line per chunk,
//! `2006-01-02T15:04:05.999999999Z07:00 stdout F text` — `F` for a full line, `P` for
//! a partial one (a line longer than the buffer, or the stream's last bytes without a
//! newline).
//!
//! Input: the container's stdout and stderr pipes. Output: lines appended to the log
//! file, which [`LogFile::reopen`] replaces after kubelet rotated it.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The longest chunk written as one line.
const MAX_LINE: usize = 16 * 1024;

/// The shared, reopenable log file.
#[derive(Debug, Clone)]
pub struct LogFile {
    path: Option<PathBuf>,
    file: Arc<Mutex<Option<File>>>,
}

impl LogFile {
    /// Opens (appending) `path`; without one, output is dropped.
    pub fn open(path: Option<&Path>) -> std::io::Result<LogFile> {
        let file = path.map(open_append).transpose()?;
        Ok(LogFile {
            path: path.map(Path::to_owned),
            file: Arc::new(Mutex::new(file)),
        })
    }

    /// A log that drops everything (no log path given, or it cannot be opened).
    pub fn discard() -> LogFile {
        LogFile {
            path: None,
            file: Arc::new(Mutex::new(None)),
        }
    }

    /// Opens the path again (after a rotation renamed the old file).
    pub fn reopen(&self) -> std::io::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let new = open_append(path)?;
        *self.file.lock().unwrap_or_else(|e| e.into_inner()) = Some(new);
        Ok(())
    }

    fn write(&self, stream: &str, tag: char, text: &[u8]) {
        let mut line = format!("{} {stream} {tag} ", timestamp()).into_bytes();
        line.extend_from_slice(text);
        line.push(b'\n');
        let mut guard = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(f) = guard.as_mut() {
            let _ = f.write_all(&line);
        }
    }

    /// Copies `input` to the log as `stream` until end of file.
    pub fn copy(&self, input: impl Read, stream: &str) {
        let mut reader = BufReader::with_capacity(MAX_LINE, input);
        loop {
            let buf = match reader.fill_buf() {
                Ok([]) | Err(_) => return,
                Ok(b) => b,
            };
            let (text, used, tag) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (&buf[..i], i + 1, 'F'),
                None if buf.len() >= MAX_LINE => (buf, buf.len(), 'P'),
                None => {
                    // Wait for more unless the stream ended.
                    let len = buf.len();
                    let owned = buf.to_vec();
                    reader.consume(len);
                    self.partial(&mut reader, owned, stream);
                    continue;
                }
            };
            self.write(stream, tag, text);
            reader.consume(used);
        }
    }

    /// Completes a line begun with `start`: reads to the next newline or EOF.
    fn partial<R: Read>(&self, reader: &mut BufReader<R>, mut start: Vec<u8>, stream: &str) {
        let mut rest = Vec::new();
        let limit = MAX_LINE.saturating_sub(start.len()) as u64;
        let n = reader
            .by_ref()
            .take(limit)
            .read_until(b'\n', &mut rest)
            .unwrap_or(0);
        let full = rest.last() == Some(&b'\n');
        if full {
            rest.pop();
        }
        start.extend_from_slice(&rest);
        if n > 0 || !start.is_empty() {
            self.write(stream, if full { 'F' } else { 'P' }, &start);
        }
    }
}

fn open_append(path: &Path) -> std::io::Result<File> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
}

/// RFC 3339 with nanoseconds, UTC.
pub fn timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_nanos()
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_780), (2026, 11, 23));
    }

    #[test]
    fn full_and_partial_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.log");
        let log = LogFile::open(Some(&p)).unwrap();
        log.copy(&b"one\ntwo\nthree"[..], "stdout");
        let text = std::fs::read_to_string(&p).unwrap();
        let tails: Vec<&str> = text.lines().map(|l| l.split_once(' ').unwrap().1).collect();
        assert_eq!(tails, ["stdout F one", "stdout F two", "stdout P three"]);
    }
}
