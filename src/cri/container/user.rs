//! Who a container runs as: the CRI security context's `run_as_user`,
//! `run_as_username` and `run_as_group`, else the image config's `User`, resolved to
//! numeric ids through the image's own `/etc/passwd` and `/etc/group` — read straight
//! from the SIF's squashfs, without mounting it.

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
    let wanted = if sc.run_as_user.is_some() {
        None
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
    let (user, group) = match wanted.split_once(':') {
        Some((u, g)) => (u.to_owned(), Some(g.to_owned())),
        None => (wanted, None),
    };
    let files = ImageFiles::open(sif)?;
    let passwd = files.read("/etc/passwd");
    let entry = find_user(&passwd, &user);
    let uid = match (user.parse::<u32>(), &entry) {
        (Ok(n), _) => n,
        (Err(_), Some(e)) => e.1,
        (Err(_), None) => {
            return Err(Error::InvalidArgument(format!(
                "user {user:?} not found in the image's /etc/passwd"
            )))
        }
    };
    let groups = files.read("/etc/group");
    let gid = match group {
        Some(g) => match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => find_group(&groups, &g).ok_or_else(|| {
                Error::InvalidArgument(format!("group {g:?} not found in the image's /etc/group"))
            })?,
        },
        None => sc
            .run_as_group
            .map(|g| g.value as u32)
            .or(entry.as_ref().map(|e| e.2))
            .unwrap_or(0),
    };
    let name = entry.map(|e| e.0).unwrap_or(user);
    sc.run_as_user = Some(cri::Int64Value { value: uid.into() });
    sc.run_as_group = Some(cri::Int64Value { value: gid.into() });
    for extra in member_of(&groups, &name) {
        if extra != i64::from(gid) && !sc.supplemental_groups.contains(&extra) {
            sc.supplemental_groups.push(extra);
        }
    }
    Ok(())
}

/// `name`'s (name, uid, gid) in a passwd file; `name` may also be a numeric uid.
fn find_user(passwd: &str, name: &str) -> Option<(String, u32, u32)> {
    passwd.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        let (n, uid, gid) = (f.first()?, f.get(2)?.parse().ok()?, f.get(3)?.parse().ok()?);
        (*n == name || name.parse::<u32>() == Ok(uid)).then(|| (n.to_string(), uid, gid))
    })
}

/// The gid of group `name` in a group file.
fn find_group(group: &str, name: &str) -> Option<u32> {
    group.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        (*f.first()? == name).then(|| f.get(2)?.parse().ok())?
    })
}

/// The gids of the groups that list `user` as a member.
fn member_of(group: &str, user: &str) -> Vec<i64> {
    group
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            let members = f.get(3)?;
            members
                .split(',')
                .any(|m| m == user)
                .then(|| f.get(2)?.parse().ok())?
        })
        .collect()
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

    /// The file at `path`, or empty when it is missing or unreadable.
    fn read(&self, path: &str) -> String {
        let Ok(inode) = self.0.lookup_path(path) else {
            return String::new();
        };
        let mut out = Vec::new();
        let mut buf = vec![0u8; 64 << 10];
        while out.len() < MAX_FILE {
            match self.0.read(&inode, out.len() as u64, &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str =
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n";
    const GROUP: &str = "root:x:0:\nwheel:x:10:nobody,alice\nnogroup:x:65534:\n";

    #[test]
    fn names_and_numbers_resolve() {
        assert_eq!(
            find_user(PASSWD, "nobody"),
            Some(("nobody".into(), 65534, 65534))
        );
        assert_eq!(find_user(PASSWD, "0"), Some(("root".into(), 0, 0)));
        assert_eq!(find_user(PASSWD, "alice"), None);
        assert_eq!(find_group(GROUP, "wheel"), Some(10));
        assert_eq!(member_of(GROUP, "nobody"), vec![10]);
        assert_eq!(member_of("junk\n::::\n", "x"), Vec::<i64>::new());
    }
}
