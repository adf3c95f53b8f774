//! Tar layers written member by member with raw headers, so tests can also write
//! what a well-behaved archiver never would (`..`, absolute paths, odd links).

use std::io::Write;

/// Layer media types.
pub const TAR_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const TAR_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const TAR: &str = "application/vnd.oci.image.layer.v1.tar";

/// Builds one layer.
pub struct Layer {
    b: tar::Builder<Vec<u8>>,
}

impl Default for Layer {
    fn default() -> Self {
        Layer {
            b: tar::Builder::new(Vec::new()),
        }
    }
}

impl Layer {
    fn member(
        &mut self,
        path: &[u8],
        kind: tar::EntryType,
        mode: u32,
        owner: (u64, u64),
        link: &[u8],
        data: &[u8],
    ) -> &mut Self {
        let mut h = tar::Header::new_gnu();
        {
            let g = h.as_gnu_mut().expect("gnu header");
            g.name[..path.len()].copy_from_slice(path);
            g.linkname[..link.len()].copy_from_slice(link);
        }
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(owner.0);
        h.set_gid(owner.1);
        h.set_mtime(1_600_000_000);
        h.set_size(data.len() as u64);
        h.set_cksum();
        self.b.append(&h, data).expect("append member");
        self
    }

    /// A regular file.
    pub fn file(&mut self, path: &str, data: &[u8], mode: u32, owner: (u64, u64)) -> &mut Self {
        self.member(
            path.as_bytes(),
            tar::EntryType::Regular,
            mode,
            owner,
            b"",
            data,
        )
    }

    /// A directory.
    pub fn dir(&mut self, path: &str, mode: u32, owner: (u64, u64)) -> &mut Self {
        self.member(
            path.as_bytes(),
            tar::EntryType::Directory,
            mode,
            owner,
            b"",
            b"",
        )
    }

    /// A symlink.
    pub fn symlink(&mut self, path: &str, target: &str) -> &mut Self {
        self.member(
            path.as_bytes(),
            tar::EntryType::Symlink,
            0o777,
            (0, 0),
            target.as_bytes(),
            b"",
        )
    }

    /// A hard link to `target`.
    pub fn hardlink(&mut self, path: &str, target: &str) -> &mut Self {
        self.member(
            path.as_bytes(),
            tar::EntryType::Link,
            0o644,
            (0, 0),
            target.as_bytes(),
            b"",
        )
    }

    /// A character device.
    pub fn chardev(&mut self, path: &str, major: u32, minor: u32) -> &mut Self {
        let mut h = tar::Header::new_gnu();
        h.set_path(path).expect("path");
        h.set_entry_type(tar::EntryType::Char);
        h.set_mode(0o620);
        h.set_uid(0);
        h.set_gid(0);
        h.set_device_major(major).expect("major");
        h.set_device_minor(minor).expect("minor");
        h.set_mtime(1_600_000_000);
        h.set_size(0);
        h.set_cksum();
        self.b.append(&h, &b""[..]).expect("append");
        self
    }

    /// A file with a PAX xattr record.
    pub fn file_with_xattr(
        &mut self,
        path: &str,
        data: &[u8],
        name: &str,
        value: &[u8],
    ) -> &mut Self {
        let key = format!("SCHILY.xattr.{name}");
        self.b
            .append_pax_extensions([(key.as_str(), value)])
            .expect("pax");
        self.file(path, data, 0o644, (0, 0))
    }

    /// A raw member path (for escape attempts).
    pub fn raw(&mut self, path: &[u8], kind: tar::EntryType, link: &[u8]) -> &mut Self {
        self.member(path, kind, 0o644, (0, 0), link, b"x")
    }

    /// The tar bytes.
    pub fn tar(&mut self) -> Vec<u8> {
        let b = std::mem::replace(&mut self.b, tar::Builder::new(Vec::new()));
        b.into_inner().expect("finish tar")
    }

    /// The layer gzip-compressed, with its media type.
    pub fn gzip(&mut self) -> (String, Vec<u8>) {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&self.tar()).expect("gzip");
        (TAR_GZIP.into(), e.finish().expect("gzip"))
    }

    /// The layer zstd-compressed, with its media type.
    pub fn zstd(&mut self) -> (String, Vec<u8>) {
        (
            TAR_ZSTD.into(),
            zstd::encode_all(&self.tar()[..], 1).expect("zstd"),
        )
    }

    /// The layer uncompressed, with its media type.
    pub fn plain(&mut self) -> (String, Vec<u8>) {
        (TAR.into(), self.tar())
    }
}
