//! SBOM objects: the SBOM format, one `i32` at the start of the descriptor's `extra`.

use super::codes::{code_enum, le_i32};
use super::EXTRA_SIZE;

code_enum! {
    /// The format of a software bill of materials.
    SbomFormat, unknown = "unknown",
    {
        /// CycloneDX (JSON).
        CycloneDxJson = 1 => "cyclonedx-json",
        /// CycloneDX (XML).
        CycloneDxXml = 2 => "cyclonedx-xml",
        /// GitHub dependency snapshot (JSON).
        GitHubJson = 3 => "github-json",
        /// SPDX (JSON).
        SpdxJson = 4 => "spdx-json",
        /// SPDX (RDF/XML).
        SpdxRdf = 5 => "spdx-rdf",
        /// SPDX (tag/value).
        SpdxTagValue = 6 => "spdx-tag-value",
        /// SPDX (YAML).
        SpdxYaml = 7 => "spdx-yaml",
        /// Syft (JSON).
        SyftJson = 8 => "syft-json",
    }
}

impl SbomFormat {
    /// The format for a `siftool --sbomformat` name (`github` is accepted for `github-json`).
    pub fn from_name(s: &str) -> Option<Self> {
        if s == "github" {
            return Some(Self::GitHubJson);
        }
        Self::KNOWN.iter().copied().find(|f| f.to_string() == s)
    }

    /// Decodes the `extra` field of an SBOM descriptor.
    pub(crate) fn decode(extra: &[u8; EXTRA_SIZE]) -> Self {
        Self::from_code(le_i32(extra, 0).unwrap_or(0))
    }

    /// Encodes into a zero-filled `extra` field.
    pub(crate) fn encode(self) -> [u8; EXTRA_SIZE] {
        let mut extra = [0u8; EXTRA_SIZE];
        extra[0..4].copy_from_slice(&self.code().to_le_bytes());
        extra
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for f in SbomFormat::KNOWN {
            assert_eq!(SbomFormat::from_name(&f.to_string()), Some(*f));
            assert_eq!(SbomFormat::decode(&f.encode()), *f);
        }
        assert_eq!(
            SbomFormat::from_name("github"),
            Some(SbomFormat::GitHubJson)
        );
        assert_eq!(SbomFormat::from_name("nope"), None);
    }
}
