//! A streamed attach: a connection to the container's shim (`DIR/control.sock`,
//! [`crate::shim::wire`]) that carries the container's output to the client and the
//! client's stdin and resizes to the container, until the container's output ends or
//! the client goes. The shim outlives the daemon, so this works after a restart too.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;

use super::super::container::ContainerRecord;
use crate::shim::wire::{self, Hello, Kind, HEADER_LEN};
use crate::streaming::{AttachRequest, RuntimeError, Streams, TermSize};

/// Joins `c`'s stdio with `streams`.
pub async fn run(
    c: &ContainerRecord,
    req: AttachRequest,
    mut s: Streams,
) -> Result<(), RuntimeError> {
    let dir = std::fs::File::open(&c.dir)
        .map_err(|e| RuntimeError::Other(format!("open the container directory: {e}")))?;
    let path = wire::short_path(&dir, wire::CONTROL_SOCKET);
    let conn = tokio::net::UnixStream::connect(&path).await.map_err(|e| {
        RuntimeError::Other(format!("the container's monitor does not answer: {e}"))
    })?;
    drop(dir);
    let (r, mut w) = conn.into_split();
    let hello = Hello {
        stdin: req.stdin && s.stdin.is_some(),
        stdout: s.stdout.is_some(),
        stderr: s.stderr.is_some(),
    };
    w.write_all(&hello.encode())
        .await
        .map_err(|e| RuntimeError::Other(format!("talk to the monitor: {e}")))?;
    let input = tokio::spawn(forward_input(w, s.stdin.take(), s.resize.take()));
    let output = forward_output(r, s.stdout.take(), s.stderr.take());
    tokio::select! {
        () = output => {}
        _ = s.gone.wait_for(|g| *g) => {}
    }
    input.abort();
    Ok(())
}

/// Shim → client until the shim ends the connection.
async fn forward_output(
    mut r: OwnedReadHalf,
    stdout: Option<mpsc::Sender<Vec<u8>>>,
    stderr: Option<mpsc::Sender<Vec<u8>>>,
) {
    let mut h = [0u8; HEADER_LEN];
    while r.read_exact(&mut h).await.is_ok() {
        let Ok((kind, len)) = wire::parse_header(&h) else {
            return;
        };
        let mut payload = vec![0u8; len];
        if r.read_exact(&mut payload).await.is_err() {
            return;
        }
        let tx = match kind {
            Kind::Stdout => stdout.as_ref(),
            Kind::Stderr => stderr.as_ref(),
            _ => None,
        };
        if let Some(tx) = tx {
            let _ = tx.send(payload).await;
        }
    }
}

/// Client → shim: stdin (then its end) and resizes.
async fn forward_input(
    mut w: OwnedWriteHalf,
    mut stdin: Option<mpsc::Receiver<Vec<u8>>>,
    mut resize: Option<mpsc::Receiver<TermSize>>,
) {
    loop {
        let frame = tokio::select! {
            d = recv(&mut stdin) => match d {
                Some(d) => wire::encode(Kind::Stdin, &d),
                None => {
                    stdin = None;
                    wire::encode(Kind::CloseStdin, &[])
                }
            },
            sz = recv(&mut resize) => match sz {
                Some(sz) => wire::resize(sz.width, sz.height),
                None => {
                    resize = None;
                    continue;
                }
            },
        };
        if w.write_all(&frame).await.is_err() {
            return;
        }
        if stdin.is_none() && resize.is_none() {
            // Nothing more to send; keep the connection open for the output.
            return std::future::pending().await;
        }
    }
}

/// The next item of an optional channel; pending forever without one.
async fn recv<T>(rx: &mut Option<mpsc::Receiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}
