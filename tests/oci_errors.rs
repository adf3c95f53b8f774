//! Bad input to `sifcri oci`, as root and as an ordinary user: each is a clear error
//! and leaves nothing running or in the state directory.

mod oci_common;

use oci_common::{config, modes, Env, Mode};
use serde_json::{json, Value};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `out` is a failure whose stderr names `want`.
fn assert_refused(mode: Mode, out: &std::process::Output, want: &str) {
    assert!(!out.status.success(), "{mode:?}: accepted, wanted {want:?}");
    let err = stderr(out);
    assert!(err.contains(want), "{mode:?}: {err}");
}

/// Creating `id` from `cfg` in `env` is refused, naming `want`.
fn create_refused(env: &Env, mode: Mode, cfg: &Value, id: &str, want: &str) {
    env.write_config(cfg);
    assert_refused(mode, &env.create(id), want);
}

#[test]
fn invalid_config_names_the_field() {
    for mode in modes() {
        let env = Env::new(mode);
        let mut cfg = config("true");
        cfg["process"]["args"] = json!("not-a-list");
        create_refused(&env, mode, &cfg, "bad", "process.args");
        assert!(env.state_entries().is_empty());

        let mut cfg = config("true");
        cfg["process"]["cwd"] = json!("relative");
        create_refused(&env, mode, &cfg, "bad", "process.cwd");

        std::fs::write(env.bundle().join("config.json"), "{ not json").unwrap();
        assert_refused(mode, &env.create("bad"), "invalid config.json");
        assert!(env.state_entries().is_empty());
    }
}

#[test]
fn missing_rootfs_and_missing_program() {
    for mode in modes() {
        let env = Env::new(mode);
        let mut cfg = config("true");
        cfg["root"]["path"] = json!("no-such-rootfs");
        create_refused(&env, mode, &cfg, "noroot", "root.path");

        let mut cfg = config("true");
        cfg["process"]["args"] = json!(["/bin/no-such-program"]);
        create_refused(&env, mode, &cfg, "noprog", "no-such-program");
        assert!(
            env.state_entries().is_empty(),
            "{mode:?}: a failed create left state"
        );
    }
}

#[test]
fn duplicate_id_unknown_signal_and_missing_container() {
    for mode in modes() {
        let env = Env::new(mode);
        env.write_config(&config("exec sleep 1000"));
        env.create_ok("dup");
        assert_refused(mode, &env.create("dup"), "already exists");
        assert_eq!(
            env.status("dup"),
            "created",
            "the first container is untouched"
        );

        let out = env.oci(&["kill", "dup", "SIGNOPE"]);
        assert_refused(mode, &out, "unknown signal");

        assert_refused(mode, &env.oci(&["start", "nope"]), "does not exist");
        let out = env.oci(&["state", "../escape"]);
        assert_refused(mode, &out, "invalid container id");

        env.ok(&["start", "dup"]);
        assert_refused(mode, &env.oci(&["start", "dup"]), "running");
        env.ok(&["delete", "--force", "dup"]);
        assert!(env.state_entries().is_empty());
    }
}

#[test]
fn host_without_apparmor_refuses_a_profile() {
    if std::path::Path::new("/sys/kernel/security/apparmor").exists() {
        eprintln!("SKIP: this host has AppArmor");
        return;
    }
    for mode in modes() {
        let env = Env::new(mode);
        let mut cfg = config("true");
        cfg["process"]["apparmorProfile"] = json!("docker-default");
        create_refused(&env, mode, &cfg, "aa", "process.apparmorProfile");
        assert!(env.state_entries().is_empty());
    }
}

/// A user whose container maps only its own id (no `linux.uidMappings`) asking for
/// uid 1000, or for an additional gid outside the map: a clear error at create naming
/// the field, not a bare EINVAL from the container's init.
#[test]
fn user_outside_the_id_map_is_refused() {
    for mode in modes().into_iter().filter(|m| *m == Mode::User) {
        let env = Env::new(mode);
        for (user, field) in [
            (json!({"uid": 1000, "gid": 0}), "process.user.uid"),
            (
                json!({"uid": 0, "gid": 0, "additionalGids": [1000]}),
                "process.user.additionalGids",
            ),
        ] {
            let mut cfg = config("true");
            cfg["process"]["user"] = user;
            env.write_config(&cfg);
            let out = env.create("unmapped");
            assert!(!out.status.success(), "{mode:?}: {field} accepted");
            let err = stderr(&out);
            assert!(
                err.contains(field) && err.contains("not mapped"),
                "{mode:?}: {err}"
            );
            assert!(env.state_entries().is_empty());
        }
    }
}
