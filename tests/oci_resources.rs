//! cgroup limits after create: `oci update` of a running container (read back from the
//! limit files), hugepage limits where the host keeps hugetlb (v1, or the cgroup2 tree
//! of a hybrid host), and the pure cgroup v2 code path in a private mount namespace
//! whose /sys/fs/cgroup is the host's cgroup2 tree (hugetlb is its one controller here).

mod oci_common;

use std::path::{Path, PathBuf};
use std::process::Command;

use oci_common::{config, modes, Env, Mode};
use rootless::cgroups::Layout;
use serde_json::json;

/// `/sys/fs/cgroup/CONTROLLER/REL/FILE` on v1 and hybrid hosts, `/sys/fs/cgroup/REL/FILE2` on v2.
fn limit_file(rel: &str, ctrl: &str, v1: &str, v2: &str) -> PathBuf {
    let base = Path::new("/sys/fs/cgroup");
    match Layout::detect() {
        Layout::Unified => base.join(rel).join(v2),
        Layout::V1 | Layout::Hybrid => base.join(ctrl).join(rel).join(v1),
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .to_string()
}

#[test]
fn update_changes_a_running_container() {
    for mode in modes() {
        let env = Env::new(mode);
        let rel = format!("sifcri-oci-update-{}", std::process::id());
        let mut cfg = config("exec sleep 1000");
        cfg["linux"]["cgroupsPath"] = json!(format!("/{rel}"));
        cfg["linux"]["resources"] = json!({"memory": {"limit": 67108864}, "pids": {"limit": 50}});
        env.write_config(&cfg);
        env.create_ok("upd");
        env.ok(&["start", "upd"]);
        let file = env.path().join("res.json");
        std::fs::write(
            &file,
            r#"{"memory": {"limit": 134217728}, "pids": {"limit": 20}}"#,
        )
        .unwrap();
        let out = env.oci(&["update", "--resources", file.to_str().unwrap(), "upd"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if mode == Mode::User {
            // No cgroup without a delegated tree: a clear error, the container untouched.
            assert!(
                !out.status.success() && stderr.contains("no cgroup"),
                "{stderr}"
            );
            assert_eq!(env.status("upd"), "running");
            continue;
        }
        assert!(out.status.success(), "{stderr}");
        let pids = limit_file(&rel, "pids", "pids.max", "pids.max");
        let mem = limit_file(&rel, "memory", "memory.limit_in_bytes", "memory.max");
        assert_eq!(read(&pids), "20");
        assert_eq!(read(&mem), "134217728");
        // From standard input, only the named limit changes.
        let mut child = env
            .command(&["update", "--resources", "-", "upd"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(br#"{"pids": {"limit": 30}}"#).unwrap();
        drop(stdin);
        assert!(child.wait().unwrap().success());
        assert_eq!((read(&pids), read(&mem)), ("30".into(), "134217728".into()));
        let bad = env.oci(&["update", "--resources", "-", "upd"]);
        assert!(!bad.status.success(), "empty JSON accepted");
        env.ok(&["kill", "upd", "KILL"]);
        env.wait_status("upd", "stopped");
        let out = env.oci(&["update", "--resources", file.to_str().unwrap(), "upd"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains("stopped"),
            "{stderr}"
        );
        env.ok(&["delete", "upd"]);
    }
}

/// Where this host keeps hugetlb for the container at `rel`, and the file name there.
fn hugetlb_file(rel: &str) -> Option<PathBuf> {
    let mounts = rootless::cgroups::mounts();
    if let Some((_, at, _)) = mounts
        .iter()
        .find(|(fs, _, o)| fs == "cgroup" && o.split(',').any(|x| x == "hugetlb"))
    {
        return Some(at.join(rel).join("hugetlb.2MB.limit_in_bytes"));
    }
    let (_, at, _) = mounts.iter().find(|(fs, _, _)| fs == "cgroup2")?;
    let controllers = std::fs::read_to_string(at.join("cgroup.controllers")).ok()?;
    controllers
        .contains("hugetlb")
        .then(|| at.join(rel).join("hugetlb.2MB.max"))
}

/// True when hugetlb and 2 MB pages exist; skips loudly otherwise (fails under CI=true,
/// whose machines have both).
fn have_hugetlb() -> bool {
    let ok = hugetlb_file("x").is_some()
        && Path::new("/sys/kernel/mm/hugepages/hugepages-2048kB").exists();
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true: no hugetlb controller or no 2 MB pages"
        );
        eprintln!("SKIP: no hugetlb cgroup controller or no 2 MB huge pages");
    }
    ok
}

#[test]
fn hugepage_limits_written_and_removed() {
    if !nix::unistd::geteuid().is_root() || !have_hugetlb() {
        return;
    }
    let env = Env::new(Mode::Root);
    let rel = format!("sifcri-oci-hugetlb-{}", std::process::id());
    let mut cfg = config("exec sleep 1000");
    cfg["linux"]["cgroupsPath"] = json!(format!("/{rel}"));
    cfg["linux"]["resources"] = json!({"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]});
    env.write_config(&cfg);
    env.create_ok("huge");
    let file = hugetlb_file(&rel).unwrap();
    assert_eq!(read(&file), "4194304", "{}", file.display());
    let procs = read(&file.parent().unwrap().join("cgroup.procs"));
    assert!(!procs.is_empty(), "init is not in the hugetlb cgroup");
    let res = env.path().join("res.json");
    std::fs::write(
        &res,
        r#"{"hugepageLimits": [{"pageSize": "2MB", "limit": 2097152}]}"#,
    )
    .unwrap();
    env.ok(&["update", "--resources", res.to_str().unwrap(), "huge"]);
    assert_eq!(read(&file), "2097152");
    env.ok(&["delete", "--force", "huge"]);
    assert!(
        !file.parent().unwrap().exists(),
        "hugetlb cgroup left behind"
    );
}

#[test]
fn pure_cgroup_v2_path_in_a_private_namespace() {
    if !nix::unistd::geteuid().is_root() || !have_hugetlb() || Layout::detect() == Layout::Unified {
        return; // (a pure v2 host runs the v2 path in every other test)
    }
    let Some(unified) = rootless::cgroups::mounts()
        .into_iter()
        .find(|(fs, _, _)| fs == "cgroup2")
        .map(|(_, at, _)| at)
    else {
        return;
    };
    let env = Env::new(Mode::Root);
    let rel = format!("sifcri-oci-v2-{}", std::process::id());
    let mut cfg = config("exec sleep 1000");
    cfg["linux"]["cgroupsPath"] = json!(format!("/{rel}"));
    cfg["linux"]["resources"] = json!({"hugepageLimits": [{"pageSize": "2MB", "limit": 6291456}]});
    env.write_config(&cfg);
    let oci = format!(
        "{} oci --root {}",
        env.path().join("sifcri").display(),
        env.path().join("state").display()
    );
    let dir = format!("/sys/fs/cgroup/{rel}");
    let script = format!(
        "set -e; mount --bind {u} /sys/fs/cgroup; \
         {oci} create --bundle {b} v2 >/dev/null; \
         cat {dir}/hugetlb.2MB.max; test -n \"$(cat {dir}/cgroup.procs)\" && echo procs; \
         {oci} start v2; {oci} delete --force v2; test -e {dir} || echo removed",
        u = unified.display(),
        b = env.bundle().display(),
    );
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script])
        .output()
        .unwrap();
    let _ = env.oci(&["delete", "--force", "v2"]); // if the script stopped early
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout, "6291456\nprocs\nremoved\n");
}
