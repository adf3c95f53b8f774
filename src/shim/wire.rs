//! The wire format of the shim's control socket (`DIR/control.sock`), spoken by the
//! shim (`shim::control`) and the daemon's attach (`crate::cri`).
//!
//! Every message both ways is a frame: one kind byte, a big-endian `u32` length, the
//! payload (at most [`MAX_FRAME`] bytes). The client's first frame is
//! [`Kind::Hello`] with three flag bytes (stdin, stdout, stderr); then the shim sends
//! [`Kind::Stdout`]/[`Kind::Stderr`] frames and the client [`Kind::Stdin`],
//! [`Kind::CloseStdin`] and [`Kind::Resize`] (width and height, `u16` each). The shim
//! ends the connection when the container's output has ended.
//!
//! A connection whose first frame is [`Kind::Exec`] runs a process in the container
//! instead ([`exec`]): the request carries the process's stdio as descriptors, the
//! shim answers [`Kind::Started`] (or [`Kind::ExecError`]) and later [`Kind::Exited`].

pub mod exec;

use std::path::{Path, PathBuf};

/// The control socket's file name in the container directory.
pub const CONTROL_SOCKET: &str = "control.sock";

/// The largest payload accepted.
pub const MAX_FRAME: usize = 1 << 20;

/// The bytes before each payload.
pub const HEADER_LEN: usize = 5;

/// What a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// Client → shim: bytes for the container's stdin.
    Stdin = 0,
    /// Shim → client: the container's stdout (with a terminal: all its output).
    Stdout = 1,
    /// Shim → client: the container's stderr.
    Stderr = 2,
    /// Client → shim: the client's stdin ended.
    CloseStdin = 3,
    /// Client → shim: the terminal's new size.
    Resize = 4,
    /// Client → shim, first: which streams the client wants.
    Hello = 5,
    /// Client → shim, first: run a process ([`exec::ExecRequest`], stdio attached).
    Exec = 6,
    /// Shim → client: the exec started (pid, `i32`; a terminal's master attached).
    Started = 7,
    /// Shim → client: the exec ended (exit code, `i32`; 128 + signal when killed).
    Exited = 8,
    /// Shim → client: the exec could not start or was lost (a code byte, a message).
    ExecError = 9,
}

/// A frame that cannot be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WireError {
    /// An unknown kind byte.
    #[error("unknown control frame kind {0}")]
    Kind(u8),
    /// A payload over [`MAX_FRAME`].
    #[error("control frame of {0} bytes exceeds the limit")]
    TooLong(usize),
}

/// The streams a client asks for in its hello.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hello {
    /// Forward the client's stdin.
    pub stdin: bool,
    /// Send the container's stdout.
    pub stdout: bool,
    /// Send the container's stderr.
    pub stderr: bool,
}

impl Hello {
    /// The hello frame.
    pub fn encode(&self) -> Vec<u8> {
        let flags = [self.stdin, self.stdout, self.stderr].map(u8::from);
        encode(Kind::Hello, &flags)
    }

    /// Reads a hello payload; `None` when it is not three flag bytes.
    pub fn decode(payload: &[u8]) -> Option<Hello> {
        match payload {
            [i, o, e] => Some(Hello {
                stdin: *i != 0,
                stdout: *o != 0,
                stderr: *e != 0,
            }),
            _ => None,
        }
    }
}

/// One frame's bytes.
pub fn encode(kind: Kind, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(HEADER_LEN.saturating_add(payload.len()));
    out.push(kind as u8);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// The kind and payload length from a frame header.
pub fn parse_header(h: &[u8; HEADER_LEN]) -> Result<(Kind, usize), WireError> {
    let kind = match h[0] {
        0 => Kind::Stdin,
        1 => Kind::Stdout,
        2 => Kind::Stderr,
        3 => Kind::CloseStdin,
        4 => Kind::Resize,
        5 => Kind::Hello,
        6 => Kind::Exec,
        7 => Kind::Started,
        8 => Kind::Exited,
        9 => Kind::ExecError,
        k => return Err(WireError::Kind(k)),
    };
    let len = u32::from_be_bytes([h[1], h[2], h[3], h[4]]) as usize;
    if len > MAX_FRAME {
        return Err(WireError::TooLong(len));
    }
    Ok((kind, len))
}

/// A resize payload.
pub fn resize(width: u16, height: u16) -> Vec<u8> {
    let mut p = width.to_be_bytes().to_vec();
    p.extend_from_slice(&height.to_be_bytes());
    encode(Kind::Resize, &p)
}

/// Width and height from a resize payload.
pub fn parse_resize(payload: &[u8]) -> Option<(u16, u16)> {
    match payload {
        [w0, w1, h0, h1] => Some((
            u16::from_be_bytes([*w0, *w1]),
            u16::from_be_bytes([*h0, *h1]),
        )),
        _ => None,
    }
}

/// A path to `name` inside the directory open as `dir` that fits in a unix socket
/// address whatever the directory's own length (`/proc/PID/fd/N/NAME`); valid while
/// `dir` stays open, for this process and for processes it starts.
pub fn short_path(dir: &std::fs::File, name: &str) -> PathBuf {
    use std::os::fd::AsRawFd;
    Path::new("/proc")
        .join(std::process::id().to_string())
        .join("fd")
        .join(dir.as_raw_fd().to_string())
        .join(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let f = encode(Kind::Stderr, b"abc");
        let (k, n) = parse_header(f[..HEADER_LEN].try_into().unwrap()).unwrap();
        assert_eq!((k, n, &f[HEADER_LEN..]), (Kind::Stderr, 3, &b"abc"[..]));
        let r = resize(120, 40);
        assert_eq!(parse_resize(&r[HEADER_LEN..]), Some((120, 40)));
        let h = Hello {
            stdin: true,
            stdout: false,
            stderr: true,
        };
        assert_eq!(Hello::decode(&h.encode()[HEADER_LEN..]), Some(h));
    }

    #[test]
    fn bad_headers_are_errors() {
        assert_eq!(parse_header(&[19, 0, 0, 0, 1]), Err(WireError::Kind(19)));
        assert!(matches!(
            parse_header(&[1, 0xff, 0, 0, 0]),
            Err(WireError::TooLong(_))
        ));
        assert_eq!(Hello::decode(b"12"), None);
        assert_eq!(parse_resize(b"123"), None);
    }
}
