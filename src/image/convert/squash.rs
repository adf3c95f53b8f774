//! The [`Tree`] to a squashfs image with Debian's `mksquashfs`: the tree is written
//! out as plain files, directories, symlinks and hard links with the image's modes,
//! mtimes and xattrs; owners are set with `lchown` as root, and for an ordinary user
//! inside a user namespace that maps the subordinate ids (`unshare --map-auto`), so
//! the image's uids/gids land in the squashfs without real root. Device nodes and
//! fifos come from a pseudo file (`-pf`). mksquashfs 4.5 cannot combine a pseudo
//! "modify" of a directory with pseudo entries below it, hence owners and modes are
//! set on the staged files rather than in the pseudo file. Output is reproducible:
//! fixed filesystem and root times, and mksquashfs sorts directory entries itself.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::tree::{Kind, Node, Tree};
use crate::image::Error;

mod meta;

/// The compressor: zstd level 3 packs about as small as mksquashfs' default (gzip
/// level 9) in a fraction of the time (docs/benchmarks.md, "Image pull"); fusefs,
/// squashfuse, Apptainer and the kernel all read it.
const COMPRESSION: [&str; 4] = ["-comp", "zstd", "-Xcompression-level", "3"];

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
    let mut args: Vec<String> = vec![root.display().to_string(), out.display().to_string()];
    for a in ["-noappend", "-no-progress", "-quiet", "-mkfs-time", "0"] {
        args.push(a.into());
    }
    args.extend(COMPRESSION.iter().map(|a| a.to_string()));
    args.extend([
        "-root-mode".into(),
        format!("{:o}", top.mode),
        "-root-uid".into(),
        top.uid.to_string(),
    ]);
    args.extend([
        "-root-gid".into(),
        top.gid.to_string(),
        "-root-time".into(),
        top.mtime.to_string(),
    ]);
    args.extend(["-pf".into(), pf.display().to_string()]);
    let owned: Vec<(&[u8], &Node)> = tree
        .nodes
        .iter()
        .filter(|(p, _)| !p.is_empty())
        .map(|(p, n)| (p.as_slice(), n))
        .collect();
    let mut cmd = if nix::unistd::geteuid().is_root() {
        meta::apply_as_root(&root, &owned)?;
        let mut c = Command::new("mksquashfs");
        c.args(&args);
        c
    } else {
        meta::command_in_userns(&root, stage, &owned, &args)?
    };
    let output = cmd.output().map_err(|e| {
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

/// Writes the tree under `root` (content, links, mtimes, xattrs); returns the pseudo
/// file definitions of devices and fifos.
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
            }
            Kind::Block(maj, min) => {
                let _ = writeln!(pseudo, "{quoted} B {t} {m:o} {u} {g} {maj} {min}");
            }
            Kind::Fifo => {
                let _ = writeln!(pseudo, "{quoted} I {t} {m:o} {u} {g} f");
            }
        }
    }
    meta::set_xattrs_and_times(tree, root)?;
    Ok(pseudo)
}

/// Paths grouped by a key (owner or mode), for batch `chown`/`chmod`.
pub(crate) type Groups = BTreeMap<String, Vec<PathBuf>>;

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
