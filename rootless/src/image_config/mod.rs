//! An OCI image config (the JSON of an image's config blob) applied to a runtime spec,
//! as the image spec's "conversion to runtime config" section says.
//!
//! Input: a spec (say [`crate::default_spec`]), the image config, the image's root
//! filesystem (for `User` names). Output: the spec with `process.args` from
//! `Entrypoint` + `Cmd`, `Env` merged over the spec's, `WorkingDir`, `User` as numbers,
//! `Labels` and `StopSignal` as annotations; notes on what a runtime spec cannot say
//! (`ExposedPorts`, `Volumes`).

mod user;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;
use serde_json::{json, Value};

pub use user::{resolve_user, resolve_user_in, User};

/// The annotation the image spec names for `StopSignal`.
pub const STOP_SIGNAL_ANNOTATION: &str = "org.opencontainers.image.stopSignal";

/// An image config that cannot be applied.
#[derive(Debug, thiserror::Error)]
pub enum ImageConfigError {
    /// A field has the wrong JSON type.
    #[error("image config: field `config.{field}`: {why}")]
    Field {
        /// The field under `config`.
        field: &'static str,
        /// What is wrong.
        why: String,
    },
    /// `User` names a user or group the image does not have.
    #[error("image config: user {user:?}: {why}")]
    User {
        /// The `User` value.
        user: String,
        /// What is wrong.
        why: String,
    },
    /// The image's passwd or group file could not be read.
    #[error("read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The resulting spec does not parse (a bug or a strange base spec).
    #[error("image config: the spec does not parse back: {0}")]
    Spec(String),
}

/// Applies `image` (with its `config` object) to `spec`; returns notes on what was
/// left out. `rootfs` is where the image's files are (for `/etc/passwd`).
pub fn apply_image_config(
    spec: &Spec,
    image: &Value,
    rootfs: &Path,
) -> Result<(Spec, Vec<String>), ImageConfigError> {
    let empty = json!({});
    let cfg = image
        .get("config")
        .filter(|c| c.is_object())
        .unwrap_or(&empty);
    let mut doc = serde_json::to_value(spec).map_err(|e| ImageConfigError::Spec(e.to_string()))?;
    let process = &mut doc["process"];
    let args = [strings(cfg, "Entrypoint")?, strings(cfg, "Cmd")?].concat();
    if !args.is_empty() {
        process["args"] = json!(args);
    }
    let base = strings(process, "env").unwrap_or_default();
    process["env"] = json!(merge_env(base, strings(cfg, "Env")?));
    if let Some(dir) = text(cfg, "WorkingDir")?.filter(|d| !d.is_empty()) {
        process["cwd"] = json!(Path::new("/").join(dir));
    }
    if let Some(name) = text(cfg, "User")? {
        let u = resolve_user(name, rootfs)?;
        process["user"] = json!({"uid": u.uid, "gid": u.gid, "additionalGids": u.additional_gids});
    }
    let annotations = annotations(cfg)?;
    if !annotations.is_empty() {
        let map = doc["annotations"].as_object().cloned().unwrap_or_default();
        let mut merged: BTreeMap<String, Value> = annotations.into_iter().collect();
        merged.extend(map);
        doc["annotations"] = json!(merged);
    }
    let spec = serde_json::from_value(doc).map_err(|e| ImageConfigError::Spec(e.to_string()))?;
    Ok((spec, notes(cfg)))
}

/// `KEY=VALUE` lists: each of `over` replaces the same key in `base` or is appended.
fn merge_env(mut base: Vec<String>, over: Vec<String>) -> Vec<String> {
    let key = |e: &str| e.split_once('=').map_or(e, |(k, _)| k).to_string();
    for e in over {
        let k = key(&e);
        match base.iter_mut().find(|b| key(b) == k) {
            Some(slot) => *slot = e,
            None => base.push(e),
        }
    }
    base
}

/// `Labels` and `StopSignal` as annotations.
fn annotations(cfg: &Value) -> Result<Vec<(String, Value)>, ImageConfigError> {
    let mut out = Vec::new();
    match cfg.get("Labels") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                let v = v
                    .as_str()
                    .ok_or_else(|| field("Labels", "values must be strings"))?;
                out.push((k.clone(), json!(v)));
            }
        }
        Some(_) => return Err(field("Labels", "must be an object")),
    }
    if let Some(sig) = text(cfg, "StopSignal")?.filter(|s| !s.is_empty()) {
        out.push((STOP_SIGNAL_ANNOTATION.into(), json!(sig)));
    }
    Ok(out)
}

/// What the image asks for that a runtime spec does not do.
fn notes(cfg: &Value) -> Vec<String> {
    let keys = |f: &str| {
        cfg.get(f)
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect::<Vec<_>>().join(", "))
            .filter(|k| !k.is_empty())
    };
    let mut notes = Vec::new();
    if let Some(v) = keys("Volumes") {
        notes.push(format!(
            "the image declares volumes ({v}): not mounted; add mounts to config.json"
        ));
    }
    if let Some(p) = keys("ExposedPorts") {
        notes.push(format!("the image exposes ports ({p}): informational only"));
    }
    notes
}

/// A list of strings (absent or null: empty).
fn strings(v: &Value, name: &'static str) -> Result<Vec<String>, ImageConfigError> {
    match v.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|s| s.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| field(name, "must be a list of strings")),
        Some(_) => Err(field(name, "must be a list of strings")),
    }
}

/// A string (absent or null: `None`).
fn text<'a>(v: &'a Value, name: &'static str) -> Result<Option<&'a str>, ImageConfigError> {
    match v.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(field(name, "must be a string")),
    }
}

fn field(field: &'static str, why: &str) -> ImageConfigError {
    ImageConfigError::Field {
        field,
        why: why.into(),
    }
}

#[cfg(test)]
mod tests;
