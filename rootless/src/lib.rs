//! rootless: an OCI runtime as a library, for root and for ordinary users.
//!
//! A bundle (`config.json` plus a root filesystem) goes in; a container process comes
//! out, in its own namespaces, behind `pivot_root`, with its mounts, devices,
//! capabilities, seccomp filter, rlimits and cgroup limits. The verbs live on
//! [`Container`]: [`Container::create`], [`Container::start`], [`Container::state`],
//! [`Container::kill`], [`Container::delete`], [`Container::exec`].
//!
//! The crate starts no threads: every step is a `fork`. Each container's state lives
//! in a directory under a state root ([`default_state_root`]).

#[allow(unsafe_code)]
mod sys;

mod capabilities;
pub mod cgroups;
mod container;
mod error;
mod hooks;
mod idmaps;
mod image_config;
mod namespaces;
mod process;
mod rlimits;
mod rootfs;
pub mod seccomp;
mod signal;
mod spec;
mod state;
mod template;
mod tty;
mod userns;

pub use container::{wait_code, Container, CreateOptions, ExecOptions, PreparedExec, Status};
pub use error::Error;
pub use idmaps::user_id_mappings;
pub use image_config::{
    apply_image_config, resolve_user, resolve_user_in, ImageConfigError, User,
    STOP_SIGNAL_ANNOTATION,
};
/// The runtime-spec types this crate speaks (`Spec`, `LinuxResources`), re-exported so
/// callers use the same version.
pub use oci_spec;
pub use rootfs::{OVERLAY_LOWER, OVERLAY_UPPER, OVERLAY_WORK};
pub use signal::parse_signal;
pub use spec::{Plan, SpecError};
pub use state::{default_state_root, StateError};
pub use template::{default_spec, DEFAULT_CAPS};
pub use tty::receive_pty_master;
