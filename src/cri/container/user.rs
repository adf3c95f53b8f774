//! Who a container runs as: the CRI security context's `run_as_user`,
//! `run_as_username` and `run_as_group`, else the image config's `User`, resolved to
//! numeric ids through the image's own `/etc/passwd` and `/etc/group` — read straight
//! from the SIF's squashfs, without mounting it, and parsed by
//! [`rootless::resolve_user_in`] (the rules `sifcri oci mount` uses).

use std::path::Path;

use proto::cri;

use crate::cri::Error;

/// The most of `/etc/passwd` or `/etc/group` read from an image.
const MAX_FILE: usize = 4 << 20;

/// Fills in `run_as_user`, `run_as_group` and `supplemental_groups` of `config`'s
/// security context from the user names it (or the image config) gives.
pub fn resolve(
    config: &mut cri::ContainerConfig,
    sif: &Path,
    image_config: Option<&serde_json::Value>,
) -> Result<(), Error> {
    let linux = config.linux.get_or_insert_with(Default::default);
    let sc = linux.security_context.get_or_insert_with(Default::default);
    if sc.run_as_group.is_some() && sc.run_as_user.is_none() && sc.run_as_username.is_empty() {
        return Err(Error::InvalidArgument(
            "run_as_group is set without run_as_user or run_as_username".into(),
        ));
    }
    let image_user = image_config
        .and_then(|c| c["config"]["User"].as_str())
        .unwrap_or_default();
    // A numeric run_as_user is still looked up: its /etc/passwd entry gives the
    // primary group (unless run_as_group does) and, under the Merge policy, its name
    // the groups /etc/group lists it in.
    let wanted = if let Some(uid) = sc.run_as_user {
        Some(uid.value.to_string())
    } else if !sc.run_as_username.is_empty() {
        Some(sc.run_as_username.clone())
    } else if !image_user.is_empty() {
        Some(image_user.to_owned())
    } else {
        None
    };
    let Some(wanted) = wanted else {
        return Ok(());
    };
    let files = ImageFiles::open(sif)?;
    let passwd = files.read("/etc/passwd");
    let groups = files.read("/etc/group");
    let user = rootless::resolve_user_in(&wanted, passwd.as_deref(), groups.as_deref())
        .map_err(|e| Error::InvalidArgument(e.to_string()))?;
    // A group named in the user string wins; else an explicit run_as_group.
    let gid = match sc.run_as_group {
        Some(g) if !wanted.contains(':') => g.value,
        _ => user.gid.into(),
    };
    if sc.run_as_user.is_none() {
        sc.run_as_user = Some(cri::Int64Value {
            value: user.uid.into(),
        });
    }
    sc.run_as_group = Some(cri::Int64Value { value: gid });
    if sc.supplemental_groups_policy == cri::SupplementalGroupsPolicy::Strict as i32 {
        return Ok(());
    }
    for extra in user.additional_gids.into_iter().map(i64::from) {
        if extra != gid && !sc.supplemental_groups.contains(&extra) {
            sc.supplemental_groups.push(extra);
        }
    }
    Ok(())
}

/// Read access to files of an image's root filesystem.
struct ImageFiles(fusefs::Squashfs);

impl ImageFiles {
    fn open(sif: &Path) -> Result<Self, Error> {
        let img = crate::mount::ImageSource::open(sif, None)
            .map_err(|e| Error::Internal(format!("open image {}: {e}", sif.display())))?;
        let source = fusefs::Source::new(img.file, img.offset, img.len);
        let cache = fusefs::CacheConfig {
            bytes: 1 << 20,
            shards: 1,
        };
        fusefs::Squashfs::open(source, cache)
            .map(Self)
            .map_err(|e| Error::Internal(format!("read image {}: {e}", sif.display())))
    }

    /// The file at `path`, or `None` when the image has none (or it cannot be read).
    fn read(&self, path: &str) -> Option<String> {
        let inode = self.0.lookup_path(path).ok()?;
        let mut out = Vec::new();
        let mut buf = vec![0u8; 64 << 10];
        while out.len() < MAX_FILE {
            match self.0.read(&inode, out.len() as u64, &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
        Some(String::from_utf8_lossy(&out).into_owned())
    }
}

/// The identity a container's processes run with, as ContainerStatus reports it: the
/// uid, the primary gid and the supplementary groups, the primary one included (as
/// `id -G` lists them), sorted.
pub fn status_user(config: &cri::ContainerConfig) -> cri::ContainerUser {
    let sc = config
        .linux
        .as_ref()
        .and_then(|l| l.security_context.clone())
        .unwrap_or_default();
    let uid = sc.run_as_user.map_or(0, |v| v.value);
    let gid = sc.run_as_group.map_or(0, |v| v.value);
    let mut groups = sc.supplemental_groups;
    groups.push(gid);
    groups.sort_unstable();
    groups.dedup();
    cri::ContainerUser {
        linux: Some(cri::LinuxContainerUser {
            uid,
            gid,
            supplemental_groups: groups,
        }),
    }
}
