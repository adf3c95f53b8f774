//! Ids in the pods of a user daemon (issue 7): a container's user namespace maps every
//! id of the daemon's own namespace (its subordinate range), so `run_as_user`,
//! `run_as_group` and supplementary groups work and image files of other owners keep
//! them; and an image pulled by the user daemon from a registry on the host's loopback
//! runs.

mod image_common;
mod rootless_common;

use image_common::layers::Layer;
use image_common::registry::{client, push_image, Registry};
use proto::cri;
use rootless_common::{busybox_image, pod_config, require_user, wait_exited, Client, UserDaemon};
use sifcri::image::registry::Auth;

/// Whether the test user has a subordinate range (setup.sh gives it one); without one
/// only root can be mapped, and the daemon says so.
fn has_subordinate_ids() -> bool {
    let has = |file| {
        std::fs::read_to_string(file)
            .is_ok_and(|t| t.lines().any(|l| l.starts_with("sifcri-test:")))
    };
    let ok = has("/etc/subuid") && has("/etc/subgid") && rootless_common::have("newuidmap");
    if !ok {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "CI=true: sifcri-test needs /etc/subuid and /etc/subgid ranges and newuidmap"
        );
        eprintln!("SKIP: sifcri-test has no subordinate ids (scripts/setup.sh)");
    }
    ok
}

/// Runs `script` in a new pod from `image` with `security`; waits for it to exit and
/// returns its log lines' text. Removes the pod.
async fn run_once(
    d: &UserDaemon,
    c: &mut Client,
    image: &str,
    name: &str,
    script: &str,
    security: cri::LinuxContainerSecurityContext,
) -> String {
    let pod = pod_config(d, name);
    let pod_id = rootless_common::run_pod(c, &pod).await;
    let mut config = rootless_common::container_config("main", image, &["sh", "-c", script]);
    config.log_path = format!("{name}.log");
    config.linux = Some(cri::LinuxContainerConfig {
        security_context: Some(security),
        ..Default::default()
    });
    let id = rootless_common::run_container(c, &pod_id, &pod, config).await;
    wait_exited(c, &id).await;
    let log = std::fs::read_to_string(d.logs().join(format!("{name}.log"))).unwrap();
    rootless_common::remove_pod(c, &pod_id).await;
    // CRI log lines: "TIME STREAM TAG TEXT"; stdout only (the runtime's warnings go to
    // stderr).
    log.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.splitn(4, ' ').collect();
            (f.len() == 4 && f[1] == "stdout").then(|| format!("{}\n", f[3]))
        })
        .collect()
}

fn as_user(uid: i64, gid: i64, groups: Vec<i64>) -> cri::LinuxContainerSecurityContext {
    cri::LinuxContainerSecurityContext {
        run_as_user: Some(cri::Int64Value { value: uid }),
        run_as_group: Some(cri::Int64Value { value: gid }),
        supplemental_groups: groups,
        ..Default::default()
    }
}

const ID_SCRIPT: &str = "grep -E '^(Uid|Gid|Groups):' /proc/self/status | tr -s '\\t ' ' '; \
     stat -c '%u:%g' /home/app; echo mine > /home/app/f && stat -c '%u:%g %n' /home/app/f; \
     mkdir /tmp/d && touch /tmp/d/g && stat -c '%u:%g %n' /tmp/d/g";

#[tokio::test]
async fn user_daemon_runs_containers_as_other_users() {
    if !require_user() || !has_subordinate_ids() {
        return;
    }
    let mut d = UserDaemon::start("");
    let image = "localhost/busybox-ids:latest";
    busybox_image(&d, image, |rootfs| {
        for applet in ["grep", "stat", "tr"] {
            std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet)).unwrap();
        }
        let home = rootfs.join("home/app");
        std::fs::create_dir_all(&home).unwrap();
        std::os::unix::fs::chown(&home, Some(1000), Some(1000)).unwrap();
        let tmp = rootfs.join("tmp");
        std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o1777))
            .unwrap();
    });
    let mut c = d.client().await;
    let security = as_user(1000, 1000, vec![2000, 3000]);
    let out = run_once(&d, &mut c, image, "ids", ID_SCRIPT, security).await;
    let want = "Uid: 1000 1000 1000 1000\nGid: 1000 1000 1000 1000\nGroups: 2000 3000 \n\
                1000:1000\n1000:1000 /home/app/f\n1000:1000 /tmp/d/g\n";
    assert_eq!(out, want, "daemon log: {}", d.log());
    let left = d.shutdown();
    assert!(left.is_empty(), "processes left: {left:?}");
}

/// busybox with /home/app owned by 1000, as a one-layer OCI image.
fn busybox_layer() -> (String, Vec<u8>) {
    let busybox = std::fs::read("/bin/busybox").unwrap();
    let mut layer = Layer::default();
    layer
        .dir("bin", 0o755, (0, 0))
        .file("bin/busybox", &busybox, 0o755, (0, 0));
    for applet in ["sh", "cat", "id", "stat", "echo"] {
        layer.symlink(&format!("bin/{applet}"), "busybox");
    }
    layer
        .dir("etc", 0o755, (0, 0))
        .file("etc/motd", b"pulled-by-the-user\n", 0o644, (0, 0))
        .dir("home/app", 0o755, (1000, 1000))
        .dir("tmp", 0o1777, (0, 0));
    layer.gzip()
}

#[tokio::test]
async fn user_daemon_pulls_from_a_registry_and_runs_it() {
    if !require_user() || !has_subordinate_ids() {
        return;
    }
    let Some(reg) = Registry::start(None) else {
        return;
    };
    let reference = reg.reference("user/busybox:v1");
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Env": ["PATH=/bin"], "Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:0000000000000000000000000000000000000000000000000000000000000000"]},
    });
    push_image(
        &client(),
        &reference,
        &[busybox_layer()],
        &config,
        &Auth::Anonymous,
    );
    let hosts = format!("[registry.hosts.\"{}\"]\nplain_http = true\n", reg.host);
    let mut d = UserDaemon::start(&hosts);
    let channel = rootless_common::channel(&d.socket()).await;
    let mut images = cri::image_service_client::ImageServiceClient::new(channel);
    let image = Some(cri::ImageSpec {
        image: reference.clone(),
        ..Default::default()
    });
    let req = cri::PullImageRequest {
        image: image.clone(),
        ..Default::default()
    };
    let pulled = images.pull_image(req).await;
    let pulled = pulled.unwrap_or_else(|e| panic!("pull: {e}: {}", d.log()));
    assert!(pulled.into_inner().image_ref.starts_with("sha256:"));
    let status = images
        .image_status(cri::ImageStatusRequest {
            image,
            verbose: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(status
        .image
        .is_some_and(|i| i.repo_tags.contains(&reference)));
    // The store is the user's, under XDG_DATA_HOME.
    let store = d.root();
    let owner = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&store).unwrap());
    let uid = nix::unistd::User::from_name(rootless_common::TEST_USER)
        .unwrap()
        .unwrap()
        .uid;
    assert_eq!(owner, uid.as_raw());

    let mut c = d.client().await;
    let script = "cat /etc/motd; id -u; stat -c '%u:%g' /home/app";
    let out = run_once(&d, &mut c, &reference, "pulled", script, Default::default()).await;
    assert_eq!(out, "pulled-by-the-user\n0\n1000:1000\n", "{}", d.log());
    let security = as_user(1000, 1000, Vec::new());
    let script = "id -u; echo x > /home/app/f && stat -c '%u:%g' /home/app/f";
    let out = run_once(&d, &mut c, &reference, "pulled-app", script, security).await;
    assert_eq!(out, "1000\n1000:1000\n", "{}", d.log());
    let left = d.shutdown();
    assert!(left.is_empty(), "processes left: {left:?}");
}
