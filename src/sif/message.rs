//! Cryptographic message objects: format and message type, two `i32`s at the start
//! of the descriptor's `extra` field.

use super::codes::{code_enum, le_i32};
use super::EXTRA_SIZE;

code_enum! {
    /// How a cryptographic message is encoded.
    FormatType, unknown = "Unknown",
    {
        /// OpenPGP.
        OpenPgp = 1 => "OpenPGP",
        /// PEM.
        Pem = 2 => "PEM",
    }
}

code_enum! {
    /// What a cryptographic message holds.
    MessageType, unknown = "Unknown",
    {
        /// An OpenPGP clear signature.
        ClearSignature = 0x100 => "Clear Signature",
        /// A PEM RSA-OAEP message.
        RsaOaep = 0x200 => "RSA-OAEP",
    }
}

impl FormatType {
    /// The format for a name (`openpgp`, `pem`) or its code.
    pub fn from_name(s: &str) -> Option<Self> {
        let key = s.to_ascii_lowercase();
        let code = key.parse::<i32>().ok();
        Self::KNOWN
            .iter()
            .copied()
            .find(|f| f.to_string().to_ascii_lowercase() == key || Some(f.code()) == code)
    }
}

impl MessageType {
    /// The message type for a name (`clear-signature`, `rsa-oaep`) or its code
    /// (`256`, `0x100`).
    pub fn from_name(s: &str) -> Option<Self> {
        let key = s.to_ascii_lowercase().replace(['-', '_', ' '], "");
        let code = match key.strip_prefix("0x") {
            Some(hex) => i32::from_str_radix(hex, 16).ok(),
            None => key.parse::<i32>().ok(),
        };
        Self::KNOWN.iter().copied().find(|m| {
            m.to_string().to_ascii_lowercase().replace([' ', '-'], "") == key
                || Some(m.code()) == code
        })
    }
}

/// The metadata of a cryptographic message object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CryptoMessageInfo {
    /// The encoding.
    pub format: FormatType,
    /// The content.
    pub message: MessageType,
}

impl CryptoMessageInfo {
    /// Decodes the `extra` field of a crypto message descriptor.
    pub(crate) fn decode(extra: &[u8; EXTRA_SIZE]) -> Self {
        CryptoMessageInfo {
            format: FormatType::from_code(le_i32(extra, 0).unwrap_or(0)),
            message: MessageType::from_code(le_i32(extra, 4).unwrap_or(0)),
        }
    }

    /// Encodes into a zero-filled `extra` field.
    pub(crate) fn encode(&self) -> [u8; EXTRA_SIZE] {
        let mut extra = [0u8; EXTRA_SIZE];
        extra[0..4].copy_from_slice(&self.format.code().to_le_bytes());
        extra[4..8].copy_from_slice(&self.message.code().to_le_bytes());
        extra
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let m = CryptoMessageInfo {
            format: FormatType::Pem,
            message: MessageType::RsaOaep,
        };
        assert_eq!(CryptoMessageInfo::decode(&m.encode()), m);
        assert_eq!(MessageType::from_code(0x300).to_string(), "Unknown");
        assert_eq!(FormatType::from_name("OpenPGP"), Some(FormatType::OpenPgp));
        assert_eq!(FormatType::from_name("2"), Some(FormatType::Pem));
        assert_eq!(
            MessageType::from_name("clear-signature"),
            Some(MessageType::ClearSignature)
        );
        assert_eq!(MessageType::from_name("0x200"), Some(MessageType::RsaOaep));
        assert_eq!(MessageType::from_name("bogus"), None);
    }
}
