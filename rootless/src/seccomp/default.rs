//! The RuntimeDefault profile: everything allowed except the system calls that
//! escape or reconfigure the host (module loading, mounts, namespaces, keyrings,
//! tracing other processes, clocks, reboot), which fail with EPERM; `clone3` fails
//! with ENOSYS so libc falls back to `clone`.

use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, LinuxSyscall};

const DENIED: &[&str] = &[
    "acct",
    "add_key",
    "bpf",
    "clock_adjtime",
    "clock_settime",
    "create_module",
    "delete_module",
    "finit_module",
    "fsconfig",
    "fsmount",
    "fsopen",
    "fspick",
    "get_kernel_syms",
    "init_module",
    "ioperm",
    "iopl",
    "kcmp",
    "kexec_file_load",
    "kexec_load",
    "keyctl",
    "lookup_dcookie",
    "mount",
    "mount_setattr",
    "move_mount",
    "name_to_handle_at",
    "nfsservctl",
    "open_by_handle_at",
    "open_tree",
    "perf_event_open",
    "pivot_root",
    "process_vm_readv",
    "process_vm_writev",
    "ptrace",
    "query_module",
    "quotactl",
    "reboot",
    "request_key",
    "setns",
    "settimeofday",
    "stime",
    "swapoff",
    "swapon",
    "sysfs",
    "_sysctl",
    "umount",
    "umount2",
    "unshare",
    "uselib",
    "userfaultfd",
    "ustat",
    "vm86",
    "vm86old",
];

/// The profile for CRI `RuntimeDefault`.
pub fn default_profile() -> LinuxSeccomp {
    let rule = |names: &[&str], errno: u32| {
        let mut s = LinuxSyscall::default();
        s.set_names(names.iter().map(|n| n.to_string()).collect());
        s.set_action(LinuxSeccompAction::ScmpActErrno);
        s.set_errno_ret(Some(errno));
        s
    };
    let mut profile = LinuxSeccomp::default();
    profile.set_default_action(LinuxSeccompAction::ScmpActAllow);
    profile.set_syscalls(Some(vec![
        rule(DENIED, libc::EPERM as u32),
        rule(&["clone3"], libc::ENOSYS as u32),
    ]));
    profile
}

#[cfg(test)]
mod tests {
    #[test]
    fn default_profile_compiles() {
        crate::seccomp::compile(&super::default_profile()).unwrap();
    }
}
