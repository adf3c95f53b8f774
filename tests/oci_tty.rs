//! A container's terminal through `--console-socket`, as root and as an ordinary user:
//! init sends the pty master over the socket; the test reads the container's output
//! from it and checks that stdin/stdout are a terminal.

mod oci_common;

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::process::Stdio;

use oci_common::{config, modes, Env};
use serde_json::json;

/// Reads everything until the slave side closes (EIO on a pty master).
fn read_all(master: std::os::fd::OwnedFd) -> String {
    let mut file = std::fs::File::from(master);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = file.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn listener(env: &Env, name: &str) -> (UnixListener, std::path::PathBuf) {
    let path = env.path().join(name);
    let listener = UnixListener::bind(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).unwrap();
    (listener, path)
}

#[test]
fn terminal_through_console_socket() {
    for mode in modes() {
        let env = Env::new(mode);
        let mut cfg = config("tty; test -t 0 && echo stdin-is-tty; echo done");
        cfg["process"]["terminal"] = json!(true);
        cfg["process"]["consoleSize"] = json!({"height": 30, "width": 100});
        env.write_config(&cfg);
        let (listener, sock) = listener(&env, "console.sock");
        let bundle = env.bundle();
        let mut create = env
            .command(&[
                "create",
                "--bundle",
                bundle.to_str().unwrap(),
                "--console-socket",
                sock.to_str().unwrap(),
                "tty",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (conn, _) = listener.accept().unwrap();
        let master = rootless::receive_pty_master(&conn).unwrap();
        let status = create.wait().unwrap();
        let mut err = String::new();
        create
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert!(status.success(), "{mode:?}: {err}");
        env.ok(&["start", "tty"]);
        let out = read_all(master);
        assert!(out.contains("/dev/pts/0"), "{mode:?}: {out:?}");
        assert!(
            out.contains("stdin-is-tty") && out.contains("done"),
            "{mode:?}: {out:?}"
        );
        env.wait_status("tty", "stopped");
        env.ok(&["delete", "tty"]);
    }
}

#[test]
fn exec_with_a_terminal() {
    for mode in modes() {
        let env = Env::new(mode);
        env.write_config(&config("exec sleep 1000"));
        env.create_ok("exectty");
        env.ok(&["start", "exectty"]);
        let (listener, sock) = listener(&env, "exec.sock");
        let mut exec = env
            .command(&[
                "exec",
                "--tty",
                "--console-socket",
                sock.to_str().unwrap(),
                "exectty",
                "sh",
                "-c",
                "test -t 1 && echo exec-tty",
            ])
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let (conn, _) = listener.accept().unwrap();
        let master = rootless::receive_pty_master(&conn).unwrap();
        let out = read_all(master);
        assert!(exec.wait().unwrap().success(), "{mode:?}");
        assert!(out.contains("exec-tty"), "{mode:?}: {out:?}");
        env.ok(&["delete", "--force", "exectty"]);
    }
}
