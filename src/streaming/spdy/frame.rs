//! SPDY/3.1 frames (SPDY/3 draft section 2.2 and 2.6): reading them from and
//! writing them to a byte stream.
//!
//! Input comes from the upgraded HTTP connection of a streaming client; header
//! blocks stay compressed here ([`super::headers`] owns the zlib context).

use tokio::io::{AsyncRead, AsyncReadExt};

use super::SpdyError;
use crate::streaming::wire::read_body;

/// SPDY protocol version carried by every control frame.
pub const VERSION: u16 = 3;
/// Flag on SYN_STREAM, SYN_REPLY, HEADERS and DATA: last frame of the sender.
pub const FLAG_FIN: u8 = 0x01;
/// Flag on SYN_STREAM: the receiver must not send on this stream.
pub const FLAG_UNIDIRECTIONAL: u8 = 0x02;
/// Largest DATA payload we send in one frame.
pub const MAX_DATA: usize = 32 * 1024;

/// One SPDY frame, header blocks still compressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// Type 1: the peer opens a stream.
    SynStream {
        stream_id: u32,
        assoc_id: u32,
        priority: u8,
        flags: u8,
        block: Vec<u8>,
    },
    /// Type 2: answer to a SYN_STREAM.
    SynReply {
        stream_id: u32,
        flags: u8,
        block: Vec<u8>,
    },
    /// Type 3: abort a stream.
    RstStream { stream_id: u32, status: u32 },
    /// Type 4: (flags, id, value) entries.
    Settings { entries: Vec<(u8, u32, u32)> },
    /// Type 6: echoed by the receiver.
    Ping { id: u32 },
    /// Type 7: the sender closes the session.
    GoAway { last_stream_id: u32, status: u32 },
    /// Type 8: more headers on a stream.
    Headers {
        stream_id: u32,
        flags: u8,
        block: Vec<u8>,
    },
    /// Type 9: the receiver of data grants more window.
    WindowUpdate { stream_id: u32, delta: u32 },
    /// A data frame.
    Data {
        stream_id: u32,
        flags: u8,
        data: Vec<u8>,
    },
    /// A control frame of a type we ignore (spec: must be ignored).
    Unknown { kind: u16 },
}

const STREAM_MASK: u32 = 0x7fff_ffff;

fn be32(b: &[u8], at: usize) -> Result<u32, SpdyError> {
    let s = b
        .get(at..at + 4)
        .ok_or(SpdyError::Malformed("frame too short"))?;
    Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// Reads one frame; `Ok(None)` on a clean end of stream before a frame.
pub async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> Result<Option<Frame>, SpdyError> {
    let mut head = [0u8; 8];
    match r.read_exact(&mut head).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(SpdyError::Io(e)),
    }
    let flags = head[4];
    // The length is 24 bits, so at most 16 MiB; the body grows with the bytes that
    // actually arrive, so a length that lies costs nothing.
    let len = u32::from(head[5]) << 16 | u32::from(head[6]) << 8 | u32::from(head[7]);
    let body = read_body(r, len).await?;
    if head[0] & 0x80 == 0 {
        let stream_id = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) & STREAM_MASK;
        return Ok(Some(Frame::Data {
            stream_id,
            flags,
            data: body,
        }));
    }
    let version = u16::from_be_bytes([head[0] & 0x7f, head[1]]);
    if version != VERSION {
        return Err(SpdyError::Version(version));
    }
    parse_control(u16::from_be_bytes([head[2], head[3]]), flags, body).map(Some)
}

fn parse_control(kind: u16, flags: u8, b: Vec<u8>) -> Result<Frame, SpdyError> {
    let id = |at| be32(&b, at).map(|v| v & STREAM_MASK);
    Ok(match kind {
        1 => {
            let priority = *b.get(8).ok_or(SpdyError::Malformed("short SYN_STREAM"))? >> 5;
            let (stream_id, assoc_id) = (id(0)?, id(4)?);
            Frame::SynStream {
                stream_id,
                assoc_id,
                priority,
                flags,
                block: b[10.min(b.len())..].to_vec(),
            }
        }
        2 | 8 => {
            let (stream_id, block) = (id(0)?, b[4.min(b.len())..].to_vec());
            if kind == 2 {
                Frame::SynReply {
                    stream_id,
                    flags,
                    block,
                }
            } else {
                Frame::Headers {
                    stream_id,
                    flags,
                    block,
                }
            }
        }
        3 => Frame::RstStream {
            stream_id: id(0)?,
            status: be32(&b, 4)?,
        },
        4 => Frame::Settings {
            entries: parse_settings(&b)?,
        },
        6 => Frame::Ping { id: be32(&b, 0)? },
        7 => Frame::GoAway {
            last_stream_id: id(0)?,
            status: be32(&b, 4).unwrap_or(0),
        },
        9 => Frame::WindowUpdate {
            stream_id: id(0)?,
            delta: id(4)?,
        },
        other => Frame::Unknown { kind: other },
    })
}

fn parse_settings(b: &[u8]) -> Result<Vec<(u8, u32, u32)>, SpdyError> {
    let count = usize::try_from(be32(b, 0)?).map_err(|_| SpdyError::Malformed("settings count"))?;
    let need = count.checked_mul(8).and_then(|n| n.checked_add(4));
    if need != Some(b.len()) {
        return Err(SpdyError::Malformed(
            "SETTINGS length does not match its count",
        ));
    }
    (0..count)
        .map(|i| {
            let at = 4 + i * 8;
            let fid = be32(b, at)?;
            Ok(((fid >> 24) as u8, fid & 0x00ff_ffff, be32(b, at + 4)?))
        })
        .collect()
}

fn control(kind: u16, flags: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + body.len());
    out.extend_from_slice(&(0x8000 | VERSION).to_be_bytes());
    out.extend_from_slice(&kind.to_be_bytes());
    out.push(flags);
    out.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    out.extend_from_slice(body);
    out
}

/// A stream id, then a header block.
fn with_id(stream_id: u32, block: &[u8]) -> Vec<u8> {
    let mut b = (stream_id & STREAM_MASK).to_be_bytes().to_vec();
    b.extend_from_slice(block);
    b
}

fn ids(a: u32, b: u32) -> Vec<u8> {
    let mut v = (a & STREAM_MASK).to_be_bytes().to_vec();
    v.extend_from_slice(&b.to_be_bytes());
    v
}

impl Frame {
    /// Serialises the frame. Payloads must fit the 24-bit length field; DATA
    /// callers split at [`MAX_DATA`], header blocks are small.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Frame::SynStream {
                stream_id,
                assoc_id,
                priority,
                flags,
                block,
            } => {
                let mut b = ids(*stream_id, *assoc_id & STREAM_MASK);
                b.extend_from_slice(&[priority << 5, 0]);
                b.extend_from_slice(block);
                control(1, *flags, &b)
            }
            Frame::SynReply {
                stream_id,
                flags,
                block,
            } => control(2, *flags, &with_id(*stream_id, block)),
            Frame::RstStream { stream_id, status } => control(3, 0, &ids(*stream_id, *status)),
            Frame::Settings { entries } => {
                let mut b = (entries.len() as u32).to_be_bytes().to_vec();
                for (f, id, v) in entries {
                    b.extend_from_slice(
                        &((u32::from(*f) << 24) | (id & 0x00ff_ffff)).to_be_bytes(),
                    );
                    b.extend_from_slice(&v.to_be_bytes());
                }
                control(4, 0, &b)
            }
            Frame::Ping { id } => control(6, 0, &id.to_be_bytes()),
            Frame::GoAway {
                last_stream_id,
                status,
            } => control(7, 0, &ids(*last_stream_id, *status)),
            Frame::Headers {
                stream_id,
                flags,
                block,
            } => control(8, *flags, &with_id(*stream_id, block)),
            Frame::WindowUpdate { stream_id, delta } => {
                control(9, 0, &ids(*stream_id, *delta & STREAM_MASK))
            }
            Frame::Data {
                stream_id,
                flags,
                data,
            } => {
                let mut out = (stream_id & STREAM_MASK).to_be_bytes().to_vec();
                out.push(*flags);
                out.extend_from_slice(&(data.len() as u32).to_be_bytes()[1..]);
                out.extend_from_slice(data);
                out
            }
            Frame::Unknown { kind } => control(*kind, 0, &[]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn round(f: Frame) -> Frame {
        let bytes = f.encode();
        read_frame(&mut bytes.as_slice()).await.unwrap().unwrap()
    }

    #[tokio::test]
    async fn every_frame_round_trips() {
        let frames = vec![
            Frame::SynStream {
                stream_id: 1,
                assoc_id: 0,
                priority: 7,
                flags: FLAG_FIN,
                block: vec![1, 2],
            },
            Frame::SynReply {
                stream_id: 3,
                flags: 0,
                block: vec![9],
            },
            Frame::RstStream {
                stream_id: 5,
                status: 2,
            },
            Frame::Settings {
                entries: vec![(1, 7, 65536), (0, 4, 100)],
            },
            Frame::Ping { id: 42 },
            Frame::GoAway {
                last_stream_id: 7,
                status: 0,
            },
            Frame::Headers {
                stream_id: 9,
                flags: FLAG_FIN,
                block: vec![],
            },
            Frame::WindowUpdate {
                stream_id: 1,
                delta: 1000,
            },
            Frame::Data {
                stream_id: 1,
                flags: FLAG_FIN,
                data: b"hello".to_vec(),
            },
        ];
        for f in frames {
            assert_eq!(round(f.clone()).await, f);
        }
    }

    #[tokio::test]
    async fn bad_input_is_an_error_not_a_panic() {
        // Wrong version.
        let mut v2 = Frame::Ping { id: 1 }.encode();
        v2[1] = 2;
        assert!(matches!(
            read_frame(&mut v2.as_slice()).await,
            Err(SpdyError::Version(2))
        ));
        // Truncated payload.
        let p = Frame::Ping { id: 1 }.encode();
        assert!(read_frame(&mut &p[..10]).await.is_err());
        // Control frames whose bodies are too short for their fields.
        for kind in [1u16, 2, 3, 4, 6, 7, 8, 9] {
            let f = control(kind, 0, &[0, 0]);
            assert!(read_frame(&mut f.as_slice()).await.is_err(), "kind {kind}");
        }
        // A SETTINGS count that lies.
        let f = control(4, 0, &[0xff, 0xff, 0xff, 0xff]);
        assert!(read_frame(&mut f.as_slice()).await.is_err());
        // Clean EOF.
        assert!(read_frame(&mut &b""[..]).await.unwrap().is_none());
        // Unknown control types are surfaced, not fatal.
        let f = control(0x0f, 0, &[]);
        assert_eq!(
            read_frame(&mut f.as_slice()).await.unwrap(),
            Some(Frame::Unknown { kind: 15 })
        );
    }
}
