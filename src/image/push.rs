//! Pushing a SIF to a registry as an ORAS artifact, the layout `singularity push
//! oras://` writes: an OCI manifest whose config is `{}` of type
//! `application/vnd.sylabs.sif.config.v1+json` and whose one layer is the SIF.

use std::path::Path;

use super::pull::file_digest;
use super::registry::manifest::{Descriptor, Manifest, OCI_MANIFEST, SIF_CONFIG, SIF_LAYER};
use super::registry::{Auth, Client};
use super::{Digest, Error, Reference};
use crate::sif::Sif;

/// Pushes the SIF at `file` to `reference`; returns the manifest digest.
pub fn push(client: &Client, file: &Path, reference: &str, auth: &Auth) -> Result<Digest, Error> {
    let r = Reference::parse(reference)?;
    Sif::open(file)?;
    let (digest, size) = file_digest(file)?;
    client.push_file(&r, &digest, file, auth)?;
    let config = b"{}";
    let config_digest = client.push_bytes(&r, config, auth)?;
    let title = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "image.sif".into());
    let mut annotations = serde_json::Map::new();
    annotations.insert("org.opencontainers.image.title".into(), title.into());
    let m = Manifest {
        schema_version: 2,
        media_type: Some(OCI_MANIFEST.into()),
        config: Descriptor {
            media_type: SIF_CONFIG.into(),
            digest: config_digest.to_string(),
            size: config.len() as u64,
            platform: None,
            annotations: None,
        },
        layers: vec![Descriptor {
            media_type: SIF_LAYER.into(),
            digest: digest.to_string(),
            size,
            platform: None,
            annotations: Some(annotations),
        }],
    };
    let bytes = serde_json::to_vec(&m).map_err(|e| Error::InvalidManifest {
        what: "manifest".into(),
        why: e.to_string(),
    })?;
    client.push_manifest(&r, &r.manifest_ref(), &bytes, OCI_MANIFEST, auth)
}
