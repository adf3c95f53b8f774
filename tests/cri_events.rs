//! GetContainerEvents through the real daemon: two subscribers both see created,
//! started, stopped (the container exits on its own) and deleted, in order, each with
//! the pod's status and the container's status in the state the event names.

mod cri_common;

use std::time::Duration;

use cri_common::{busybox_daemon, container_config, pod_config, run_pod_with, Client};
use proto::cri;
use tokio_stream::StreamExt;
use tonic::Streaming;

const IMAGE: &str = "localhost/busybox:test";

async fn subscribe(c: &mut Client) -> Streaming<cri::ContainerEventResponse> {
    c.get_container_events(cri::GetEventsRequest {})
        .await
        .unwrap()
        .into_inner()
}

async fn next(s: &mut Streaming<cri::ContainerEventResponse>) -> cri::ContainerEventResponse {
    let ev = tokio::time::timeout(Duration::from_secs(20), s.next()).await;
    ev.expect("no event within 20 s").unwrap().unwrap()
}

#[tokio::test]
async fn every_subscriber_sees_the_lifecycle() {
    let Some((d, mut c)) = busybox_daemon(IMAGE).await else {
        return;
    };
    let mut first = subscribe(&mut c).await;
    let mut second = subscribe(&mut d.client().await).await;
    let config = pod_config("ev");
    let ctr = container_config("brief", IMAGE, &["sh", "-c", "sleep 0.3; exit 4"]);
    let (pod, id) = run_pod_with(&mut c, &config, ctr).await;

    use cri::ContainerEventType as T;
    use cri::ContainerState as S;
    let expected = [
        (T::ContainerCreatedEvent, S::ContainerCreated),
        (T::ContainerStartedEvent, S::ContainerRunning),
        (T::ContainerStoppedEvent, S::ContainerExited),
    ];
    for stream in [&mut first, &mut second] {
        for (kind, state) in expected {
            let ev = next(stream).await;
            assert_eq!(ev.container_event_type, kind as i32, "{ev:?}");
            assert_eq!(ev.container_id, id);
            let pod_status = ev.pod_sandbox_status.as_ref().unwrap();
            assert_eq!(pod_status.id, pod);
            let own = ev.containers_statuses.iter().find(|s| s.id == id).unwrap();
            assert_eq!(own.state, state as i32, "{ev:?}");
            if kind == T::ContainerStoppedEvent {
                assert_eq!(own.exit_code, 4);
            }
        }
    }
    let req = cri::RemoveContainerRequest {
        container_id: id.clone(),
    };
    c.remove_container(req).await.unwrap();
    for stream in [&mut first, &mut second] {
        let ev = next(stream).await;
        assert_eq!(ev.container_event_type, T::ContainerDeletedEvent as i32);
        assert_eq!(ev.container_id, id);
    }
    let req = cri::RemovePodSandboxRequest {
        pod_sandbox_id: pod,
    };
    c.remove_pod_sandbox(req).await.unwrap();
}
