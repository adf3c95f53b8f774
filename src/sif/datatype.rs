//! SIF data object types (the descriptor's `datatype` field), codes 0x4001 onwards.

use super::codes::code_enum;

code_enum! {
    /// The kind of a data object.
    DataType, unknown = "Unknown",
    {
        /// Definition file (`Def.FILE`).
        Deffile = 0x4001 => "Def.FILE",
        /// Environment variables.
        EnvVar = 0x4002 => "Env.Vars",
        /// JSON labels.
        Labels = 0x4003 => "JSON.Labels",
        /// A file system partition.
        Partition = 0x4004 => "FS",
        /// A signature (legacy PGP signatures and DSSE envelopes alike).
        Signature = 0x4005 => "Signature",
        /// Generic JSON metadata.
        GenericJson = 0x4006 => "JSON.Generic",
        /// Generic raw data.
        Generic = 0x4007 => "Generic/Raw",
        /// A cryptographic message (e.g. an OpenPGP clear signature).
        CryptoMessage = 0x4008 => "Cryptographic Message",
        /// A software bill of materials.
        Sbom = 0x4009 => "SBOM",
        /// The root OCI image index.
        OciRootIndex = 0x400a => "OCI.RootIndex",
        /// An OCI blob.
        OciBlob = 0x400b => "OCI.Blob",
    }
}

impl DataType {
    /// The type for a `siftool add --datatype` number (1 = Deffile ... 11 = OCI.Blob).
    pub fn from_siftool_number(n: i64) -> Option<Self> {
        let code = i32::try_from(n).ok()?.checked_add(0x4000)?;
        match Self::from_code(code) {
            Self::Unknown(_) => None,
            dt => Some(dt),
        }
    }

    /// The type for a name: `partition`, `signature`, `generic-json`, `oci-blob`, ...
    /// (case, `-`, `_` and `.` ignored), or a `siftool` number.
    pub fn from_name(s: &str) -> Option<Self> {
        if let Ok(n) = s.parse::<i64>() {
            return Self::from_siftool_number(n);
        }
        let key: String = s
            .chars()
            .filter(|c| !matches!(c, '-' | '_' | '.' | ' ' | '/'))
            .collect::<String>()
            .to_ascii_lowercase();
        Some(match key.as_str() {
            "deffile" | "definition" => Self::Deffile,
            "envvar" | "envvars" | "env" => Self::EnvVar,
            "labels" | "jsonlabels" => Self::Labels,
            "partition" | "fs" => Self::Partition,
            "signature" | "sig" => Self::Signature,
            "genericjson" | "jsongeneric" | "json" => Self::GenericJson,
            "generic" | "genericraw" | "raw" => Self::Generic,
            "cryptomessage" | "cryptographicmessage" | "crypt" => Self::CryptoMessage,
            "sbom" => Self::Sbom,
            "ocirootindex" | "rootindex" => Self::OciRootIndex,
            "ociblob" | "blob" => Self::OciBlob,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names() {
        assert_eq!(DataType::KNOWN.len(), 11);
        for (i, dt) in DataType::KNOWN.iter().enumerate() {
            let n = i64::try_from(i).unwrap() + 1;
            assert_eq!(DataType::from_siftool_number(n), Some(*dt));
            assert_eq!(DataType::from_code(dt.code()), *dt);
        }
        assert_eq!(DataType::from_name("partition"), Some(DataType::Partition));
        assert_eq!(DataType::from_name("OCI.Blob"), Some(DataType::OciBlob));
        assert_eq!(DataType::from_name("4"), Some(DataType::Partition));
        assert_eq!(DataType::from_name("0"), None);
        assert_eq!(DataType::from_name("12"), None);
        assert_eq!(DataType::from_code(7).to_string(), "Unknown");
    }
}
