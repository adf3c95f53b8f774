//! The [`Tree`] to a squashfs image with fusefs' in-process writer: every node
//! becomes an entry with the image's own uids, gids, modes, mtimes and xattrs (all
//! namespaces squashfs has), regular files read back from the spool. Nothing is
//! staged on disk, nothing is chowned, so an ordinary user records any owner.
//! Output is reproducible: sorted entries, creation time 0, zstd level 3.

use std::fs::File;
use std::path::Path;

use fusefs::write::{self, Entry, EntryKind, FileData, Options};

use super::tree::{Kind, Node, Tree};
use crate::image::Error;

/// Writes `tree` as a squashfs image to `out`.
pub(crate) fn build(tree: &mut Tree, out: &Path) -> Result<(), Error> {
    let entries = entries(tree)?;
    let mut f = File::create(out).map_err(|e| Error::io("creating", out, e))?;
    let spool = tree
        .spool()
        .map_err(|e| Error::Squashfs(format!("flushing the file spool: {e}")))?;
    // A scratch file: the SIF made from it is synced when the store commits it.
    let summary = write::write_image(&entries, spool, &mut f, &Options::default())
        .map_err(|e| Error::Squashfs(format!("writing the squashfs image: {e}")))?;
    if summary.skipped_xattrs > 0 {
        tracing::warn!(
            count = summary.skipped_xattrs,
            "xattrs outside the user., trusted. and security. namespaces dropped (squashfs cannot hold them)"
        );
    }
    Ok(())
}

/// The writer's tree: one entry per node.
fn entries(tree: &Tree) -> Result<write::Tree, Error> {
    let mut out = write::Tree::new();
    for (path, node) in &tree.nodes {
        out.insert(path.clone(), entry(tree, node)?);
    }
    Ok(out)
}

fn entry(tree: &Tree, n: &Node) -> Result<Entry, Error> {
    let kind = match &n.kind {
        Kind::Dir => EntryKind::Dir,
        Kind::File { data } => {
            let range = usize::try_from(*data).ok().and_then(|i| tree.data.get(i));
            let &(offset, len) =
                range.ok_or_else(|| Error::Squashfs(format!("no spooled content {data}")))?;
            EntryKind::File(FileData {
                id: *data,
                offset,
                len,
            })
        }
        Kind::Symlink(t) => EntryKind::Symlink(t.clone()),
        Kind::Char(ma, mi) => EntryKind::Char(*ma, *mi),
        Kind::Block(ma, mi) => EntryKind::Block(*ma, *mi),
        Kind::Fifo => EntryKind::Fifo,
    };
    Ok(Entry {
        kind,
        mode: (n.mode & 0o7777) as u16,
        uid: n.uid,
        gid: n.gid,
        mtime: u32::try_from(n.mtime).unwrap_or(u32::MAX),
        xattrs: n
            .xattrs
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.clone()))
            .collect(),
    })
}
