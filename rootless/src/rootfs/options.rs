//! Mount options of the spec (`"ro"`, `"rro"`, `"nosuid"`, `"rbind"`, `"mode=755"`) → mount flags,
//! propagation flags and the filesystem's data string.

use nix::mount::MsFlags;

/// A mount's options, sorted into what `mount(2)` takes.
#[derive(Debug, Clone)]
pub(crate) struct MountOptions {
    /// Flags for the mount itself.
    pub flags: MsFlags,
    /// Propagation to apply after mounting.
    pub propagation: MsFlags,
    /// `bind` or `rbind` was given.
    pub bind: bool,
    /// `rbind` was given.
    pub recursive: bool,
    /// `rro`: read-only, and every mount below it too.
    pub recursive_readonly: bool,
    /// Everything else, comma-joined, for the filesystem.
    pub data: Vec<String>,
}

impl Default for MountOptions {
    fn default() -> Self {
        Self {
            flags: MsFlags::empty(),
            propagation: MsFlags::empty(),
            bind: false,
            recursive: false,
            recursive_readonly: false,
            data: Vec::new(),
        }
    }
}

impl MountOptions {
    /// Sorts a spec mount's options.
    pub fn parse(options: &[String]) -> Self {
        let mut out = Self::default();
        for opt in options {
            if let Some((set, flag)) = flag(opt) {
                if set {
                    out.flags |= flag;
                } else {
                    out.flags &= !flag;
                }
            } else if let Some(p) = propagation(opt) {
                out.propagation |= p;
            } else if opt == "rro" {
                out.flags |= MsFlags::MS_RDONLY;
                out.recursive_readonly = true;
            } else if opt == "bind" || opt == "rbind" {
                out.bind = true;
                out.recursive |= opt == "rbind";
            } else if !opt.is_empty() {
                out.data.push(opt.clone());
            }
        }
        out
    }

    /// The data string for `mount(2)`, if any.
    pub fn data(&self) -> Option<String> {
        (!self.data.is_empty()).then(|| self.data.join(","))
    }
}

/// `(set, flag)` for a flag option, `(false, flag)` for its negation.
fn flag(opt: &str) -> Option<(bool, MsFlags)> {
    Some(match opt {
        "ro" => (true, MsFlags::MS_RDONLY),
        "rw" => (false, MsFlags::MS_RDONLY),
        "nosuid" => (true, MsFlags::MS_NOSUID),
        "suid" => (false, MsFlags::MS_NOSUID),
        "nodev" => (true, MsFlags::MS_NODEV),
        "dev" => (false, MsFlags::MS_NODEV),
        "noexec" => (true, MsFlags::MS_NOEXEC),
        "exec" => (false, MsFlags::MS_NOEXEC),
        "sync" => (true, MsFlags::MS_SYNCHRONOUS),
        "async" => (false, MsFlags::MS_SYNCHRONOUS),
        "dirsync" => (true, MsFlags::MS_DIRSYNC),
        "remount" => (true, MsFlags::MS_REMOUNT),
        "mand" => (true, MsFlags::MS_MANDLOCK),
        "nomand" => (false, MsFlags::MS_MANDLOCK),
        "atime" => (false, MsFlags::MS_NOATIME),
        "noatime" => (true, MsFlags::MS_NOATIME),
        "diratime" => (false, MsFlags::MS_NODIRATIME),
        "nodiratime" => (true, MsFlags::MS_NODIRATIME),
        "relatime" => (true, MsFlags::MS_RELATIME),
        "norelatime" => (false, MsFlags::MS_RELATIME),
        "strictatime" => (true, MsFlags::MS_STRICTATIME),
        "nostrictatime" => (false, MsFlags::MS_STRICTATIME),
        _ => return None,
    })
}

/// The propagation flags of `private`, `rslave`, ….
pub(crate) fn propagation(opt: &str) -> Option<MsFlags> {
    Some(match opt {
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | MsFlags::MS_REC,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        "runbindable" => MsFlags::MS_UNBINDABLE | MsFlags::MS_REC,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_flags_data_and_propagation() {
        let opts: Vec<String> = ["rbind", "ro", "nosuid", "mode=755", "rslave"]
            .map(String::from)
            .into();
        let o = MountOptions::parse(&opts);
        assert!(o.bind && o.recursive);
        assert_eq!(o.flags, MsFlags::MS_RDONLY | MsFlags::MS_NOSUID);
        assert_eq!(o.propagation, MsFlags::MS_SLAVE | MsFlags::MS_REC);
        assert_eq!(o.data().as_deref(), Some("mode=755"));
    }
}
