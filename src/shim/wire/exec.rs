//! The exec request on the shim's control socket, spoken by the shim
//! (`shim::control::exec`) and the daemon (`crate::cri::container` exec).
//!
//! The client's first frame is [`Kind::Exec`] with an [`ExecRequest`] (JSON) as payload
//! and, sent along its first byte (SCM_RIGHTS), the process's stdin, stdout and stderr
//! (none with a terminal: the shim opens one in the container and sends its master back
//! with [`Kind::Started`]). The shim answers [`Kind::Started`] with the pid, or
//! [`Kind::ExecError`] (a [`ErrorCode`] byte and a message); then [`Kind::Exited`] with
//! the exit status. The client's end of file (or its connection going away) asks the
//! shim to kill the process tree; the shim then answers [`Kind::Exited`] once it is gone.

use std::io::{IoSlice, Read};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;

use serde::{Deserialize, Serialize};

use super::{encode, parse_header, Kind, HEADER_LEN};

/// What to run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecRequest {
    /// The command and its arguments.
    pub args: Vec<String>,
    /// Give it a terminal (opened by the shim in the container's devpts).
    #[serde(default)]
    pub tty: bool,
    /// The terminal's initial width (0: leave it).
    #[serde(default)]
    pub width: u16,
    /// The terminal's initial height (0: leave it).
    #[serde(default)]
    pub height: u16,
}

impl ExecRequest {
    /// The request frame's bytes.
    pub fn encode(&self) -> Vec<u8> {
        encode(Kind::Exec, &serde_json::to_vec(self).unwrap_or_default())
    }

    /// Reads a request payload; `None` when it is not one.
    pub fn decode(payload: &[u8]) -> Option<ExecRequest> {
        serde_json::from_slice(payload).ok()
    }
}

/// Why an exec did not run, the first byte of a [`Kind::ExecError`] payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ErrorCode {
    /// Anything else.
    Other = 0,
    /// The container is not running.
    NotRunning = 1,
}

/// An [`Kind::ExecError`] frame.
pub fn error_frame(code: ErrorCode, message: &str) -> Vec<u8> {
    let mut p = vec![code as u8];
    p.extend_from_slice(message.as_bytes());
    encode(Kind::ExecError, &p)
}

/// The code and message of an [`Kind::ExecError`] payload.
pub fn parse_error(payload: &[u8]) -> (ErrorCode, String) {
    match payload.split_first() {
        Some((1, m)) => (
            ErrorCode::NotRunning,
            String::from_utf8_lossy(m).into_owned(),
        ),
        Some((_, m)) => (ErrorCode::Other, String::from_utf8_lossy(m).into_owned()),
        None => (ErrorCode::Other, String::new()),
    }
}

/// A frame carrying one `i32` ([`Kind::Started`], [`Kind::Exited`]).
pub fn int_frame(kind: Kind, value: i32) -> Vec<u8> {
    encode(kind, &value.to_be_bytes())
}

/// The `i32` of a [`Kind::Started`] or [`Kind::Exited`] payload.
pub fn parse_int(payload: &[u8]) -> Option<i32> {
    Some(i32::from_be_bytes(payload.try_into().ok()?))
}

/// Writes `frame` to `conn` with `fds` passed along its first byte.
pub fn send_with_fds(
    conn: &UnixStream,
    frame: &[u8],
    fds: &[BorrowedFd<'_>],
) -> std::io::Result<()> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
    let raw: Vec<i32> = fds.iter().map(AsRawFd::as_raw_fd).collect();
    let cmsgs = [ControlMessage::ScmRights(&raw)];
    let cmsgs = if raw.is_empty() { &[][..] } else { &cmsgs[..] };
    let sent = sendmsg::<()>(
        conn.as_raw_fd(),
        &[IoSlice::new(frame)],
        cmsgs,
        MsgFlags::MSG_NOSIGNAL,
        None,
    )?;
    let rest = frame.get(sent..).unwrap_or_default();
    std::io::Write::write_all(&mut &*conn, rest)
}

/// Reads one frame and the descriptors passed along it (blocking).
pub fn read_frame_fds(conn: &UnixStream) -> std::io::Result<(Kind, Vec<u8>, Vec<OwnedFd>)> {
    let mut h = [0u8; HEADER_LEN];
    let (n, fds) = crate::sys::recv_with_fds(conn.as_fd(), &mut h)?;
    if n == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let rest = h.get_mut(n..).unwrap_or_default();
    (&*conn).read_exact(rest)?;
    let (kind, len) =
        parse_header(&h).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    let mut payload = vec![0u8; len];
    (&*conn).read_exact(&mut payload)?;
    Ok((kind, payload, fds))
}

/// SIGKILLs `root` and every descendant, found through /proc (children first is not
/// needed: each is killed before anything can be reparented away from the tree);
/// returns the pids it killed.
pub fn kill_tree(root: i32) -> Vec<i32> {
    let mut parents: Vec<(i32, i32)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for e in entries.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            if let Some(ppid) = parent_of(pid) {
                parents.push((pid, ppid));
            }
        }
    }
    let mut tree = vec![root];
    let mut i = 0;
    while let Some(&p) = tree.get(i) {
        tree.extend(parents.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    for pid in &tree {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(*pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    tree
}

/// The parent pid of `pid`, from /proc/PID/stat (the field after the `)`).
fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_answers_round_trip() {
        let r = ExecRequest {
            args: vec!["sh".into(), "-c".into(), "exit 3".into()],
            tty: true,
            width: 80,
            height: 24,
        };
        let f = r.encode();
        assert_eq!(f[0], Kind::Exec as u8);
        assert_eq!(ExecRequest::decode(&f[HEADER_LEN..]), Some(r));
        assert_eq!(ExecRequest::decode(b"{"), None);
        let e = error_frame(ErrorCode::NotRunning, "stopped");
        assert_eq!(
            parse_error(&e[HEADER_LEN..]),
            (ErrorCode::NotRunning, "stopped".into())
        );
        assert_eq!(
            parse_int(&int_frame(Kind::Exited, -2)[HEADER_LEN..]),
            Some(-2)
        );
        assert_eq!(parse_int(b"123"), None);
    }

    #[test]
    fn descriptors_travel_with_the_frame() {
        let (a, b) = UnixStream::pair().unwrap();
        let (r, w) = nix::unistd::pipe().unwrap();
        send_with_fds(&a, &int_frame(Kind::Started, 7), &[r.as_fd(), w.as_fd()]).unwrap();
        let (kind, payload, fds) = read_frame_fds(&b).unwrap();
        assert_eq!(
            (kind, parse_int(&payload), fds.len()),
            (Kind::Started, Some(7), 2)
        );
        drop(a);
        assert!(read_frame_fds(&b).is_err());
    }
}
