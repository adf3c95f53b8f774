//! Writing to a registry: blob uploads (POST then monolithic PUT, skipped when the
//! blob exists) and manifest PUTs.

use std::path::Path;

use super::{Auth, Body, Client, Request};
use crate::image::{Digest, Error, Reference};

impl Client {
    /// Uploads a blob (from memory or a file) unless the registry has it already.
    pub(crate) fn push_blob(
        &self,
        r: &Reference,
        digest: &Digest,
        body: Body<'_>,
        auth: &Auth,
    ) -> Result<(), Error> {
        let head = Request {
            method: "HEAD",
            path: format!("/v2/{}/blobs/{digest}", r.repository),
            headers: vec![],
            body: Body::Empty,
            push: true,
        };
        match self.send(r, auth, &head) {
            Ok(_) => return Ok(()),
            Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        let post = Request {
            method: "POST",
            path: format!("/v2/{}/blobs/uploads/", r.repository),
            headers: vec![],
            body: Body::Empty,
            push: true,
        };
        let (base, resp) = self.send(r, auth, &post)?;
        let location = resp.header("Location").ok_or_else(|| Error::Registry {
            url: base.clone(),
            status: resp.status(),
            why: "upload started without a Location".into(),
        })?;
        let location = if location.starts_with('/') {
            format!("{base}{location}")
        } else {
            location.to_string()
        };
        let sep = if location.contains('?') { '&' } else { '?' };
        let put = Request {
            method: "PUT",
            path: format!("{location}{sep}digest={digest}"),
            headers: vec![("Content-Type", "application/octet-stream".into())],
            body,
            push: true,
        };
        self.send(r, auth, &put).map(drop)
    }

    /// Uploads the file at `path` as a blob with digest `digest`.
    pub fn push_file(
        &self,
        r: &Reference,
        digest: &Digest,
        path: &Path,
        auth: &Auth,
    ) -> Result<(), Error> {
        self.push_blob(r, digest, Body::File(path), auth)
    }

    /// Uploads in-memory bytes as a blob; returns their digest.
    pub fn push_bytes(&self, r: &Reference, data: &[u8], auth: &Auth) -> Result<Digest, Error> {
        let digest = Digest::of(data);
        self.push_blob(r, &digest, Body::Bytes(data), auth)?;
        Ok(digest)
    }

    /// PUTs a manifest (or index) under `reference` (tag or digest); returns its digest.
    pub fn push_manifest(
        &self,
        r: &Reference,
        reference: &str,
        bytes: &[u8],
        media_type: &str,
        auth: &Auth,
    ) -> Result<Digest, Error> {
        let put = Request {
            method: "PUT",
            path: format!("/v2/{}/manifests/{reference}", r.repository),
            headers: vec![("Content-Type", media_type.to_string())],
            body: Body::Bytes(bytes),
            push: true,
        };
        self.send(r, auth, &put)?;
        Ok(Digest::of(bytes))
    }
}
