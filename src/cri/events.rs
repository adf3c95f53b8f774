//! GetContainerEvents: container created, started, stopped and deleted events,
//! broadcast to every streaming subscriber.
//!
//! Created, started and deleted come from the RPCs that make them happen. Stopped
//! comes from a watcher thread that polls the containers' exit records (a stat each,
//! every [`POLL`]), so a container that exits on its own, or while the daemon was
//! away, is reported once. Each event carries the pod's status and the statuses of
//! all its containers, as kubelet's evented PLEG expects.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use proto::cri;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::container::{ContainerRecord, Containers};
use crate::pod::Pods;

/// How often the watcher looks for exited containers.
const POLL: Duration = Duration::from_millis(200);
/// Events a slow subscriber may fall behind by before it misses some.
const BACKLOG: usize = 1024;

/// The stream a subscriber reads.
pub type EventStream = ReceiverStream<Result<cri::ContainerEventResponse, Status>>;

/// The event hub.
#[derive(Debug)]
pub struct Events {
    tx: broadcast::Sender<cri::ContainerEventResponse>,
    /// Containers seen not yet exited (the watcher reports their exit once).
    alive: Mutex<HashSet<String>>,
}

impl Events {
    /// A hub whose watcher follows `containers` until the runtime is dropped.
    pub fn start(pods: &Arc<Pods>, containers: &Arc<Containers>) -> Arc<Events> {
        let alive = containers
            .list(None)
            .iter()
            .filter(|c| c.exit().is_none())
            .map(|c| c.id.clone())
            .collect();
        let events = Arc::new(Events {
            tx: broadcast::channel(BACKLOG).0,
            alive: Mutex::new(alive),
        });
        let (e, p, c) = (
            Arc::downgrade(&events),
            Arc::downgrade(pods),
            Arc::downgrade(containers),
        );
        let spawned = std::thread::Builder::new()
            .name("sifcri-events".into())
            .spawn(move || watch(&e, &p, &c));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the container event watcher");
        }
        events
    }

    /// A new subscriber's stream (call inside the tokio runtime).
    pub fn subscribe(&self) -> EventStream {
        let mut rx = self.tx.subscribe();
        let (tx, out) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let ev = match rx.recv().await {
                    Ok(ev) => ev,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "a container event subscriber fell behind");
                        continue;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                if tx.send(Ok(ev)).await.is_err() {
                    return;
                }
            }
        });
        ReceiverStream::new(out)
    }

    /// A container was created (it is alive from now on).
    pub fn created(&self, id: &str, pods: &Pods, containers: &Containers) {
        self.lock().insert(id.to_owned());
        self.send_for(
            cri::ContainerEventType::ContainerCreatedEvent,
            id,
            pods,
            containers,
        );
    }

    /// A container was started.
    pub fn started(&self, id: &str, pods: &Pods, containers: &Containers) {
        self.send_for(
            cri::ContainerEventType::ContainerStartedEvent,
            id,
            pods,
            containers,
        );
    }

    /// A container was removed; `before` is its record. A stop the watcher had not yet
    /// seen is reported first.
    pub fn deleted(&self, before: &ContainerRecord, pods: &Pods, containers: &Containers) {
        if self.lock().remove(&before.id) {
            self.send(
                cri::ContainerEventType::ContainerStoppedEvent,
                before,
                pods,
                containers,
            );
        }
        self.send(
            cri::ContainerEventType::ContainerDeletedEvent,
            before,
            pods,
            containers,
        );
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.alive.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn send_for(&self, kind: cri::ContainerEventType, id: &str, p: &Pods, c: &Containers) {
        if let Ok(rec) = c.get(id) {
            self.send(kind, &rec, p, c);
        }
    }

    fn send(
        &self,
        kind: cri::ContainerEventType,
        subject: &ContainerRecord,
        p: &Pods,
        c: &Containers,
    ) {
        if self.tx.receiver_count() == 0 {
            return;
        }
        let mut statuses: Vec<cri::ContainerStatus> = c
            .list(None)
            .iter()
            .filter(|x| x.pod_id == subject.pod_id)
            .map(ContainerRecord::status)
            .collect();
        if !statuses.iter().any(|s| s.id == subject.id) {
            statuses.push(subject.status());
        }
        let _ = self.tx.send(cri::ContainerEventResponse {
            container_id: subject.id.clone(),
            container_event_type: kind as i32,
            created_at: crate::state::now_nanos(),
            pod_sandbox_status: p.get(&subject.pod_id).ok().map(|pod| pod.status()),
            containers_statuses: statuses,
        });
    }

    /// One watcher round: reports each alive container that has exited.
    fn poll(&self, pods: &Pods, containers: &Containers) {
        let tracked: Vec<String> = self.lock().iter().cloned().collect();
        for id in tracked {
            let Ok(c) = containers.get(&id) else {
                continue; // being removed: `deleted` reports it
            };
            if c.exit().is_some() && self.lock().remove(&id) {
                self.send(
                    cri::ContainerEventType::ContainerStoppedEvent,
                    &c,
                    pods,
                    containers,
                );
            }
        }
    }
}

fn watch(events: &Weak<Events>, pods: &Weak<Pods>, containers: &Weak<Containers>) {
    loop {
        std::thread::sleep(POLL);
        let (Some(e), Some(p), Some(c)) = (events.upgrade(), pods.upgrade(), containers.upgrade())
        else {
            return;
        };
        e.poll(&p, &c);
    }
}
