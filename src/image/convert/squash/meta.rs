//! Image metadata on the staged tree: xattrs and mtimes for everyone; owners and
//! modes with `lchown`/`chmod` as root, or by `chown`/`chmod` run inside a user
//! namespace mapping the subordinate ids (ordinary users), right before mksquashfs.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use nix::sys::stat::{utimensat, UtimensatFlags};
use nix::sys::time::TimeSpec;

use super::super::tree::{Kind, Node, Tree};
use super::Groups;
use crate::image::Error;

/// Staged entries (not devices/fifos, which the pseudo file makes).
fn staged<'a>(
    nodes: &'a [(&'a [u8], &'a Node)],
) -> impl Iterator<Item = (&'a [u8], &'a Node)> + 'a {
    nodes
        .iter()
        .copied()
        .filter(|(_, n)| matches!(n.kind, Kind::Dir | Kind::File { .. } | Kind::Symlink(_)))
}

/// Sets xattrs (those we may not set are dropped with a warning) and mtimes.
pub(super) fn set_xattrs_and_times(tree: &Tree, root: &Path) -> Result<(), Error> {
    for (path, node) in tree.nodes.iter().filter(|(p, _)| !p.is_empty()) {
        if matches!(node.kind, Kind::Char(..) | Kind::Block(..) | Kind::Fifo) {
            continue;
        }
        let p = root.join(OsStr::from_bytes(path));
        for (name, value) in &node.xattrs {
            if let Err(e) = xattr::set(&p, name, value) {
                tracing::warn!(path = %p.display(), xattr = %name, error = %e, "dropping an xattr we may not set");
            }
        }
        let t = TimeSpec::new(i64::try_from(node.mtime).unwrap_or(0), 0);
        utimensat(
            nix::fcntl::AT_FDCWD,
            &p,
            &t,
            &t,
            UtimensatFlags::NoFollowSymlink,
        )
        .map_err(|e| Error::io("setting the mtime of", &p, e.into()))?;
    }
    Ok(())
}

/// As root: owners, then modes (chown clears setuid bits).
/// An id this (possibly namespaced) root cannot own files as (EINVAL: not mapped in
/// our user namespace) is left as ours, with one warning.
pub(super) fn apply_as_root(root: &Path, nodes: &[(&[u8], &Node)]) -> Result<(), Error> {
    let mut warned = false;
    for (path, node) in staged(nodes) {
        let p = root.join(OsStr::from_bytes(path));
        match std::os::unix::fs::lchown(&p, Some(node.uid), Some(node.gid)) {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                if !std::mem::replace(&mut warned, true) {
                    tracing::warn!(
                        uid = node.uid,
                        gid = node.gid,
                        "image owner not mapped in this user namespace: recorded as root"
                    );
                }
            }
            res => res.map_err(|e| Error::io("chown", &p, e))?,
        }
        if !matches!(node.kind, Kind::Symlink(_)) {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(node.mode))
                .map_err(|e| Error::io("chmod", &p, e))?;
        }
    }
    Ok(())
}

/// As an ordinary user: a command that, in a user namespace mapping our subordinate
/// ids (falling back to just our own id as root, owners then dropped with a warning),
/// runs chown and chmod over NUL-separated path lists and then mksquashfs.
pub(super) fn command_in_userns(
    root: &Path,
    stage: &Path,
    nodes: &[(&[u8], &Node)],
    args: &[String],
) -> Result<Command, Error> {
    let (mut owners, mut modes) = (Groups::new(), Groups::new());
    for (path, node) in staged(nodes) {
        let p = root.join(OsStr::from_bytes(path));
        owners
            .entry(format!("{}:{}", node.uid, node.gid))
            .or_default()
            .push(p.clone());
        if !matches!(node.kind, Kind::Symlink(_)) {
            modes.entry(format!("{:o}", node.mode)).or_default().push(p);
        }
    }
    let mut script = String::from("set -e\n");
    write_groups(stage, "owner", &owners, "chown -h", &mut script)?;
    write_groups(stage, "mode", &modes, "chmod", &mut script)?;
    script.push_str("exec mksquashfs \"$@\"\n");
    let mut c = Command::new("unshare");
    c.arg("--user");
    if subids_mapped() {
        c.arg("--map-auto");
    } else {
        tracing::warn!(
            "no subordinate ids for this user: image owners other than root are recorded as root"
        );
        script = script.replace("set -e\n", "");
    }
    c.args(["--map-root-user", "--", "sh", "-c", &script, "sh"])
        .args(args);
    Ok(c)
}

/// One list file per group and the shell line that applies it.
fn write_groups(
    stage: &Path,
    what: &str,
    groups: &Groups,
    cmd: &str,
    script: &mut String,
) -> Result<(), Error> {
    for (i, (key, paths)) in groups.iter().enumerate() {
        let list: PathBuf = stage.join(format!("{what}.{i}"));
        let mut bytes = Vec::new();
        for p in paths {
            bytes.extend_from_slice(p.as_os_str().as_bytes());
            bytes.push(0);
        }
        std::fs::write(&list, bytes).map_err(|e| Error::io("writing", &list, e))?;
        let _ = writeln!(script, "xargs -0 -r {cmd} {key} -- < '{}'", list.display());
    }
    Ok(())
}

/// Whether /etc/subuid and /etc/subgid give this user ranges `unshare --map-auto` uses.
fn subids_mapped() -> bool {
    let user = nix::unistd::User::from_uid(nix::unistd::geteuid())
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_default();
    let has = |f: &str| {
        std::fs::read_to_string(f).is_ok_and(|t| {
            t.lines()
                .any(|l| l.split(':').next() == Some(user.as_str()))
        })
    };
    !user.is_empty() && has("/etc/subuid") && has("/etc/subgid")
}
