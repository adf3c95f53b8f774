//! The id maps a container's new user namespace gets when its spec names none.
//!
//! Input: who we are (euid/egid), /proc/self/{uid,gid}_map, /etc/subuid and
//! /etc/subgid. Output: [`crate::userns::IdMap`] lists for `crate::namespaces`, and
//! [`user_id_mappings`] for callers that write a spec (`sifcri oci mount`).
//!
//! - An ordinary user in the initial user namespace: its own id as root (what the
//!   kernel lets it write itself).
//! - root of a user namespace that is not the initial one (the unprivileged daemon in
//!   its keeper's namespace): every id of that namespace, identically, so the ids the
//!   daemon can own (its subordinate range) can be a container's `runAsUser`,
//!   `runAsGroup` and supplementary groups. The daemon holds `CAP_SETUID` there and
//!   writes such a map itself, without `newuidmap`.

use std::path::Path;

use oci_spec::runtime::{LinuxIdMapping, LinuxIdMappingBuilder, User};

use crate::spec::SpecError;
use crate::userns::IdMap;

/// Upper bound on the lines read from an id map file (the kernel allows 340).
const MAX_LINES: usize = 340;

/// Which ids: users or groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// uids (`uid_map`, /etc/subuid).
    Uid,
    /// gids (`gid_map`, /etc/subgid).
    Gid,
}

impl Kind {
    fn proc_map(self) -> &'static str {
        match self {
            Kind::Uid => "/proc/self/uid_map",
            Kind::Gid => "/proc/self/gid_map",
        }
    }

    fn subordinate_file(self) -> &'static str {
        match self {
            Kind::Uid => "/etc/subuid",
            Kind::Gid => "/etc/subgid",
        }
    }

    fn helper(self) -> &'static str {
        match self {
            Kind::Uid => "newuidmap",
            Kind::Gid => "newgidmap",
        }
    }

    fn own(self) -> u32 {
        match self {
            Kind::Uid => nix::unistd::geteuid().as_raw(),
            Kind::Gid => nix::unistd::getegid().as_raw(),
        }
    }
}

/// The default map of a new user namespace for ids of `kind` (see the module doc).
pub(crate) fn default_map(kind: Kind, privileged: bool) -> Vec<IdMap> {
    let own = kind.own();
    if !privileged && nix::unistd::geteuid().is_root() {
        let text = std::fs::read_to_string(kind.proc_map()).unwrap_or_default();
        let identity = own_namespace_identity(&text);
        if !identity.is_empty() {
            return identity;
        }
    }
    vec![IdMap {
        container: 0,
        host: own,
        size: 1,
    }]
}

/// Every id inside the namespace whose `uid_map`/`gid_map` is `text`, mapped to
/// itself; empty for the initial namespace's full identity map or an unreadable one.
pub(crate) fn own_namespace_identity(text: &str) -> Vec<IdMap> {
    let maps: Vec<IdMap> = text
        .lines()
        .take(MAX_LINES)
        .filter_map(|line| {
            let mut f = line.split_whitespace().map(|n| n.parse::<u32>().ok());
            let (inside, _outside, size) = (f.next()??, f.next()??, f.next()??);
            (size > 0).then_some(IdMap {
                container: inside,
                host: inside,
                size,
            })
        })
        .collect();
    let initial = maps.len() == 1 && maps[0].container == 0 && maps[0].size == u32::MAX;
    if initial {
        Vec::new()
    } else {
        maps
    }
}

/// Refuses a process whose uid, gid or additional gids the container's new user
/// namespace does not map: `setuid`/`setgroups` would fail in the container's init
/// with a bare EINVAL (a user daemon without subordinate ids asked for `runAsUser`).
pub(crate) fn check_user(user: &User, uids: &[IdMap], gids: &[IdMap]) -> Result<(), SpecError> {
    let mapped = |maps: &[IdMap], id: u32| {
        maps.iter()
            .any(|m| id.checked_sub(m.container).is_some_and(|o| o < m.size))
    };
    let extra = user.additional_gids().iter().flatten();
    let mut unmapped_gid = std::iter::once(user.gid()).chain(extra.copied());
    let (field, id, maps) = if !mapped(uids, user.uid()) {
        ("process.user.uid", user.uid(), uids)
    } else if let Some(gid) = unmapped_gid.find(|g| !mapped(gids, *g)) {
        let field = if gid == user.gid() {
            "process.user.gid"
        } else {
            "process.user.additionalGids"
        };
        (field, gid, gids)
    } else {
        return Ok(());
    };
    let map: Vec<String> = maps
        .iter()
        .map(|m| format!("{} {} {}", m.container, m.host, m.size))
        .collect();
    Err(SpecError::Invalid {
        field: field.into(),
        message: format!(
            "id {id} is not mapped in the container's user namespace (map: {}); \
             map it (linux.uidMappings/gidMappings, subordinate ids in /etc/subuid and \
             /etc/subgid) or run as a mapped id",
            map.join(", ")
        ),
    })
}

/// The uid and gid mappings an ordinary user's container should ask for: its own ids
/// as root, and 1..=N to its first subordinate range when it has one in both
/// /etc/subuid and /etc/subgid and `newuidmap`/`newgidmap` are installed (else only
/// its own ids). `sifcri oci mount` writes these into a bundle's config.json.
pub fn user_id_mappings() -> (Vec<LinuxIdMapping>, Vec<LinuxIdMapping>) {
    let ranges = subordinate(Kind::Uid).zip(subordinate(Kind::Gid));
    let helpers = [Kind::Uid, Kind::Gid].iter().all(|k| on_path(k.helper()));
    let list = |kind: Kind, range: Option<(u32, u32)>| {
        let mut maps = vec![mapping(0, kind.own(), 1)];
        if let (Some((start, count)), true) = (range, helpers) {
            maps.push(mapping(1, start, count));
        }
        maps.into_iter().flatten().collect::<Vec<_>>()
    };
    (
        list(Kind::Uid, ranges.map(|r| r.0)),
        list(Kind::Gid, ranges.map(|r| r.1)),
    )
}

fn mapping(container: u32, host: u32, size: u32) -> Option<LinuxIdMapping> {
    LinuxIdMappingBuilder::default()
        .container_id(container)
        .host_id(host)
        .size(size)
        .build()
        .ok()
}

/// The first range (`start`, `count`) of the current user in the subordinate id file.
fn subordinate(kind: Kind) -> Option<(u32, u32)> {
    let uid = nix::unistd::geteuid();
    let name = nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map(|u| u.name);
    let text = std::fs::read_to_string(kind.subordinate_file()).ok()?;
    parse_subordinate(&text, &uid.to_string(), name.as_deref())
}

/// The first range of the user named `number` or `name` in a subordinate id file.
pub(crate) fn parse_subordinate(
    text: &str,
    number: &str,
    name: Option<&str>,
) -> Option<(u32, u32)> {
    text.lines().find_map(|line| {
        let mut parts = line.trim().split(':');
        let who = parts.next()?;
        if who != number && Some(who) != name {
            return None;
        }
        let start: u32 = parts.next()?.parse().ok()?;
        let count: u32 = parts.next()?.parse().ok()?;
        (count > 0 && start.checked_add(count - 1).is_some()).then_some((start, count))
    })
}

fn on_path(program: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    std::env::split_paths(&path).any(|dir| Path::new(&dir).join(program).is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_of_a_user_namespace_but_not_of_the_initial_one() {
        let keeper = "         0       1001          1\n         1     100000      65536\n";
        assert_eq!(
            own_namespace_identity(keeper),
            vec![
                IdMap {
                    container: 0,
                    host: 0,
                    size: 1
                },
                IdMap {
                    container: 1,
                    host: 1,
                    size: 65536
                },
            ]
        );
        assert!(own_namespace_identity("0 0 4294967295\n").is_empty());
        assert!(own_namespace_identity("garbage\n").is_empty());
    }

    #[test]
    fn users_outside_the_maps_are_refused_with_the_field() {
        let root_only = [IdMap {
            container: 0,
            host: 1001,
            size: 1,
        }];
        let wide = [IdMap {
            container: 0,
            host: 0,
            size: 65537,
        }];
        let user = |uid: u32, gid: u32, extra: Vec<u32>| {
            oci_spec::runtime::UserBuilder::default()
                .uid(uid)
                .gid(gid)
                .additional_gids(extra)
                .build()
                .unwrap()
        };
        let field = |r: Result<(), SpecError>| match r {
            Err(SpecError::Invalid { field, message }) => {
                assert!(message.contains("not mapped"), "{message}");
                field
            }
            other => panic!("{other:?}"),
        };
        assert!(check_user(&user(0, 0, vec![]), &root_only, &root_only).is_ok());
        assert!(check_user(&user(1000, 1000, vec![2000]), &wide, &wide).is_ok());
        let r = check_user(&user(1000, 0, vec![]), &root_only, &root_only);
        assert_eq!(field(r), "process.user.uid");
        let r = check_user(&user(0, 5, vec![]), &root_only, &root_only);
        assert_eq!(field(r), "process.user.gid");
        let r = check_user(&user(0, 0, vec![70_000]), &wide, &wide);
        assert_eq!(field(r), "process.user.additionalGids");
    }

    #[test]
    fn subordinate_ranges_by_name_or_number() {
        let text = "other:1:5\nsifcri-test:100000:65536\n1002:200000:10\nbad:4294967295:2\n";
        assert_eq!(
            parse_subordinate(text, "1001", Some("sifcri-test")),
            Some((100000, 65536))
        );
        assert_eq!(parse_subordinate(text, "1002", None), Some((200000, 10)));
        assert_eq!(parse_subordinate(text, "9", Some("bad")), None);
        assert_eq!(parse_subordinate(text, "9", None), None);
    }
}
