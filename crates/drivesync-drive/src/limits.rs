//! Client-wide limits: at most N requests in flight (a semaphore) and at most R requests per
//! second (a pacer that allows a short burst).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Requests in flight and per second, shared by every call of one client.
#[derive(Debug)]
pub struct Limits {
    slots: Arc<Semaphore>,
    pacer: Option<Pacer>,
}

impl Limits {
    /// At most `concurrent` requests at once (0 counts as 1) and, if given, `per_second`.
    pub fn new(concurrent: usize, per_second: Option<f64>) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(concurrent.max(1))),
            pacer: per_second.filter(|r| *r > 0.0).map(Pacer::new),
        }
    }

    /// Waits for a request slot; hold the permit until the response body is read.
    pub async fn acquire(&self) -> OwnedSemaphorePermit {
        if let Some(p) = &self.pacer {
            p.wait().await;
        }
        self.slots
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed")
    }
}

/// Spaces requests `1/rate` apart, letting up to one second's worth through at once after a
/// quiet spell (a token bucket of one second's capacity).
#[derive(Debug)]
struct Pacer {
    interval: Duration,
    burst: Duration,
    next: Mutex<Option<Instant>>,
}

impl Pacer {
    fn new(per_second: f64) -> Self {
        let interval = Duration::from_secs_f64(1.0 / per_second);
        Self {
            interval,
            burst: Duration::from_secs(1).saturating_sub(interval),
            next: Mutex::new(None),
        }
    }

    async fn wait(&self) {
        let now = Instant::now();
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let earliest = now.checked_sub(self.burst).unwrap_or(now);
            let slot = next.map_or(earliest, |n| n.max(earliest));
            *next = Some(slot + self.interval);
            slot
        };
        if slot > now {
            tokio::time::sleep_until(slot).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pacer_spaces_requests_after_a_burst() {
        let limits = Limits::new(4, Some(50.0));
        let start = Instant::now();
        for _ in 0..70 {
            drop(limits.acquire().await);
        }
        let took = start.elapsed();
        // 50 at once (the burst), the next 20 at 20 ms intervals.
        assert!(took >= Duration::from_millis(380), "{took:?}");
        assert!(took <= Duration::from_secs(5), "{took:?}");
    }

    #[tokio::test]
    async fn concurrency_is_capped() {
        let limits = Limits::new(2, None);
        let a = limits.acquire().await;
        let _b = limits.acquire().await;
        let third = tokio::time::timeout(Duration::from_millis(50), limits.acquire()).await;
        assert!(third.is_err());
        drop(a);
        assert!(
            tokio::time::timeout(Duration::from_secs(5), limits.acquire())
                .await
                .is_ok()
        );
    }
}
