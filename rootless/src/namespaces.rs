//! Which namespaces a container creates or joins: the plan drawn from
//! `linux.namespaces` and the id mappings, and the calls that carry it out.
//!
//! Input: the spec (via [`crate::spec`]). Output: `unshare`/`setns` calls made by the
//! intermediate process ([`crate::process`]).

use std::fs::File;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use nix::sched::{setns, unshare, CloneFlags};
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::idmaps::{check_user, default_map, Kind};
use crate::spec::SpecError;
use crate::userns::IdMap;

/// The namespace part of a [`crate::Plan`].
#[derive(Debug, Clone, Default)]
pub(crate) struct NsPlan {
    /// Each namespace type with the path to join, or `None` to create one.
    pub entries: Vec<(LinuxNamespaceType, Option<PathBuf>)>,
    /// uid mappings for a new user namespace.
    pub uid_maps: Vec<IdMap>,
    /// gid mappings for a new user namespace.
    pub gid_maps: Vec<IdMap>,
}

impl NsPlan {
    /// Draws the plan from the spec; unprivileged runs always get a user namespace.
    pub fn from_spec(spec: &Spec, privileged: bool) -> Result<Self, SpecError> {
        let linux = spec.linux().as_ref();
        let mut entries: Vec<_> = linux
            .and_then(|l| l.namespaces().as_ref())
            .into_iter()
            .flatten()
            .map(|ns| {
                (
                    ns.typ(),
                    ns.path().clone().filter(|p| !p.as_os_str().is_empty()),
                )
            })
            .collect();
        if !privileged && !entries.iter().any(|(t, _)| *t == LinuxNamespaceType::User) {
            tracing::info!("unprivileged: adding a user namespace the spec does not ask for");
            entries.insert(0, (LinuxNamespaceType::User, None));
        }
        let mut plan = Self {
            entries,
            ..Self::default()
        };
        if plan.creates(LinuxNamespaceType::User) {
            let uids = linux.and_then(|l| l.uid_mappings().as_ref());
            let gids = linux.and_then(|l| l.gid_mappings().as_ref());
            plan.uid_maps = IdMap::from_spec(uids, || default_map(Kind::Uid, privileged));
            plan.gid_maps = IdMap::from_spec(gids, || default_map(Kind::Gid, privileged));
            if let Some(process) = spec.process() {
                check_user(process.user(), &plan.uid_maps, &plan.gid_maps)?;
            }
        } else if linux
            .and_then(|l| l.uid_mappings().as_ref())
            .is_some_and(|m| !m.is_empty())
        {
            return Err(SpecError::Invalid {
                field: "linux.uidMappings".into(),
                message: "id mappings need a new user namespace in linux.namespaces".into(),
            });
        }
        Ok(plan)
    }

    /// Whether the container gets a new namespace of this type.
    pub fn creates(&self, typ: LinuxNamespaceType) -> bool {
        self.entries.iter().any(|(t, p)| *t == typ && p.is_none())
    }

    /// Whether the container has its own namespace of this type (new or joined).
    pub fn has(&self, typ: LinuxNamespaceType) -> bool {
        self.entries.iter().any(|(t, _)| *t == typ)
    }

    /// The user namespace to join, if any.
    pub fn user_path(&self) -> Option<&Path> {
        self.entries
            .iter()
            .find(|(t, _)| *t == LinuxNamespaceType::User)
            .and_then(|(_, p)| p.as_deref())
    }

    /// Joins every namespace given by path except the user namespace.
    pub fn join_others(&self) -> Result<(), NsError> {
        for (typ, path) in &self.entries {
            if let (Some(path), false) = (path, *typ == LinuxNamespaceType::User) {
                join(path, flag(*typ))?;
            }
        }
        Ok(())
    }

    /// Creates every new namespace except the user namespace.
    pub fn unshare_others(&self) -> Result<(), NsError> {
        let flags = self
            .entries
            .iter()
            .filter(|(t, p)| p.is_none() && *t != LinuxNamespaceType::User)
            .fold(CloneFlags::empty(), |acc, (t, _)| acc | flag(*t));
        unshare(flags).map_err(|source| NsError::Unshare {
            flags: format!("{flags:?}"),
            source,
        })
    }
}

/// The clone flag of a namespace type.
pub(crate) fn flag(typ: LinuxNamespaceType) -> CloneFlags {
    match typ {
        LinuxNamespaceType::Mount => CloneFlags::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
        LinuxNamespaceType::User => CloneFlags::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => CloneFlags::CLONE_NEWPID,
        LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
        LinuxNamespaceType::Time => CloneFlags::from_bits_retain(libc::CLONE_NEWTIME),
    }
}

/// Joins the namespace at `path`.
pub(crate) fn join(path: &Path, flags: CloneFlags) -> Result<(), NsError> {
    let file = File::open(path).map_err(|source| NsError::Open {
        path: path.into(),
        source,
    })?;
    setns(file.as_fd(), flags).map_err(|source| NsError::Join {
        path: path.into(),
        source,
    })
}

/// A namespace could not be created or joined.
#[derive(Debug, thiserror::Error)]
pub enum NsError {
    /// The namespace file could not be opened.
    #[error("open namespace {path}: {source}")]
    Open {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// setns failed.
    #[error("join namespace {path}: {source}")]
    Join {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: nix::Error,
    },
    /// unshare failed.
    #[error("unshare {flags}: {source}")]
    Unshare {
        /// The namespaces asked for.
        flags: String,
        /// The cause.
        source: nix::Error,
    },
}
