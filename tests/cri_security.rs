//! Security-context fields that need the image or the daemon's own privileges:
//! `run_as_username` resolved through the image's /etc/passwd and /etc/group,
//! `run_as_group` without a user refused, and privileged / "ALL" capabilities limited
//! to what the daemon itself holds (root without CAP_SYS_RESOURCE can still run them),
//! privileged containers without seccomp, and recursive read-only mounts checked.

mod cri_common;

use cri_common::{
    busybox_daemon, container_status, exited_texts, logged_pod_config, remove_pod_only,
    run_pod_pair, sh_config, try_create, try_run, Client, Daemon, Pod,
};
use proto::cri;
use tonic::Code;

const IMAGE: &str = "localhost/busybox:test";

/// A pod `name` logging under the daemon's directory.
async fn run_pod(c: &mut Client, d: &Daemon, name: &str) -> Pod {
    run_pod_pair(c, logged_pod_config(d, name)).await
}

/// Container `name` of [`IMAGE`] running `sh -c script` with the security context `sc`.
fn config(
    name: &str,
    script: &str,
    sc: cri::LinuxContainerSecurityContext,
) -> cri::ContainerConfig {
    cri::ContainerConfig {
        linux: Some(cri::LinuxContainerConfig {
            security_context: Some(sc),
            ..Default::default()
        }),
        ..sh_config(name, IMAGE, script)
    }
}

/// Creates and starts a container, waits for it to end; returns its stdout lines.
async fn output(c: &mut Client, pod: &Pod, config: cri::ContainerConfig) -> Vec<String> {
    let id = try_run(c, pod, config).await.unwrap();
    exited_texts(c, &id).await
}

/// The reported user of the last container `output` ran in the pod, by name.
async fn reported_user(c: &mut Client, pod: &str, name: &str) -> cri::LinuxContainerUser {
    let req = cri::ListContainersRequest {
        filter: Some(cri::ContainerFilter {
            pod_sandbox_id: pod.into(),
            ..Default::default()
        }),
    };
    let list = c
        .list_containers(req)
        .await
        .unwrap()
        .into_inner()
        .containers;
    let id = list
        .iter()
        .find(|x| x.metadata.as_ref().is_some_and(|m| m.name == name))
        .unwrap()
        .id
        .clone();
    let s = container_status(c, &id).await;
    s.user.unwrap().linux.unwrap()
}

/// A numeric run_as_user still gets its primary group from the image's /etc/passwd;
/// the Merge policy (the default) adds the groups /etc/group lists it in, Strict does
/// not; ContainerStatus reports what the process runs with.
#[tokio::test]
async fn supplemental_groups_policy() {
    let Some((d, mut c)) = busybox_daemon(IMAGE).await else {
        return;
    };
    let pod = run_pod(&mut c, &d, "groups").await;
    let status = c.status(cri::StatusRequest::default()).await.unwrap();
    assert!(
        status
            .into_inner()
            .features
            .unwrap()
            .supplemental_groups_policy
    );
    let sc = |policy: cri::SupplementalGroupsPolicy| cri::LinuxContainerSecurityContext {
        run_as_user: Some(cri::Int64Value { value: 65534 }),
        supplemental_groups: vec![1234],
        supplemental_groups_policy: policy as i32,
        ..Default::default()
    };
    let cases = [
        (
            "merge",
            cri::SupplementalGroupsPolicy::Merge,
            "65534 10 1234",
            vec![10, 1234, 65534],
        ),
        (
            "strict",
            cri::SupplementalGroupsPolicy::Strict,
            "65534 1234",
            vec![1234, 65534],
        ),
    ];
    for (name, policy, ids, groups) in cases {
        let out = output(
            &mut c,
            &pod,
            config(name, "id -u; id -g; id -G", sc(policy)),
        )
        .await;
        assert_eq!(out, ["65534", "65534", ids], "{name}");
        let user = reported_user(&mut c, &pod.0, name).await;
        assert_eq!((user.uid, user.gid), (65534, 65534), "{name}");
        assert_eq!(user.supplemental_groups, groups, "{name}");
    }
    remove_pod_only(&mut c, &pod.0).await;
}

fn own_permitted_caps() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("CapPrm:")).unwrap();
    line.trim_start_matches("CapPrm:").trim().to_owned()
}

#[tokio::test]
async fn user_names_groups_and_privileges() {
    let Some((d, mut c)) = busybox_daemon(IMAGE).await else {
        return;
    };
    let pod = run_pod(&mut c, &d, "sec").await;

    let by_name = cri::LinuxContainerSecurityContext {
        run_as_username: "nobody".into(),
        ..Default::default()
    };
    let out = output(
        &mut c,
        &pod,
        config("named", "id -u; id -g; id -G", by_name),
    )
    .await;
    assert_eq!(out, ["65534", "65534", "65534 10"]);

    let missing = cri::LinuxContainerSecurityContext {
        run_as_username: "nosuchuser".into(),
        ..Default::default()
    };
    let group_only = cri::LinuxContainerSecurityContext {
        run_as_group: Some(cri::Int64Value { value: 10 }),
        ..Default::default()
    };
    for sc in [missing, group_only] {
        let bad = config("bad", "true", sc.clone());
        let err = try_create(&mut c, &pod, bad).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{sc:?}: {err:?}");
    }

    // Whatever the daemon holds, and nothing it lacks, both for privileged and ADD ALL.
    let want = format!("CapEff:\t{}", own_permitted_caps());
    // A privileged container runs unconfined even when it names a seccomp profile.
    let privileged = cri::LinuxContainerSecurityContext {
        privileged: true,
        seccomp: Some(cri::SecurityProfile {
            profile_type: cri::security_profile::ProfileType::RuntimeDefault as i32,
            ..Default::default()
        }),
        ..Default::default()
    };
    let all = cri::LinuxContainerSecurityContext {
        capabilities: Some(cri::Capability {
            add_capabilities: vec!["ALL".into()],
            ..Default::default()
        }),
        ..Default::default()
    };
    for (name, sc) in [("privileged", privileged), ("all", all)] {
        let script = "grep -E '^(CapEff|Seccomp):' /proc/self/status";
        let out = output(&mut c, &pod, config(name, script, sc)).await;
        assert_eq!(out, [want.clone(), "Seccomp:\t0".into()], "{name}");
    }
    // Recursive read-only mounts: advertised, and refused unless read-only and private.
    let status = c
        .status(cri::StatusRequest::default())
        .await
        .unwrap()
        .into_inner();
    let features = status.runtime_handlers[0].features.unwrap();
    assert!(features.recursive_read_only_mounts);
    let host = d.dir.path().join("rro");
    std::fs::create_dir(&host).unwrap();
    let rro = |readonly: bool, propagation: cri::MountPropagation| cri::Mount {
        container_path: "/mnt".into(),
        host_path: host.display().to_string(),
        readonly,
        recursive_read_only: true,
        propagation: propagation as i32,
        ..Default::default()
    };
    for m in [
        rro(false, cri::MountPropagation::PropagationPrivate),
        rro(true, cri::MountPropagation::PropagationHostToContainer),
        rro(true, cri::MountPropagation::PropagationBidirectional),
    ] {
        let mut bad = config("rro", "true", Default::default());
        bad.mounts = vec![m.clone()];
        let err = try_create(&mut c, &pod, bad).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{m:?}: {err:?}");
    }
    let mut good = config(
        "rro",
        "touch /mnt/x 2>/dev/null || echo read-only",
        Default::default(),
    );
    good.mounts = vec![rro(true, cri::MountPropagation::PropagationPrivate)];
    assert_eq!(output(&mut c, &pod, good).await, ["read-only"]);

    remove_pod_only(&mut c, &pod.0).await;
}
