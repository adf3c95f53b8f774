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
