//! The remote-command protocol over WebSocket: channel 0 stdin, 1 stdout,
//! 2 stderr, 3 the error/status channel, 4 resize. An empty message on the
//! lowest output channel tells the client the streams are ready; the outcome
//! goes on channel 3 (a metav1.Status from v4 on), then a normal CLOSE.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::conn::{ChannelWriter, Conn};
use super::handshake::Protocol;
use crate::streaming::remotecommand::{report, resizes, run, Command};
use crate::streaming::{StreamRuntime, Streams};

const STDIN: usize = 0;
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const ERROR: u8 = 3;
const RESIZE: usize = 4;

/// Which channels the client may write for `cmd`: stdin, and resize with a tty.
pub(crate) fn readable(cmd: &Command) -> [bool; 5] {
    let (stdin, _, _, tty) = cmd.flags();
    [stdin, false, false, false, tty]
}

/// Serves one remote command on `conn`.
pub(crate) async fn serve_command(
    mut conn: Conn,
    proto: Protocol,
    cmd: Command,
    rt: Arc<dyn StreamRuntime>,
) {
    let (_, stdout, stderr, tty) = cmd.flags();
    let stderr = stderr && !tty;
    let ready = match (stdout, stderr) {
        (true, _) => STDOUT,
        (_, true) => STDERR,
        _ => ERROR,
    };
    let _ = conn.writer(ready).write(&[]).await;
    let mut pumps = Vec::new();
    let streams = Streams {
        stdin: conn.inputs[STDIN].take(),
        stdout: stdout.then(|| output(conn.writer(STDOUT), &mut pumps)),
        stderr: stderr.then(|| output(conn.writer(STDERR), &mut pumps)),
        resize: conn.inputs[RESIZE].take().map(resizes),
        gone: conn.gone(),
    };
    let result = run(cmd, streams, &*rt).await;
    for pump in pumps {
        let _ = pump.await;
    }
    if let Some(text) = report(proto.status, &result) {
        let _ = conn.writer(ERROR).write(text.as_bytes()).await;
    }
    conn.close().await;
}

/// A channel whose messages go out on `w` (a WebSocket channel has no end of
/// its own: the connection's CLOSE ends them all).
pub(crate) fn output(w: ChannelWriter, pumps: &mut Vec<JoinHandle<()>>) -> mpsc::Sender<Vec<u8>> {
    let (send, mut recv) = mpsc::channel::<Vec<u8>>(16);
    pumps.push(tokio::spawn(async move {
        while let Some(data) = recv.recv().await {
            if w.write(&data).await.is_err() {
                return;
            }
        }
    }));
    send
}
