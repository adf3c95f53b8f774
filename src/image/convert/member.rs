//! One tar member to a tree [`Node`]: its kind (a regular file's bytes appended to
//! the spool, a hard link resolved to a file already in the tree), its metadata,
//! and its PAX records (xattrs, large ids and times).

use std::io::Read;

use super::layer::{clean_path, MemberError};
use super::tree::{Kind, Node, Tree};

/// The node a member describes; spools a regular file's bytes.
pub(super) fn member_node<R: Read>(
    tree: &mut Tree,
    index: usize,
    path: &[u8],
    entry: &mut tar::Entry<'_, R>,
) -> Result<Node, MemberError> {
    let h = entry.header().clone();
    let refused = |w: &str| MemberError::Refused(w.to_string());
    let dev = || -> Result<(u32, u32), MemberError> {
        let major = h.device_major().ok().flatten().unwrap_or(0);
        let minor = h.device_minor().ok().flatten().unwrap_or(0);
        Ok((major, minor))
    };
    let kind = match h.entry_type() {
        tar::EntryType::Directory => Kind::Dir,
        tar::EntryType::Regular | tar::EntryType::Continuous => Kind::File {
            data: tree.add_data(entry)?,
        },
        tar::EntryType::Symlink => Kind::Symlink(
            entry
                .link_name_bytes()
                .ok_or_else(|| refused("symlink without a target"))?
                .into_owned(),
        ),
        tar::EntryType::Link => return hard_link(tree, index, path, entry),
        tar::EntryType::Char => Kind::Char(dev()?.0, dev()?.1),
        tar::EntryType::Block => Kind::Block(dev()?.0, dev()?.1),
        tar::EntryType::Fifo => Kind::Fifo,
        other => {
            return Err(MemberError::Refused(format!(
                "unsupported member type {other:?}"
            )))
        }
    };
    // Empty numeric fields read as 0, as Go's archive/tar (which wrote most layers) does.
    let mut node = Node {
        kind,
        mode: h.mode().unwrap_or(0o644) & 0o7777,
        uid: u32_of(h.uid().unwrap_or(0)),
        gid: u32_of(h.gid().unwrap_or(0)),
        mtime: h.mtime().unwrap_or(0),
        xattrs: Vec::new(),
        layer: index,
    };
    apply_pax(&mut node, entry)?;
    Ok(node)
}

/// A hard link: a new name for a regular file already in the tree.
fn hard_link<R: Read>(
    tree: &mut Tree,
    index: usize,
    path: &[u8],
    entry: &mut tar::Entry<'_, R>,
) -> Result<Node, MemberError> {
    let raw = entry
        .link_name_bytes()
        .ok_or_else(|| MemberError::Refused("hard link without a target".into()))?;
    let target =
        clean_path(&raw).map_err(|w| MemberError::Refused(format!("hard link target: {w}")))?;
    match tree.nodes.get(&target) {
        Some(
            n @ Node {
                kind: Kind::File { .. },
                ..
            },
        ) if target != path => Ok(Node {
            layer: index,
            ..n.clone()
        }),
        Some(_) => Err(MemberError::Refused(format!(
            "hard link to {:?}, which is not a regular file",
            String::from_utf8_lossy(&target)
        ))),
        None => Err(MemberError::Refused(format!(
            "hard link to {:?}, which does not exist",
            String::from_utf8_lossy(&target)
        ))),
    }
}

/// PAX records: `SCHILY.xattr.*` and large `uid`/`gid`/`mtime` values.
fn apply_pax<R: Read>(node: &mut Node, entry: &mut tar::Entry<'_, R>) -> Result<(), MemberError> {
    let Some(exts) = entry.pax_extensions()? else {
        return Ok(());
    };
    for ext in exts {
        let ext = ext?;
        let (Ok(key), value) = (ext.key(), ext.value_bytes()) else {
            continue;
        };
        let num = || {
            std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.split('.').next()?.parse::<u64>().ok())
        };
        match key {
            "uid" => node.uid = num().map_or(node.uid, u32_of),
            "gid" => node.gid = num().map_or(node.gid, u32_of),
            "mtime" => node.mtime = num().unwrap_or(node.mtime),
            k => {
                if let Some(name) = k.strip_prefix("SCHILY.xattr.") {
                    node.xattrs.push((name.to_string(), value.to_vec()));
                }
            }
        }
    }
    node.xattrs.sort();
    Ok(())
}

fn u32_of(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}
