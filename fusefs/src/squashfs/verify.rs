//! A full check of an image: every directory, inode, file block, symlink and xattr.
//!
//! Walks from the root with a visited set (a corrupt image may link a directory into
//! itself), so it ends on any input; the first damage found is returned as the error.

use std::collections::HashSet;

use super::error::{Error, Result};
use super::inode::{InodeRef, Kind};
use super::Squashfs;

/// What a successful [`Squashfs::verify`] saw.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Directories walked.
    pub dirs: u64,
    /// Regular files read.
    pub files: u64,
    /// Other inodes (symlinks, devices, fifos, sockets).
    pub others: u64,
    /// File bytes read.
    pub bytes: u64,
}

impl Squashfs {
    /// Reads everything reachable from the root; an error names the first damage found.
    pub fn verify(&self) -> Result<VerifyReport> {
        let mut report = VerifyReport::default();
        let mut seen: HashSet<InodeRef> = HashSet::new();
        let mut stack = vec![self.root()?];
        while let Some(inode) = stack.pop() {
            if !seen.insert(inode.inode_ref) {
                if inode.kind == Kind::Dir {
                    return Err(Error::corrupt("directory linked twice", inode.inode_ref.0));
                }
                continue;
            }
            self.xattrs(&inode)?;
            match inode.kind {
                Kind::Dir => {
                    report.dirs += 1;
                    let dir = self.read_dir(&inode)?;
                    for e in dir.entries() {
                        stack.push(self.entry_inode(e)?);
                    }
                }
                Kind::File => {
                    report.files += 1;
                    let bs = u64::from(self.superblock().block_size);
                    for index in 0..inode.size.div_ceil(bs) {
                        report.bytes += self.read_block(&inode, index)?.len() as u64;
                    }
                }
                Kind::Symlink => {
                    report.others += 1;
                    self.read_link(&inode)?;
                }
                _ => report.others += 1,
            }
        }
        Ok(report)
    }
}
