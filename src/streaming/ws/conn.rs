//! A kubelet channel connection over WebSocket (the `wsstream` model): every
//! message starts with a channel number (a byte, or an ASCII digit in the
//! base64 protocols), the rest is that channel's data. A reader task joins
//! fragments, answers PING and CLOSE and routes data to per-channel
//! receivers; a writer task sends channel messages in order.

use base64::Engine;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch};

use super::frame::{self, read_frame, Frame, MAX_PAYLOAD};
use super::handshake::Protocol;
use super::WsError;

/// The v5 close signal's channel byte: `[255, channel]` closes `channel`.
const CLOSE_SIGNAL: u8 = 255;
/// Largest channel message we send at once.
const MAX_OUT: usize = 32 * 1024;

/// A frame to send.
#[derive(Debug)]
enum Out {
    Data(u8, Vec<u8>),
    Pong(Vec<u8>),
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
    /// client may send on channel `ch`.
    pub fn start<IO>(io: IO, proto: Protocol, readable: &[bool]) -> Self
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
        tokio::spawn(write_loop(wr, out_rx, proto.base64));
        let reader = Reader {
            proto,
            senders,
            out: out_tx.clone(),
        };
        tokio::spawn(async move {
            if let Err(e) = reader.run(rd).await {
                tracing::debug!(error = %e, "websocket connection ended with an error");
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

async fn write_loop<W: AsyncWrite + Unpin>(mut wr: W, mut rx: mpsc::Receiver<Out>, b64: bool) {
    while let Some(out) = rx.recv().await {
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
            Out::Close(code) => (frame::CLOSE, code.to_be_bytes().to_vec()),
        };
        let f = Frame {
            fin: true,
            opcode,
            payload,
        };
        if wr.write_all(&f.encode()).await.is_err() || wr.flush().await.is_err() {
            break;
        }
        if opcode == frame::CLOSE {
            break;
        }
    }
    let _ = wr.shutdown().await;
}

struct Reader {
    proto: Protocol,
    senders: Vec<Option<mpsc::Sender<Vec<u8>>>>,
    out: mpsc::Sender<Out>,
}

impl Reader {
    async fn run<R: AsyncRead + Unpin>(mut self, mut rd: R) -> Result<(), WsError> {
        let res = self.frames(&mut rd).await;
        let code = match &res {
            Err(WsError::Protocol(_)) => Some(1002),
            Err(WsError::TooBig(_)) => Some(1009),
            Err(WsError::BadChannel(_)) => Some(1007),
            _ => None,
        };
        if let Some(code) = code {
            let _ = self.out.send(Out::Close(code)).await;
        }
        res
    }

    async fn frames<R: AsyncRead + Unpin>(&mut self, rd: &mut R) -> Result<(), WsError> {
        let mut message: Option<Vec<u8>> = None;
        while let Some(f) = read_frame(rd).await? {
            let data_end = f.fin && !f.is_control();
            match f.opcode {
                frame::PING => {
                    let _ = self.out.send(Out::Pong(f.payload)).await;
                }
                frame::PONG => {}
                frame::CLOSE => {
                    let code = match f.payload[..] {
                        [a, b, ..] => u16::from_be_bytes([a, b]),
                        _ => 1000,
                    };
                    let _ = self.out.send(Out::Close(code)).await;
                    return Ok(());
                }
                frame::CONTINUATION => {
                    let m = message
                        .as_mut()
                        .ok_or(WsError::Protocol("continuation without a message"))?;
                    if m.len() as u64 + f.payload.len() as u64 > MAX_PAYLOAD {
                        return Err(WsError::TooBig(m.len() as u64));
                    }
                    m.extend_from_slice(&f.payload);
                }
                _ if message.is_some() => {
                    return Err(WsError::Protocol("new message inside a fragmented one"))
                }
                _ => message = Some(f.payload),
            }
            if data_end {
                if let Some(m) = message.take() {
                    self.dispatch(m).await?;
                }
            }
        }
        Ok(())
    }

    /// Routes one complete message to its channel.
    async fn dispatch(&mut self, msg: Vec<u8>) -> Result<(), WsError> {
        let Some((&first, data)) = msg.split_first() else {
            return Ok(());
        };
        if self.proto.close_signal && first == CLOSE_SIGNAL {
            let &[ch] = data else {
                return Err(WsError::Protocol("close signal is not 2 bytes"));
            };
            if let Some(slot) = self.senders.get_mut(usize::from(ch)) {
                slot.take();
            }
            return Ok(());
        }
        let (ch, data) = if self.proto.base64 {
            let ch = first.wrapping_sub(b'0');
            let data = base64::engine::general_purpose::STANDARD
                .decode(data)
                .map_err(|_| WsError::BadChannel(ch))?;
            (ch, data)
        } else {
            (first, data.to_vec())
        };
        let Some(Some(tx)) = self.senders.get(usize::from(ch)) else {
            tracing::debug!(
                channel = ch,
                "message for a channel the client may not write"
            );
            return Ok(());
        };
        if !data.is_empty() && tx.send(data).await.is_err() {
            // The handler stopped reading this channel: drop what comes.
            self.senders[usize::from(ch)] = None;
        }
        Ok(())
    }
}
