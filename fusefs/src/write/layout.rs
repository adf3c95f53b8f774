//! The tree as the writer walks it: one node per entry with its children sorted by
//! name (squashfs listings are sorted bytewise), the order inodes are written in
//! (post-order: a directory's subdirectories, then its other children, then itself,
//! so every listing can name its children's inode references), inode numbers in that
//! order (hard links share one), link counts, and the distinct files in data order.

use std::collections::HashMap;

use super::error::WriteError;
use super::{Entry, EntryKind, Tree};

/// The root when the tree has none.
static DEFAULT_ROOT: Entry = Entry {
    kind: EntryKind::Dir,
    mode: 0o755,
    uid: 0,
    gid: 0,
    mtime: 0,
    xattrs: Vec::new(),
};

/// Longest name squashfs stores.
const MAX_NAME: usize = 256;

pub(crate) struct Node<'a> {
    pub(crate) name: &'a [u8],
    pub(crate) entry: &'a Entry,
    pub(crate) parent: usize,
    pub(crate) children: Vec<usize>,
}

pub(crate) struct Layout<'a> {
    /// Node 0 is the root; the rest in path order.
    pub(crate) nodes: Vec<Node<'a>>,
    /// Nodes in inode write order (every name of a hard link included).
    pub(crate) order: Vec<usize>,
    /// Inode number of each node.
    pub(crate) ino: Vec<u32>,
    /// Link count of each node's inode.
    pub(crate) nlink: Vec<u32>,
    /// The node whose metadata a hard-linked inode takes (first by path), by file id.
    pub(crate) master: HashMap<u64, usize>,
    /// One node per distinct file, in the order their data is written.
    pub(crate) files: Vec<usize>,
    pub(crate) inode_count: u32,
}

impl<'a> Layout<'a> {
    pub(crate) fn new(tree: &'a Tree) -> Result<Layout<'a>, WriteError> {
        let root = tree.get(&b""[..]).unwrap_or(&DEFAULT_ROOT);
        if root.kind != EntryKind::Dir {
            return Err(WriteError::entry(b"", "the root is not a directory"));
        }
        let mut nodes = vec![Node {
            name: b"",
            entry: root,
            parent: 0,
            children: Vec::new(),
        }];
        let mut by_path: HashMap<&[u8], usize> = HashMap::from([(&b""[..], 0)]);
        for (path, entry) in tree.iter().filter(|(p, _)| !p.is_empty()) {
            let (parent, name) = match path.iter().rposition(|&b| b == b'/') {
                Some(i) => (&path[..i], &path[i + 1..]),
                None => (&b""[..], &path[..]),
            };
            if name.is_empty() || name.len() > MAX_NAME || name.contains(&0) {
                return Err(WriteError::entry(
                    path,
                    "name empty, over 256 bytes or with NUL",
                ));
            }
            let p = by_path
                .get(parent)
                .copied()
                .filter(|&p| nodes[p].entry.kind == EntryKind::Dir);
            let p = p.ok_or_else(|| WriteError::Orphan {
                path: String::from_utf8_lossy(path).into_owned(),
            })?;
            let idx = nodes.len();
            nodes.push(Node {
                name,
                entry,
                parent: p,
                children: Vec::new(),
            });
            nodes[p].children.push(idx);
            by_path.insert(path, idx);
        }
        for i in 0..nodes.len() {
            let mut kids = std::mem::take(&mut nodes[i].children);
            kids.sort_by(|&a, &b| nodes[a].name.cmp(nodes[b].name));
            nodes[i].children = kids;
        }
        let mut l = Layout {
            order: post_order(&nodes),
            ino: vec![0; nodes.len()],
            nlink: vec![1; nodes.len()],
            master: HashMap::new(),
            files: Vec::new(),
            inode_count: 0,
            nodes,
        };
        l.number()?;
        Ok(l)
    }

    /// Inode numbers, link counts, hard-link masters and the data order.
    fn number(&mut self) -> Result<(), WriteError> {
        let mut names: HashMap<u64, u32> = HashMap::new();
        for (i, n) in self.nodes.iter().enumerate() {
            if let EntryKind::File(d) = n.entry.kind {
                self.master.entry(d.id).or_insert(i);
                *names.entry(d.id).or_default() += 1;
            }
        }
        let mut seen: HashMap<u64, u32> = HashMap::new();
        let mut next: u32 = 0;
        for &i in &self.order {
            let n = &self.nodes[i];
            let fresh = |next: &mut u32| {
                *next = next
                    .checked_add(1)
                    .filter(|n| *n < u32::MAX)
                    .ok_or(WriteError::TooLarge("inode count"))?;
                Ok::<u32, WriteError>(*next)
            };
            self.ino[i] = match n.entry.kind {
                EntryKind::File(d) => match seen.get(&d.id) {
                    Some(&ino) => ino,
                    None => {
                        let ino = fresh(&mut next)?;
                        seen.insert(d.id, ino);
                        self.files.push(i);
                        ino
                    }
                },
                _ => fresh(&mut next)?,
            };
            self.nlink[i] = match n.entry.kind {
                EntryKind::File(d) => names.get(&d.id).copied().unwrap_or(1),
                EntryKind::Dir => {
                    let subdirs = n
                        .children
                        .iter()
                        .filter(|&&c| self.nodes[c].entry.kind == EntryKind::Dir);
                    u32::try_from(subdirs.count())
                        .unwrap_or(u32::MAX - 2)
                        .saturating_add(2)
                }
                _ => 1,
            };
        }
        self.inode_count = next;
        Ok(())
    }

    /// The node whose entry describes node `i`'s inode (itself, or its link master).
    pub(crate) fn inode_entry(&self, i: usize) -> &'a Entry {
        match self.nodes[i].entry.kind {
            EntryKind::File(d) => self
                .master
                .get(&d.id)
                .map_or(self.nodes[i].entry, |&m| self.nodes[m].entry),
            _ => self.nodes[i].entry,
        }
    }
}

/// Subdirectories first (each fully), then the other children, then the directory.
fn post_order(nodes: &[Node<'_>]) -> Vec<usize> {
    let mut order = Vec::with_capacity(nodes.len());
    let mut stack = vec![(0usize, false)];
    while let Some((d, expanded)) = stack.pop() {
        let is_dir = |c: &usize| nodes[*c].entry.kind == EntryKind::Dir;
        if expanded {
            order.extend(nodes[d].children.iter().filter(|c| !is_dir(c)));
            order.push(d);
        } else {
            stack.push((d, true));
            stack.extend(
                nodes[d]
                    .children
                    .iter()
                    .rev()
                    .filter(|c| is_dir(c))
                    .map(|&c| (c, false)),
            );
        }
    }
    order
}
