//! One SPDY/3.1 session on an upgraded connection, server side: a reader task
//! that accepts the client's streams and routes their DATA, and a writer task
//! that serialises every outgoing frame in order.
//!
//! Streams go out through [`Session::accept`] to the protocol handlers
//! (remote command, port forward); bytes a handler writes are queued with a
//! [`StreamWriter`]. Flow control: every DATA frame received is granted back
//! with a WINDOW_UPDATE once delivered to its handler, so a client that
//! honours windows never stalls; outgoing data is split into frames of
//! [`MAX_DATA`] bytes (the kubelet's clients do not send WINDOW_UPDATE).

use std::collections::HashMap;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, watch};

use super::frame::{read_frame, Frame, FLAG_FIN, MAX_DATA};
use super::headers::{HeaderCodec, Headers};
use super::SpdyError;
use crate::streaming::hangup::HangUp;
use crate::streaming::idle::Activity;
use crate::streaming::wire::write_loop;

/// RST_STREAM status codes (draft section 2.6.3).
const PROTOCOL_ERROR: u32 = 1;
const INVALID_STREAM: u32 = 2;
const REFUSED_STREAM: u32 = 3;
const STREAM_IN_USE: u32 = 8;

/// Most streams the client may have open at once (its half not yet closed);
/// more are refused, so that one session's memory stays bounded.
pub const MAX_OPEN_STREAMS: usize = 1024;

/// A frame to send, headers not yet compressed.
#[derive(Debug)]
enum Out {
    Reply(u32),
    Data { id: u32, fin: bool, data: Vec<u8> },
    Frame(Frame),
}

/// Queues a PING (an even id: the server's) to a client whose input is not being
/// read: a client that has gone answers the bytes with a reset (see `hangup`).
fn probe(out: &mpsc::Sender<Out>) {
    let _ = out.try_send(Out::Frame(Frame::Ping { id: 2 }));
}

/// A stream the client opened.
pub struct SpdyStream {
    /// The stream id.
    pub id: u32,
    /// The SYN_STREAM headers (names lowercase).
    pub headers: Headers,
    /// DATA from the client; ends when it half-closes, resets or vanishes.
    pub rx: mpsc::Receiver<Vec<u8>>,
    /// Sends DATA back to the client.
    pub tx: StreamWriter,
}

/// Writes DATA frames on one stream.
#[derive(Clone, Debug)]
pub struct StreamWriter {
    id: u32,
    out: mpsc::Sender<Out>,
}

impl StreamWriter {
    /// Queues `data`, split into frames.
    pub async fn write(&self, data: &[u8]) -> Result<(), SpdyError> {
        for chunk in data.chunks(MAX_DATA) {
            let out = Out::Data {
                id: self.id,
                fin: false,
                data: chunk.to_vec(),
            };
            self.out.send(out).await.map_err(|_| SpdyError::Closed)?;
        }
        Ok(())
    }

    /// Half-closes the stream (an empty DATA frame with FIN).
    pub async fn close(&self) -> Result<(), SpdyError> {
        let out = Out::Data {
            id: self.id,
            fin: true,
            data: Vec::new(),
        };
        self.out.send(out).await.map_err(|_| SpdyError::Closed)
    }
}

/// The server's side of one session.
pub struct Session {
    incoming: mpsc::Receiver<SpdyStream>,
    out: mpsc::Sender<Out>,
    gone: watch::Receiver<bool>,
}

impl Session {
    /// Starts the reader and writer tasks on `io`; a session on which no
    /// frame passes for `idle_timeout` is ended with a GOAWAY.
    pub fn start<IO>(io: IO, idle_timeout: Option<Duration>) -> Self
    where
        IO: AsyncRead + AsyncWrite + Send + 'static,
    {
        Self::start_watched(io, idle_timeout, HangUp::default())
    }

    /// [`Session::start`], also ended when `hangup` sees the client's socket closed
    /// (while the reader may be stalled on a command that does not read its stdin).
    pub(crate) fn start_watched<IO>(io: IO, idle_timeout: Option<Duration>, hangup: HangUp) -> Self
    where
        IO: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (rd, wr) = tokio::io::split(io);
        let (out_tx, out_rx) = mpsc::channel(256);
        let (in_tx, incoming) = mpsc::channel(16);
        let (gone_tx, gone) = watch::channel(false);
        let activity = Activity::new();
        let mut codec = HeaderCodec::new();
        let encode = move |out, buf: &mut Vec<u8>| encode(out, &mut codec, buf);
        tokio::spawn(write_loop(wr, out_rx, encode, activity.clone()));
        let reader = Reader {
            out: out_tx.clone(),
            incoming: in_tx,
            streams: HashMap::new(),
            last_id: 0,
            activity: activity.clone(),
        };
        let out = out_tx.clone();
        tokio::spawn(async move {
            tokio::select! {
                res = reader.run(rd) => if let Err(e) = res {
                    tracing::debug!(error = %e, "spdy session ended with an error");
                },
                () = activity.idle(idle_timeout) => {
                    tracing::info!("closing a streaming session idle for {idle_timeout:?}");
                    let goaway = Frame::GoAway { last_stream_id: 0, status: 0 };
                    let _ = out.send(Out::Frame(goaway)).await;
                }
                () = hangup.wait(&activity, || probe(&out)) => {
                    tracing::debug!("the spdy client hung up");
                }
            }
            let _ = gone_tx.send(true);
        });
        Self {
            incoming,
            out: out_tx,
            gone,
        }
    }

    /// The next stream the client opens; `None` once the client is gone.
    pub async fn accept(&mut self) -> Option<SpdyStream> {
        self.incoming.recv().await
    }

    /// A receiver that turns `true` when the client's side of the connection ends.
    pub fn gone(&self) -> watch::Receiver<bool> {
        self.gone.clone()
    }

    /// Sends GOAWAY and lets the writer drain and close the connection.
    pub async fn close(self) {
        let _ = self
            .out
            .send(Out::Frame(Frame::GoAway {
                last_stream_id: 0,
                status: 0,
            }))
            .await;
    }
}

/// Appends `out`'s frame to `buf`; `true` when nothing may follow it (GOAWAY,
/// or a header context that failed).
fn encode(out: Out, codec: &mut HeaderCodec, buf: &mut Vec<u8>) -> bool {
    let Some(frame) = to_frame(out, codec) else {
        return true;
    };
    buf.extend_from_slice(&frame.encode());
    matches!(frame, Frame::GoAway { .. })
}

/// The frame for `out`; `None` when the header context failed (the session ends).
fn to_frame(out: Out, codec: &mut HeaderCodec) -> Option<Frame> {
    Some(match out {
        Out::Reply(id) => Frame::SynReply {
            stream_id: id,
            flags: 0,
            block: codec.encode(&[]).ok()?,
        },
        Out::Data { id, fin, data } => Frame::Data {
            stream_id: id,
            flags: if fin { FLAG_FIN } else { 0 },
            data,
        },
        Out::Frame(f) => f,
    })
}

struct Reader {
    out: mpsc::Sender<Out>,
    incoming: mpsc::Sender<SpdyStream>,
    streams: HashMap<u32, mpsc::Sender<Vec<u8>>>,
    last_id: u32,
    activity: Activity,
}

impl Reader {
    async fn run<R: AsyncRead + Unpin>(mut self, mut rd: R) -> Result<(), SpdyError> {
        let mut codec = HeaderCodec::new();
        let res = async {
            while let Some(frame) = read_frame(&mut rd).await? {
                self.activity.touch();
                if !self.handle(frame, &mut codec).await? {
                    break;
                }
            }
            Ok(())
        }
        .await;
        if let Err(SpdyError::Malformed(_) | SpdyError::Zlib(_) | SpdyError::Version(_)) = &res {
            let goaway = Frame::GoAway {
                last_stream_id: self.last_id,
                status: PROTOCOL_ERROR,
            };
            let _ = self.out.send(Out::Frame(goaway)).await;
        }
        res
    }

    /// Handles one frame; `false` ends the session.
    async fn handle(&mut self, frame: Frame, codec: &mut HeaderCodec) -> Result<bool, SpdyError> {
        match frame {
            Frame::SynStream {
                stream_id,
                flags,
                block,
                ..
            } => {
                let headers = codec.decode(&block)?;
                self.open(stream_id, flags, headers).await;
            }
            Frame::Headers { block, .. } => {
                codec.decode(&block)?;
            }
            Frame::Data {
                stream_id,
                flags,
                data,
            } => self.data(stream_id, flags, data).await,
            Frame::RstStream { stream_id, .. } => {
                self.streams.remove(&stream_id);
            }
            Frame::Ping { id } => self.send(Frame::Ping { id }).await,
            Frame::GoAway { .. } => return Ok(false),
            Frame::SynReply { block, .. } => {
                codec.decode(&block)?;
            }
            Frame::Settings { .. } | Frame::WindowUpdate { .. } | Frame::Unknown { .. } => {}
        }
        Ok(true)
    }

    async fn send(&self, f: Frame) {
        let _ = self.out.send(Out::Frame(f)).await;
    }

    async fn open(&mut self, id: u32, flags: u8, headers: Headers) {
        if id % 2 == 0 || id <= self.last_id {
            let status = if self.streams.contains_key(&id) {
                STREAM_IN_USE
            } else {
                PROTOCOL_ERROR
            };
            return self
                .send(Frame::RstStream {
                    stream_id: id,
                    status,
                })
                .await;
        }
        self.last_id = id;
        if self.streams.len() >= MAX_OPEN_STREAMS {
            return self
                .send(Frame::RstStream {
                    stream_id: id,
                    status: REFUSED_STREAM,
                })
                .await;
        }
        let (tx, rx) = mpsc::channel(64);
        if flags & FLAG_FIN == 0 {
            self.streams.insert(id, tx);
        }
        let _ = self.out.send(Out::Reply(id)).await;
        let stream = SpdyStream {
            id,
            headers,
            rx,
            tx: StreamWriter {
                id,
                out: self.out.clone(),
            },
        };
        let _ = self.incoming.send(stream).await;
    }

    async fn data(&mut self, id: u32, flags: u8, data: Vec<u8>) {
        let Some(tx) = self.streams.get(&id) else {
            return self
                .send(Frame::RstStream {
                    stream_id: id,
                    status: INVALID_STREAM,
                })
                .await;
        };
        let len = data.len() as u32;
        if !data.is_empty() && self.activity.handing_over(tx.send(data)).await.is_ok() {
            self.send(Frame::WindowUpdate {
                stream_id: id,
                delta: len,
            })
            .await;
        }
        if flags & FLAG_FIN != 0 {
            self.streams.remove(&id);
        }
    }
}
