//! Bandwidth limits: one token bucket per direction (up: upload bodies; down: downloads and
//! exports), shared by every transfer of a client and adjustable while transfers run.
//!
//! A transfer asks its bucket for permission before each piece of content it sends or hands
//! on ([`Bandwidth::throttle`] wraps a body stream so that this happens as the stream is
//! polled). Without a limit the ask is one atomic load. With a limit, a piece is at most the
//! bucket's capacity (its burst), so the bytes moved in any interval `t` stay below
//! `burst + rate * t`; a transfer that has to wait sleeps at most [`MAX_WAIT`] at a time and is
//! also woken at once when a limit changes, so a raised or removed limit applies promptly.
//! Time is `tokio::time`'s, so the buckets follow a paused clock in tests.

use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::sync::Notify;
use tokio::time::Instant;

/// The smallest burst of a limited bucket: small limits still move reasonably sized pieces.
const MIN_BURST: u64 = 16 * 1024;

/// A waiting transfer re-checks its bucket at least this often, whatever it computed.
pub(crate) const MAX_WAIT: Duration = Duration::from_millis(100);

/// A transfer waits for at least this many bytes of tokens (or its whole piece if smaller)
/// before it goes on, rather than trickling out a few bytes at a time.
const MIN_PIECE: u64 = 4 * 1024;

/// Which way bytes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Upload bodies (multipart requests, resumable chunks).
    Up,
    /// Downloads and exports.
    Down,
}

/// Upload and download speed limits shared by every transfer of a client (and its clones).
///
/// Cheap to clone (an [`Arc`] inside): every clone sees and changes the same limits, so the
/// daemon can keep one to adjust the limits of a [`crate::GoogleDrive`] that
/// [`crate::GoogleDrive::with_bandwidth`] gave another. Changing a limit takes effect for
/// transfers in flight (within 100 ms, usually at once). The default is unlimited.
///
/// Each direction is a token bucket: tokens accrue at the limit's rate up to a burst of
/// `max(rate / 10, 16 KiB)`, and each byte sent (up) or received (down) spends one.
#[derive(Clone, Debug, Default)]
pub struct Bandwidth {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    up: Bucket,
    down: Bucket,
    /// Woken when a limit changes, so waiting transfers re-check at once.
    changed: Notify,
}

impl Bandwidth {
    /// No limits (the same as [`Bandwidth::default`]); set some later with
    /// [`Bandwidth::set_limits`].
    pub fn unlimited() -> Self {
        Self::default()
    }

    /// Sets the limits in bytes per second: `up` for uploads, `down` for downloads and
    /// exports; `None` = unlimited. Applies to transfers in flight too. A limit of 0 counts
    /// as 1 byte per second (pausing transfers is not this type's job).
    pub fn set_limits(&self, up: Option<u64>, down: Option<u64>) {
        self.inner.up.set(up);
        self.inner.down.set(down);
        self.inner.changed.notify_waiters();
    }

    /// The current limits, `(up, down)`, in bytes per second; `None` = unlimited.
    pub fn limits(&self) -> (Option<u64>, Option<u64>) {
        (self.inner.up.rate(), self.inner.down.rate())
    }

    fn bucket(&self, dir: Direction) -> &Bucket {
        match dir {
            Direction::Up => &self.inner.up,
            Direction::Down => &self.inner.down,
        }
    }

    /// The limit of `dir` in bytes per second, `None` when unlimited.
    pub(crate) fn rate(&self, dir: Direction) -> Option<u64> {
        self.bucket(dir).rate()
    }

    /// Waits until some of `want` bytes may move in direction `dir`, and returns how many
    /// (all of them when unlimited, else at least one unless `want` is 0). The caller moves
    /// that many and asks again for the rest.
    pub(crate) async fn grant(&self, dir: Direction, want: usize) -> usize {
        let bucket = self.bucket(dir);
        if want == 0 || bucket.rate.load(Ordering::Relaxed) == 0 {
            return want;
        }
        loop {
            // Registered before the bucket is looked at, so a change in between still wakes.
            let mut changed = pin!(self.inner.changed.notified());
            changed.as_mut().enable();
            let wait = match bucket.take(want as u64, Instant::now()) {
                Ok(n) => return n as usize,
                Err(wait) => wait,
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = changed => {}
            }
        }
    }

    /// `body` with every chunk passed on only as fast as direction `dir` allows (chunks
    /// larger than a burst are split). Errors pass through unchanged. Without a limit each
    /// chunk costs one atomic load.
    pub(crate) fn throttle<S, E>(
        &self,
        dir: Direction,
        body: S,
    ) -> impl Stream<Item = Result<Bytes, E>> + Send + 'static
    where
        S: Stream<Item = Result<Bytes, E>> + Send + 'static,
        E: Send + 'static,
    {
        let start = (self.clone(), Box::pin(body), Bytes::new());
        futures_util::stream::unfold(start, move |(bw, mut body, mut rest)| async move {
            if rest.is_empty() {
                match body.next().await? {
                    Ok(data) => rest = data,
                    Err(e) => return Some((Err(e), (bw, body, rest))),
                }
            }
            let n = bw.grant(dir, rest.len()).await;
            let piece = rest.split_to(n);
            Some((Ok(piece), (bw, body, rest)))
        })
    }
}

/// One direction's token bucket.
#[derive(Debug, Default)]
struct Bucket {
    /// Bytes per second; 0 = unlimited. Written only with `state` locked, read without the
    /// lock as the cheap check.
    rate: AtomicU64,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Bytes that may move now (at most the burst).
    tokens: f64,
    /// When `tokens` was last brought up to date.
    last: Option<Instant>,
}

/// The burst (bucket capacity) at `rate` bytes per second.
fn burst(rate: u64) -> u64 {
    (rate / 10).max(MIN_BURST)
}

impl Bucket {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn rate(&self) -> Option<u64> {
        Some(self.rate.load(Ordering::Relaxed)).filter(|r| *r > 0)
    }

    fn set(&self, limit: Option<u64>) {
        let new = limit.map_or(0, |r| r.max(1));
        let mut s = self.lock();
        let old = self.rate.load(Ordering::Relaxed);
        if old == new {
            return;
        }
        let now = Instant::now();
        if old > 0 {
            // Tokens earned at the old rate are kept (up to the new burst).
            s.refill(old, now);
        }
        if new > 0 {
            // A new limit starts with a full bucket.
            s.tokens = if old == 0 {
                burst(new) as f64
            } else {
                s.tokens.min(burst(new) as f64)
            };
            s.last = Some(now);
        }
        self.rate.store(new, Ordering::Relaxed);
    }

    /// Takes tokens for up to `want` bytes at `now`: the bytes granted, or how long to wait
    /// before asking again (never longer than [`MAX_WAIT`], never zero).
    fn take(&self, want: u64, now: Instant) -> Result<u64, Duration> {
        let mut s = self.lock();
        let rate = self.rate.load(Ordering::Relaxed);
        if rate == 0 {
            return Ok(want);
        }
        s.refill(rate, now);
        let piece = want.min(burst(rate));
        // Wait for a worthwhile piece: about 10 ms of the rate, at least MIN_PIECE.
        let enough = piece.min((rate / 100).max(MIN_PIECE)) as f64;
        if s.tokens >= enough {
            let n = (s.tokens as u64).min(piece);
            s.tokens -= n as f64;
            return Ok(n);
        }
        let short = Duration::from_secs_f64((enough - s.tokens) / rate as f64);
        Err(short.clamp(Duration::from_millis(1), MAX_WAIT))
    }
}

impl State {
    /// Adds the tokens earned at `rate` since `last`, up to the burst.
    fn refill(&mut self, rate: u64, now: Instant) {
        let cap = burst(rate) as f64;
        let earned = match self.last {
            Some(last) => now.saturating_duration_since(last).as_secs_f64() * rate as f64,
            None => cap,
        };
        self.tokens = (self.tokens + earned).min(cap);
        self.last = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KIB: u64 = 1024;

    /// Sends `total` bytes through `dir` in asks of `ask` bytes; returns the pieces granted.
    async fn send(bw: &Bandwidth, dir: Direction, total: u64, ask: usize) -> Vec<usize> {
        let mut left = total as usize;
        let mut pieces = Vec::new();
        while left > 0 {
            let n = bw.grant(dir, ask.min(left)).await;
            assert!(n > 0 && n <= ask.min(left));
            pieces.push(n);
            left -= n;
        }
        pieces
    }

    fn secs(d: Duration) -> f64 {
        d.as_secs_f64()
    }

    #[test]
    fn limits_round_trip_and_clones_share_them() {
        let bw = Bandwidth::unlimited();
        assert_eq!(bw.limits(), (None, None));
        let other = bw.clone();
        other.set_limits(Some(1000), None);
        assert_eq!(bw.limits(), (Some(1000), None));
        bw.set_limits(None, Some(0));
        assert_eq!(other.limits(), (None, Some(1)), "0 counts as 1 byte/s");
        assert_eq!(Bandwidth::default().limits(), (None, None));
    }

    #[test]
    fn burst_is_a_tenth_of_a_second_but_at_least_16_kib() {
        assert_eq!(burst(1), 16 * KIB);
        assert_eq!(burst(100 * KIB), 16 * KIB);
        assert_eq!(burst(10 << 20), 1 << 20);
    }

    #[tokio::test(start_paused = true)]
    async fn unlimited_grants_everything_at_once() {
        let bw = Bandwidth::unlimited();
        let t = Instant::now();
        assert_eq!(bw.grant(Direction::Up, 1 << 30).await, 1 << 30);
        assert_eq!(bw.grant(Direction::Down, 0).await, 0);
        assert_eq!(t.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_limited_bucket_gives_its_burst_then_its_rate() {
        let bw = Bandwidth::unlimited();
        bw.set_limits(Some(100 * KIB), None);
        let t = Instant::now();
        // The burst (16 KiB here) is there at once.
        assert_eq!(bw.grant(Direction::Up, 1 << 20).await, 16 * KIB as usize);
        assert_eq!(t.elapsed(), Duration::ZERO);
        // 1 MiB more at 100 KiB/s: 10.24 s, in pieces no larger than the burst.
        let pieces = send(&bw, Direction::Up, 1 << 20, 256 * KIB as usize).await;
        assert!(pieces.iter().all(|n| *n as u64 <= 16 * KIB), "{pieces:?}");
        let took = secs(t.elapsed());
        assert!((10.2..10.3).contains(&took), "{took}");
        // The other direction was not limited.
        let t = Instant::now();
        assert_eq!(bw.grant(Direction::Down, 1 << 20).await, 1 << 20);
        assert_eq!(t.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_quiet_spell_earns_at_most_one_burst() {
        let bw = Bandwidth::unlimited();
        let rate = 1 << 20;
        bw.set_limits(None, Some(rate));
        send(&bw, Direction::Down, 200 * KIB, 64 * KIB as usize).await;
        tokio::time::sleep(Duration::from_secs(60)).await;
        let t = Instant::now();
        // One burst at once, then 1 MiB at 1 MiB/s.
        send(&bw, Direction::Down, rate + burst(rate), 1 << 20).await;
        let took = secs(t.elapsed());
        assert!((0.999..1.02).contains(&took), "{took}");
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_transfers_share_the_rate() {
        let bw = Bandwidth::unlimited();
        bw.set_limits(Some(200 * KIB), None);
        let t = Instant::now();
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let bw = bw.clone();
                tokio::spawn(
                    async move { send(&bw, Direction::Up, 500 * KIB, 64 * KIB as usize).await },
                )
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        // 2000 KiB at 200 KiB/s, less the 20 KiB burst.
        let took = secs(t.elapsed());
        assert!((9.85..10.0).contains(&took), "{took}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_raised_or_removed_limit_applies_to_a_waiting_transfer_at_once() {
        let bw = Bandwidth::unlimited();
        bw.set_limits(Some(1), Some(1));
        // Empty both buckets: the next 4 KiB would take over an hour at 1 byte/s.
        for dir in [Direction::Up, Direction::Down] {
            assert_eq!(bw.grant(dir, 16 * KIB as usize).await, 16 * KIB as usize);
        }
        let waiting = |dir| {
            let bw = bw.clone();
            tokio::spawn(async move {
                let t = Instant::now();
                send(&bw, dir, 1 << 20, 64 * KIB as usize).await;
                t.elapsed()
            })
        };
        let (up, down) = (waiting(Direction::Up), waiting(Direction::Down));
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!up.is_finished() && !down.is_finished());
        // Up: raised to 10 MiB/s (1 MiB then takes ~0.1 s); down: removed.
        bw.set_limits(Some(10 << 20), None);
        let (up, down) = (secs(up.await.unwrap()), secs(down.await.unwrap()));
        assert!((1.0..1.01).contains(&down), "{down}");
        assert!((1.0..1.15).contains(&up), "{up}");
    }

    #[tokio::test(start_paused = true)]
    async fn waits_are_short_even_without_a_wake_up() {
        let slow = Bandwidth::unlimited();
        slow.set_limits(Some(1), None);
        slow.grant(Direction::Up, 16 * KIB as usize).await;
        // Tokens that take over an hour to come: still re-checked after MAX_WAIT.
        assert_eq!(slow.inner.up.take(4 * KIB, Instant::now()), Err(MAX_WAIT));
        // Nearly there at a high rate: a short wait, but never zero.
        let fast = Bandwidth::unlimited();
        fast.set_limits(Some(1 << 20), None);
        fast.inner.up.lock().tokens = ((1u64 << 20) / 100) as f64 - 0.5;
        assert_eq!(
            fast.inner.up.take(1 << 20, Instant::now()),
            Err(Duration::from_millis(1))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_lowered_limit_keeps_at_most_the_new_burst() {
        let bw = Bandwidth::unlimited();
        bw.set_limits(Some(10 << 20), None); // burst 1 MiB, full
        bw.set_limits(Some(100 * KIB), None); // burst 16 KiB
        let t = Instant::now();
        send(&bw, Direction::Up, 116 * KIB, 1 << 20).await;
        let took = secs(t.elapsed());
        assert!((1.0..1.02).contains(&took), "{took}");
    }

    #[tokio::test(start_paused = true)]
    async fn throttled_streams_keep_their_bytes_and_errors() {
        let bw = Bandwidth::unlimited();
        bw.set_limits(None, Some(64 * KIB)); // burst 16 KiB
        let data: Vec<u8> = (0..200 * KIB).map(|i| (i % 251) as u8).collect();
        let chunks: Vec<Result<Bytes, &str>> = vec![
            Ok(Bytes::copy_from_slice(&data[..100_000])),
            Ok(Bytes::new()),
            Ok(Bytes::copy_from_slice(&data[100_000..])),
            Err("cut"),
        ];
        let t = Instant::now();
        let out: Vec<_> = bw
            .throttle(Direction::Down, futures_util::stream::iter(chunks))
            .collect()
            .await;
        let took = secs(t.elapsed());
        // (200 - 16) KiB at 64 KiB/s.
        assert!((2.85..2.9).contains(&took), "{took}");
        assert_eq!(out.last(), Some(&Err("cut")));
        let mut got = Vec::new();
        for piece in &out[..out.len() - 1] {
            let piece = piece.as_ref().unwrap();
            assert!(piece.len() as u64 <= 16 * KIB);
            got.extend_from_slice(piece);
        }
        assert_eq!(got, data);

        // Unlimited: the chunks pass as they are, at once.
        let bw = Bandwidth::unlimited();
        let chunks = vec![Ok::<_, ()>(Bytes::from(data.clone()))];
        let t = Instant::now();
        let out: Vec<_> = bw
            .throttle(Direction::Up, futures_util::stream::iter(chunks))
            .collect()
            .await;
        assert_eq!(t.elapsed(), Duration::ZERO);
        assert_eq!(out, vec![Ok(Bytes::from(data))]);
    }
}
