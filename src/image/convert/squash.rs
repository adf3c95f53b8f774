//! The [`Tree`] to a squashfs image with Debian's `mksquashfs`, without root: the
//! tree is written out as plain files, directories and symlinks (hard links as
//! links), and a pseudo file (`-pf`) gives every entry its image mode, uid, gid and
//! mtime and adds device nodes and fifos. The output is reproducible: fixed
//! filesystem and root times, and mksquashfs sorts directory entries itself.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::tree::{Kind, Node, Tree};
use crate::image::Error;

/// Writes `tree` as a squashfs image to `out`, using `stage` as scratch space.
pub(crate) fn build(tree: &Tree, stage: &Path, out: &Path) -> Result<(), Error> {
    let root = stage.join("root");
    let pseudo = materialize(tree, &root)?;
    let pf = stage.join("pseudo");
    std::fs::write(&pf, pseudo).map_err(|e| Error::io("writing", &pf, e))?;
    let top = tree
        .nodes
        .get(&b""[..])
        .cloned()
        .unwrap_or_else(|| Node::implicit_dir(0));
    let output = Command::new("mksquashfs")
        .arg(&root)
        .arg(out)
        .args(["-noappend", "-no-progress", "-quiet", "-mkfs-time", "0"])
        .args([
            "-root-mode",
            &format!("{:o}", top.mode),
            "-root-uid",
            &top.uid.to_string(),
        ])
        .args([
            "-root-gid",
            &top.gid.to_string(),
            "-root-time",
            &top.mtime.to_string(),
        ])
        .arg("-pf")
        .arg(&pf)
        .output()
        .map_err(|e| {
            Error::Squashfs(format!(
                "running mksquashfs (is squashfs-tools installed?): {e}"
            ))
        })?;
    if !output.status.success() {
        let err = String::from_utf8_lossy(&output.stderr);
        return Err(Error::Squashfs(format!(
            "mksquashfs failed ({}): {}",
            output.status,
            err.trim()
        )));
    }
    Ok(())
}

/// Writes the tree under `root`; returns the pseudo file definitions.
fn materialize(tree: &Tree, root: &Path) -> Result<String, Error> {
    std::fs::create_dir(root).map_err(|e| Error::io("creating", root, e))?;
    let mut pseudo = String::new();
    let mut first_link: HashMap<u64, PathBuf> = HashMap::new();
    for (path, node) in tree.nodes.iter().filter(|(p, _)| !p.is_empty()) {
        let dest = root.join(OsStr::from_bytes(path));
        let io = |op: &'static str| {
            let dest = dest.clone();
            move |e| Error::io(op, dest, e)
        };
        let quoted = quote(path);
        let (t, m, u, g) = (node.mtime, node.mode, node.uid, node.gid);
        match &node.kind {
            Kind::Dir => std::fs::create_dir(&dest).map_err(io("creating"))?,
            Kind::File { data } => match first_link.get(data) {
                Some(first) => std::fs::hard_link(first, &dest).map_err(io("linking"))?,
                None => {
                    std::fs::rename(tree.data_path(*data), &dest).map_err(io("placing"))?;
                    first_link.insert(*data, dest.clone());
                }
            },
            Kind::Symlink(target) => std::os::unix::fs::symlink(OsStr::from_bytes(target), &dest)
                .map_err(io("creating symlink"))?,
            Kind::Char(maj, min) => {
                let _ = writeln!(pseudo, "{quoted} C {t} {m:o} {u} {g} {maj} {min}");
                continue;
            }
            Kind::Block(maj, min) => {
                let _ = writeln!(pseudo, "{quoted} B {t} {m:o} {u} {g} {maj} {min}");
                continue;
            }
            Kind::Fifo => {
                let _ = writeln!(pseudo, "{quoted} I {t} {m:o} {u} {g} f");
                continue;
            }
        }
        let _ = writeln!(pseudo, "{quoted} M {t} {m:o} {u} {g}");
        set_xattrs(&root.join(OsStr::from_bytes(path)), &node.xattrs);
    }
    Ok(pseudo)
}

/// Sets a member's xattrs on the staged file; those we may not set (`security.*`,
/// `trusted.*` without root) are dropped with a warning.
fn set_xattrs(path: &Path, xattrs: &[(String, Vec<u8>)]) {
    for (name, value) in xattrs {
        if let Err(e) = xattr::set(path, name, value) {
            tracing::warn!(path = %path.display(), xattr = %name, error = %e, "dropping an xattr we may not set");
        }
    }
}

/// A pseudo-file path: quoted, with `"` and `\` escaped.
fn quote(path: &[u8]) -> String {
    let mut out = String::from("\"");
    for ch in String::from_utf8_lossy(path).chars() {
        if ch == '"' || ch == '\\' {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('"');
    out
}
