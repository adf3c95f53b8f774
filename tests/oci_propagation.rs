//! Mount propagation between the host and a container (as root: an ordinary user's
//! mounts cannot share a peer group with the host's): with `rootfsPropagation:
//! rshared`, a bind mount of a shared host mount marked `rshared` carries mounts made
//! in the container out to the host, and host mounts in; a private one carries none.

mod oci_common;

use std::path::Path;
use std::process::Command;

use oci_common::{config, Env, Mode};
use serde_json::json;

/// A host mount (a directory bind-mounted onto itself and made rshared, or any mount
/// handed in); unmounted on drop.
struct SharedMount(std::path::PathBuf);

impl SharedMount {
    fn new(dir: &Path) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let run = |args: &[&str]| {
            let st = Command::new("mount").args(args).arg(dir).status().unwrap();
            assert!(st.success(), "mount {args:?}");
        };
        run(&["--bind", dir.to_str().unwrap()]);
        let me = SharedMount(dir.to_owned());
        run(&["--make-rshared"]);
        me
    }
}

impl Drop for SharedMount {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-R")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

fn is_mount_point(p: &Path) -> bool {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    info.lines()
        .any(|l| l.split(' ').nth(4) == Some(p.to_str().unwrap()))
}

#[test]
fn bidirectional_bind_mounts_reach_the_host() {
    if !oci_common::modes().contains(&Mode::Root) {
        return;
    }
    let env = Env::new(Mode::Root);
    let shared = env.path().join("shared");
    let _guard = SharedMount::new(&shared);
    // A host mount made before the container starts is seen inside.
    let from_host = shared.join("from-host");
    std::fs::create_dir(&from_host).unwrap();
    let st = Command::new("mount")
        .args(["-t", "tmpfs", "hosttmp"])
        .arg(&from_host)
        .status()
        .unwrap();
    assert!(st.success());
    std::fs::write(from_host.join("flag"), "x").unwrap();
    std::fs::create_dir(shared.join("from-container")).unwrap();
    let mut cfg = config(
        "cat /data/from-host/flag && mount -t tmpfs ctrtmp /data/from-container && \
         echo y > /data/from-container/flag && sleep 2",
    );
    cfg["linux"]["rootfsPropagation"] = json!("rshared");
    std::fs::create_dir(env.bundle().join("rootfs/data")).unwrap();
    cfg["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/data", "type": "bind", "source": shared,
        "options": ["rbind", "rshared"]
    }));
    cfg["process"]["capabilities"]["bounding"] = json!(["CAP_SYS_ADMIN"]);
    cfg["process"]["capabilities"]["effective"] = json!(["CAP_SYS_ADMIN"]);
    cfg["process"]["capabilities"]["permitted"] = json!(["CAP_SYS_ADMIN"]);
    env.write_config(&cfg);
    env.create_ok("prop");
    env.ok(&["start", "prop"]);
    let seen = shared.join("from-container");
    let mut ok = false;
    for _ in 0..150 {
        if std::fs::read_to_string(seen.join("flag")).is_ok_and(|s| s == "y\n") {
            ok = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(ok, "the container's mount did not reach the host");
    assert!(is_mount_point(&seen));
    env.wait_status("prop", "stopped");
    assert_eq!(env.container_stdout("prop"), "x");
}

/// `rro`: the bind mount and every mount below it are read-only (a plain `ro` bind
/// leaves submounts writable).
#[test]
fn recursive_read_only_bind_mounts() {
    for mode in oci_common::modes() {
        let env = Env::new(mode);
        let host = env.path().join("host");
        let sub = host.join("sub");
        std::fs::create_dir_all(&sub).unwrap();
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "subtmp"])
            .arg(&sub)
            .status()
            .unwrap();
        assert!(st.success());
        let _guard = SharedMount(sub.clone());
        if mode == Mode::User {
            oci_common::chown_to_user(&sub);
        }
        let mut cfg = config(
            "touch /ro/sub/a 2>/dev/null && echo ro-sub-writable; \
             touch /rro/sub/b 2>/dev/null || echo rro-sub-readonly; \
             touch /rro/c 2>/dev/null || echo rro-readonly",
        );
        for (dest, opt) in [("/ro", "ro"), ("/rro", "rro")] {
            std::fs::create_dir(env.bundle().join("rootfs").join(&dest[1..])).unwrap();
            cfg["mounts"].as_array_mut().unwrap().push(json!({
                "destination": dest, "type": "bind", "source": host,
                "options": ["rbind", opt, "rprivate"]
            }));
        }
        env.write_config(&cfg);
        let out = env.run("rro");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            stdout,
            "ro-sub-writable\nrro-sub-readonly\nrro-readonly\n",
            "{mode:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
