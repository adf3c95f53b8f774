//! `sifcri ctl`: run (with and without --rm), ps, logs, exec and rm against the real
//! daemon.

mod cri_common;

use std::process::{Command, Output};

use cri_common::{busybox_image, require_root, Daemon};

const IMAGE: &str = "localhost/busybox:ctl";

fn ctl(d: &Daemon, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sifcri"))
        .arg("ctl")
        .arg("--endpoint")
        .arg(d.socket())
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn run_ps_logs_exec_rm() {
    if !require_root() {
        return;
    }
    let d = Daemon::start();
    busybox_image(&d, IMAGE);
    let out = ctl(
        &d,
        &[
            "run",
            "--rm",
            IMAGE,
            "--",
            "sh",
            "-c",
            "echo hi; echo oops >&2; exit 5",
        ],
    );
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    assert_eq!(text(&out.stdout), "hi\n");
    assert!(text(&out.stderr).contains("oops"));
    let ps = ctl(&d, &["ps"]);
    assert_eq!(text(&ps.stdout).lines().count(), 1, "{ps:?}");

    let out = ctl(&d, &["run", IMAGE, "--", "echo", "kept"]);
    assert!(out.status.success(), "{out:?}");
    let ps = text(&ctl(&d, &["ps"]).stdout);
    let row = ps.lines().find(|l| l.contains("main")).unwrap().to_owned();
    let cols: Vec<&str> = row.split_whitespace().collect();
    let (pod, ctr) = (cols[0], cols[1]);
    assert!(row.contains("exited"), "{ps}");
    let logs = ctl(&d, &["logs", ctr]);
    assert_eq!(text(&logs.stdout), "kept\n", "{logs:?}");
    let e = ctl(&d, &["exec", ctr, "--", "true"]);
    assert!(
        !e.status.success(),
        "exec into an exited container must fail"
    );
    let pod_row = ps.lines().find(|l| l.contains(" - ")).unwrap().to_owned();
    let pod_name = pod_row.split_whitespace().nth(2).unwrap().to_owned();
    let rm = ctl(&d, &["rm", pod]);
    let _ = std::fs::remove_dir_all(std::env::temp_dir().join("sifcri-ctl").join(pod_name));
    assert!(rm.status.success(), "{rm:?}");
    assert_eq!(text(&ctl(&d, &["ps"]).stdout).lines().count(), 1);
    let bad = ctl(&d, &["logs", "nope"]);
    assert!(!bad.status.success());
}
