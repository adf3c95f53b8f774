//! Pulling an image into the [`Store`]: resolve the reference to a manifest (picking
//! the host's platform from an index), then either store a SIF artifact as is, or
//! fetch config and layers and convert them. Pulls of one reference are serialized
//! (in-process and across processes) and a pull that finds its image id already
//! stored only adds names, so concurrent pulls download each blob once.

use std::path::PathBuf;

use super::registry::manifest::{self, Descriptor, Fetched, Manifest, Platform, MAX_CONFIG};
use super::registry::{Auth, Client};
use super::store::ImageKind;
use super::{convert, Digest, Error, ImageRecord, Reference, Store};
use crate::sif::Sif;

/// Progress reports of a pull (the CLI draws bars; the daemon logs).
pub trait Progress: Send + Sync {
    /// A transfer or step of `total` bytes (0 if unknown) starts.
    fn start(&self, what: &str, total: u64);
    /// `n` more bytes are done.
    fn advance(&self, n: u64);
    /// The current step is done.
    fn finish(&self);
}

/// Progress that reports nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

/// How to pull.
pub struct PullOptions<'a> {
    /// Credentials (anonymous: the docker config's, if any).
    pub auth: Auth,
    /// Platform to pick from an index (default: the host's).
    pub platform: Option<Platform>,
    /// Where progress goes.
    pub progress: &'a dyn Progress,
}

impl Default for PullOptions<'_> {
    fn default() -> Self {
        PullOptions {
            auth: Auth::Anonymous,
            platform: None,
            progress: &NoProgress,
        }
    }
}

/// Pulls `reference` into `store`; returns the image's record.
pub fn pull(
    store: &Store,
    client: &Client,
    reference: &str,
    opts: &PullOptions<'_>,
) -> Result<ImageRecord, Error> {
    let r = Reference::parse(reference)?;
    let _guard = store.lock_pull(&r.to_string())?;
    let top = client.manifest(&r, &r.manifest_ref(), &opts.auth)?;
    let m = match top.parse()? {
        Fetched::Manifest(m) => m,
        Fetched::Index(idx) => {
            let want = opts
                .platform
                .clone()
                .unwrap_or_else(manifest::host_platform);
            let d = manifest::pick(&idx, &want)?;
            match client
                .manifest(&r, &d.digest()?.to_string(), &opts.auth)?
                .parse()?
            {
                Fetched::Manifest(m) => m,
                Fetched::Index(_) => {
                    return Err(Error::InvalidManifest {
                        what: "image index".into(),
                        why: "an index entry points to another index".into(),
                    })
                }
            }
        }
    };
    let names = (
        r.tagged().into_iter().collect(),
        vec![r.with_digest(&top.digest)],
    );
    let is_sif = m.config.media_type == manifest::SIF_CONFIG
        || m.layers.iter().any(|l| l.media_type == manifest::SIF_LAYER);
    if is_sif {
        pull_sif(store, client, &r, &m, names, opts)
    } else {
        pull_oci(store, client, &r, &m, names, opts)
    }
}

type Names = (Vec<String>, Vec<String>);

/// A SIF artifact: its one layer is the SIF; id = its digest.
fn pull_sif(
    store: &Store,
    client: &Client,
    r: &Reference,
    m: &Manifest,
    names: Names,
    opts: &PullOptions<'_>,
) -> Result<ImageRecord, Error> {
    let [layer] = m.layers.as_slice() else {
        return Err(Error::InvalidManifest {
            what: "SIF artifact manifest".into(),
            why: format!("{} layers, want exactly one", m.layers.len()),
        });
    };
    if layer.media_type != manifest::SIF_LAYER {
        return Err(unsupported_layer(layer));
    }
    let id = layer.digest()?;
    if let Some(rec) = already_stored(store, &id, &names)? {
        return Ok(rec);
    }
    let tmp = store.temp_dir()?;
    let file = tmp.path().join("image.sif");
    fetch(client, r, layer, &file, opts)?;
    Sif::open(&file)?;
    let rec = ImageRecord {
        id: id.to_string(),
        kind: ImageKind::Native,
        size: layer.size,
        repo_tags: names.0,
        repo_digests: names.1,
        sif_digest: id.to_string(),
        config: None,
        layers: Vec::new(),
    };
    store.commit(&file, rec)
}

/// An OCI image: config and layers converted to a SIF; id = config digest.
fn pull_oci(
    store: &Store,
    client: &Client,
    r: &Reference,
    m: &Manifest,
    names: Names,
    opts: &PullOptions<'_>,
) -> Result<ImageRecord, Error> {
    if m.config.media_type != manifest::OCI_CONFIG && m.config.media_type != manifest::DOCKER_CONFIG
    {
        return Err(Error::UnsupportedMediaType {
            what: "image config".into(),
            media_type: m.config.media_type.clone(),
        });
    }
    if let Some(l) = m.layers.iter().find(|l| !is_tar_layer(&l.media_type)) {
        return Err(unsupported_layer(l));
    }
    let id = m.config.digest()?;
    if let Some(rec) = already_stored(store, &id, &names)? {
        return Ok(rec);
    }
    let config = client.small_blob(r, &m.config, MAX_CONFIG, &opts.auth)?;
    let tmp = store.temp_dir()?;
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for (i, l) in m.layers.iter().enumerate() {
        let kept = store.layer_blob(&l.digest()?, l.size, |partial| {
            fetch(client, r, l, partial, opts)
        })?;
        // A link of our own: a concurrent gc may remove the kept blob.
        let p = tmp.path().join(format!("layer{i}"));
        std::fs::hard_link(&kept, &p).map_err(|e| Error::io("linking", &p, e))?;
        files.push((l.digest.clone(), p));
    }
    let stage = tmp.path().join("stage");
    std::fs::create_dir(&stage).map_err(|e| Error::io("creating", &stage, e))?;
    let out = tmp.path().join("image.sif");
    opts.progress.start("converting", 0);
    let layers: Vec<(String, &std::path::Path)> = files
        .iter()
        .map(|(d, p)| (d.clone(), p.as_path()))
        .collect();
    convert::convert(&layers, &config, &stage, &out)?;
    opts.progress.finish();
    let (sif_digest, size) = file_digest(&out)?;
    let config_json = serde_json::from_slice(&config).ok();
    let rec = ImageRecord {
        id: id.to_string(),
        kind: ImageKind::Converted,
        size,
        repo_tags: names.0,
        repo_digests: names.1,
        sif_digest: sif_digest.to_string(),
        config: config_json,
        layers: m.layers.iter().map(|l| l.digest.clone()).collect(),
    };
    store.commit(&out, rec)
}

fn fetch(
    client: &Client,
    r: &Reference,
    d: &Descriptor,
    dest: &std::path::Path,
    opts: &PullOptions<'_>,
) -> Result<(), Error> {
    let short = d.digest.get(7..19).unwrap_or(&d.digest);
    opts.progress.start(short, d.size);
    let res = client.blob_resume_to_file(r, d, dest, &opts.auth, &|n| opts.progress.advance(n));
    opts.progress.finish();
    res
}

/// The stored image `id` with `names` added, if it is stored.
fn already_stored(store: &Store, id: &Digest, names: &Names) -> Result<Option<ImageRecord>, Error> {
    match store.lookup(id.as_str()) {
        Ok(_) => {
            store.tag(id.as_str(), names.0.clone(), names.1.clone())?;
            store.lookup(id.as_str()).map(Some)
        }
        Err(Error::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

fn is_tar_layer(mt: &str) -> bool {
    const OK: [&str; 8] = [
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.oci.image.layer.v1.tar+zstd",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    ];
    OK.contains(&mt)
}

fn unsupported_layer(l: &Descriptor) -> Error {
    Error::UnsupportedMediaType {
        what: format!("layer {}", l.digest),
        media_type: l.media_type.clone(),
    }
}

/// SHA-256 and size of a file.
pub(crate) fn file_digest(path: &std::path::Path) -> Result<(Digest, u64), Error> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io("opening", path, e))?;
    let mut h = sha2::Sha256::default();
    let n = std::io::copy(&mut f, &mut h).map_err(|e| Error::io("reading", path, e))?;
    Ok((Digest::from_hasher(h), n))
}
