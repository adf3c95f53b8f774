//! Mount options: what the kernel (`mount(2)` data) and `fusermount3 -o` are told.
//!
//! Input: the caller's choices; output: option strings. Values that reach an option
//! string are sanitized so that a file name can never inject an option.

/// Options of one read-only FUSE mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOptions {
    /// Shown as the mount's source in /proc/self/mountinfo (e.g. the image path).
    pub fsname: String,
    /// Shown as the type: `fuse.<subtype>`.
    pub subtype: String,
    /// Let every user in, not only the mounter (root only; the kernel checks the rest
    /// when `default_permissions` is set too).
    pub allow_other: bool,
    /// Let the kernel check mode bits, uid and gid against the caller.
    pub default_permissions: bool,
    /// Honour set-user-id bits.
    pub suid: bool,
    /// Honour device nodes.
    pub dev: bool,
}

impl MountOptions {
    /// Read-only options for an image, with `sifcri` as subtype. As root the mount is
    /// shared with every user and the kernel checks permissions (`allow_other`,
    /// `default_permissions`), as squashfuse does when asked; an ordinary user's mount
    /// stays private to that user, who sees the image's files as they are.
    pub fn new(fsname: &str) -> Self {
        let root = nix::unistd::geteuid().is_root();
        MountOptions {
            fsname: sanitize(fsname),
            subtype: "sifcri".to_owned(),
            allow_other: root,
            default_permissions: root,
            suid: false,
            dev: false,
        }
    }

    /// The options an ordinary user may ask `fusermount3` for (no `allow_other`, which
    /// needs `user_allow_other` in /etc/fuse.conf).
    pub fn for_user(mut self) -> Self {
        self.allow_other = false;
        self.default_permissions = false;
        self
    }

    /// The filesystem type given to `mount(2)`.
    pub(crate) fn fstype(&self) -> String {
        if self.subtype.is_empty() {
            "fuse".to_owned()
        } else {
            format!("fuse.{}", sanitize(&self.subtype))
        }
    }

    /// The flags given to `mount(2)`.
    pub(crate) fn flags(&self) -> nix::mount::MsFlags {
        use nix::mount::MsFlags;
        let mut flags = MsFlags::MS_RDONLY;
        if !self.suid {
            flags |= MsFlags::MS_NOSUID;
        }
        if !self.dev {
            flags |= MsFlags::MS_NODEV;
        }
        flags
    }

    /// The `mount(2)` data string for the FUSE connection `fd`.
    pub(crate) fn kernel_data(&self, fd: i32, rootmode: u32, uid: u32, gid: u32) -> String {
        let mut data = format!("fd={fd},rootmode={rootmode:o},user_id={uid},group_id={gid}");
        self.push_shared(&mut data);
        data
    }

    /// The `-o` argument of `fusermount3`.
    pub(crate) fn fusermount_arg(&self) -> String {
        let mut arg = String::from("ro");
        arg.push_str(if self.suid { ",suid" } else { ",nosuid" });
        arg.push_str(if self.dev { ",dev" } else { ",nodev" });
        arg.push_str(&format!(",fsname={}", sanitize(&self.fsname)));
        if !self.subtype.is_empty() {
            arg.push_str(&format!(",subtype={}", sanitize(&self.subtype)));
        }
        self.push_shared(&mut arg);
        arg
    }

    fn push_shared(&self, out: &mut String) {
        if self.allow_other {
            out.push_str(",allow_other");
        }
        if self.default_permissions {
            out.push_str(",default_permissions");
        }
    }
}

/// Replaces what would end an option (`,`), escape it (`\`) or upset mountinfo
/// (whitespace, control characters) with `_`.
fn sanitize(value: &str) -> String {
    value
        .chars()
        .map(|c| match c {
            ',' | '\\' | '=' => '_',
            c if c.is_whitespace() || c.is_control() => '_',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_strings_cannot_be_injected() {
        let mut opts = MountOptions::new("/tmp/a,allow_other x.sif").for_user();
        opts.subtype = "sifcri".into();
        assert_eq!(
            opts.fusermount_arg(),
            "ro,nosuid,nodev,fsname=/tmp/a_allow_other_x.sif,subtype=sifcri"
        );
        assert_eq!(
            opts.kernel_data(5, 0o40000, 1, 2),
            "fd=5,rootmode=40000,user_id=1,group_id=2"
        );
        assert_eq!(opts.fstype(), "fuse.sifcri");
    }
}
