//! OCI root index and blob objects: the blob's digest, stored as NUL-terminated text
//! (`sha256:<64 hex digits>`) in the descriptor's `extra` field.

use std::fmt;

use sha2::{Digest, Sha256};

use super::{Error, EXTRA_SIZE};

/// The SHA-256 digest of an OCI blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OciDigest(pub [u8; 32]);

impl OciDigest {
    /// The digest of `data`.
    pub fn of(data: &[u8]) -> Self {
        OciDigest(Sha256::digest(data).into())
    }

    /// Parses `sha256:<64 lowercase hex digits>`, as the reference implementation
    /// (go-containerregistry's `v1.Hash`) does.
    pub fn parse(text: &[u8]) -> Result<Self, Error> {
        let bad = |why: &str| {
            Error::Corrupt(format!(
                "invalid OCI digest {:?}: {why}",
                String::from_utf8_lossy(text)
            ))
        };
        let mut parts = text.split(|&b| b == b':');
        let (Some(alg), Some(hex), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("cannot parse hash"));
        };
        if !hex
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
        {
            return Err(bad("found non-hex character in hash"));
        }
        if alg != b"sha256" {
            return Err(bad("unsupported hash"));
        }
        if hex.len() != 64 {
            return Err(bad("wrong number of hex digits for sha256"));
        }
        let mut out = [0u8; 32];
        for (o, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
            *o = (nibble(pair[0]) << 4) | nibble(pair[1]);
        }
        Ok(OciDigest(out))
    }

    /// Decodes the `extra` field of an OCI descriptor (text up to the first NUL).
    pub(crate) fn decode(extra: &[u8; EXTRA_SIZE]) -> Result<Self, Error> {
        let end = extra.iter().position(|&b| b == 0).unwrap_or(EXTRA_SIZE);
        Self::parse(&extra[..end])
    }

    /// Encodes into a zero-filled `extra` field.
    pub(crate) fn encode(&self) -> [u8; EXTRA_SIZE] {
        let mut extra = [0u8; EXTRA_SIZE];
        let text = self.to_string();
        extra[..text.len()].copy_from_slice(text.as_bytes());
        extra
    }
}

/// The value of one lowercase hex digit (checked by the caller).
fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        _ => c.wrapping_sub(b'a').wrapping_add(10),
    }
}

impl fmt::Display for OciDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sha256:")?;
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_display_round_trip() {
        let d = OciDigest::of(b"{}");
        let text = d.to_string();
        assert_eq!(
            text,
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert_eq!(OciDigest::parse(text.as_bytes()).unwrap(), d);
        assert_eq!(OciDigest::decode(&d.encode()).unwrap(), d);
        assert!(OciDigest::parse(b"sha256:ABCD").is_err());
        assert!(OciDigest::parse(b"sha512:00").is_err());
        assert!(OciDigest::parse(b"sha256:00:11").is_err());
        assert!(OciDigest::decode(&[0; EXTRA_SIZE]).is_err());
    }
}
