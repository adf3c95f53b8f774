//! Applying one layer (a tar, plain, gzip or zstd) onto the [`Tree`]: whiteouts and
//! opaque directories (`.wh.NAME`, `.wh..wh..opq`) against lower layers, hard links
//! (also to files of lower layers), modes, image uids/gids, PAX xattrs, devices,
//! symlinks. A member that would land outside the root is refused: absolute paths,
//! `..`, a path through a symlink, a hard link to a path outside or to a non-file.

use std::io::{self, BufRead, BufReader, Read};

use super::member::member_node;
use super::tree::{parent, Kind, Node, Tree};
use crate::image::Error;

/// Most members one layer may have.
const MAX_MEMBERS: usize = 4_000_000;
/// Longest member path accepted.
const MAX_PATH: usize = 4096;

const WHITEOUT: &[u8] = b".wh.";
const OPAQUE: &[u8] = b".wh..wh..opq";

/// Applies layer number `index` (`digest` for messages), read from `raw`.
pub(crate) fn apply(
    tree: &mut Tree,
    index: usize,
    digest: &str,
    raw: impl Read,
) -> Result<(), Error> {
    let bad_layer = |why: String| Error::BadLayer {
        layer: digest.to_string(),
        why,
    };
    let mut archive = tar::Archive::new(decompress(raw).map_err(|e| bad_layer(e.to_string()))?);
    let entries = archive.entries().map_err(|e| bad_layer(e.to_string()))?;
    for (n, entry) in entries.enumerate() {
        if n >= MAX_MEMBERS {
            return Err(bad_layer(format!("more than {MAX_MEMBERS} members")));
        }
        let mut entry = entry.map_err(|e| bad_layer(format!("reading member {n}: {e}")))?;
        let raw_path = entry.path_bytes().into_owned();
        let member = |why: String| Error::BadLayerMember {
            layer: digest.to_string(),
            member: String::from_utf8_lossy(&raw_path).into_owned(),
            why,
        };
        let path = clean_path(&raw_path).map_err(|w| member(w.to_string()))?;
        apply_member(tree, index, &path, &mut entry).map_err(|e| match e {
            MemberError::Refused(w) => member(w),
            MemberError::Io(e) => bad_layer(format!(
                "member {:?}: {e}",
                String::from_utf8_lossy(&raw_path)
            )),
        })?;
    }
    Ok(())
}

/// Sniffs gzip and zstd magic; anything else is read as a plain tar.
fn decompress<'a>(raw: impl Read + 'a) -> io::Result<Box<dyn Read + 'a>> {
    let mut r = BufReader::with_capacity(256 * 1024, raw);
    let head = r.fill_buf()?;
    Ok(if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::MultiGzDecoder::new(r))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Box::new(zstd::stream::read::Decoder::with_buffer(r)?)
    } else {
        Box::new(r)
    })
}

pub(super) enum MemberError {
    Refused(String),
    Io(io::Error),
}

impl From<io::Error> for MemberError {
    fn from(e: io::Error) -> Self {
        MemberError::Io(e)
    }
}

/// `./a//b/` → `a/b`; refuses absolute paths, `..`, NUL and newlines, overlong paths.
pub(super) fn clean_path(raw: &[u8]) -> Result<Vec<u8>, &'static str> {
    if raw.first() == Some(&b'/') {
        return Err("absolute path");
    }
    if raw.len() > MAX_PATH || raw.iter().any(|&b| b == b'\n' || b == 0) {
        return Err("overlong path or a NUL/newline in it");
    }
    let mut out = Vec::with_capacity(raw.len());
    for comp in raw.split(|&b| b == b'/') {
        match comp {
            b"" | b"." => {}
            b".." => return Err("path with a .. component"),
            c => {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(c);
            }
        }
    }
    Ok(out)
}

/// Makes sure every ancestor of `path` is a directory (creating missing ones);
/// refuses a path through a symlink or a non-directory.
fn ensure_parents(tree: &mut Tree, index: usize, path: &[u8]) -> Result<(), MemberError> {
    let mut ends: Vec<usize> = path
        .iter()
        .enumerate()
        .filter(|(_, &b)| b == b'/')
        .map(|(i, _)| i)
        .collect();
    ends.push(path.len());
    for &end in &ends[..ends.len() - 1] {
        let anc = &path[..end];
        match tree.nodes.get(anc).map(|n| &n.kind) {
            Some(Kind::Dir) => {}
            Some(Kind::Symlink(_)) => {
                return Err(MemberError::Refused(format!(
                    "path through the symlink {:?}",
                    String::from_utf8_lossy(anc)
                )))
            }
            Some(_) => {
                return Err(MemberError::Refused(format!(
                    "parent {:?} is not a directory",
                    String::from_utf8_lossy(anc)
                )))
            }
            None => {
                tree.nodes.insert(anc.to_vec(), Node::implicit_dir(index));
            }
        }
    }
    Ok(())
}

fn apply_member<R: Read>(
    tree: &mut Tree,
    index: usize,
    path: &[u8],
    entry: &mut tar::Entry<'_, R>,
) -> Result<(), MemberError> {
    ensure_parents(tree, index, path)?;
    let name = path.rsplit(|&b| b == b'/').next().unwrap_or(b"");
    if name == OPAQUE {
        tree.remove_below(parent(path), index, true);
        return Ok(());
    }
    if let Some(hidden) = name.strip_prefix(WHITEOUT) {
        if !hidden.starts_with(WHITEOUT) && !hidden.is_empty() {
            let mut target = parent(path).to_vec();
            if !target.is_empty() {
                target.push(b'/');
            }
            target.extend_from_slice(hidden);
            tree.remove_below(&target, index, false);
        }
        return Ok(());
    }
    let node = member_node(tree, index, path, entry)?;
    if path.is_empty() && node.kind != Kind::Dir {
        return Err(MemberError::Refused("the root must be a directory".into()));
    }
    tree.put(path.to_vec(), node);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_and_refuses_paths() {
        assert_eq!(clean_path(b"./a//b/").unwrap(), b"a/b");
        assert_eq!(clean_path(b"./").unwrap(), b"");
        assert!(clean_path(b"/etc/passwd").is_err());
        assert!(clean_path(b"a/../../x").is_err());
        assert!(clean_path(b"a\nb").is_err());
    }

    /// Seeded corruption: a valid layer with bytes flipped never panics.
    #[test]
    fn corrupted_layers_fail_cleanly() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_path("dir/file").unwrap();
        h.set_size(5);
        h.set_mode(0o644);
        h.set_cksum();
        b.append(&h, &b"hello"[..]).unwrap();
        b.append_link(&mut tar::Header::new_gnu(), "dir/link", "dir/file")
            .unwrap();
        let good = b.into_inner().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..500 {
            let mut bad = good.clone();
            for _ in 0..4 {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let at = (seed >> 33) as usize % bad.len();
                bad[at] ^= (seed >> 24) as u8 | 1;
            }
            let _ = crate::image::convert::apply_layer_for_test(&bad, dir.path());
        }
    }
}
