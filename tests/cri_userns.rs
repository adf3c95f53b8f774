//! Pods with their own user namespace (`NamespaceOption.userns_options`, mode POD:
//! kubelet's `hostUsers: false`): the container, an exec'd process and the pod's pid
//! namespace all see the mapping asked for; container root owns what it creates in its
//! own tmpfs; bad options are refused with InvalidArgument; nothing is left pinned
//! after the pod is removed.

mod cri_common;

use std::os::unix::fs::MetadataExt;

use cri_common::{
    busybox_daemon, exec_sh, exited_texts, logged_pod_config, mounts_under, remove_pod,
    run_container, run_pod, sh_config, try_run_pod, Client, Daemon,
};
use proto::cri;
use tonic::Code;

const IMAGE: &str = "localhost/busybox:test";
/// Host ids nothing else on a test machine uses.
const HOST_ID: u32 = 3_000_000;

fn userns(mode: cri::NamespaceMode, maps: &[(u32, u32, u32)]) -> cri::NamespaceOption {
    let ids: Vec<cri::IdMapping> = maps
        .iter()
        .map(|&(container_id, host_id, length)| cri::IdMapping {
            container_id,
            host_id,
            length,
        })
        .collect();
    cri::NamespaceOption {
        userns_options: Some(cri::UserNamespace {
            mode: mode as i32,
            uids: ids.clone(),
            gids: ids,
        }),
        ..Default::default()
    }
}

fn pod(d: &Daemon, name: &str, options: cri::NamespaceOption) -> cri::PodSandboxConfig {
    let mut config = logged_pod_config(d, name);
    let linux = config.linux.get_or_insert_with(Default::default);
    let sc = linux.security_context.get_or_insert_with(Default::default);
    sc.namespace_options = Some(options);
    config
}

/// Runs `script` in a container of the pod and returns its log lines once it exits.
async fn output(
    c: &mut Client,
    pod: &str,
    config: &cri::PodSandboxConfig,
    script: &str,
) -> Vec<String> {
    let container = sh_config("userns", IMAGE, script);
    let id = run_container(c, pod, config, container).await;
    // While it runs (it waits for /dev/shm/go): an exec'd process joins the same namespace.
    let (code, text) = exec_sh(c, &id, "cat /proc/self/uid_map; touch /dev/shm/go", 10).await;
    assert_eq!(code, 0, "{text}");
    let seen = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(
        seen,
        format!("0 {HOST_ID} 65536"),
        "exec'd process's uid_map"
    );
    exited_texts(c, &id).await
}

#[tokio::test]
async fn pod_user_namespace() {
    let Some((d, mut c)) = busybox_daemon(IMAGE).await else {
        return;
    };
    let status = c
        .status(cri::StatusRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(status.runtime_handlers[0].features.unwrap().user_namespaces);

    // Refused: other modes, no mapping of id 0, overlapping ranges, host network.
    let mut host_net = userns(cri::NamespaceMode::Pod, &[(0, HOST_ID, 65536)]);
    host_net.network = cri::NamespaceMode::Node as i32;
    for (name, options) in [
        ("container", userns(cri::NamespaceMode::Container, &[])),
        ("target", userns(cri::NamespaceMode::Target, &[])),
        (
            "unmapped0",
            userns(cri::NamespaceMode::Pod, &[(1, HOST_ID, 10)]),
        ),
        (
            "overlap",
            userns(
                cri::NamespaceMode::Pod,
                &[(0, HOST_ID, 100), (0, 5_000_000, 100)],
            ),
        ),
        ("hostnet", host_net),
    ] {
        let err = try_run_pod(&mut c, &pod(&d, name, options))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{name}: {err:?}");
    }

    // The pod's pid namespace (mode POD, the CRI default) is owned by the user namespace.
    let config = pod(
        &d,
        "mapped",
        userns(cri::NamespaceMode::Pod, &[(0, HOST_ID, 65536)]),
    );
    let id = run_pod(&mut c, &config).await;
    let script = "cat /proc/self/uid_map /proc/self/gid_map; id -u; hostname; \
                  echo $$; touch /dev/shm/mine && stat -c %u /dev/shm/mine; \
                  while [ ! -e /dev/shm/go ]; do sleep 0.05; done";
    let out = output(&mut c, &id, &config, script).await;
    let words: Vec<String> = out
        .iter()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    let want = format!("0 {HOST_ID} 65536");
    assert_eq!(
        words[..4],
        [want.clone(), want, "0".into(), "mapped".into()],
        "{out:?}"
    );
    // Not pid 1: the pod's own init (sifcri pod-init) is.
    assert_ne!(words[4], "1", "{out:?}");
    assert_eq!(
        words[5], "0",
        "container root owns what it creates: {out:?}"
    );
    // On the host, the pod's namespace files are pinned, and the user namespace is new.
    let pod_dir = d.state().join("pods").join(&id);
    let own = std::fs::metadata("/proc/self/ns/user").unwrap().ino();
    let pinned = std::fs::metadata(pod_dir.join("ns-user")).unwrap();
    assert_ne!(pinned.ino(), own);

    remove_pod(&mut c, &id).await;
    let left: Vec<_> = mounts_under(d.dir.path())
        .into_iter()
        .filter(|m| m.to_string_lossy().contains("ns-"))
        .collect();
    assert!(left.is_empty(), "namespace files still pinned: {left:?}");
}
