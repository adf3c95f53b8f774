//! The CRI calls in flight, counted by a tower layer around the gRPC services, so that a
//! shutdown waits for the calls being answered and not for idle connections: kubelet
//! and crictl keep their connection open between calls, and a graceful HTTP/2 shutdown
//! would wait for them to hang up. A call counts until its response is ready (a stream,
//! GetContainerEvents, counts until it starts).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

/// The counter, and the layer that keeps it.
#[derive(Debug, Clone, Default)]
pub struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    /// Calls being answered now.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    /// Resolves once no call is in flight, or after `max`; true if none was left.
    pub async fn drained(&self, max: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + max;
        while self.count() > 0 {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }
}

impl<S> tower::Layer<S> for InFlight {
    type Service = Counted<S>;

    fn layer(&self, inner: S) -> Counted<S> {
        Counted {
            inner,
            count: self.0.clone(),
        }
    }
}

/// A service whose calls are counted while they run.
#[derive(Debug, Clone)]
pub struct Counted<S> {
    inner: S,
    count: Arc<AtomicUsize>,
}

/// One call in flight; uncounted when dropped (answered, failed or cancelled).
struct Ticket(Arc<AtomicUsize>);

impl Drop for Ticket {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

type Boxed<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, R> tower::Service<R> for Counted<S>
where
    S: tower::Service<R>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Boxed<S::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: R) -> Self::Future {
        self.count.fetch_add(1, Ordering::SeqCst);
        let ticket = Ticket(self.count.clone());
        let call = self.inner.call(req);
        Box::pin(async move {
            let _ticket = ticket;
            call.await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::{Layer, Service, ServiceExt};

    #[tokio::test]
    async fn a_call_counts_until_answered_and_drained_waits_for_it() {
        let inflight = InFlight::default();
        let slow = tower::service_fn(|ms: u64| async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<_, std::convert::Infallible>(ms)
        });
        let mut svc = inflight.layer(slow);
        let call = svc.ready().await.unwrap().call(100);
        assert_eq!(inflight.count(), 1);
        assert!(!inflight.drained(Duration::from_millis(20)).await);
        let answer = tokio::spawn(call);
        assert!(inflight.drained(Duration::from_secs(5)).await);
        assert_eq!(answer.await.unwrap().unwrap(), 100);
        let dropped = svc.ready().await.unwrap().call(10_000);
        drop(dropped);
        assert_eq!(inflight.count(), 0);
    }
}
