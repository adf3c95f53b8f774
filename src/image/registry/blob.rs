//! Reading from a registry: manifests (capped, digest-checked) and blobs (streamed
//! to a file, resumed with `Range` after a broken transfer, size and digest checked,
//! removed when wrong).

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::path::Path;

use sha2::{Digest as _, Sha256};

use super::manifest::{self, Descriptor, Fetched, ACCEPT, MAX_MANIFEST};
use super::{read_capped, verify, Auth, Body, Client, Request};
use crate::image::{Digest, Error, Reference};

/// Attempts per blob before giving up.
const BLOB_ATTEMPTS: u32 = 4;

/// A manifest or index as fetched: its bytes, media type and digest.
#[derive(Debug, Clone)]
pub struct RawManifest {
    /// The bytes, as served (their digest is the manifest digest).
    pub bytes: Vec<u8>,
    /// The Content-Type the registry gave.
    pub media_type: String,
    /// SHA-256 of the bytes.
    pub digest: Digest,
}

impl RawManifest {
    /// Parses the document.
    pub fn parse(&self) -> Result<Fetched, Error> {
        manifest::parse(&self.bytes, &self.media_type)
    }
}

impl Client {
    /// Fetches the manifest or index `reference` (a tag or digest) of `r`'s repository.
    pub fn manifest(
        &self,
        r: &Reference,
        reference: &str,
        auth: &Auth,
    ) -> Result<RawManifest, Error> {
        let req = Request {
            method: "GET",
            path: format!("/v2/{}/manifests/{reference}", r.repository),
            headers: vec![("Accept", ACCEPT.to_string())],
            body: Body::Empty,
            push: false,
        };
        let (_, resp) = self.send(r, auth, &req).map_err(|e| match e {
            Error::NotFound(_) => Error::NotFound(format!("{}:{reference}", r.name())),
            e => e,
        })?;
        let media_type = resp.content_type().to_string();
        let bytes = read_capped(resp, MAX_MANIFEST, "manifest")?;
        let digest = Digest::of(&bytes);
        if let Ok(want) = Digest::parse(reference) {
            verify(&bytes, &want, "manifest")?;
        }
        Ok(RawManifest {
            bytes,
            media_type,
            digest,
        })
    }

    /// Fetches a small blob (a config) into memory, checking size and digest.
    pub fn small_blob(
        &self,
        r: &Reference,
        d: &Descriptor,
        cap: u64,
        auth: &Auth,
    ) -> Result<Vec<u8>, Error> {
        let what = format!("blob {}", d.digest);
        if d.size > cap {
            return Err(Error::TooLarge { what, limit: cap });
        }
        let digest = d.digest()?;
        let (_, resp) = self.send(r, auth, &blob_request(r, &digest, 0))?;
        let bytes = read_capped(resp, cap, &what)?;
        if bytes.len() as u64 != d.size {
            return Err(Error::SizeMismatch {
                what,
                expected: d.size,
                got: bytes.len() as u64,
            });
        }
        verify(&bytes, &digest, &what)?;
        Ok(bytes)
    }

    /// Downloads blob `d` to `dest`, resuming after broken transfers, and checks its
    /// size and digest; on error `dest` is removed. `progress` gets byte counts.
    pub fn blob_to_file(
        &self,
        r: &Reference,
        d: &Descriptor,
        dest: &Path,
        auth: &Auth,
        progress: &dyn Fn(u64),
    ) -> Result<(), Error> {
        let res = self.blob_attempts(r, d, dest, false, auth, progress);
        if res.is_err() {
            let _ = std::fs::remove_file(dest);
        }
        res
    }

    /// Like [`Client::blob_to_file`], but continues a partial `dest` left by an
    /// earlier (perhaps killed) process with a `Range` request, and keeps it when the
    /// registry stays unreachable so that a later pull resumes again. A wrong size or
    /// digest removes it.
    pub fn blob_resume_to_file(
        &self,
        r: &Reference,
        d: &Descriptor,
        dest: &Path,
        auth: &Auth,
        progress: &dyn Fn(u64),
    ) -> Result<(), Error> {
        let res = self.blob_attempts(r, d, dest, true, auth, progress);
        if matches!(res, Err(ref e) if !matches!(e, Error::Unreachable { .. } | Error::Registry { .. }))
        {
            let _ = std::fs::remove_file(dest);
        }
        res
    }

    fn blob_attempts(
        &self,
        r: &Reference,
        d: &Descriptor,
        dest: &Path,
        resume: bool,
        auth: &Auth,
        progress: &dyn Fn(u64),
    ) -> Result<(), Error> {
        let what = format!("blob {}", d.digest);
        let digest = d.digest()?;
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(!resume)
            .read(true)
            .write(true)
            .open(dest)
            .map_err(|e| Error::io("creating", dest, e))?;
        let had = file.metadata().map_or(0, |m| m.len());
        if had > d.size {
            file.set_len(0)
                .map_err(|e| Error::io("truncating", dest, e))?;
        } else if had > 0 {
            progress(had);
        }
        let mut last = None;
        for _ in 0..BLOB_ATTEMPTS {
            let have = file
                .metadata()
                .map_err(|e| Error::io("stat", dest, e))?
                .len();
            if have >= d.size {
                break;
            }
            match self.blob_range(r, (&digest, have, d.size), &mut file, auth, progress) {
                Ok(()) => {}
                Err(e @ (Error::Unreachable { .. } | Error::Registry { .. })) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        let have = file
            .metadata()
            .map_err(|e| Error::io("stat", dest, e))?
            .len();
        if have != d.size {
            return Err(last.unwrap_or(Error::SizeMismatch {
                what,
                expected: d.size,
                got: have,
            }));
        }
        check_file_digest(&mut file, dest, &digest, &what)?;
        file.sync_all().map_err(|e| Error::io("syncing", dest, e))
    }

    /// One transfer from byte `from`; appends to `file` (or restarts it when the
    /// registry ignores the range). Stops at `size + 1` bytes.
    fn blob_range(
        &self,
        r: &Reference,
        (digest, from, size): (&Digest, u64, u64),
        file: &mut File,
        auth: &Auth,
        progress: &dyn Fn(u64),
    ) -> Result<(), Error> {
        let (_, resp) =
            self.send(r, auth, &blob_request(r, digest, from))
                .map_err(|e| match e {
                    // Range past the end: the blob is shorter than the manifest says.
                    Error::Registry { status: 416, .. } => Error::SizeMismatch {
                        what: format!("blob {digest}"),
                        expected: size,
                        got: from,
                    },
                    e => e,
                })?;
        let url = resp.get_url().to_string();
        let start = if resp.status() == 206 { from } else { 0 };
        file.set_len(start)
            .and_then(|_| file.seek(io::SeekFrom::Start(start)))
            .map_err(|e| Error::io("truncating", &url, e))?;
        let mut reader = resp
            .into_reader()
            .take(size.saturating_sub(start).saturating_add(1));
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(Error::Unreachable {
                        url,
                        why: format!("reading blob: {e}"),
                    })
                }
            };
            file.write_all(&buf[..n])
                .map_err(|e| Error::io("writing blob", &url, e))?;
            progress(n as u64);
        }
    }
}

/// GET of a blob, from byte `from`.
fn blob_request<'a>(r: &Reference, digest: &Digest, from: u64) -> Request<'a> {
    let mut headers = Vec::new();
    if from > 0 {
        headers.push(("Range", format!("bytes={from}-")));
    }
    Request {
        method: "GET",
        path: format!("/v2/{}/blobs/{digest}", r.repository),
        headers,
        body: Body::Empty,
        push: false,
    }
}

/// Hashes `file` from the start and compares with `want`.
fn check_file_digest(file: &mut File, path: &Path, want: &Digest, what: &str) -> Result<(), Error> {
    file.seek(io::SeekFrom::Start(0))
        .map_err(|e| Error::io("seeking", path, e))?;
    let mut h = Sha256::new();
    io::copy(file, &mut h).map_err(|e| Error::io("reading", path, e))?;
    let got = Digest::from_hasher(h);
    if &got != want {
        return Err(Error::DigestMismatch {
            what: what.into(),
            expected: want.to_string(),
            got: got.to_string(),
        });
    }
    Ok(())
}
