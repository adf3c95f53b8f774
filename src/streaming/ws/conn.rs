//! A kubelet channel connection over WebSocket (the `wsstream` model): every
//! message starts with a channel number (a byte, or an ASCII digit in the
//! base64 protocols), the rest is that channel's data. A reader task
//! (`reader.rs`) joins fragments, answers PING and CLOSE and routes
//! data to per-channel receivers; a writer task here sends channel messages
//! in order.

use std::time::Duration;

use base64::Engine;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, watch};

use super::frame::{self, Frame};
use super::handshake::Protocol;
use super::reader::Reader;
use super::WsError;
use crate::streaming::hangup::HangUp;
use crate::streaming::idle::Activity;
use crate::streaming::wire::write_loop;

/// Largest channel message we send at once.
const MAX_OUT: usize = 32 * 1024;

/// A frame to send.
#[derive(Debug)]
pub(super) enum Out {
    Data(u8, Vec<u8>),
    Pong(Vec<u8>),
    /// A probe of a client whose input is not being read (see `hangup`).
    Ping(Vec<u8>),
    Close(u16),
}

/// Sends messages on one channel.
#[derive(Clone, Debug)]
pub struct ChannelWriter {
    ch: u8,
    out: mpsc::Sender<Out>,
}

impl ChannelWriter {
    /// Queues `data` on the channel (an empty message too: kubelet clients
    /// take one as the sign that the streams are ready).
    pub async fn write(&self, data: &[u8]) -> Result<(), WsError> {
        let mut chunks = data.chunks(MAX_OUT).peekable();
        if chunks.peek().is_none() {
            return self.send(Vec::new()).await;
        }
        for c in chunks {
            self.send(c.to_vec()).await?;
        }
        Ok(())
    }

    async fn send(&self, data: Vec<u8>) -> Result<(), WsError> {
        let out = Out::Data(self.ch, data);
        self.out.send(out).await.map_err(|_| WsError::Closed)
    }
}

/// The server's side of one channel connection.
pub struct Conn {
    /// Data the client sends, by channel; `None` for channels it may not write.
    pub inputs: Vec<Option<mpsc::Receiver<Vec<u8>>>>,
    out: mpsc::Sender<Out>,
    gone: watch::Receiver<bool>,
}

impl Conn {
    /// Starts the reader and writer on `io`; `readable[ch]` says whether the
    /// client may send on channel `ch`. A connection on which no frame passes
    /// for `idle_timeout` is closed with 1001 (going away).
    pub fn start<IO>(
        io: IO,
        proto: Protocol,
        readable: &[bool],
        idle_timeout: Option<Duration>,
    ) -> Self
    where
        IO: AsyncRead + AsyncWrite + Send + 'static,
    {
        Self::start_watched(io, proto, readable, idle_timeout, HangUp::default())
    }

    /// [`Conn::start`], also ended when `hangup` sees the client's socket closed
    /// (while the reader may be stalled on a command that does not read its stdin).
    pub(crate) fn start_watched<IO>(
        io: IO,
        proto: Protocol,
        readable: &[bool],
        idle_timeout: Option<Duration>,
        hangup: HangUp,
    ) -> Self
    where
        IO: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (rd, wr) = tokio::io::split(io);
        let (out_tx, out_rx) = mpsc::channel(256);
        let (gone_tx, gone) = watch::channel(false);
        let mut inputs = Vec::new();
        let mut senders = Vec::new();
        for r in readable {
            let (tx, rx) = mpsc::channel(64);
            inputs.push(r.then_some(rx));
            senders.push(r.then_some(tx));
        }
        let activity = Activity::new();
        let encode = move |out, buf: &mut Vec<u8>| encode(out, proto.base64, buf);
        tokio::spawn(write_loop(wr, out_rx, encode, activity.clone()));
        let reader = Reader::new(proto, senders, out_tx.clone(), activity.clone());
        let out = out_tx.clone();
        tokio::spawn(async move {
            tokio::select! {
                res = reader.run(rd) => if let Err(e) = res {
                    tracing::debug!(error = %e, "websocket connection ended with an error");
                },
                () = activity.idle(idle_timeout) => {
                    tracing::info!("closing a streaming connection idle for {idle_timeout:?}");
                    let _ = out.send(Out::Close(1001)).await;
                }
                () = hangup.wait(&activity, || {
                    let _ = out.try_send(Out::Ping(Vec::new()));
                }) => tracing::debug!("the websocket client hung up"),
            }
            let _ = gone_tx.send(true);
        });
        Self {
            inputs,
            out: out_tx,
            gone,
        }
    }

    /// A writer for channel `ch`.
    pub fn writer(&self, ch: u8) -> ChannelWriter {
        ChannelWriter {
            ch,
            out: self.out.clone(),
        }
    }

    /// A receiver that turns `true` when the client's side ends.
    pub fn gone(&self) -> watch::Receiver<bool> {
        self.gone.clone()
    }

    /// Sends a normal CLOSE after everything queued; the writer then ends.
    pub async fn close(self) {
        let _ = self.out.send(Out::Close(1000)).await;
    }
}

/// Appends `out`'s frame to `buf`; `true` after a CLOSE (nothing may follow).
fn encode(out: Out, b64: bool, buf: &mut Vec<u8>) -> bool {
    let f = to_frame(out, b64);
    buf.extend_from_slice(&f.encode());
    f.opcode == frame::CLOSE
}

/// The frame for `out`: channel messages as binary (channel byte) or, in
/// the base64 protocols, as text (channel digit, base64 data).
fn to_frame(out: Out, b64: bool) -> Frame {
    let (opcode, payload) = match out {
        Out::Data(ch, data) if b64 => {
            let mut p = vec![b'0'.wrapping_add(ch)];
            p.extend(
                base64::engine::general_purpose::STANDARD
                    .encode(data)
                    .bytes(),
            );
            (frame::TEXT, p)
        }
        Out::Data(ch, mut data) => {
            data.insert(0, ch);
            (frame::BINARY, data)
        }
        Out::Pong(p) => (frame::PONG, p),
        Out::Ping(p) => (frame::PING, p),
        Out::Close(code) => (frame::CLOSE, code.to_be_bytes().to_vec()),
    };
    Frame {
        fin: true,
        opcode,
        payload,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::streaming::ws::handshake::EXEC_PROTOCOLS;

    fn masked(first: u8, payload: &[u8]) -> Vec<u8> {
        let key = [0xa1, 0x07, 0x5c, 0xe2];
        let mut out = vec![first, 0x80 | payload.len() as u8];
        out.extend_from_slice(&key);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        out
    }

    /// Feeds `bytes` to a connection; returns what stdin and resize received.
    async fn feed(proto: Protocol, bytes: &[u8]) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
        let (client, server) = tokio::io::duplex(1 << 16);
        let mut conn = Conn::start(server, proto, &[true, false, false, false, true], None);
        let (mut rd, mut wr) = tokio::io::split(client);
        let drain = tokio::spawn(async move {
            let mut sink = Vec::new();
            let _ = rd.read_to_end(&mut sink).await;
        });
        let _ = wr.write_all(bytes).await;
        let _ = wr.shutdown().await;
        let (mut stdin, mut resize) = (
            conn.inputs[0].take().unwrap(),
            conn.inputs[4].take().unwrap(),
        );
        let mut gone = conn.gone();
        let ended = tokio::time::timeout(Duration::from_secs(5), gone.wait_for(|g| *g)).await;
        assert!(ended.is_ok(), "the connection ends at EOF");
        let (mut a, mut b) = (Vec::new(), Vec::new());
        while let Ok(m) = stdin.try_recv() {
            a.push(m);
        }
        while let Ok(m) = resize.try_recv() {
            b.push(m);
        }
        drop(conn);
        let _ = drain.await;
        (a, b)
    }

    fn stream() -> Vec<u8> {
        let mut v = masked(0x82, b"\x00hello");
        v.extend(masked(0x02, b"\x00frag"));
        v.extend(masked(0x89, b"ping"));
        v.extend(masked(0x80, b"ment"));
        v.extend(masked(0x82, b"\x04{}"));
        v.extend(masked(0x82, &[255, 0]));
        v.extend(masked(0x82, b"\x00after close"));
        v.extend(masked(0x88, &1000u16.to_be_bytes()));
        v
    }

    #[tokio::test]
    async fn routes_channels_joins_fragments_and_applies_the_close_signal() {
        let (stdin, resize) = feed(EXEC_PROTOCOLS[0], &stream()).await;
        assert_eq!(stdin, [b"hello".to_vec(), b"fragment".to_vec()]);
        assert_eq!(resize, [b"{}".to_vec()]);
        let b64 = masked(0x81, b"0aGk=");
        let (stdin, _) = feed(EXEC_PROTOCOLS[2], &b64).await;
        assert_eq!(stdin, [b"hi".to_vec()]);
    }

    #[tokio::test]
    async fn seeded_corruption_ends_the_connection_without_a_panic() {
        let valid = stream();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for round in 0..300 {
            let mut bytes = valid.clone();
            for _ in 0..1 + round % 4 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let i = (seed % bytes.len() as u64) as usize;
                bytes[i] ^= ((seed >> 32) as u8) | 1;
            }
            let proto = EXEC_PROTOCOLS[round % 3];
            feed(proto, &bytes).await;
        }
    }
}
