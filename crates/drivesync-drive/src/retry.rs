//! Which failures are worth another try, and how long to wait: the one retry classification of
//! the Drive transport ([`classify`]) and exponential backoff with full jitter ([`Backoff`]).

use std::time::Duration;

use rand::Rng;

/// How hard the client retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries per request, the first one included (a resumable upload or a download counts
    /// tries without progress: every chunk or byte range that gets through starts afresh).
    pub max_attempts: u32,
    /// The first backoff ceiling; it doubles with every retry.
    pub base_delay: Duration,
    /// The largest backoff ceiling.
    pub max_delay: Duration,
    /// A `Retry-After` longer than this is not waited for: the request fails with
    /// [`crate::DriveError::RateLimited`] and the caller decides (the engine pauses).
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(32),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

/// A failed try, as the classifier sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure<'a> {
    /// No usable answer: connecting failed, the connection dropped, a timeout.
    Network,
    /// Drive answered with an error status.
    Status {
        /// HTTP status.
        status: u16,
        /// `error.errors[0].reason` of Google's error body.
        reason: Option<&'a str>,
        /// The `Retry-After` header.
        retry_after: Option<Duration>,
    },
}

/// What to do about a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Try again after a backoff (at least `after`, when Drive said so).
    Retry {
        /// Drive's `Retry-After`.
        after: Option<Duration>,
    },
    /// The access token was refused: refresh it once and replay.
    RefreshToken,
    /// Give up and report Google's message.
    Fail,
}

/// Google's reasons for a 403 that means "slow down", not "forbidden".
pub const RATE_LIMIT_REASONS: [&str; 2] = ["rateLimitExceeded", "userRateLimitExceeded"];

/// The transport's one retry decision (as rclone's drive backend decides): connection errors,
/// 5xx, 408, 429 and 403 with a rate-limit reason are retried; 401 refreshes the token; every
/// other status fails at once.
pub fn classify(failure: &Failure<'_>) -> Verdict {
    match *failure {
        Failure::Network => Verdict::Retry { after: None },
        Failure::Status { status: 401, .. } => Verdict::RefreshToken,
        Failure::Status {
            status,
            reason,
            retry_after,
        } => {
            let throttled = status == 429
                || status == 403 && reason.is_some_and(|r| RATE_LIMIT_REASONS.contains(&r));
            if throttled || status >= 500 || status == 408 {
                Verdict::Retry { after: retry_after }
            } else {
                Verdict::Fail
            }
        }
    }
}

/// Backoff state of one operation.
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: RetryPolicy,
    failures: u32,
}

/// Why no further try is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUp {
    /// `max_attempts` tries failed.
    Exhausted,
    /// Drive asked to wait longer than `max_retry_after`.
    WaitTooLong(Duration),
}

impl Backoff {
    /// Fresh state.
    pub fn new(policy: &RetryPolicy) -> Self {
        Self {
            policy: policy.clone(),
            failures: 0,
        }
    }

    /// Forgets earlier failures (progress was made).
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// Failures since the last reset.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Records a failure; the wait before the next try, or why there is none. The wait is a
    /// uniform draw from `0..=min(max_delay, base_delay * 2^n)` (full jitter), and never less
    /// than Drive's `Retry-After`.
    pub fn next_delay(&mut self, retry_after: Option<Duration>) -> Result<Duration, GiveUp> {
        self.failures += 1;
        if self.failures >= self.policy.max_attempts {
            return Err(GiveUp::Exhausted);
        }
        if let Some(a) = retry_after.filter(|a| *a > self.policy.max_retry_after) {
            return Err(GiveUp::WaitTooLong(a));
        }
        let exp = self.failures.saturating_sub(1).min(20);
        let ceiling = self
            .policy
            .base_delay
            .saturating_mul(1 << exp)
            .min(self.policy.max_delay);
        let jitter = rand::rng().random_range(Duration::ZERO..=ceiling);
        Ok(jitter.max(retry_after.unwrap_or(Duration::ZERO)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16, reason: Option<&str>) -> Verdict {
        classify(&Failure::Status {
            status,
            reason,
            retry_after: None,
        })
    }

    #[test]
    fn classification_follows_drive_guidance() {
        let retry = Verdict::Retry { after: None };
        assert_eq!(classify(&Failure::Network), retry);
        for s in [500, 502, 503, 504, 429, 408] {
            assert_eq!(status(s, Some("backendError")), retry, "{s}");
        }
        assert_eq!(status(403, Some("rateLimitExceeded")), retry);
        assert_eq!(status(403, Some("userRateLimitExceeded")), retry);
        assert_eq!(status(403, Some("storageQuotaExceeded")), Verdict::Fail);
        assert_eq!(status(403, None), Verdict::Fail);
        assert_eq!(status(401, Some("authError")), Verdict::RefreshToken);
        for s in [400, 404, 409, 410, 416] {
            assert_eq!(status(s, None), Verdict::Fail, "{s}");
        }
        let after = Some(Duration::from_secs(3));
        assert_eq!(
            classify(&Failure::Status {
                status: 429,
                reason: None,
                retry_after: after
            }),
            Verdict::Retry { after }
        );
    }

    #[test]
    fn backoff_is_bounded_jittered_and_honours_retry_after() {
        let policy = RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(250),
            max_retry_after: Duration::from_secs(10),
        };
        let mut b = Backoff::new(&policy);
        for n in 0..3u32 {
            let d = b.next_delay(None).unwrap();
            assert!(
                d <= Duration::from_millis(100 << n).min(policy.max_delay),
                "{d:?}"
            );
        }
        assert_eq!(b.next_delay(None), Err(GiveUp::Exhausted));
        b.reset();
        assert!(b.next_delay(Some(Duration::from_secs(2))).unwrap() >= Duration::from_secs(2));
        assert_eq!(
            b.next_delay(Some(Duration::from_secs(60))),
            Err(GiveUp::WaitTooLong(Duration::from_secs(60)))
        );
    }
}
