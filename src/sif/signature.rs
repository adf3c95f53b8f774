//! Signature objects: the hash type and signing entity stored in a signature
//! descriptor's `extra` field (`i32` hash type, then 256 bytes of entity whose first
//! 20 are the signer's key fingerprint).

use super::codes::{array, code_enum, le_i32};
use super::EXTRA_SIZE;

/// Size of the entity field.
pub const ENTITY_SIZE: usize = 256;

code_enum! {
    /// The hash function a signature covers the data with.
    HashType, unknown = "unknown hash",
    {
        /// SHA-256.
        Sha256 = 1 => "SHA-256",
        /// SHA-384.
        Sha384 = 2 => "SHA-384",
        /// SHA-512.
        Sha512 = 3 => "SHA-512",
        /// BLAKE2s-256.
        Blake2s256 = 4 => "BLAKE2s-256",
        /// BLAKE2b-256.
        Blake2b256 = 5 => "BLAKE2b-256",
    }
}

impl HashType {
    /// The hash for a `siftool --signhash` number (1..=5) or a name (`sha256`, `SHA-384`, ...).
    pub fn from_name(s: &str) -> Option<Self> {
        if let Ok(n) = s.parse::<i32>() {
            return match Self::from_code(n) {
                Self::Unknown(_) => None,
                h => Some(h),
            };
        }
        let key = s.to_ascii_lowercase().replace(['-', '_'], "");
        Self::KNOWN
            .iter()
            .copied()
            .find(|h| h.to_string().to_ascii_lowercase().replace('-', "") == key)
    }
}

/// The metadata of a signature object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignatureInfo {
    /// The hash function.
    pub hash: HashType,
    /// The signing entity (a 20-byte fingerprint, zero-padded).
    pub entity: [u8; ENTITY_SIZE],
}

impl SignatureInfo {
    /// A signature by the key with this fingerprint (at most 256 bytes; 20 in practice).
    pub fn new(hash: HashType, fingerprint: &[u8]) -> Self {
        let mut entity = [0u8; ENTITY_SIZE];
        let n = fingerprint.len().min(ENTITY_SIZE);
        entity[..n].copy_from_slice(&fingerprint[..n]);
        SignatureInfo { hash, entity }
    }

    /// The 20-byte fingerprint, or `None` when it is all zero (not recorded).
    pub fn fingerprint(&self) -> Option<[u8; 20]> {
        let fp: [u8; 20] = array(&self.entity, 0)?;
        (fp != [0; 20]).then_some(fp)
    }

    /// Decodes the `extra` field of a signature descriptor.
    pub(crate) fn decode(extra: &[u8; EXTRA_SIZE]) -> Self {
        SignatureInfo {
            hash: HashType::from_code(le_i32(extra, 0).unwrap_or(0)),
            entity: array(extra, 4).unwrap_or([0; ENTITY_SIZE]),
        }
    }

    /// Encodes into a zero-filled `extra` field.
    pub(crate) fn encode(&self) -> [u8; EXTRA_SIZE] {
        let mut extra = [0u8; EXTRA_SIZE];
        extra[0..4].copy_from_slice(&self.hash.code().to_le_bytes());
        extra[4..4 + ENTITY_SIZE].copy_from_slice(&self.entity);
        extra
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_names() {
        let s = SignatureInfo::new(HashType::Sha384, &[0xab; 20]);
        assert_eq!(SignatureInfo::decode(&s.encode()), s);
        assert_eq!(s.fingerprint(), Some([0xab; 20]));
        assert_eq!(
            SignatureInfo::new(HashType::Sha256, &[]).fingerprint(),
            None
        );
        assert_eq!(HashType::from_name("sha256"), Some(HashType::Sha256));
        assert_eq!(
            HashType::from_name("BLAKE2b-256"),
            Some(HashType::Blake2b256)
        );
        assert_eq!(HashType::from_name("3"), Some(HashType::Sha512));
        assert_eq!(HashType::from_name("6"), None);
    }
}
