//! A container's process starts with default signal dispositions and an empty
//! signal mask, whatever its caller ignored: a monitor or shell that ignores SIGHUP,
//! SIGQUIT or SIGPIPE must not pass that on (a process that ignores SIGPIPE never dies
//! writing to a closed pipe; a stop that relies on SIGHUP never lands).

mod oci_common;

use std::process::{Command, Stdio};

use oci_common::{config, modes, Env};

#[test]
fn container_process_gets_default_signal_dispositions() {
    for mode in modes() {
        let env = Env::new(mode);
        env.write_config(&config("grep -E '^Sig(Ign|Blk):' /proc/self/status; true"));
        let inner = env.command(&["run", "--bundle", env.bundle().to_str().unwrap(), "sig"]);
        // The caller ignores three signals; exec keeps ignored dispositions. (`; true`
        // keeps busybox sh from exec'ing grep itself, which ignores SIGQUIT then.)
        let mut outer = Command::new("sh");
        outer
            .arg("-c")
            .arg("trap '' HUP QUIT PIPE; exec \"$@\"")
            .arg("sh")
            .arg(inner.get_program())
            .args(inner.get_args())
            .current_dir(env.path())
            .stdin(Stdio::null());
        let out = outer.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{mode:?}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("SigIgn:\t0000000000000000"),
            "{mode:?}: {stdout}"
        );
        assert!(
            stdout.contains("SigBlk:\t0000000000000000"),
            "{mode:?}: {stdout}"
        );
    }
}

/// `start` returns once init has executed the user's program: a SIGTERM sent right
/// after it reaches the program's handler instead of being dropped by the kernel (a
/// pid namespace's init without a handler ignores it). The startContainer hook keeps
/// init from executing for a while, so without that wait the signal is always lost.
#[test]
fn a_signal_right_after_start_reaches_the_program() {
    for mode in modes() {
        let env = Env::new(mode);
        let mut cfg = config("trap 'echo got-term; exit 0' TERM; while :; do sleep 0.05; done");
        cfg["hooks"] = serde_json::json!({
            "startContainer": [{"path": "/bin/sleep", "args": ["sleep", "0.3"]}]
        });
        env.write_config(&cfg);
        env.create_ok("early");
        env.ok(&["start", "early"]);
        env.ok(&["kill", "early", "TERM"]);
        env.wait_status("early", "stopped");
        assert_eq!(env.container_stdout("early"), "got-term\n", "{mode:?}");
    }
}
