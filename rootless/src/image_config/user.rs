//! An image's `User` (`uid`, `name`, `uid:gid`, `name:group`) resolved to numeric ids
//! through the image's own `/etc/passwd` and `/etc/group`, as Docker does.
//!
//! Input: the `User` string and the image's root filesystem (read with `openat2`
//! `RESOLVE_IN_ROOT`, so a symlink in the image cannot lead out of it). Output: a
//! [`User`] for `process.user`.

use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::Path;

use nix::fcntl::{OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::Mode;

use super::ImageConfigError;

/// The most bytes read from `/etc/passwd` or `/etc/group`.
const MAX_FILE: u64 = 4 << 20;

/// Numeric ids for `process.user`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct User {
    /// The uid.
    pub uid: u32,
    /// The primary gid.
    pub gid: u32,
    /// Groups that list the user as a member (`/etc/group`), primary gid excluded.
    pub additional_gids: Vec<u32>,
}

/// Resolves `spec` (empty: root) against the passwd and group files of `rootfs`.
pub fn resolve_user(spec: &str, rootfs: &Path) -> Result<User, ImageConfigError> {
    if spec.is_empty() {
        return Ok(User::default());
    }
    let passwd = read_in_root(rootfs, "etc/passwd")?;
    let groups = read_in_root(rootfs, "etc/group")?;
    resolve_user_in(spec, passwd.as_deref(), groups.as_deref())
}

/// Resolves `spec` against the text of an image's `/etc/passwd` and `/etc/group`
/// (`None`: the image has no such file), for callers that read them another way.
pub fn resolve_user_in(
    spec: &str,
    passwd: Option<&str>,
    groups: Option<&str>,
) -> Result<User, ImageConfigError> {
    let (user_part, group_part) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    if user_part.is_empty() && group_part.is_none() {
        return Ok(User::default());
    }
    let entry = passwd.and_then(|text| {
        table(text, 7).find(|f| f[0] == user_part || user_part.parse::<u32>().ok() == id(f[2]))
    });
    let mut user = match (&entry, user_part.parse::<u32>()) {
        (Some(f), _) => User {
            uid: id(f[2]).ok_or_else(|| bad(spec, "its /etc/passwd entry has no numeric uid"))?,
            gid: id(f[3]).unwrap_or(0),
            additional_gids: Vec::new(),
        },
        (None, Ok(uid)) => User {
            uid,
            ..User::default()
        },
        (None, Err(_)) => return Err(bad(spec, "no such user in the image's /etc/passwd")),
    };
    if let Some(g) = group_part.filter(|g| !g.is_empty()) {
        user.gid = match g.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => groups
                .and_then(|t| table(t, 4).find(|f| f[0] == g).and_then(|f| id(f[2])))
                .ok_or_else(|| bad(spec, "no such group in the image's /etc/group"))?,
        };
    }
    if let (Some(name), Some(text)) = (entry.as_ref().map(|f| f[0]), groups) {
        user.additional_gids = member_of(text, name, user.gid);
    }
    Ok(user)
}

/// The gids of the groups whose member list names `user`, without `primary`.
fn member_of(group_file: &str, user: &str, primary: u32) -> Vec<u32> {
    let mut gids: Vec<u32> = table(group_file, 4)
        .filter(|f| f[3].split(',').any(|m| m.trim() == user))
        .filter_map(|f| id(f[2]))
        .filter(|g| *g != primary)
        .collect();
    gids.sort_unstable();
    gids.dedup();
    gids
}

/// The lines of a colon-separated table with at least `fields` fields, comments skipped.
fn table(text: &str, fields: usize) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| l.split(':').collect::<Vec<_>>())
        .filter(move |f| f.len() >= fields)
}

fn id(field: &str) -> Option<u32> {
    field.trim().parse().ok()
}

fn bad(user: &str, why: &str) -> ImageConfigError {
    ImageConfigError::User {
        user: user.into(),
        why: why.into(),
    }
}

/// Reads `rel` inside `rootfs`, resolving symlinks as if `rootfs` were `/`; `None` when
/// the file does not exist. At most [`MAX_FILE`] bytes.
fn read_in_root(rootfs: &Path, rel: &str) -> Result<Option<String>, ImageConfigError> {
    let io = |source: std::io::Error| ImageConfigError::Read {
        path: rootfs.join(rel),
        source,
    };
    let root: OwnedFd = std::fs::File::open(rootfs).map_err(io)?.into();
    let how = OpenHow::new()
        .flags(OFlag::O_RDONLY | OFlag::O_CLOEXEC)
        .mode(Mode::empty())
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let fd = match nix::fcntl::openat2(&root, rel, how) {
        Ok(fd) => fd,
        Err(nix::Error::ENOENT) => return Ok(None),
        Err(e) => return Err(io(e.into())),
    };
    let mut text = String::new();
    std::fs::File::from(fd)
        .take(MAX_FILE)
        .read_to_string(&mut text)
        .map_err(io)?;
    Ok(Some(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        std::fs::write(
            dir.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\n# comment\napp:x:1000:1000::/home/app:/bin/sh\nbroken\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("etc/group"),
            "root:x:0:\nstaff:x:50:app,other\napp:x:1000:\nwheel:x:10:app\n",
        )
        .unwrap();
        dir
    }

    #[test]
    fn names_and_numbers() {
        let d = image();
        let r = |s| resolve_user(s, d.path());
        assert_eq!(r("").unwrap(), User::default());
        let app = r("app").unwrap();
        assert_eq!(
            (app.uid, app.gid, app.additional_gids),
            (1000, 1000, vec![10, 50])
        );
        assert_eq!(r("1000").unwrap().gid, 1000, "a known uid takes its gid");
        assert_eq!(
            r("1234").unwrap(),
            User {
                uid: 1234,
                ..User::default()
            }
        );
        let g = r("app:staff").unwrap();
        assert_eq!((g.uid, g.gid, g.additional_gids), (1000, 50, vec![10]));
        assert_eq!(
            r("7:8").unwrap(),
            User {
                uid: 7,
                gid: 8,
                additional_gids: vec![]
            }
        );
        assert!(r("nobody")
            .unwrap_err()
            .to_string()
            .contains("no such user"));
        assert!(r("app:nogroup")
            .unwrap_err()
            .to_string()
            .contains("no such group"));
    }

    #[test]
    fn symlinks_stay_inside_the_image() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("etc")).unwrap();
        // An absolute link resolves inside the image: here to nothing.
        std::os::unix::fs::symlink("/etc/shadow-of-host", d.path().join("etc/passwd")).unwrap();
        assert!(resolve_user("app", d.path()).is_err());
        assert_eq!(resolve_user("5", d.path()).unwrap().uid, 5);
    }

    #[test]
    fn from_text_read_elsewhere() {
        let passwd = "app:x:1000:1000::/:/bin/sh\n";
        let user = resolve_user_in("app", Some(passwd), None).unwrap();
        assert_eq!((user.uid, user.gid), (1000, 1000));
        assert!(resolve_user_in("app", None, None).is_err());
        assert_eq!(resolve_user_in("5:6", None, None).unwrap().gid, 6);
    }
}
