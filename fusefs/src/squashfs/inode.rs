//! Inodes: decoded on demand from the inode table by [`InodeRef`], cached whole.
//!
//! Every inode type is read, basic and extended (dir/ldir, reg/lreg, symlink/lsymlink,
//! blk/chr/lblk/lchr, fifo/lfifo, sock/lsock); uid/gid indices are resolved through the
//! id table here, so an [`Inode`] is all a caller needs for `stat`.

mod decode;

/// A reference to an inode: metadata block (relative to the inode table) << 16 | offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InodeRef(pub u64);

impl InodeRef {
    /// Builds a reference from a block start and an offset inside it.
    pub fn new(block: u32, offset: u16) -> Self {
        Self((u64::from(block) << 16) | u64::from(offset))
    }
    fn block(self) -> u64 {
        self.0 >> 16
    }
    fn offset(self) -> usize {
        (self.0 & 0xffff) as usize
    }
}

/// What kind of file an inode is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Directory.
    Dir,
    /// Regular file.
    File,
    /// Symbolic link.
    Symlink,
    /// Block device.
    BlockDev,
    /// Character device.
    CharDev,
    /// Named pipe.
    Fifo,
    /// Unix socket.
    Socket,
}

impl Kind {
    /// The kind of inode or directory-entry type `t` (basic and extended alike).
    pub(crate) fn from_type(t: u16) -> Option<Self> {
        Some(match t {
            1 | 8 => Self::Dir,
            2 | 9 => Self::File,
            3 | 10 => Self::Symlink,
            4 | 11 => Self::BlockDev,
            5 | 12 => Self::CharDev,
            6 | 13 => Self::Fifo,
            7 | 14 => Self::Socket,
            _ => return None,
        })
    }

    /// The `S_IF*` bits of this kind.
    pub fn mode_bits(self) -> u32 {
        match self {
            Self::Dir => 0o040000,
            Self::File => 0o100000,
            Self::Symlink => 0o120000,
            Self::BlockDev => 0o060000,
            Self::CharDev => 0o020000,
            Self::Fifo => 0o010000,
            Self::Socket => 0o140000,
        }
    }
}

/// Where a directory's listing lives in the directory table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DirLoc {
    pub(crate) block: u32,
    pub(crate) offset: u16,
    /// Listing bytes (the inode's size minus the 3 bytes of `.` and `..`).
    pub(crate) len: u32,
    pub(crate) parent: u32,
    /// The directory index of an extended directory: entry count and where it starts
    /// (image offset of the metadata block, offset inside it).
    pub(crate) index: Option<(u16, u64, usize)>,
}

/// Where a regular file's data lives.
#[derive(Debug)]
pub(crate) struct FileLayout {
    pub(crate) blocks_start: u64,
    /// On-disk size word of each full block (bit 24: uncompressed; 0: sparse).
    pub(crate) sizes: Box<[u32]>,
    /// Offset of each block from `blocks_start`.
    pub(crate) offsets: Box<[u64]>,
    /// Fragment index and offset of the tail, if the tail is in a fragment.
    pub(crate) fragment: Option<(u32, u32)>,
}

#[derive(Debug)]
pub(crate) enum Data {
    None,
    Dir(DirLoc),
    File(FileLayout),
    Symlink(Box<[u8]>),
}

/// A decoded inode.
#[derive(Debug)]
pub struct Inode {
    /// Inode number (1-based, unique per inode; hard links share it).
    pub ino: u32,
    /// Where the inode was read from.
    pub inode_ref: InodeRef,
    /// File kind.
    pub kind: Kind,
    /// Full mode: `S_IF*` bits and permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Modification time, seconds since the epoch.
    pub mtime: u32,
    /// Link count.
    pub nlink: u32,
    /// Size in bytes (file data, symlink target, directory listing + 3).
    pub size: u64,
    /// Device number of block and character devices (Linux `new_encode_dev` format).
    pub rdev: u32,
    /// Index into the xattr id table, if the inode has xattrs.
    pub xattr: Option<u32>,
    pub(crate) data: Data,
}

impl Inode {
    /// The parent directory's inode number, for directories.
    pub fn parent_ino(&self) -> Option<u32> {
        match &self.data {
            Data::Dir(d) => Some(d.parent),
            _ => None,
        }
    }
}
