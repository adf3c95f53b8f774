//! The messages the runtime's processes exchange while a container is created:
//! main (the caller) ⇄ intermediate (namespaces) ⇄ init (rootfs, then the user process).

use serde::{Deserialize, Serialize};

/// One message over the setup channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Message {
    /// main → intermediate: you are in the container's cgroups, go on.
    InCgroup,
    /// intermediate → main: I unshared a user namespace, write my id maps.
    MapRequest,
    /// main → intermediate: the maps are written.
    Mapped,
    /// intermediate → main: the container's init runs with this pid.
    InitPid(i32),
    /// init → main: mounts are done; run the createRuntime hooks.
    CreateRuntimeHooks,
    /// main → init: go on; `state` is the container's state JSON for hooks.
    Continue {
        /// The runtime-spec state JSON.
        state: String,
    },
    /// any → main: something degraded; log it.
    Warning(String),
    /// init → main: set up, waiting for `start`.
    Ready,
    /// any → main: setup failed.
    Error(String),
}
