//! Repairs the HTTP/2 `:authority` some CRI clients send before `h2` sees it.
//!
//! Some kubelets (grpc-go dialing `unix:///run/x.sock`) send the URL-encoded socket
//! path (`%2Frun%2Fx.sock`) as `:authority`; `h2` rejects such a request as malformed
//! and the call fails. Each accepted connection therefore goes through this filter:
//! client→server frames are parsed, every header block (HEADERS plus CONTINUATION) is
//! HPACK-decoded with the connection's decoder state, an invalid `:authority` becomes
//! `localhost`, and the block is re-encoded as literal fields that never touch the
//! server decoder's dynamic table. Other frames, and all server→client bytes, pass
//! through unchanged. Input: the accepted socket; output: the in-memory stream handed
//! to the gRPC server.

use loona_hpack::Decoder;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The client connection preface.
const PREFACE_LEN: usize = 24;
const FRAME_HEADERS: u8 = 0x1;
const FRAME_CONTINUATION: u8 = 0x9;
const FLAG_END_STREAM: u8 = 0x1;
const FLAG_END_HEADERS: u8 = 0x4;
const FLAG_PADDED: u8 = 0x8;
const FLAG_PRIORITY: u8 = 0x20;
/// The largest frame payload every peer accepts (SETTINGS_MAX_FRAME_SIZE's minimum).
const MAX_FRAME: usize = 16_384;
/// The largest header block we accept before giving up on the connection.
const MAX_BLOCK: usize = 1 << 20;

/// One frame header.
struct Frame {
    kind: u8,
    flags: u8,
    stream: u32,
    payload: Vec<u8>,
}

/// Copies client→server bytes from `from` to `to`, repairing header blocks.
/// Returns when either side closes or on a protocol error (the connection then ends).
pub async fn filter<R, W>(mut from: R, mut to: W) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut preface = [0u8; PREFACE_LEN];
    from.read_exact(&mut preface).await?;
    to.write_all(&preface).await?;
    let mut decoder = Decoder::new();
    loop {
        let frame = read_frame(&mut from).await?;
        if frame.kind != FRAME_HEADERS {
            write_frame(&mut to, &frame).await?;
            continue;
        }
        let end_stream = frame.flags & FLAG_END_STREAM;
        let stream = frame.stream;
        let block = header_block(&mut from, frame).await?;
        let fields = decoder
            .decode(&block)
            .map_err(|e| invalid(format!("bad header block: {e:?}")))?;
        let encoded = encode(&fields);
        write_headers(&mut to, stream, end_stream, &encoded).await?;
    }
}

async fn read_frame<R: AsyncRead + Unpin>(from: &mut R) -> std::io::Result<Frame> {
    let mut head = [0u8; 9];
    from.read_exact(&mut head).await?;
    let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
    let mut payload = vec![0u8; len];
    from.read_exact(&mut payload).await?;
    Ok(Frame {
        kind: head[3],
        flags: head[4],
        stream: u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff,
        payload,
    })
}

async fn write_frame<W: AsyncWrite + Unpin>(to: &mut W, f: &Frame) -> std::io::Result<()> {
    let len = u32::try_from(f.payload.len()).map_err(|_| invalid("frame too long".into()))?;
    let mut head = [0u8; 9];
    head[..3].copy_from_slice(&len.to_be_bytes()[1..]);
    head[3] = f.kind;
    head[4] = f.flags;
    head[5..].copy_from_slice(&f.stream.to_be_bytes());
    to.write_all(&head).await?;
    to.write_all(&f.payload).await?;
    to.flush().await
}

/// The header block fragment of a HEADERS frame (padding and priority removed),
/// followed by its CONTINUATION frames.
async fn header_block<R: AsyncRead + Unpin>(from: &mut R, f: Frame) -> std::io::Result<Vec<u8>> {
    let mut p = f.payload.as_slice();
    let mut pad = 0usize;
    if f.flags & FLAG_PADDED != 0 {
        let (&n, rest) = p
            .split_first()
            .ok_or_else(|| invalid("empty padded frame".into()))?;
        pad = n.into();
        p = rest;
    }
    if f.flags & FLAG_PRIORITY != 0 {
        p = p.get(5..).ok_or_else(|| invalid("short priority".into()))?;
    }
    let end = p
        .len()
        .checked_sub(pad)
        .ok_or_else(|| invalid("padding longer than frame".into()))?;
    let mut block = p[..end].to_vec();
    let mut done = f.flags & FLAG_END_HEADERS != 0;
    while !done {
        let c = read_frame(from).await?;
        if c.kind != FRAME_CONTINUATION || c.stream != f.stream {
            return Err(invalid("header block interrupted".into()));
        }
        if block.len() + c.payload.len() > MAX_BLOCK {
            return Err(invalid("header block too large".into()));
        }
        block.extend_from_slice(&c.payload);
        done = c.flags & FLAG_END_HEADERS != 0;
    }
    Ok(block)
}

/// Writes `block` as HEADERS plus CONTINUATION frames of at most [`MAX_FRAME`] bytes.
async fn write_headers<W: AsyncWrite + Unpin>(
    to: &mut W,
    stream: u32,
    end_stream: u8,
    block: &[u8],
) -> std::io::Result<()> {
    let chunks: Vec<&[u8]> = if block.is_empty() {
        vec![block]
    } else {
        block.chunks(MAX_FRAME).collect()
    };
    let last = chunks.len() - 1;
    for (i, chunk) in chunks.into_iter().enumerate() {
        let kind = if i == 0 {
            FRAME_HEADERS
        } else {
            FRAME_CONTINUATION
        };
        let mut flags = if i == 0 { end_stream } else { 0 };
        if i == last {
            flags |= FLAG_END_HEADERS;
        }
        let frame = Frame {
            kind,
            flags,
            stream,
            payload: chunk.to_vec(),
        };
        write_frame(to, &frame).await?;
    }
    Ok(())
}

/// Encodes fields as "literal, never indexed, new name", without Huffman coding,
/// replacing an `:authority` that is not a valid URI authority.
pub fn encode(fields: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in fields {
        let value = if name == b":authority" && !valid_authority(value) {
            b"localhost".as_slice()
        } else {
            value.as_slice()
        };
        out.push(0x10);
        encode_string(&mut out, name);
        encode_string(&mut out, value);
    }
    out
}

fn valid_authority(value: &[u8]) -> bool {
    tonic::codegen::http::uri::Authority::try_from(value).is_ok()
}

fn encode_string(out: &mut Vec<u8>, s: &[u8]) {
    encode_int(out, s.len(), 7, 0);
    out.extend_from_slice(s);
}

/// HPACK integer with an `n`-bit prefix; `high` holds the bits above the prefix.
fn encode_int(out: &mut Vec<u8>, mut v: usize, n: u32, high: u8) {
    let max = (1usize << n) - 1;
    if v < max {
        out.push(high | v as u8);
        return;
    }
    out.push(high | max as u8);
    v -= max;
    while v >= 128 {
        out.push((v % 128) as u8 | 0x80);
        v /= 128;
    }
    out.push(v as u8);
}

fn invalid(msg: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_repairs_authority() {
        let fields = vec![
            (b":method".to_vec(), b"POST".to_vec()),
            (b":authority".to_vec(), b"%2Frun%2Fx.sock".to_vec()),
            (b"x-long".to_vec(), vec![b'a'; 300]),
        ];
        let block = encode(&fields);
        let decoded = Decoder::new().decode(&block).unwrap();
        assert_eq!(decoded[0], fields[0]);
        assert_eq!(decoded[1].1, b"localhost");
        assert_eq!(decoded[2], fields[2]);
    }

    #[test]
    fn keeps_a_valid_authority() {
        let fields = vec![(b":authority".to_vec(), b"localhost:80".to_vec())];
        let decoded = Decoder::new().decode(&encode(&fields)).unwrap();
        assert_eq!(decoded, fields);
    }
}
