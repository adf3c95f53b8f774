//! The OCI runtime spec (`config.json`) of a CRI container: process (command, args,
//! env, working dir, user), the pod's namespaces joined by path, the standard mounts
//! plus the pod's resolv.conf/hostname/hosts and the CRI mounts, and the security
//! context (privileged, capabilities, read-only root, no_new_privs, masked and
//! read-only paths, seccomp), and the cgroup and resources ([`super::resources`]).
//!
//! Input: the CRI config, the pod record and the image's OCI config (env, entrypoint,
//! cmd, working dir). Output: JSON for `rootless`, which validates it again.

use proto::cri;
use rootless::DEFAULT_CAPS;
use serde_json::{json, Value};

use crate::pod::PodRecord;

/// Every capability the kernels we run on know, by number (privileged containers get
/// those of them the daemon holds).
const ALL_CAPS: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

const MASKED: [&str; 9] = [
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
];

const READONLY: [&str; 6] = [
    "/proc/asound",
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Builds the spec. `image_config` is the image's OCI config JSON, if it has one.
pub fn build(
    config: &cri::ContainerConfig,
    pod: &PodRecord,
    image_config: Option<&Value>,
    id: &str,
) -> Result<Value, String> {
    let sc = config
        .linux
        .as_ref()
        .and_then(|l| l.security_context.clone())
        .unwrap_or_default();
    let image = image_config
        .and_then(|c| c.get("config"))
        .cloned()
        .unwrap_or(json!({}));
    check_mounts(config)?;
    let args = process_args(config, &image)?;
    let mut env: Vec<String> = strings(&image["Env"]);
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        env.push("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    }
    for kv in &config.envs {
        env.retain(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) != kv.key);
        env.push(format!("{}={}", kv.key, kv.value));
    }
    let cwd = match config.working_dir.as_str() {
        "" => image["WorkingDir"]
            .as_str()
            .filter(|s| !s.is_empty())
            .unwrap_or("/")
            .to_owned(),
        w => w.to_owned(),
    };
    let caps = capabilities(&sc);
    let uid = sc.run_as_user.map_or(0, |v| v.value);
    let gid = sc.run_as_group.map_or(0, |v| v.value);
    let process = json!({
        "terminal": config.tty,
        "user": {"uid": uid, "gid": gid, "additionalGids": sc.supplemental_groups, "umask": 0o022},
        "args": args,
        "env": env,
        "cwd": cwd,
        "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
        "noNewPrivileges": sc.no_new_privs,
        "oomScoreAdj": 0,
    });
    let (masked, readonly) = if sc.privileged {
        (Vec::new(), Vec::new())
    } else if sc.masked_paths.is_empty() && sc.readonly_paths.is_empty() {
        (to_vec(&MASKED), to_vec(&READONLY))
    } else {
        (sc.masked_paths.clone(), sc.readonly_paths.clone())
    };
    let mut linux = json!({
        "namespaces": namespaces(pod, &sc),
        "maskedPaths": masked,
        "readonlyPaths": readonly,
    });
    // A bidirectional mount needs the container's mounts to stay peers of the host's.
    if config
        .mounts
        .iter()
        .any(|m| m.propagation == cri::MountPropagation::PropagationBidirectional as i32)
    {
        linux["rootfsPropagation"] = json!("rshared");
    }
    // Privileged containers run unconfined, whatever profile they name (as containerd).
    if let Some(seccomp) = seccomp(&sc)?.filter(|_| !sc.privileged) {
        linux["seccomp"] = seccomp;
    }
    let mut spec = json!({
        "ociVersion": "1.0.2",
        "process": process,
        "root": {"path": "rootfs", "readonly": sc.readonly_rootfs},
        "mounts": mounts(config, pod, sc.privileged),
        "linux": linux,
        "annotations": {"io.kubernetes.cri.sandbox-id": pod.id},
    });
    super::resources::apply(&mut spec, config, pod, id);
    Ok(spec)
}

fn process_args(config: &cri::ContainerConfig, image: &Value) -> Result<Vec<String>, String> {
    let entry = strings(&image["Entrypoint"]);
    let cmd = strings(&image["Cmd"]);
    let args = match (config.command.is_empty(), config.args.is_empty()) {
        (false, false) => [config.command.clone(), config.args.clone()].concat(),
        (false, true) => config.command.clone(),
        (true, false) => [entry, config.args.clone()].concat(),
        (true, true) => [entry, cmd].concat(),
    };
    if args.is_empty() {
        return Err("no command: the container config and the image give none".into());
    }
    Ok(args)
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn to_vec(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| s.to_string()).collect()
}

fn capabilities(sc: &cri::LinuxContainerSecurityContext) -> Vec<String> {
    if sc.privileged {
        return held_caps();
    }
    let mut caps = to_vec(&DEFAULT_CAPS);
    let norm = |c: &String| {
        let c = c.to_uppercase();
        if c.starts_with("CAP_") {
            c
        } else {
            format!("CAP_{c}")
        }
    };
    if let Some(c) = &sc.capabilities {
        if c.drop_capabilities
            .iter()
            .any(|d| d.eq_ignore_ascii_case("ALL"))
        {
            caps.clear();
        }
        let drop: Vec<String> = c.drop_capabilities.iter().map(norm).collect();
        caps.retain(|x| !drop.contains(x));
        if c.add_capabilities
            .iter()
            .any(|a| a.eq_ignore_ascii_case("ALL"))
        {
            return held_caps();
        }
        for a in c.add_capabilities.iter().map(norm) {
            if !caps.contains(&a) {
                caps.push(a);
            }
        }
    }
    caps
}

/// "All" capabilities: those of [`ALL_CAPS`] the daemon itself holds (its permitted
/// set), as containerd does; a capability the daemon lacks (CAP_SYS_RESOURCE on some
/// hosts) cannot be given to a container, and asking for it would fail the start.
fn held_caps() -> Vec<String> {
    let permitted = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("CapPrm:"))?;
            u64::from_str_radix(line.trim_start_matches("CapPrm:").trim(), 16).ok()
        })
        .unwrap_or(u64::MAX);
    ALL_CAPS
        .iter()
        .enumerate()
        .filter(|(bit, _)| permitted & (1u64 << bit) != 0)
        .map(|(_, c)| c.to_string())
        .collect()
}

fn namespaces(pod: &PodRecord, sc: &cri::LinuxContainerSecurityContext) -> Vec<Value> {
    let mut out = vec![json!({"type": "mount"})];
    // A pod with its own user namespace (userns_options POD): joined first, it owns
    // the pod's other namespaces.
    for (kind, oci) in [
        ("user", "user"),
        ("net", "network"),
        ("ipc", "ipc"),
        ("uts", "uts"),
    ] {
        if let Some(path) = pod.namespace(kind) {
            out.push(json!({"type": oci, "path": path}));
        }
    }
    // Kubelet repeats the pod's pid mode in each container's options (default POD).
    let mode = sc.namespace_options.as_ref().map_or(0, |o| o.pid);
    match (cri::NamespaceMode::try_from(mode), pod.namespace("pid")) {
        (Ok(cri::NamespaceMode::Node), _) => {}
        // Not under an unprivileged daemon: the container's own user namespace could
        // not mount /proc for a pid namespace owned by the daemon's (docs/rootless.md).
        (Ok(cri::NamespaceMode::Pod), Some(path)) if crate::daemon::userns::current().is_none() => {
            out.push(json!({"type": "pid", "path": path}));
        }
        _ => out.push(json!({"type": "pid"})),
    }
    out
}

/// Refuses mount requests that cannot be honoured: a recursive read-only mount must be
/// read-only and private (a mount propagated in later could not be made read-only).
fn check_mounts(config: &cri::ContainerConfig) -> Result<(), String> {
    for cm in config.mounts.iter().filter(|m| m.recursive_read_only) {
        if !cm.readonly {
            return Err(format!(
                "mount {}: recursive_read_only needs readonly",
                cm.container_path
            ));
        }
        if cm.propagation != cri::MountPropagation::PropagationPrivate as i32 {
            return Err(format!(
                "mount {}: recursive_read_only needs private propagation",
                cm.container_path
            ));
        }
    }
    Ok(())
}

fn mounts(config: &cri::ContainerConfig, pod: &PodRecord, privileged: bool) -> Vec<Value> {
    let sys_opts = if privileged {
        vec!["nosuid", "noexec", "nodev"]
    } else {
        vec!["nosuid", "noexec", "nodev", "ro"]
    };
    let mut m = vec![
        json!({"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
        json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]}),
        json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]}),
        json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": sys_opts}),
    ];
    let taken: Vec<&str> = config
        .mounts
        .iter()
        .map(|x| x.container_path.as_str())
        .collect();
    for file in ["resolv.conf", "hostname", "hosts"] {
        let dest = format!("/etc/{file}");
        if !taken.contains(&dest.as_str()) && pod.dir.join(file).exists() {
            m.push(json!({"destination": dest, "type": "bind", "source": pod.dir.join(file), "options": ["rbind", "rprivate"]}));
        }
    }
    for cm in &config.mounts {
        let mut opts = vec!["rbind"];
        opts.push(match cm.propagation {
            1 => "rslave",
            2 => "rshared",
            _ => "rprivate",
        });
        if cm.recursive_read_only {
            opts.push("rro");
        } else if cm.readonly {
            opts.push("ro");
        }
        m.push(json!({"destination": cm.container_path, "type": "bind", "source": cm.host_path, "options": opts}));
    }
    m
}

fn seccomp(sc: &cri::LinuxContainerSecurityContext) -> Result<Option<Value>, String> {
    let Some(p) = &sc.seccomp else {
        return Ok(None);
    };
    match cri::security_profile::ProfileType::try_from(p.profile_type) {
        Ok(cri::security_profile::ProfileType::Unconfined) => Ok(None),
        Ok(cri::security_profile::ProfileType::RuntimeDefault) => {
            serde_json::to_value(rootless::seccomp::default_profile())
                .map(Some)
                .map_err(|e| e.to_string())
        }
        Ok(cri::security_profile::ProfileType::Localhost) => {
            let text = std::fs::read_to_string(&p.localhost_ref)
                .map_err(|e| format!("seccomp profile {}: {e}", p.localhost_ref))?;
            serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| format!("seccomp profile {}: {e}", p.localhost_ref))
        }
        Err(_) => Err(format!("unknown seccomp profile type {}", p.profile_type)),
    }
}
