//! The reading half of a WebSocket channel connection: frames from the
//! client are checked ([`super::frame`]), fragments joined into messages,
//! PING and CLOSE answered through the writer, and each message's data
//! routed to its channel's receiver (or the v5 close signal applied). A
//! protocol error ends the connection with the matching CLOSE code.

use base64::Engine;
use tokio::io::AsyncRead;
use tokio::sync::mpsc;

use super::conn::Out;
use super::frame::{self, read_frame, MAX_PAYLOAD};
use super::handshake::Protocol;
use super::WsError;
use crate::streaming::idle::Activity;

/// The v5 close signal's channel byte: `[255, channel]` closes `channel`.
const CLOSE_SIGNAL: u8 = 255;

/// Routes the client's messages; dropping a sender ends that channel.
pub(super) struct Reader {
    proto: Protocol,
    senders: Vec<Option<mpsc::Sender<Vec<u8>>>>,
    out: mpsc::Sender<Out>,
    activity: Activity,
}

impl Reader {
    pub(super) fn new(
        proto: Protocol,
        senders: Vec<Option<mpsc::Sender<Vec<u8>>>>,
        out: mpsc::Sender<Out>,
        activity: Activity,
    ) -> Self {
        Self {
            proto,
            senders,
            out,
            activity,
        }
    }

    /// Reads until the client closes, vanishes or breaks the protocol.
    pub(super) async fn run<R: AsyncRead + Unpin>(mut self, mut rd: R) -> Result<(), WsError> {
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
            self.activity.touch();
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
        if !data.is_empty() && self.activity.handing_over(tx.send(data)).await.is_err() {
            // The handler stopped reading this channel: drop what comes.
            self.senders[usize::from(ch)] = None;
        }
        Ok(())
    }
}
