//! `process.rlimits` and `process.oomScoreAdj`: validated in the spec, applied in init
//! (and exec). Raising a hard limit needs CAP_SYS_RESOURCE, which even root lacks on
//! some hosts: the limit then degrades to the current hard limit, with a warning.

use std::collections::HashSet;

use nix::sys::resource::{getrlimit, setrlimit, Resource};
use oci_spec::runtime::{PosixRlimit, PosixRlimitType};

/// Checks for duplicates and soft limits above hard limits: `(index, message)`.
pub(crate) fn validate(limits: &[PosixRlimit]) -> Result<(), (usize, String)> {
    let mut seen = HashSet::new();
    for (i, l) in limits.iter().enumerate() {
        if !seen.insert(format!("{:?}", l.typ())) {
            return Err((i, format!("duplicate limit {:?}", l.typ())));
        }
        if l.soft() > l.hard() {
            return Err((i, "soft limit above hard limit".into()));
        }
    }
    Ok(())
}

pub(crate) fn resource(t: PosixRlimitType) -> Resource {
    match t {
        PosixRlimitType::RlimitCpu => Resource::RLIMIT_CPU,
        PosixRlimitType::RlimitFsize => Resource::RLIMIT_FSIZE,
        PosixRlimitType::RlimitData => Resource::RLIMIT_DATA,
        PosixRlimitType::RlimitStack => Resource::RLIMIT_STACK,
        PosixRlimitType::RlimitCore => Resource::RLIMIT_CORE,
        PosixRlimitType::RlimitRss => Resource::RLIMIT_RSS,
        PosixRlimitType::RlimitNproc => Resource::RLIMIT_NPROC,
        PosixRlimitType::RlimitNofile => Resource::RLIMIT_NOFILE,
        PosixRlimitType::RlimitMemlock => Resource::RLIMIT_MEMLOCK,
        PosixRlimitType::RlimitAs => Resource::RLIMIT_AS,
        PosixRlimitType::RlimitLocks => Resource::RLIMIT_LOCKS,
        PosixRlimitType::RlimitSigpending => Resource::RLIMIT_SIGPENDING,
        PosixRlimitType::RlimitMsgqueue => Resource::RLIMIT_MSGQUEUE,
        PosixRlimitType::RlimitNice => Resource::RLIMIT_NICE,
        PosixRlimitType::RlimitRtprio => Resource::RLIMIT_RTPRIO,
        PosixRlimitType::RlimitRttime => Resource::RLIMIT_RTTIME,
    }
}

/// Sets the limits; returns a warning for each one that had to degrade.
pub(crate) fn apply(limits: &[PosixRlimit]) -> Vec<String> {
    let mut warnings = Vec::new();
    for l in limits {
        let res = resource(l.typ());
        match setrlimit(res, l.soft(), l.hard()) {
            Ok(()) => {}
            Err(nix::Error::EPERM) => {
                let (_, cur_hard) = getrlimit(res).unwrap_or((0, 0));
                let soft = l.soft().min(cur_hard);
                let _ = setrlimit(res, soft, cur_hard);
                warnings.push(format!(
                    "{:?}: cannot raise the hard limit to {} (no CAP_SYS_RESOURCE): using soft {soft}, hard {cur_hard}",
                    l.typ(),
                    l.hard()
                ));
            }
            Err(e) => warnings.push(format!("{:?}: {e}", l.typ())),
        }
    }
    warnings
}

/// Writes `/proc/self/oom_score_adj`; a value the kernel refuses becomes a warning.
pub(crate) fn set_oom_score_adj(value: Option<i32>) -> Option<String> {
    let value = value?;
    // Already so (the usual case): nothing to write. In a user namespace joined by path
    // /proc/self belongs to an unmapped root, and even an unchanged write is refused.
    let current = std::fs::read_to_string("/proc/self/oom_score_adj").unwrap_or_default();
    if current.trim().parse::<i32>().ok() == Some(value) {
        return None;
    }
    match std::fs::write("/proc/self/oom_score_adj", value.to_string()) {
        Ok(()) => None,
        Err(e) => Some(format!(
            "oomScoreAdj {value}: {e} (lowering it needs CAP_SYS_RESOURCE): left as is"
        )),
    }
}
