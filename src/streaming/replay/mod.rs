//! Replays bytes a client could send into the server side of each streaming
//! parser, in memory, with nothing behind it but a runtime that echoes stdin:
//! the entry points of the fuzz targets (`fuzz/fuzz_targets/spdy_*.rs`,
//! `ws_*.rs`, `resize.rs`) and of the seeded corruption test
//! (`tests/streaming_corrupt.rs`).
//!
//! Input: arbitrary bytes. Output: what the server answered (or how many
//! frames parsed); `None` when a session did not end by itself within
//! [`DEADLINE`] after the client's bytes ran out, which is a bug, as is a panic.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::portforward::PortForwardRequest;
use super::remotecommand::{self, Command, PROTOCOLS};
use super::spdy::{frame, headers::HeaderCodec, Session};
use super::ws::{self, Conn, EXEC_PROTOCOLS, PORTFORWARD_PROTOCOLS};
use super::{AttachRequest, ExecRequest, StreamRuntime, TermSize};

mod runner;

use runner::{block_on, drive, Echo};

/// How long a session may take to end once the client's bytes are all in.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// Most bytes of the server's answer kept (the rest is read and dropped).
const MAX_KEPT: usize = 1 << 20;

/// What the replayed URL was issued for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// Exec with stdin, stdout and stderr.
    Exec,
    /// Exec with stdin and a terminal (resize stream).
    ExecTty,
    /// Attach with stdin and stdout.
    Attach,
    /// Port forwarding (no port is reachable: each forward fails).
    PortForward,
}

impl Verb {
    /// A verb and a protocol index picked by one byte (for fuzz targets).
    pub fn from_byte(b: u8) -> (Verb, usize) {
        let verb = [Verb::Exec, Verb::ExecTty, Verb::Attach, Verb::PortForward][usize::from(b % 4)];
        (verb, usize::from(b / 4))
    }

    fn command(self) -> Option<Command> {
        let exec = |tty| ExecRequest {
            container_id: "replay".into(),
            cmd: vec!["cat".into()],
            tty,
            stdin: true,
            stdout: true,
            stderr: !tty,
        };
        match self {
            Verb::Exec => Some(Command::Exec(exec(false))),
            Verb::ExecTty => Some(Command::Exec(exec(true))),
            Verb::Attach => Some(Command::Attach(AttachRequest {
                container_id: "replay".into(),
                stdin: true,
                stdout: true,
                ..AttachRequest::default()
            })),
            Verb::PortForward => None,
        }
    }
}

/// Parses `data` as a sequence of SPDY frames, decoding every header block
/// with one zlib context; the number of frames read before the end or an error.
pub fn spdy_frames(data: &[u8]) -> usize {
    block_on(async {
        let (mut rd, mut codec, mut n) = (data, HeaderCodec::new(), 0);
        while let Ok(Some(f)) = frame::read_frame(&mut rd).await {
            n += 1;
            if let frame::Frame::SynStream { block, .. }
            | frame::Frame::SynReply { block, .. }
            | frame::Frame::Headers { block, .. } = f
            {
                if codec.decode(&block).is_err() {
                    break;
                }
            }
        }
        n
    })
}

/// Parses `data` as a sequence of client WebSocket frames; the number read.
pub fn ws_frames(data: &[u8]) -> usize {
    block_on(async {
        let (mut rd, mut n) = (data, 0);
        while let Ok(Some(_)) = ws::frame::read_frame(&mut rd).await {
            n += 1;
        }
        n
    })
}

/// Feeds `data` to the resize-stream parser in chunks of `chunk` bytes; the
/// sizes it yields.
pub fn resizes(data: &[u8], chunk: usize) -> Vec<TermSize> {
    block_on(async {
        let (tx, rx) = mpsc::channel(4);
        let mut sizes = remotecommand::resizes(rx);
        let chunks: Vec<Vec<u8>> = data.chunks(chunk.max(1)).map(<[u8]>::to_vec).collect();
        tokio::spawn(async move {
            for c in chunks {
                if tx.send(c).await.is_err() {
                    return;
                }
            }
        });
        let mut out = Vec::new();
        while let Some(s) = sizes.recv().await {
            out.push(s);
        }
        out
    })
}

/// A SPDY session for `verb` (remote-command protocol `PROTOCOLS[proto %
/// len]`) fed `data`; the server's bytes, `None` if it did not end in time.
pub fn spdy_session(data: &[u8], verb: Verb, proto: usize) -> Option<Vec<u8>> {
    let protocol = PROTOCOLS[proto % PROTOCOLS.len()];
    drive(data, move |io| async move {
        let session = Session::start(io, None);
        let rt: Arc<dyn StreamRuntime> = Arc::new(Echo);
        match verb.command() {
            Some(cmd) => {
                let _ = remotecommand::serve(session, protocol, cmd, rt).await;
            }
            None => {
                let req = PortForwardRequest {
                    pod_id: "replay".into(),
                };
                super::portforward_spdy::serve_spdy(session, req, rt).await;
            }
        }
    })
}

/// A WebSocket connection for `verb` (channel subprotocol `proto`, modulo the
/// verb's list; port forwards name ports 80 and 81) fed `data`.
pub fn ws_session(data: &[u8], verb: Verb, proto: usize) -> Option<Vec<u8>> {
    drive(data, move |io| async move {
        let rt: Arc<dyn StreamRuntime> = Arc::new(Echo);
        match verb.command() {
            Some(cmd) => {
                let p = EXEC_PROTOCOLS[proto % EXEC_PROTOCOLS.len()];
                let conn = Conn::start(io, p, &ws::command_channels(&cmd), None);
                ws::serve_command(conn, p, cmd, rt).await;
            }
            None => {
                let p = PORTFORWARD_PROTOCOLS[proto % PORTFORWARD_PROTOCOLS.len()];
                let conn = Conn::start(io, p, &ws::port_channels(2), None);
                let req = PortForwardRequest {
                    pod_id: "replay".into(),
                };
                ws::serve_ports(conn, vec![80, 81], req, rt).await;
            }
        }
    })
}
