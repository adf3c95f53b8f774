//! Byte plumbing shared by the two transports (SPDY sessions and WebSocket
//! connections): reading a frame body whose length the peer claims without
//! trusting that length, and the writer task that sends queued frames in
//! order, batched into few writes.
//!
//! Input: the upgraded connection and the handlers' outgoing queue. Output:
//! frame bodies to the frame parsers, encoded frames to the connection.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::idle::Activity;

/// Most bytes reserved for a body before any of it has arrived.
const PREALLOC: u32 = 64 * 1024;

/// Most bytes of frames gathered into one write.
const BATCH: usize = 256 * 1024;

/// Reads exactly `len` bytes, allocating as they arrive rather than up front:
/// a length field that lies costs at most [`PREALLOC`] bytes.
pub(crate) async fn read_body<R: AsyncRead + Unpin>(
    r: &mut R,
    len: u32,
) -> Result<Vec<u8>, std::io::Error> {
    let mut body = Vec::with_capacity(usize::try_from(len.min(PREALLOC)).unwrap_or(0));
    r.take(u64::from(len)).read_to_end(&mut body).await?;
    if body.len() as u64 != u64::from(len) {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(body)
}

/// Writes what `rx` yields, in order, until the queue ends, a write fails or
/// `encode` says the frame it appended was the last (GOAWAY, CLOSE); then
/// shuts the connection down. `encode` appends one item's bytes to the
/// buffer; items queued together go out in one write of up to [`BATCH`] bytes.
/// Every write counts as `activity`.
pub(crate) async fn write_loop<W, T, F>(
    mut wr: W,
    mut rx: mpsc::Receiver<T>,
    mut encode: F,
    activity: Activity,
) where
    W: AsyncWrite + Unpin,
    F: FnMut(T, &mut Vec<u8>) -> bool,
{
    let mut buf = Vec::new();
    while let Some(mut out) = rx.recv().await {
        let last = loop {
            if encode(out, &mut buf) {
                break true;
            }
            match rx.try_recv() {
                Ok(next) if buf.len() < BATCH => out = next,
                Ok(next) => {
                    if wr.write_all(&buf).await.is_err() {
                        break true;
                    }
                    activity.touch();
                    buf.clear();
                    out = next;
                }
                Err(_) => break false,
            }
        };
        if wr.write_all(&buf).await.is_err() || wr.flush().await.is_err() || last {
            break;
        }
        activity.touch();
        buf.clear();
    }
    let _ = wr.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_lying_length_is_an_error_without_a_big_allocation() {
        let mut short: &[u8] = b"abc";
        let err = read_body(&mut short, u32::MAX).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
        let mut exact: &[u8] = b"abcdef";
        assert_eq!(read_body(&mut exact, 4).await.unwrap(), b"abcd");
        assert_eq!(exact, b"ef");
    }

    #[tokio::test]
    async fn batches_in_order_and_stops_after_the_last_frame() {
        let (tx, rx) = mpsc::channel(8);
        for b in [1u8, 2, 0, 3] {
            tx.send(b).await.unwrap();
        }
        let mut sink = Vec::new();
        let encode = |b: u8, buf: &mut Vec<u8>| {
            buf.push(b);
            b == 0
        };
        write_loop(&mut sink, rx, encode, Activity::new()).await;
        assert_eq!(sink, [1, 2, 0]);
    }
}
