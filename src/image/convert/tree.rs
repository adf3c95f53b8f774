//! The image's file tree as the layers build it up, in memory: one node per path
//! (metadata, and for regular files the id of a byte range in one spool file, to
//! which every layer's file contents are appended; a file a later layer replaces
//! just leaves dead bytes there).
//! Paths are relative, `/`-separated byte strings; the root is the empty path.
//! Layers change it through [`Tree::put`] and [`Tree::whiteout`]; `squash` turns it
//! into a squashfs image.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Read};

/// What a node is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A directory.
    Dir,
    /// A regular file whose bytes are spool range `data` (shared by hard links).
    File { data: u64 },
    /// A symbolic link to `target` (never followed).
    Symlink(Vec<u8>),
    /// A character device.
    Char(u32, u32),
    /// A block device.
    Block(u32, u32),
    /// A named pipe.
    Fifo,
}

/// A file and its metadata as recorded in the image (ids are the image's, not ours).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    pub(crate) kind: Kind,
    /// Permission bits, setuid/setgid/sticky included.
    pub(crate) mode: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) mtime: u64,
    pub(crate) xattrs: Vec<(String, Vec<u8>)>,
    /// The layer that wrote it (whiteouts only remove what lower layers wrote).
    pub(crate) layer: usize,
}

impl Node {
    /// A directory made implicitly for a member whose parent no layer created.
    pub(crate) fn implicit_dir(layer: usize) -> Node {
        Node {
            kind: Kind::Dir,
            mode: 0o755,
            uid: 0,
            gid: 0,
            mtime: 0,
            xattrs: Vec::new(),
            layer,
        }
    }
}

/// The tree: nodes by path, plus the spool holding file contents.
pub(crate) struct Tree {
    pub(crate) nodes: BTreeMap<Vec<u8>, Node>,
    /// File contents, appended as members are read.
    spool: BufWriter<File>,
    spool_len: u64,
    /// (offset, length) in the spool of each content id.
    pub(crate) data: Vec<(u64, u64)>,
}

impl Tree {
    /// An empty tree (just the root) spooling content to `spool` (empty, read+write).
    pub(crate) fn new(spool: File) -> Tree {
        let mut nodes = BTreeMap::new();
        nodes.insert(Vec::new(), Node::implicit_dir(0));
        Tree {
            nodes,
            spool: BufWriter::with_capacity(1 << 20, spool),
            spool_len: 0,
            data: Vec::new(),
        }
    }

    /// Appends `content` to the spool; returns its content id.
    pub(crate) fn add_data(&mut self, content: &mut impl Read) -> io::Result<u64> {
        let len = io::copy(content, &mut self.spool)?;
        self.data.push((self.spool_len, len));
        self.spool_len += len;
        Ok(self.data.len() as u64 - 1)
    }

    /// The spool, flushed, for reading the contents back.
    pub(crate) fn spool(&mut self) -> io::Result<&File> {
        io::Write::flush(&mut self.spool)?;
        Ok(self.spool.get_ref())
    }

    /// Removes `path` and everything below it written by layers before `layer`
    /// (all layers when `layer` is `usize::MAX`); `keep_self` keeps the node itself.
    pub(crate) fn remove_below(&mut self, path: &[u8], layer: usize, keep_self: bool) {
        let mut prefix = path.to_vec();
        if !prefix.is_empty() {
            prefix.push(b'/');
        }
        let doomed: Vec<Vec<u8>> = self
            .nodes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter(|(k, n)| n.layer < layer && !k.is_empty())
            .map(|(k, _)| k.clone())
            .collect();
        for k in doomed {
            self.nodes.remove(&k);
        }
        if !keep_self && !path.is_empty() && self.nodes.get(path).is_some_and(|n| n.layer < layer) {
            self.nodes.remove(path);
        }
    }

    /// Adds or replaces `path` (its parents must exist as directories). A directory
    /// over a directory keeps the children; anything else replaces the old subtree.
    pub(crate) fn put(&mut self, path: Vec<u8>, node: Node) {
        let dir_over_dir =
            node.kind == Kind::Dir && self.nodes.get(&path).is_some_and(|o| o.kind == Kind::Dir);
        if !dir_over_dir {
            self.remove_below(&path, usize::MAX, true);
        }
        self.nodes.insert(path, node);
    }
}

/// The parent of a relative path (the root's parent is the root).
pub(crate) fn parent(path: &[u8]) -> &[u8] {
    path.iter()
        .rposition(|&b| b == b'/')
        .map_or(&[][..], |i| &path[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(layer: usize) -> Node {
        Node {
            kind: Kind::File { data: 0 },
            layer,
            ..Node::implicit_dir(layer)
        }
    }

    #[test]
    fn whiteouts_remove_only_lower_layers() {
        let mut t = Tree::new(tempfile::tempfile().unwrap());
        t.put(b"a".to_vec(), Node::implicit_dir(0));
        t.put(b"a/x".to_vec(), file(0));
        t.put(b"a.b".to_vec(), file(0));
        t.put(b"a/y".to_vec(), file(1));
        t.remove_below(b"a", 1, true);
        let keys: Vec<_> = t.nodes.keys().cloned().collect();
        assert_eq!(
            keys,
            vec![
                b"".to_vec(),
                b"a".to_vec(),
                b"a.b".to_vec(),
                b"a/y".to_vec()
            ]
        );
        t.put(b"a".to_vec(), file(2));
        assert!(!t.nodes.contains_key(&b"a/y"[..]));
        assert_eq!(parent(b"a/b/c"), b"a/b");
        assert_eq!(parent(b"a"), b"");
    }
}
