//! Exec and attach through the real daemon: `sifcri serve` hands out streaming URLs
//! from the Exec and Attach RPCs, and the independent SPDY client of
//! `tests/streaming_client` drives them — exec without and with a terminal (stdin
//! echo, `stty size` after a resize, exit codes), attach by two clients at once to a
//! container with stdin (stdin_once ends it) after a daemon kill -9 and restart, a
//! terminal container's attach, bad requests, and a client vanishing mid-exec.

mod cri_common;
mod exec_checks;
mod streaming_client;

use std::time::{Duration, Instant};

use cri_common::{busybox_image, pod_config, require_root, Client, Daemon};
use exec_checks::{exit_code, pids_running};
use proto::cri;
use streaming_client::{collect, open_port_pair, open_streams, upgrade, In, Outcome};
use tonic::Code;

const IMAGE: &str = "localhost/busybox:stream";
const V4: &str = "v4.channel.k8s.io";

async fn run_pod(c: &mut Client, name: &str) -> (String, cri::PodSandboxConfig) {
    let config = pod_config(name);
    (cri_common::run_pod(c, &config).await, config)
}

/// Creates and starts a container running `script`.
async fn run_container(
    c: &mut Client,
    pod: &(String, cri::PodSandboxConfig),
    name: &str,
    script: &str,
    tune: impl FnOnce(&mut cri::ContainerConfig),
) -> String {
    let mut config = cri::ContainerConfig {
        metadata: Some(cri::ContainerMetadata {
            name: name.into(),
            attempt: 0,
        }),
        image: Some(cri::ImageSpec {
            image: IMAGE.into(),
            ..Default::default()
        }),
        command: vec!["sh".into(), "-c".into(), script.into()],
        ..Default::default()
    };
    tune(&mut config);
    let req = cri::CreateContainerRequest {
        pod_sandbox_id: pod.0.clone(),
        config: Some(config),
        sandbox_config: Some(pod.1.clone()),
    };
    let id = c
        .create_container(req)
        .await
        .unwrap()
        .into_inner()
        .container_id;
    let start = cri::StartContainerRequest {
        container_id: id.clone(),
    };
    c.start_container(start).await.unwrap();
    id
}

fn exec_req(id: &str, cmd: &[&str], tty: bool, stdin: bool) -> cri::ExecRequest {
    cri::ExecRequest {
        container_id: id.into(),
        cmd: cmd.iter().map(|s| s.to_string()).collect(),
        tty,
        stdin,
        stdout: true,
        stderr: !tty,
    }
}

async fn exec_url(c: &mut Client, req: cri::ExecRequest) -> String {
    c.exec(req).await.unwrap().into_inner().url
}

/// Runs a remote command over `url` on a blocking thread: opens `types`, sends
/// `stdin` then its end, collects everything.
async fn run_blocking(
    url: String,
    types: &'static [&'static str],
    stdin: &'static [u8],
) -> Outcome {
    tokio::task::spawn_blocking(move || {
        let (tcp, hs) = upgrade(&url, &[V4]);
        assert_eq!(hs.status, 101, "upgrade of {url}");
        let mut c = streaming_client::Client::new(tcp);
        let ids = open_streams(&mut c, types);
        if let Some((_, id)) = ids.iter().find(|(t, _)| t == "stdin") {
            c.send(*id, stdin, false);
            c.send(*id, b"", true);
        }
        collect(&mut c, &ids)
    })
    .await
    .unwrap()
}

/// Reads frames until `stdout` holds `want`, or 20 s pass.
fn read_until(c: &mut streaming_client::Client, stdout_id: u32, seen: &mut String, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !seen.contains(want) {
        assert!(Instant::now() < deadline, "no {want:?} in {seen:?}");
        match c.read() {
            Some(In::Data { id, data, .. }) if id == stdout_id => {
                seen.push_str(&String::from_utf8_lossy(&data))
            }
            Some(_) => {}
            None => panic!("connection ended before {want:?}; got {seen:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn exec_through_the_daemon() {
    if !require_root() {
        return;
    }
    let d = Daemon::start();
    busybox_image(&d, IMAGE);
    let mut c = d.client().await;
    let pod = run_pod(&mut c, "exec").await;
    let id = run_container(&mut c, &pod, "box", "sleep 3600", |_| {}).await;

    // stdin reaches cat and comes back; exit code 0.
    let url = exec_url(&mut c, exec_req(&id, &["cat"], false, true)).await;
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let o = run_blocking(
        url.clone(),
        &["error", "stdin", "stdout", "stderr"],
        b"hello\n",
    )
    .await;
    assert_eq!(o.stdout(), "hello\n");
    assert_eq!(exit_code(&o), "0");
    // The URL was single use.
    let reused = tokio::task::spawn_blocking(move || upgrade(&url, &[V4]).1.status);
    assert_eq!(reused.await.unwrap(), 404);

    // stdout and stderr apart, a non-zero exit code.
    let req = exec_req(
        &id,
        &["sh", "-c", "echo out; echo err >&2; exit 3"],
        false,
        false,
    );
    let o = run_blocking(
        exec_url(&mut c, req).await,
        &["error", "stdout", "stderr"],
        b"",
    )
    .await;
    assert_eq!(o.stdout(), "out\n");
    assert_eq!(String::from_utf8_lossy(&o.stderr), "err\n");
    assert_eq!(exit_code(&o), "3");

    // A terminal: the resize is seen by stty, typed input echoed.
    exec_checks::terminal(&mut c, &id).await;

    // A client that vanishes mid-exec leaves no process behind.
    let req = exec_req(
        &id,
        &["sh", "-c", "echo started; exec sleep 4321"],
        false,
        false,
    );
    let url = exec_url(&mut c, req).await;
    tokio::task::spawn_blocking(move || {
        let (tcp, _) = upgrade(&url, &[V4]);
        let mut s = streaming_client::Client::new(tcp);
        let ids = open_streams(&mut s, &["error", "stdout", "stderr"]);
        read_until(&mut s, ids[1].1, &mut String::new(), "started");
        assert!(!pids_running("sleep 4321").is_empty());
        drop(s);
    })
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let exec_marker = format!("exec {id} --");
    while !pids_running("sleep 4321").is_empty() || !pids_running(&exec_marker).is_empty() {
        assert!(Instant::now() < deadline, "the exec outlived its client");
        std::thread::sleep(Duration::from_millis(50));
    }
    let daemon = d.child.as_ref().unwrap().id();
    let ptys = std::fs::read_dir(format!("/proc/{daemon}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .filter(|l| l.starts_with("/dev/pts") || l.starts_with("/dev/ptmx"))
        .count();
    assert_eq!(ptys, 0, "the daemon still holds a terminal");

    bad_requests(&mut c, &id).await;
}

/// Bad requests get the right codes and no URL.
async fn bad_requests(c: &mut Client, id: &str) {
    let code = |r: Result<tonic::Response<cri::ExecResponse>, tonic::Status>| r.unwrap_err().code();
    let unknown = exec_req("nope", &["true"], false, false);
    assert_eq!(code(c.exec(unknown).await), Code::NotFound);
    let mut none = exec_req(id, &["true"], false, false);
    none.stdout = false;
    none.stderr = false;
    assert_eq!(code(c.exec(none).await), Code::InvalidArgument);
    let mut tty_err = exec_req(id, &["true"], true, false);
    tty_err.stderr = true;
    assert_eq!(code(c.exec(tty_err).await), Code::InvalidArgument);
    assert_eq!(
        code(c.exec(exec_req(id, &[], false, false)).await),
        Code::InvalidArgument
    );
    let attach = cri::AttachRequest {
        container_id: "nope".into(),
        stdout: true,
        ..Default::default()
    };
    assert_eq!(c.attach(attach).await.unwrap_err().code(), Code::NotFound);
    let stop = cri::StopContainerRequest {
        container_id: id.into(),
        timeout: 0,
    };
    c.stop_container(stop).await.unwrap();
    let stopped = exec_req(id, &["true"], false, false);
    assert_eq!(code(c.exec(stopped).await), Code::FailedPrecondition);
}

fn attach_req(id: &str, stdin: bool) -> cri::AttachRequest {
    cri::AttachRequest {
        container_id: id.into(),
        stdin,
        tty: false,
        stdout: true,
        stderr: true,
    }
}

/// An attached client on a blocking socket.
struct Attached {
    client: streaming_client::Client,
    ids: Vec<(String, u32)>,
    seen: String,
}

impl Attached {
    fn open(url: &str, types: &[&str]) -> Attached {
        let (tcp, hs) = upgrade(url, &[V4]);
        assert_eq!(hs.status, 101, "attach upgrade");
        let mut client = streaming_client::Client::new(tcp);
        let ids = open_streams(&mut client, types);
        Attached {
            client,
            ids,
            seen: String::new(),
        }
    }

    fn id(&self, t: &str) -> u32 {
        self.ids.iter().find(|(n, _)| n == t).unwrap().1
    }

    fn wait_for(&mut self, want: &str) {
        let out = self.id("stdout");
        read_until(&mut self.client, out, &mut self.seen, want);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn attach_through_the_daemon() {
    if !require_root() {
        return;
    }
    let mut d = Daemon::start();
    busybox_image(&d, IMAGE);
    let mut c = d.client().await;
    let pod = run_pod(&mut c, "attach").await;
    let script = "echo ready; while read l; do echo attached:$l; done; echo bye";
    let id = run_container(&mut c, &pod, "echo", script, |cfg| {
        cfg.stdin = true;
        cfg.stdin_once = true;
    })
    .await;
    // The monitors, not the daemon, hold the stdio: a crash of the daemon changes nothing.
    d.kill9();
    d.spawn();
    let mut c = d.client().await;
    let watcher = exec_attach_url(&mut c, attach_req(&id, false)).await;
    let typist = exec_attach_url(&mut c, attach_req(&id, true)).await;
    let watcher = tokio::task::spawn_blocking(move || {
        let mut w = Attached::open(&watcher, &["error", "stdout", "stderr"]);
        w.wait_for("attached:one");
        // stdin_once: the typist's end closes the container's stdin, so it says bye.
        w.wait_for("bye");
        let rest = collect(&mut w.client, &w.ids);
        (w.seen, rest.error_json())
    });
    std::thread::sleep(Duration::from_millis(300));
    tokio::task::spawn_blocking(move || {
        let mut t = Attached::open(&typist, &["error", "stdin", "stdout", "stderr"]);
        std::thread::sleep(Duration::from_millis(300));
        t.client.send(t.id("stdin"), b"one\n", false);
        t.wait_for("attached:one");
        t.client.send(t.id("stdin"), b"", true);
    })
    .await
    .unwrap();
    let (seen, status) = watcher.await.unwrap();
    assert!(
        seen.contains("attached:one") && seen.contains("bye"),
        "{seen:?}"
    );
    assert_eq!(status["status"], "Success", "{status}");

    // A terminal container: attach resizes it and types into it.
    let script = "while read l; do busybox stty size; echo tty:$l; done";
    let id = run_container(&mut c, &pod, "term", script, |cfg| {
        cfg.stdin = true;
        cfg.tty = true;
    })
    .await;
    let mut req = attach_req(&id, true);
    req.tty = true;
    req.stderr = false;
    let url = exec_attach_url(&mut c, req).await;
    tokio::task::spawn_blocking(move || {
        let mut t = Attached::open(&url, &["error", "stdin", "stdout", "resize"]);
        t.client
            .send(t.id("resize"), br#"{"Width":90,"Height":21}"#, false);
        std::thread::sleep(Duration::from_millis(300));
        t.client.send(t.id("stdin"), b"x\n", false);
        t.wait_for("tty:x");
        assert!(t.seen.contains("21 90"), "{:?}", t.seen);
    })
    .await
    .unwrap();
}

async fn exec_attach_url(c: &mut Client, req: cri::AttachRequest) -> String {
    c.attach(req).await.unwrap().into_inner().url
}

#[tokio::test(flavor = "multi_thread")]
async fn port_forward_into_a_pod() {
    if !require_root() {
        return;
    }
    let d = Daemon::start();
    busybox_image(&d, IMAGE);
    let mut c = d.client().await;
    let pod = run_pod(&mut c, "forward").await;
    run_container(
        &mut c,
        &pod,
        "echo",
        "exec busybox nc -ll -p 8080 -e /bin/cat",
        |_| {},
    )
    .await;
    let bad = cri::PortForwardRequest {
        pod_sandbox_id: "nope".into(),
        port: vec![8080],
    };
    assert_eq!(
        c.port_forward(bad).await.unwrap_err().code(),
        Code::NotFound
    );
    let req = cri::PortForwardRequest {
        pod_sandbox_id: pod.0.clone(),
        port: vec![8080],
    };
    let url = c.port_forward(req).await.unwrap().into_inner().url;
    tokio::task::spawn_blocking(move || {
        let (tcp, hs) = upgrade(&url, &["portforward.k8s.io"]);
        assert_eq!(hs.status, 101);
        let mut s = streaming_client::Client::new(tcp);
        // The server may still be starting: retry the connection a few times.
        let deadline = Instant::now() + Duration::from_secs(20);
        for rid in 0.. {
            assert!(
                Instant::now() < deadline,
                "no echo through the port forward"
            );
            let (_, data) = open_port_pair(&mut s, 8080, rid);
            s.send(data, b"ping\n", false);
            let mut got = Vec::new();
            while let Some(frame) = s.read() {
                match frame {
                    In::Data { id, data: d, .. } if id == data => got.extend(d),
                    In::Data { fin: true, .. } | In::Rst { .. } => break,
                    _ => {}
                }
                if got.ends_with(b"ping\n") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    })
    .await
    .unwrap();
}
