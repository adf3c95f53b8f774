//! Field checks of a parsed spec: each failure names the JSON field.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, Process, Spec};

use super::{invalid, SpecError};
use crate::namespaces::NsPlan;

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

pub(super) fn validate_root(spec: &Spec, bundle: &Path) -> Result<PathBuf, SpecError> {
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

pub(super) fn validate_mounts(spec: &Spec) -> Result<(), SpecError> {
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

pub(super) fn validate_uts(spec: &Spec, ns: &NsPlan) -> Result<(), SpecError> {
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::spec::{Plan, SpecError};

    fn plan(edit: impl FnOnce(&mut serde_json::Value)) -> Result<Plan, SpecError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("rootfs")).unwrap();
        let mut cfg = json!({
            "ociVersion": "1.0.2",
            "process": {"user": {"uid": 0, "gid": 0}, "args": ["/bin/sh"], "cwd": "/"},
            "root": {"path": "rootfs"},
            "linux": {"namespaces": [{"type": "mount"}, {"type": "uts"}]}
        });
        edit(&mut cfg);
        std::fs::write(dir.path().join("config.json"), cfg.to_string()).unwrap();
        Plan::load(dir.path())
    }

    fn field(r: Result<Plan, SpecError>) -> String {
        match r {
            Err(SpecError::Invalid { field, .. } | SpecError::Parse { field, .. }) => field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn accepts_a_minimal_spec() {
        let p = plan(|_| {}).unwrap();
        assert!(p.rootfs.is_absolute());
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(
            field(plan(|c| c["process"]["args"] = json!([]))),
            "process.args"
        );
        assert_eq!(
            field(plan(|c| c["process"]["args"] = json!(7))),
            "process.args"
        );
        assert_eq!(
            field(plan(|c| c["process"]["cwd"] = json!("rel")))[..11],
            *"process.cwd"
        );
        assert_eq!(
            field(plan(|c| c["root"]["path"] = json!("nope"))),
            "root.path"
        );
        assert_eq!(
            field(plan(|c| c["mounts"] = json!([{"destination": "rel"}]))),
            "mounts[0].destination"
        );
        let no_uts = |c: &mut serde_json::Value| {
            c["hostname"] = json!("h");
            c["linux"]["namespaces"] = json!([{"type": "mount"}]);
        };
        assert_eq!(field(plan(no_uts)), "hostname");
        let dup = json!([{"type": "pid"}, {"type": "pid"}]);
        assert_eq!(
            field(plan(|c| c["linux"]["namespaces"] = dup)),
            "linux.namespaces[1].type"
        );
        let rl = json!([{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 5}]);
        assert_eq!(
            field(plan(|c| c["process"]["rlimits"] = rl)),
            "process.rlimits[0]"
        );
        let sc = json!({"defaultAction": "SCMP_ACT_NOTIFY"});
        assert_eq!(field(plan(|c| c["linux"]["seccomp"] = sc)), "linux.seccomp");
    }
}
