//! SPDY/3 name/value header blocks (draft section 2.6.10): the block layout
//! and its zlib compression, one context per direction per connection,
//! primed with the spec's dictionary ([`super::dictionary`]).

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::dictionary::dictionary;
use super::SpdyError;

/// Header pairs, names lowercase; several values of one name are separate pairs.
pub type Headers = Vec<(String, String)>;

/// Largest decompressed header block we accept.
const MAX_BLOCK: usize = 256 * 1024;
/// Largest number of header pairs we accept in one block.
const MAX_PAIRS: usize = 1024;

/// The two zlib contexts of one SPDY session.
pub struct HeaderCodec {
    inflate: Decompress,
    deflate: Compress,
}

impl Default for HeaderCodec {
    fn default() -> Self {
        Self::new()
    }
}

impl HeaderCodec {
    /// Fresh contexts, as at the start of a session.
    pub fn new() -> Self {
        let mut deflate = Compress::new(Compression::default(), true);
        // Cannot fail on a fresh stream: zlib only rejects a dictionary after data.
        let _ = deflate.set_dictionary(dictionary());
        Self {
            inflate: Decompress::new(true),
            deflate,
        }
    }

    /// Decompresses and parses one header block.
    pub fn decode(&mut self, block: &[u8]) -> Result<Headers, SpdyError> {
        let raw = self.inflate_block(block)?;
        parse_block(&raw)
    }

    /// Serialises and compresses one header block (SYNC_FLUSH, as the spec asks).
    pub fn encode(&mut self, headers: &[(&str, &str)]) -> Result<Vec<u8>, SpdyError> {
        let raw = build_block(headers);
        let mut out = Vec::with_capacity(raw.len() + 64);
        let mut input = raw.as_slice();
        loop {
            let before = self.deflate.total_in();
            out.reserve(256);
            self.deflate
                .compress_vec(input, &mut out, FlushCompress::Sync)
                .map_err(|e| SpdyError::Zlib(e.to_string()))?;
            let used = usize::try_from(self.deflate.total_in() - before).unwrap_or(usize::MAX);
            input = input.get(used..).unwrap_or(&[]);
            // Done once all input is in and zlib left room in the buffer (flush complete).
            if input.is_empty() && out.len() < out.capacity() {
                return Ok(out);
            }
        }
    }

    fn inflate_block(&mut self, block: &[u8]) -> Result<Vec<u8>, SpdyError> {
        let mut out = Vec::with_capacity(block.len() * 4 + 64);
        let mut input = block;
        loop {
            let before = self.inflate.total_in();
            out.reserve(1024);
            let res = self
                .inflate
                .decompress_vec(input, &mut out, FlushDecompress::Sync);
            let used = usize::try_from(self.inflate.total_in() - before).unwrap_or(usize::MAX);
            input = input.get(used..).unwrap_or(&[]);
            match res {
                Ok(Status::StreamEnd) => return Err(SpdyError::Malformed("zlib stream ended")),
                Ok(_) => {}
                Err(e) if e.needs_dictionary().is_some() => {
                    self.inflate
                        .set_dictionary(dictionary())
                        .map_err(|e| SpdyError::Zlib(e.to_string()))?;
                }
                Err(e) => return Err(SpdyError::Zlib(e.to_string())),
            }
            if out.len() > MAX_BLOCK {
                return Err(SpdyError::Malformed("header block too large"));
            }
            if input.is_empty() && out.len() < out.capacity() {
                return Ok(out);
            }
        }
    }
}

fn take<'a>(b: &mut &'a [u8], n: usize) -> Result<&'a [u8], SpdyError> {
    if b.len() < n {
        return Err(SpdyError::Malformed("header block truncated"));
    }
    let (head, rest) = b.split_at(n);
    *b = rest;
    Ok(head)
}

fn take_len(b: &mut &[u8]) -> Result<usize, SpdyError> {
    let s = take(b, 4)?;
    usize::try_from(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
        .map_err(|_| SpdyError::Malformed("length"))
}

fn take_str(b: &mut &[u8]) -> Result<String, SpdyError> {
    let n = take_len(b)?;
    let s = take(b, n)?;
    String::from_utf8(s.to_vec()).map_err(|_| SpdyError::Malformed("header not utf-8"))
}

/// Parses an uncompressed block; NUL-separated values become separate pairs.
pub fn parse_block(raw: &[u8]) -> Result<Headers, SpdyError> {
    let mut b = raw;
    let count = take_len(&mut b)?;
    if count > MAX_PAIRS {
        return Err(SpdyError::Malformed("too many headers"));
    }
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let name = take_str(&mut b)?.to_ascii_lowercase();
        let value = take_str(&mut b)?;
        for v in value.split('\0') {
            out.push((name.clone(), v.to_string()));
        }
    }
    Ok(out)
}

/// Builds an uncompressed block.
pub fn build_block(headers: &[(&str, &str)]) -> Vec<u8> {
    let mut raw = Vec::new();
    raw.extend_from_slice(&(headers.len() as u32).to_be_bytes());
    for (n, v) in headers {
        for s in [n.to_ascii_lowercase().as_bytes(), v.as_bytes()] {
            raw.extend_from_slice(&(s.len() as u32).to_be_bytes());
            raw.extend_from_slice(s);
        }
    }
    raw
}

/// The first value of `name`.
pub fn get<'a>(headers: &'a Headers, name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_round_trip_through_one_context_per_direction() {
        let (mut a, mut b) = (HeaderCodec::new(), HeaderCodec::new());
        for i in 0..5 {
            let port = i.to_string();
            let block = a
                .encode(&[("streamType", "data"), ("port", &port), ("requestID", "0")])
                .unwrap();
            let h = b.decode(&block).unwrap();
            assert_eq!(get(&h, "streamtype"), Some("data"));
            assert_eq!(get(&h, "port"), Some(port.as_str()));
        }
    }

    #[test]
    fn nul_separated_values_split() {
        let h = parse_block(&build_block(&[("a", "x\0y")])).unwrap();
        assert_eq!(h, vec![("a".into(), "x".into()), ("a".into(), "y".into())]);
    }

    #[test]
    fn garbage_is_an_error() {
        let mut c = HeaderCodec::new();
        assert!(c
            .decode(&[0x78, 0xbb, 0xff, 0xff, 0xff, 0xff, 0x00])
            .is_err());
        assert!(parse_block(&[0, 0, 0, 1, 0, 0, 0, 9, b'a']).is_err());
        assert!(parse_block(&[0xff, 0xff, 0xff, 0xff]).is_err());
    }
}
