//! `config.json` → a validated [`Plan`].
//!
//! Input: a bundle directory. Output: the parsed spec plus the facts every later step
//! needs (absolute rootfs, namespace plan, whether we run privileged). Every error names
//! the offending field, so a person can fix the file.

mod validate;

use std::path::{Path, PathBuf};

use oci_spec::runtime::{Process, Spec};

pub use validate::validate_process;
use validate::{validate_mounts, validate_root, validate_uts};

use crate::namespaces::NsPlan;

/// A bundle's `config.json` that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The file could not be read.
    #[error("read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The JSON does not parse into a runtime spec.
    #[error("invalid config.json: field `{field}`: {message}")]
    Parse {
        /// The JSON path of the field (`process.args[0]`).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A field parses but its value cannot be used.
    #[error("invalid config.json: field `{field}`: {message}")]
    Invalid {
        /// The JSON path of the field.
        field: String,
        /// What is wrong.
        message: String,
    },
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> SpecError {
    SpecError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// A validated bundle: what `create` runs.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The spec as parsed.
    pub spec: Spec,
    /// The bundle directory, absolute.
    pub bundle: PathBuf,
    /// The root filesystem, absolute and existing.
    pub rootfs: PathBuf,
    /// Which namespaces to create or join, and the id mappings.
    pub(crate) namespaces: NsPlan,
    /// Whether the runtime runs as root in the initial user namespace.
    pub privileged: bool,
    /// The overlay to mount over the rootfs (`org.sifcri.overlay.*` annotations).
    pub(crate) overlay: Option<crate::rootfs::Overlay>,
}

impl Plan {
    /// Loads and validates `BUNDLE/config.json`.
    pub fn load(bundle: &Path) -> Result<Self, SpecError> {
        let bundle = std::path::absolute(bundle).map_err(|source| SpecError::Read {
            path: bundle.to_path_buf(),
            source,
        })?;
        let spec = parse(&bundle.join("config.json"))?;
        Self::from_spec(spec, bundle)
    }

    /// Validates a parsed spec whose relative paths are relative to `bundle`.
    pub fn from_spec(spec: Spec, bundle: PathBuf) -> Result<Self, SpecError> {
        let process = spec
            .process()
            .as_ref()
            .ok_or_else(|| invalid("process", "missing"))?;
        validate_process(process)?;
        let rootfs = validate_root(&spec, &bundle)?;
        validate_mounts(&spec)?;
        let privileged = crate::userns::privileged();
        let namespaces = NsPlan::from_spec(&spec, privileged)?;
        validate_uts(&spec, &namespaces)?;
        let overlay = crate::rootfs::Overlay::from_spec(&spec)?;
        if let Some(seccomp) = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) {
            crate::seccomp::compile(seccomp)
                .map_err(|e| invalid("linux.seccomp", e.to_string()))?;
        }
        Ok(Self {
            spec,
            bundle,
            rootfs,
            namespaces,
            privileged,
            overlay,
        })
    }

    /// The container's process.
    pub fn process(&self) -> &Process {
        // `from_spec` refuses a spec without a process.
        self.spec
            .process()
            .as_ref()
            .expect("validated: process present")
    }
}

/// Parses a `config.json`, naming the field that fails.
pub fn parse(path: &Path) -> Result<Spec, SpecError> {
    let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut de = serde_json::Deserializer::from_str(&text);
    serde_path_to_error::deserialize(&mut de).map_err(|e| SpecError::Parse {
        field: e.path().to_string(),
        message: e.inner().to_string(),
    })
}
