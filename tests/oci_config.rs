//! Spec features beyond the basics, as root and as an ordinary user: namespaces joined
//! by path (a pod's shared network), sysctls, exec's user and cwd, what degrades with a
//! warning (rlimits, oomScoreAdj), and a failing hook.

mod oci_common;

use oci_common::{config, modes, Env, Mode};
use serde_json::json;

fn ns_inode(pid: i64, ns: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{ns}"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

fn pid_of(env: &Env, id: &str) -> i64 {
    let state: serde_json::Value = serde_json::from_str(&env.ok(&["state", id])).unwrap();
    state["pid"].as_i64().unwrap()
}

#[test]
fn join_a_network_namespace_by_path() {
    for mode in modes() {
        let env = Env::new(mode);
        env.write_config(&config("exec sleep 1000"));
        env.create_ok("sandbox");
        let sandbox = pid_of(&env, "sandbox");
        let mut cfg = config("exec sleep 1000");
        let mut namespaces = vec![
            json!({"type": "pid"}),
            json!({"type": "mount"}),
            json!({"type": "network", "path": format!("/proc/{sandbox}/ns/net")}),
        ];
        if mode == Mode::User {
            // The sandbox's network namespace belongs to its user namespace: join that too.
            namespaces.push(json!({"type": "user", "path": format!("/proc/{sandbox}/ns/user")}));
        }
        cfg["linux"]["namespaces"] = json!(namespaces);
        cfg["hostname"] = json!(null);
        env.write_config(&cfg);
        env.create_ok("member");
        let member = pid_of(&env, "member");
        assert_eq!(
            ns_inode(member, "net"),
            ns_inode(sandbox, "net"),
            "{mode:?}"
        );
        assert_ne!(ns_inode(member, "mnt"), ns_inode(sandbox, "mnt"));
        assert_ne!(
            ns_inode(member, "net"),
            ns_inode(std::process::id() as i64, "net")
        );
        env.ok(&["delete", "--force", "member"]);
        env.ok(&["delete", "--force", "sandbox"]);
    }
}

#[test]
fn sysctl_and_exec_overrides() {
    for mode in modes() {
        let env = Env::new(mode);
        let mut cfg = config("exec sleep 1000");
        cfg["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
        env.write_config(&cfg);
        env.create_ok("tuned");
        env.ok(&["start", "tuned"]);
        assert_eq!(
            env.ok(&["exec", "tuned", "cat", "/proc/sys/net/ipv4/ip_forward"]),
            "1\n"
        );
        assert_eq!(env.ok(&["exec", "--cwd", "/tmp", "tuned", "pwd"]), "/tmp\n");
        let as_user = env.oci(&[
            "exec",
            "--user",
            "1000:1000",
            "tuned",
            "sh",
            "-c",
            "id -u; echo x > /dev/null && echo null-ok",
        ]);
        match mode {
            // /dev/null is 0666 whatever the runtime's umask.
            Mode::Root => assert_eq!(String::from_utf8_lossy(&as_user.stdout), "1000\nnull-ok\n"),
            // A single-id mapping has no uid 1000: a clear error, not a silent fallback.
            Mode::User => {
                assert!(!as_user.status.success());
                assert!(
                    String::from_utf8_lossy(&as_user.stderr).contains("mapped"),
                    "{as_user:?}"
                );
            }
        }
        env.ok(&["kill", "--all", "tuned", "KILL"]);
        env.wait_status("tuned", "stopped");
        env.ok(&["delete", "tuned"]);
    }
}

/// Whether this process holds CAP_SYS_RESOURCE (root on these machines does not).
fn has_sys_resource() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .unwrap()
        .trim();
    u64::from_str_radix(eff, 16).unwrap() & (1 << 24) != 0
}

#[test]
fn rlimits_and_oom_score_degrade_with_a_warning() {
    for mode in modes() {
        let env = Env::new(mode);
        let mut cfg =
            config("grep 'Max open files' /proc/self/limits; cat /proc/self/oom_score_adj");
        cfg["process"]["rlimits"] =
            json!([{"type": "RLIMIT_NOFILE", "soft": 1048576, "hard": 1048576}]);
        cfg["process"]["oomScoreAdj"] = json!(-500);
        env.write_config(&cfg);
        let out = env.run("degraded");
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(out.status.success(), "{mode:?}: {stderr}");
        if mode == Mode::Root && has_sys_resource() {
            assert!(
                stdout.contains("1048576") && stdout.contains("-500"),
                "{stdout}"
            );
        } else {
            assert!(
                stderr.contains("RlimitNofile") && stderr.contains("oomScoreAdj"),
                "{mode:?}: {stderr}"
            );
            assert!(!stdout.contains("1048576"), "{stdout}");
        }
    }
}

#[test]
fn failing_create_runtime_hook_fails_create_cleanly() {
    for mode in modes() {
        let env = Env::new(mode);
        let mut cfg = config("true");
        cfg["hooks"] = json!({"createRuntime": [{"path": "/bin/false"}]});
        env.write_config(&cfg);
        let out = env.create("badhook");
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("createRuntime hook /bin/false"),
            "{out:?}"
        );
        assert!(env.state_entries().is_empty(), "{mode:?}");
    }
}
