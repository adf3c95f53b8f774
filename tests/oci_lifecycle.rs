//! `sifcri oci` lifecycle, as root and as an ordinary user: create → created,
//! start → running, exec, kill → stopped, delete; list; run's exit code; killing init
//! while exec'd processes run.

mod oci_common;

use oci_common::{config, modes, Env};

#[test]
fn create_start_kill_delete() {
    for mode in modes() {
        let env = Env::new(mode);
        env.write_config(&config("echo started; exec sleep 1000"));
        env.create_ok("life");
        assert_eq!(env.status("life"), "created", "{mode:?}");
        let state: serde_json::Value = serde_json::from_str(&env.ok(&["state", "life"])).unwrap();
        assert_eq!(state["id"], "life");
        assert!(state["pid"].as_i64().unwrap() > 0);
        assert_eq!(state["bundle"], env.bundle().to_str().unwrap());
        assert_eq!(
            env.container_stdout("life"),
            "",
            "nothing runs before start"
        );
        env.ok(&["start", "life"]);
        assert_eq!(env.status("life"), "running");
        assert!(env.ok(&["list"]).contains("life"));
        assert_eq!(env.ok(&["list", "--quiet"]).trim(), "life");
        let out = env.ok(&[
            "exec",
            "--env",
            "FOO=bar",
            "life",
            "sh",
            "-c",
            "echo $FOO $HOME; hostname",
        ]);
        assert_eq!(out, "bar /root\nsifcri-box\n");
        // A detached process keeps the caller's stdio: not a pipe we would read to EOF.
        let detached = env
            .command(&["exec", "--detach", "life", "sleep", "999"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(detached.success(), "{mode:?}");
        let seen = (0..500).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(10));
            env.ok(&["exec", "life", "ps"]).contains("sleep 999")
        });
        assert!(seen, "{mode:?}: detached exec not running");
        env.ok(&["kill", "life", "KILL"]);
        env.wait_status("life", "stopped");
        assert_eq!(env.container_stdout("life"), "started\n");
        env.ok(&["delete", "life"]);
        assert!(
            env.state_entries().is_empty(),
            "{mode:?}: state left behind"
        );
        let gone = env.oci(&["state", "life"]);
        assert!(!gone.status.success());
        assert!(String::from_utf8_lossy(&gone.stderr).contains("does not exist"));
    }
}

#[test]
fn run_returns_exit_code() {
    for mode in modes() {
        let env = Env::new(mode);
        env.write_config(&config("echo out; exit 7"));
        let out = env.run("code");
        assert_eq!(
            out.status.code(),
            Some(7),
            "{mode:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
        assert!(env.state_entries().is_empty(), "run deletes its container");
    }
}

#[test]
fn killing_init_ends_exec_processes() {
    for mode in modes() {
        let env = Env::new(mode);
        env.write_config(&config("exec sleep 1000"));
        env.create_ok("pidns");
        env.ok(&["start", "pidns"]);
        let mut exec = env
            .command(&["exec", "pidns", "sleep", "1000"])
            .spawn()
            .unwrap();
        // Wait until the exec'd sleep is visible inside the container.
        for _ in 0..500 {
            if env
                .ok(&["exec", "pidns", "ps"])
                .matches("sleep 1000")
                .count()
                >= 2
            {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        env.ok(&["kill", "pidns", "9"]);
        let status = exec.wait().unwrap();
        assert_eq!(
            status.code(),
            Some(137),
            "{mode:?}: exec'd process killed with its pid namespace"
        );
        env.wait_status("pidns", "stopped");
        env.ok(&["delete", "pidns"]);
    }
}

#[test]
fn delete_force_kills_a_running_container() {
    for mode in modes() {
        let env = Env::new(mode);
        env.write_config(&config("exec sleep 1000"));
        env.create_ok("force");
        env.ok(&["start", "force"]);
        let refused = env.oci(&["delete", "force"]);
        assert!(!refused.status.success());
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains("running"),
            "{mode:?}"
        );
        assert_eq!(env.status("force"), "running");
        env.ok(&["delete", "--force", "force"]);
        assert!(env.state_entries().is_empty());
    }
}

#[test]
fn run_forwards_signals() {
    for mode in modes() {
        let env = Env::new(mode);
        env.write_config(&config(
            "trap 'echo got-term; exit 3' TERM; touch /tmp/ready; while true; do sleep 0.05; done",
        ));
        let bundle = env.bundle();
        let run = env
            .command(&["run", "--bundle", bundle.to_str().unwrap(), "sig"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The runtime is ready to forward once the container's shell has set its trap.
        for _ in 0..500 {
            if env
                .oci(&["exec", "sig", "test", "-e", "/tmp/ready"])
                .status
                .success()
            {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        // setpriv execs the runtime, so the child's pid is the runtime's in both modes.
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(run.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        let out = run.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(3), "{mode:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "got-term\n");
        assert!(env.state_entries().is_empty());
    }
}
