//! Pod networking through CNI plugins (the reference plugins Debian ships in
//! `containernetworking-plugins`), invoked as the CNI spec says.
//!
//! Input: the pod's pinned network namespace, its metadata and port mappings, and the
//! configuration directory. Output: the pod IP, and the cached result the DEL needs
//! (kept in the pod record so a restarted daemon can still tear the network down).
//! The loopback interface is brought up first with the `loopback` plugin; the
//! network list is the first `*.conflist`/`*.conf` in the directory by name.

mod cni;

pub use cni::{result_ip, Attachment, Cni, Error, PodRef};
