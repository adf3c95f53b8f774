//! `config.json` → a validated [`Plan`].
//!
//! Input: a bundle directory. Output: the parsed spec plus the facts every later step
//! needs (absolute rootfs, namespace plan, whether we run privileged). Every error names
//! the offending field, so a person can fix the file.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, Process, Spec};

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

/// Checks the fields of a process (the container's, or one given to exec).
pub fn validate_process(process: &Process) -> Result<(), SpecError> {
    let args = process.args().as_deref().unwrap_or_default();
    if args.is_empty() {
        return Err(invalid("process.args", "must name a program"));
    }
    if !process.cwd().is_absolute() {
        return Err(invalid("process.cwd", "must be an absolute path"));
    }
    if process
        .apparmor_profile()
        .as_ref()
        .is_some_and(|p| !p.is_empty())
        && !Path::new("/sys/kernel/security/apparmor").exists()
    {
        return Err(invalid(
            "process.apparmorProfile",
            "AppArmor is not enabled on this host",
        ));
    }
    if process
        .selinux_label()
        .as_ref()
        .is_some_and(|l| !l.is_empty())
        && !Path::new("/sys/fs/selinux/enforce").exists()
    {
        return Err(invalid(
            "process.selinuxLabel",
            "SELinux is not enabled on this host",
        ));
    }
    crate::rlimits::validate(process.rlimits().as_deref().unwrap_or_default())
        .map_err(|(i, m)| invalid(format!("process.rlimits[{i}]"), m))
}

fn validate_root(spec: &Spec, bundle: &Path) -> Result<PathBuf, SpecError> {
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| invalid("root", "missing"))?;
    let path = bundle.join(root.path());
    match std::fs::metadata(&path) {
        Ok(m) if m.is_dir() => std::fs::canonicalize(&path)
            .map_err(|e| invalid("root.path", format!("{}: {e}", path.display()))),
        Ok(_) => Err(invalid(
            "root.path",
            format!("{}: not a directory", path.display()),
        )),
        Err(e) => Err(invalid("root.path", format!("{}: {e}", path.display()))),
    }
}

fn validate_mounts(spec: &Spec) -> Result<(), SpecError> {
    for (i, m) in spec
        .mounts()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        if !m.destination().is_absolute() {
            return Err(invalid(
                format!("mounts[{i}].destination"),
                "must be an absolute path",
            ));
        }
        let typ = m.typ().as_deref().unwrap_or("");
        let bind = m
            .options()
            .iter()
            .flatten()
            .any(|o| o == "bind" || o == "rbind");
        if (bind || typ == "bind") && m.source().is_none() {
            return Err(invalid(
                format!("mounts[{i}].source"),
                "a bind mount needs a source",
            ));
        }
    }
    let linux = spec.linux().as_ref();
    let mut seen = HashSet::new();
    for (i, ns) in linux
        .and_then(|l| l.namespaces().as_ref())
        .into_iter()
        .flatten()
        .enumerate()
    {
        if !seen.insert(ns.typ()) {
            return Err(invalid(
                format!("linux.namespaces[{i}].type"),
                format!("duplicate {}", ns.typ()),
            ));
        }
    }
    Ok(())
}

fn validate_uts(spec: &Spec, ns: &NsPlan) -> Result<(), SpecError> {
    let wants = spec.hostname().as_ref().is_some_and(|h| !h.is_empty())
        || spec.domainname().as_ref().is_some_and(|h| !h.is_empty());
    if wants && !ns.creates(LinuxNamespaceType::Uts) {
        return Err(invalid(
            "hostname",
            "setting a hostname needs a new uts namespace",
        ));
    }
    Ok(())
}
