//! Manifests, image indexes and their descriptors (OCI image-spec and Docker schema
//! 2), their media types, and the choice of one platform from an index.

use serde::{Deserialize, Serialize};

use crate::image::{Digest, Error};

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker schema 2 manifest.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list.
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// OCI image config.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// Docker image config.
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// A SIF pushed by `singularity push oras://`: the layer.
pub const SIF_LAYER: &str = "application/vnd.sylabs.sif.layer.v1.sif";
/// A SIF pushed by `singularity push oras://`: the config.
pub const SIF_CONFIG: &str = "application/vnd.sylabs.sif.config.v1+json";
/// Every manifest type we ask for.
pub const ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";

/// Largest manifest or index we read.
pub const MAX_MANIFEST: u64 = 4 << 20;
/// Largest image config we read.
pub const MAX_CONFIG: u64 = 8 << 20;

/// A content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// Media type of the content.
    pub media_type: String,
    /// Its digest.
    pub digest: String,
    /// Its size in bytes.
    pub size: u64,
    /// Platform (index entries only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<serde_json::Map<String, serde_json::Value>>,
}

/// An index entry's platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    /// GOARCH.
    pub architecture: String,
    /// GOOS.
    pub os: String,
    /// CPU variant (`v8`, `v7`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// An image manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Always 2.
    pub schema_version: u32,
    /// Its media type (optional in OCI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The config blob.
    pub config: Descriptor,
    /// The layers, bottom first.
    pub layers: Vec<Descriptor>,
}

/// An image index / manifest list.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    /// Always 2.
    pub schema_version: u32,
    /// The manifests, one per platform.
    pub manifests: Vec<Descriptor>,
}

/// A fetched manifest or index, parsed by media type.
#[derive(Debug, Clone)]
pub enum Fetched {
    /// An image manifest.
    Manifest(Manifest),
    /// An index.
    Index(Index),
}

/// Parses manifest bytes by `media_type` (from the Content-Type header, or the
/// document's own `mediaType` when the header is generic).
pub fn parse(bytes: &[u8], media_type: &str) -> Result<Fetched, Error> {
    let bad = |why: String| Error::InvalidManifest {
        what: "manifest".into(),
        why,
    };
    let doc: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    let inner = doc.get("mediaType").and_then(|m| m.as_str()).unwrap_or("");
    let mt = match media_type {
        "" | "application/json" | "text/plain" => inner,
        m => m.split(';').next().unwrap_or(m).trim(),
    };
    let mt = if mt.is_empty() && doc.get("manifests").is_some() {
        OCI_INDEX
    } else {
        mt
    };
    let mt = if mt.is_empty() && doc.get("layers").is_some() {
        OCI_MANIFEST
    } else {
        mt
    };
    match mt {
        OCI_MANIFEST | DOCKER_MANIFEST => serde_json::from_value(doc)
            .map(Fetched::Manifest)
            .map_err(|e| bad(e.to_string())),
        OCI_INDEX | DOCKER_LIST => serde_json::from_value(doc)
            .map(Fetched::Index)
            .map_err(|e| bad(e.to_string())),
        other => Err(Error::UnsupportedMediaType {
            what: "manifest".into(),
            media_type: other.to_string(),
        }),
    }
}

/// The host's platform, as GOOS/GOARCH.
pub fn host_platform() -> Platform {
    Platform {
        os: "linux".into(),
        architecture: crate::sif::Arch::host().go_name().to_string(),
        variant: None,
    }
}

/// The manifest of `want`'s platform in `index`.
pub fn pick(index: &Index, want: &Platform) -> Result<Descriptor, Error> {
    index
        .manifests
        .iter()
        .find(|d| {
            d.platform.as_ref().is_some_and(|p| {
                p.os == want.os
                    && p.architecture == want.architecture
                    && (want.variant.is_none() || p.variant == want.variant)
            })
        })
        .cloned()
        .ok_or_else(|| Error::NoMatchingPlatform(format!("{}/{}", want.os, want.architecture)))
}

impl Descriptor {
    /// The validated digest.
    pub fn digest(&self) -> Result<Digest, Error> {
        Digest::parse(&self.digest).map_err(|_| Error::InvalidManifest {
            what: "descriptor".into(),
            why: format!("bad digest {:?}", self.digest),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_and_oci_and_picks_platforms() {
        let d = r#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
            "config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:00","size":2},
            "layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"sha256:11","size":3}]}"#;
        let Fetched::Manifest(m) = parse(d.as_bytes(), "application/json").unwrap() else {
            panic!("manifest")
        };
        assert_eq!(m.config.media_type, DOCKER_CONFIG);
        let l = r#"{"schemaVersion":2,"manifests":[
            {"mediaType":"x","digest":"sha256:aa","size":1,"platform":{"architecture":"arm","os":"linux","variant":"v7"}},
            {"mediaType":"x","digest":"sha256:bb","size":1,"platform":{"architecture":"amd64","os":"linux"}}]}"#;
        let Fetched::Index(i) = parse(l.as_bytes(), DOCKER_LIST).unwrap() else {
            panic!("index")
        };
        let amd = Platform {
            architecture: "amd64".into(),
            os: "linux".into(),
            variant: None,
        };
        assert_eq!(pick(&i, &amd).unwrap().digest, "sha256:bb");
        let v6 = Platform {
            architecture: "arm".into(),
            os: "linux".into(),
            variant: Some("v6".into()),
        };
        assert!(matches!(pick(&i, &v6), Err(Error::NoMatchingPlatform(_))));
        assert!(matches!(
            parse(b"{}", "application/vnd.unknown"),
            Err(Error::UnsupportedMediaType { .. })
        ));
        assert!(parse(b"not json", OCI_MANIFEST).is_err());
    }
}
