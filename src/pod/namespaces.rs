//! A pod's network, IPC and UTS namespaces, pinned by bind mounts on files in the pod's
//! runtime directory, so they outlive every process (and the daemon) until the pod
//! stops.
//!
//! The namespaces are made by util-linux `unshare --net=FILE --ipc=FILE --uts=FILE`,
//! which creates and bind-mounts them in one step, running `hostname NAME` inside
//! (so the UTS namespace gets the pod's hostname) and exiting: no holder process is
//! left to reap. A pod with its own user namespace gets them through
//! [`super::userns`] instead. Sysctls are written from inside with `nsenter`. Input:
//! the pod's config; output: the pinned files, released by [`release`].

use std::path::{Path, PathBuf};
use std::process::Command;

use proto::cri;

use super::Error;

const NODE: i32 = cri::NamespaceMode::Node as i32;

/// Creates and pins the pod's own namespaces; returns them by kind.
pub fn create(
    dir: &Path,
    config: &cri::PodSandboxConfig,
    options: &cri::NamespaceOption,
) -> Result<Vec<(String, PathBuf)>, Error> {
    let mut kinds = Vec::new();
    if options.network != NODE {
        kinds.push("net");
        kinds.push("uts");
    }
    if options.ipc != NODE {
        kinds.push("ipc");
    }
    if let Some(maps) = super::userns::requested(options)? {
        let name = hostname(config, options);
        return super::userns::create(dir, &maps, &kinds, name.as_deref());
    }
    if kinds.is_empty() {
        return Ok(Vec::new());
    }
    let pinned: Vec<(String, PathBuf)> = kinds
        .iter()
        .map(|k| (k.to_string(), dir.join(format!("ns-{k}"))))
        .collect();
    let mut cmd = Command::new("unshare");
    for (kind, file) in &pinned {
        std::fs::File::create(file).map_err(|e| Error::io("create namespace file", file, e))?;
        cmd.arg(format!("--{kind}={}", file.display()));
    }
    match hostname(config, options) {
        Some(name) => cmd.args(["--", "hostname", &name]),
        None => cmd.args(["--", "true"]),
    };
    if let Err(e) = run(&mut cmd) {
        release(&pinned);
        return Err(e);
    }
    Ok(pinned)
}

/// The hostname to set: the config's, else the pod name (only with an own UTS).
fn hostname(config: &cri::PodSandboxConfig, options: &cri::NamespaceOption) -> Option<String> {
    if options.network == NODE {
        return None;
    }
    let name = match config.hostname.as_str() {
        "" => config.metadata.as_ref()?.name.clone(),
        h => h.to_owned(),
    };
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    valid.then_some(name)
}

/// Applies sysctls inside the pod's namespaces.
pub fn sysctls(
    pinned: &[(String, PathBuf)],
    sysctls: &std::collections::HashMap<String, String>,
) -> Result<(), Error> {
    for (key, value) in sysctls {
        if key.is_empty()
            || !key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            || key.contains("..")
        {
            return Err(Error::InvalidArgument(format!("bad sysctl name {key:?}")));
        }
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        let mut cmd = Command::new("nsenter");
        for (kind, file) in pinned {
            cmd.arg(format!("--{kind}={}", file.display()));
        }
        cmd.args(["--", "sh", "-c", "printf '%s' \"$2\" > \"$1\"", "sh"]);
        cmd.args([&path, value]);
        run(&mut cmd)?;
    }
    Ok(())
}

/// Unmounts and removes pinned namespace files; returns the failures.
pub fn release(pinned: &[(String, PathBuf)]) -> Vec<Error> {
    let mut errors = Vec::new();
    for (_, file) in pinned {
        match nix::mount::umount2(file.as_path(), nix::mount::MntFlags::MNT_DETACH) {
            Ok(()) | Err(nix::Error::EINVAL) | Err(nix::Error::ENOENT) => {}
            Err(e) => errors.push(Error::io("unmount namespace", file, e.into())),
        }
        match std::fs::remove_file(file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                errors.push(Error::io("remove namespace file", file, e))
            }
            _ => {}
        }
    }
    errors
}

fn run(cmd: &mut Command) -> Result<(), Error> {
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::Command {
            command: format!("{cmd:?}"),
            message: e.to_string(),
        })?;
    if out.status.success() {
        return Ok(());
    }
    Err(Error::Command {
        command: format!("{cmd:?}"),
        message: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
    })
}
