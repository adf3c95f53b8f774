//! WebSocket frames (RFC 6455 section 5), server side: reading the client's
//! masked frames from the upgraded connection and encoding our unmasked ones.
//! Fragments are joined into messages by [`super::conn`].

use tokio::io::{AsyncRead, AsyncReadExt};

use super::WsError;
use crate::streaming::wire::read_body;

/// Opcodes (section 5.2).
pub const CONTINUATION: u8 = 0x0;
/// A UTF-8 text frame (the base64 channel protocols).
pub const TEXT: u8 = 0x1;
/// A binary frame.
pub const BINARY: u8 = 0x2;
/// Closes the connection; body: a 2-byte code and a reason.
pub const CLOSE: u8 = 0x8;
/// Answered with a PONG carrying the same body.
pub const PING: u8 = 0x9;
/// The answer to a PING.
pub const PONG: u8 = 0xa;

/// Largest frame payload accepted from a client (and message, once joined).
pub const MAX_PAYLOAD: u64 = 4 << 20;

/// Largest payload of a control frame (section 5.5).
const MAX_CONTROL: u64 = 125;

/// One frame, unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Last fragment of its message.
    pub fin: bool,
    /// The opcode.
    pub opcode: u8,
    /// The payload.
    pub payload: Vec<u8>,
}

impl Frame {
    /// Whether this is a control frame (close, ping, pong).
    pub fn is_control(&self) -> bool {
        self.opcode & 0x8 != 0
    }

    /// Encodes the frame as a server sends it: unmasked.
    pub fn encode(&self) -> Vec<u8> {
        let len = self.payload.len();
        let mut out = Vec::with_capacity(len + 10);
        out.push(u8::from(self.fin) << 7 | (self.opcode & 0x0f));
        match len {
            0..=125 => out.push(len as u8),
            126..=0xffff => {
                out.push(126);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                out.push(127);
                out.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&self.payload);
        out
    }
}

/// Reads one client frame; `Ok(None)` on a clean end of stream before it.
pub async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> Result<Option<Frame>, WsError> {
    let mut head = [0u8; 2];
    match r.read_exact(&mut head).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(WsError::Io(e)),
    }
    let fin = head[0] & 0x80 != 0;
    if head[0] & 0x70 != 0 {
        return Err(WsError::Protocol("reserved bits set without an extension"));
    }
    let opcode = head[0] & 0x0f;
    if !matches!(opcode, CONTINUATION | TEXT | BINARY | CLOSE | PING | PONG) {
        return Err(WsError::Protocol("unknown opcode"));
    }
    if head[1] & 0x80 == 0 {
        return Err(WsError::Protocol("client frame not masked"));
    }
    let len = match head[1] & 0x7f {
        126 => u64::from(r.read_u16().await?),
        127 => r.read_u64().await?,
        n => u64::from(n),
    };
    if opcode & 0x8 != 0 && (len > MAX_CONTROL || !fin) {
        return Err(WsError::Protocol("control frame too long or fragmented"));
    }
    if len > MAX_PAYLOAD {
        return Err(WsError::TooBig(len));
    }
    let mut mask = [0u8; 4];
    r.read_exact(&mut mask).await?;
    // `len` is at most MAX_PAYLOAD, so it fits u32; the payload grows as it arrives.
    let mut payload = read_body(r, u32::try_from(len).unwrap_or(u32::MAX)).await?;
    for (i, b) in payload.iter_mut().enumerate() {
        *b ^= mask[i % 4];
    }
    Ok(Some(Frame {
        fin,
        opcode,
        payload,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client frame: masked with `key`.
    fn masked(first: u8, payload: &[u8], key: [u8; 4]) -> Vec<u8> {
        let mut out = vec![first];
        match payload.len() {
            n @ 0..=125 => out.push(0x80 | n as u8),
            n @ 126..=0xffff => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&key);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        out
    }

    async fn read(bytes: &[u8]) -> Result<Option<Frame>, WsError> {
        read_frame(&mut &bytes[..]).await
    }

    #[tokio::test]
    async fn reads_masked_frames_of_every_length_form() {
        for n in [0usize, 5, 125, 126, 300, 70_000] {
            let data: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let f = read(&masked(0x82, &data, [1, 2, 3, 4]))
                .await
                .unwrap()
                .unwrap();
            assert_eq!((f.fin, f.opcode, f.payload), (true, BINARY, data));
        }
        assert_eq!(read(&[]).await.unwrap(), None);
    }

    #[tokio::test]
    async fn rejects_bad_frames() {
        let unmasked = [0x82, 1, 7];
        assert!(matches!(read(&unmasked).await, Err(WsError::Protocol(_))));
        let rsv = masked(0xc2, b"x", [0; 4]);
        assert!(matches!(read(&rsv).await, Err(WsError::Protocol(_))));
        let opcode = masked(0x83, b"x", [0; 4]);
        assert!(matches!(read(&opcode).await, Err(WsError::Protocol(_))));
        let long_ping = masked(0x89, &[0; 126], [0; 4]);
        assert!(matches!(read(&long_ping).await, Err(WsError::Protocol(_))));
        let split_close = masked(0x08, b"", [0; 4]);
        assert!(matches!(
            read(&split_close).await,
            Err(WsError::Protocol(_))
        ));
        let huge = [0x82, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert!(matches!(read(&huge).await, Err(WsError::TooBig(_))));
        let short = &masked(0x82, b"hello", [9; 4])[..8];
        assert!(matches!(read(short).await, Err(WsError::Io(_))));
    }

    #[test]
    fn encodes_unmasked_with_the_shortest_length() {
        let f = |n: usize| Frame {
            fin: true,
            opcode: BINARY,
            payload: vec![0; n],
        };
        assert_eq!(f(3).encode()[..2], [0x82, 3]);
        assert_eq!(f(200).encode()[..4], [0x82, 126, 0, 200]);
        assert_eq!(f(70_000).encode()[..2], [0x82, 127]);
        assert_eq!(f(70_000).encode().len(), 70_010);
    }
}
