//! What a container's process sees from inside, as root and as an ordinary user:
//! capabilities, no_new_privs, seccomp, id maps, hostname, rlimits, device nodes,
//! masked and read-only paths, the read-only root.

mod oci_common;

use oci_common::{config, modes, subordinate_start, user_uid, Env, Mode};
use serde_json::json;

const PROBE: &str = "\
grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status; \
echo map $(cat /proc/self/uid_map); \
echo host $(hostname); \
grep 'Max open files' /proc/self/limits; \
test -c /dev/null && echo null-is-chardev; \
echo hello > /dev/null && echo null-writable; \
echo secret[$(cat /etc/secret)]; \
echo acpi[$(ls /proc/acpi)]; \
echo x > /proc/sys/kernel/hostname || echo procsys-readonly; \
mkdir /tmp/blocked || echo mkdir-denied; \
touch /newfile || echo root-readonly; \
touch /data/x || echo data-readonly; \
ls -l /dev/fuse; \
echo cgroupfs[$(ls /sys/fs/cgroup | head -n 1)]; \
echo done";

fn probe(env: &Env) -> String {
    let mut cfg = config(PROBE);
    cfg["root"]["readonly"] = json!(true);
    cfg["mounts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}));
    let data = env.path().join("out");
    std::fs::create_dir(env.bundle().join("rootfs/data")).unwrap();
    let mounts = cfg["mounts"].as_array_mut().unwrap();
    mounts.push(
        json!({"destination": "/data", "type": "bind", "source": data, "options": ["rbind", "ro"]}),
    );
    mounts.push(json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["ro", "nosuid", "nodev", "noexec"]}));
    cfg["linux"]["devices"] =
        json!([{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438}]);
    cfg["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
    });
    env.write_config(&cfg);
    let out = env.run("probe");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{:?}: {stdout}\n{}",
        env.mode,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn process_sees_its_restrictions() {
    for mode in modes() {
        let env = Env::new(mode);
        let out = probe(&env);
        let has = |s: &str| assert!(out.contains(s), "{mode:?}: missing {s:?} in:\n{out}");
        has("CapEff:\t0000000020000420");
        has("CapBnd:\t0000000020000420");
        has("NoNewPrivs:\t1");
        has("Seccomp:\t2");
        has("host sifcri-box");
        has("null-is-chardev");
        has("null-writable");
        has("secret[]");
        has("acpi[]");
        has("procsys-readonly");
        has("mkdir-denied");
        has("root-readonly");
        has("data-readonly");
        has("10, 229");
        assert!(
            !out.contains("cgroupfs[]"),
            "{mode:?}: empty /sys/fs/cgroup:\n{out}"
        );
        has("done");
        let limits = out
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .unwrap();
        assert_eq!(
            limits.split_whitespace().collect::<Vec<_>>()[3..5],
            ["512", "1024"],
            "{limits}"
        );
        match mode {
            Mode::Root => has("map 0 0 4294967295"),
            Mode::User => has(&format!("map 0 {} 1", user_uid())),
        }
    }
}

#[test]
fn several_id_ranges_through_newuidmap() {
    for mode in modes() {
        let env = Env::new(mode);
        let (first, second) = match mode {
            Mode::Root => (300_000, 400_000),
            Mode::User => (user_uid(), subordinate_start()),
        };
        let maps = json!([{"containerID": 0, "hostID": first, "size": 1}, {"containerID": 1, "hostID": second, "size": 65536}]);
        let mut cfg = config("id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map");
        cfg["process"]["user"] = json!({"uid": 1000, "gid": 1000});
        cfg["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "user"}));
        cfg["linux"]["uidMappings"] = maps.clone();
        cfg["linux"]["gidMappings"] = maps;
        env.write_config(&cfg);
        let out = env.run("ranges");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{mode:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let lines: Vec<Vec<&str>> = stdout
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(lines[0], ["1000"]);
        assert_eq!(lines[1], ["1000"]);
        let first = first.to_string();
        let second = second.to_string();
        assert_eq!(lines[2], ["0", first.as_str(), "1"], "{stdout}");
        assert_eq!(lines[3], ["1", second.as_str(), "65536"], "{stdout}");
    }
}

#[test]
fn default_seccomp_profile_runs_a_shell() {
    for mode in modes() {
        let env = Env::new(mode);
        let mut cfg = config("grep Seccomp: /proc/self/status; echo ok");
        cfg["linux"]["seccomp"] =
            serde_json::to_value(rootless::seccomp::default_profile()).unwrap();
        env.write_config(&cfg);
        let out = env.run("default-seccomp");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{mode:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("Seccomp:\t2") && stdout.contains("ok"),
            "{stdout}"
        );
    }
}
