//! Pod networking through CNI plugins (the reference plugins Debian ships in
//! `containernetworking-plugins`), invoked as the CNI spec says.
//!
//! Input: the pod's pinned network namespace, its metadata and port mappings, and the
//! configuration directory. Output: the pod IP, and the cached result the DEL needs
//! (kept in the pod record so a restarted daemon can still tear the network down).
//! The loopback interface is brought up first with the `loopback` plugin; the
//! network list is the first `*.conflist`/`*.conf` in the directory by name.

//!
//! An unprivileged daemon runs the plugins in its keeper's network namespace (where
//! the pods' bridge is; see [`crate::daemon::userns`]), gives that namespace a way out
//! through `pasta` or `slirp4netns` ([`start_user_network`]) and forwards hostPorts
//! itself ([`hostport`]).

mod cni;
pub mod hostport;
mod pasta;
mod slirp;
mod user;

pub use cni::{result_ip, Attachment, Cni, Error, PodRef};
pub use user::{start_user_network, UserNetError};

/// Unprivileged: lets the containers (root only in a child user namespace of the
/// namespace that owns the pod's network namespace, so without CAP_NET_BIND_SERVICE
/// there) bind ports below 1024, as they may under a root daemon, by setting
/// `net.ipv4.ip_unprivileged_port_start` to 0 in the pod's network namespace unless
/// the pod's sysctls changed it from the kernel's 1024.
pub(crate) fn open_low_ports(netns: &std::path::Path) {
    if crate::daemon::userns::current().is_none() {
        return;
    }
    // A thread of its own enters the pod's namespace (no process to spawn): what
    // /proc/sys/net shows is the network namespace of the thread that opens it.
    let path = netns.to_owned();
    let done = std::thread::spawn(move || -> Result<(), String> {
        let file = std::fs::File::open(&path).map_err(|e| e.to_string())?;
        nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET)
            .map_err(|e| e.to_string())?;
        let key = "/proc/sys/net/ipv4/ip_unprivileged_port_start";
        let now = std::fs::read_to_string(key).map_err(|e| e.to_string())?;
        if now.trim() == "1024" {
            std::fs::write(key, "0").map_err(|e| e.to_string())?;
        }
        Ok(())
    })
    .join();
    if let Ok(Err(e)) | Err(e) = done.map_err(|_| "panicked".to_string()) {
        tracing::warn!(netns = %netns.display(), "cannot open ports below 1024 to the pod: {e}");
    }
}

/// The command that runs CNI plugin `bin`: in the keeper's network namespace when the
/// daemon is unprivileged.
pub(crate) fn plugin_command(bin: &std::path::Path) -> std::process::Command {
    match crate::daemon::userns::current() {
        Some(k) => {
            let mut cmd = std::process::Command::new("nsenter");
            cmd.arg(format!("--net={}", k.netns().display()))
                .arg("--")
                .arg(bin);
            cmd
        }
        None => std::process::Command::new(bin),
    }
}
