//! cgroup limits written where the host's layout (v1, hybrid or v2) keeps them, read
//! back and removed on delete; unprivileged runs without limits. And the five hook
//! kinds, each given the state JSON.

mod oci_common;

use std::path::{Path, PathBuf};

use oci_common::{config, modes, Env, Mode};
use rootless::cgroups::Layout;
use serde_json::json;

/// The directory of the container's cgroup and the files holding memory and pids limits.
fn limit_files(rel: &str) -> Vec<(PathBuf, &'static str)> {
    let base = Path::new("/sys/fs/cgroup");
    match Layout::detect() {
        Layout::Unified => vec![
            (base.join(rel).join("memory.max"), "67108864"),
            (base.join(rel).join("pids.max"), "50"),
        ],
        Layout::V1 | Layout::Hybrid => vec![
            (
                base.join("memory").join(rel).join("memory.limit_in_bytes"),
                "67108864",
            ),
            (base.join("pids").join(rel).join("pids.max"), "50"),
            (base.join("cpu").join(rel).join("cpu.shares"), "512"),
        ],
    }
}

#[test]
fn cgroup_limits_applied_and_removed() {
    for mode in modes() {
        let env = Env::new(mode);
        let rel = format!("sifcri-oci-test-{}", std::process::id());
        let mut cfg = config("exec sleep 1000");
        cfg["linux"]["cgroupsPath"] = json!(format!("/{rel}"));
        cfg["linux"]["resources"] = json!({
            "memory": {"limit": 67108864},
            "pids": {"limit": 50},
            "cpu": {"shares": 512, "quota": 50000, "period": 100000}
        });
        env.write_config(&cfg);
        env.create_ok("limited");
        if mode == Mode::User {
            // Without a delegated cgroup v2 tree the container runs, unlimited, with a warning.
            env.ok(&["start", "limited"]);
            assert_eq!(env.status("limited"), "running");
            env.ok(&["delete", "--force", "limited"]);
            continue;
        }
        for (file, want) in limit_files(&rel) {
            let got = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            assert_eq!(got.trim(), want, "{}", file.display());
        }
        env.ok(&["start", "limited"]);
        let container = rootless::Container::load(&env.path().join("state"), "limited").unwrap();
        let stats = container.stats();
        assert_eq!(stats.pids, Some(1), "{stats:?}");
        assert!(stats.memory_working_set.is_some_and(|m| m > 0), "{stats:?}");
        env.ok(&["delete", "--force", "limited"]);
        for (file, _) in limit_files(&rel) {
            assert!(
                !file.parent().unwrap().exists(),
                "{} left behind",
                file.display()
            );
        }
    }
}

#[test]
fn hooks_run_with_the_state() {
    for mode in modes() {
        let env = Env::new(mode);
        let out = env.path().join("out");
        let hook = |name: &str, dir: &Path| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("cat > {}/{name}.json", dir.display())]});
        // An ordinary user cannot make mount points in a rootfs owned by root.
        std::fs::create_dir(env.bundle().join("rootfs/hooks")).unwrap();
        let mut cfg = config("echo ran");
        cfg["mounts"].as_array_mut().unwrap().push(
            json!({"destination": "/hooks", "type": "bind", "source": out, "options": ["rbind"]}),
        );
        cfg["hooks"] = json!({
            "createRuntime": [hook("createRuntime", &out)],
            "createContainer": [hook("createContainer", &out)],
            "startContainer": [hook("startContainer", Path::new("/hooks"))],
            "poststart": [hook("poststart", &out)],
            "poststop": [hook("poststop", &out)]
        });
        env.write_config(&cfg);
        env.create_ok("hooked");
        env.ok(&["start", "hooked"]);
        env.wait_status("hooked", "stopped");
        env.ok(&["delete", "hooked"]);
        for name in [
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart",
            "poststop",
        ] {
            let text = std::fs::read_to_string(out.join(format!("{name}.json")))
                .unwrap_or_else(|e| panic!("{mode:?}: {name} did not run: {e}"));
            let state: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(state["id"], "hooked", "{name}: {text}");
        }
        assert_eq!(env.container_stdout("hooked"), "ran\n");
    }
}
