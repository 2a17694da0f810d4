//! When a pair syncs while running: the live loop's decisions as a pure state machine. Time is
//! passed in as the [`Duration`] since the loop started, so tests (and the deterministic
//! simulation) drive it without clocks.

use std::collections::BTreeSet;
use std::time::Duration;

use drivesync_model::RelPath;

use crate::Blocker;

/// The live loop's timing knobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timing {
    /// How often Drive's change feed is read when nothing happens (default 15 s).
    pub poll: Duration,
    /// The feed is read again this soon after a sync that changed something (default 2 s):
    /// other devices often react to what was just synced.
    pub poll_after_activity: Duration,
    /// Local events are gathered until none came for this long (default 400 ms), so a burst
    /// (a build, a checkout, an editor's save) becomes one plan.
    pub settle: Duration,
    /// ...but no longer than this after the first event of the burst (default 3 s).
    pub max_settle: Duration,
    /// A full local rescan runs this often as a safety net (default 1 h); also every
    /// `degraded_rescan` when the watcher is degraded.
    pub full_rescan: Duration,
    /// The full-rescan interval when file watching is not available (default 60 s).
    pub degraded_rescan: Duration,
    /// The first retry after a failed sync (default 5 s); doubles with each failure...
    pub retry: Duration,
    /// ...up to this (default 5 min).
    pub retry_max: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(15),
            poll_after_activity: Duration::from_secs(2),
            settle: Duration::from_millis(400),
            max_settle: Duration::from_secs(3),
            full_rescan: Duration::from_secs(3600),
            degraded_rescan: Duration::from_secs(60),
            retry: Duration::from_secs(5),
            retry_max: Duration::from_secs(300),
        }
    }
}

/// What the next sync looks at locally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Scan the whole pair.
    Full,
    /// Re-check only these paths (files, or folders whose subtree is re-read); empty when
    /// the sync only reads Drive's change feed.
    Touched(BTreeSet<RelPath>),
}

/// Why a pair is not syncing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Held {
    /// The user paused it (or disabled the pair).
    ByUser,
    /// A cause outside drivesync; re-checked at `retry_at`.
    Blocked {
        /// The cause.
        blocker: Blocker,
        /// When to try again.
        retry_at: Duration,
    },
}

/// How a sync ended, as the schedule needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It ran; `changed` when it did anything (ops ran).
    Done {
        /// Ops ran (uploads, downloads, moves...).
        changed: bool,
    },
    /// It failed or some files failed for a reason that may pass (network, rate limits):
    /// retried with backoff, touched paths kept.
    Failed,
    /// It cannot go on until `Blocker` is gone.
    Blocked(Blocker),
}

/// The live loop's decisions for one pair.
#[derive(Debug, Clone)]
pub struct Schedule {
    timing: Timing,
    touched: BTreeSet<RelPath>,
    burst: Option<(Duration, Duration)>,
    full_due: bool,
    next_full: Duration,
    next_poll: Duration,
    failures: u32,
    retry_at: Option<Duration>,
    held: Option<Held>,
    degraded: bool,
    running: Option<Scope>,
}

impl Schedule {
    /// A schedule starting at `now` with a full sync due at once.
    pub fn new(timing: Timing, now: Duration) -> Self {
        Self {
            next_full: now + timing.full_rescan,
            next_poll: now,
            timing,
            touched: BTreeSet::new(),
            burst: None,
            full_due: true,
            failures: 0,
            retry_at: None,
            held: None,
            degraded: false,
            running: None,
        }
    }

    /// Local paths changed (from the watcher).
    pub fn local_changed(&mut self, now: Duration, paths: impl IntoIterator<Item = RelPath>) {
        self.touched.extend(paths);
        let first = self.burst.map_or(now, |(first, _)| first);
        self.burst = Some((first, now));
    }

    /// Watcher events were lost: the next sync scans everything.
    pub fn rescan(&mut self, now: Duration) {
        self.full_due = true;
        self.burst.get_or_insert((now, now));
    }

    /// File watching stopped working (e.g. the OS watch limit): rescan everything at the
    /// degraded interval from now on.
    pub fn set_degraded(&mut self, now: Duration, degraded: bool) {
        self.degraded = degraded;
        let every = self.full_interval();
        self.next_full = self.next_full.min(now + every);
    }

    /// The user asked for a sync now: a full one, regardless of backoff; a blocked pair is
    /// re-checked. A pause by the user stays.
    pub fn sync_now(&mut self, now: Duration) {
        self.full_due = true;
        self.retry_at = None;
        self.next_poll = now;
        if let Some(Held::Blocked { retry_at, .. }) = &mut self.held {
            *retry_at = now;
        }
    }

    /// The user paused the pair.
    pub fn pause(&mut self) {
        self.held = Some(Held::ByUser);
    }

    /// The user resumed it: a full sync follows (changes made meanwhile are found by it).
    pub fn resume(&mut self, now: Duration) {
        if self.held == Some(Held::ByUser) {
            self.held = None;
        }
        self.sync_now(now);
    }

    /// Why the pair is not syncing, if it is not.
    pub fn held(&self) -> Option<&Held> {
        self.held.as_ref()
    }

    /// Local changes waiting for a sync.
    pub fn pending(&self) -> usize {
        self.touched.len()
    }

    fn full_interval(&self) -> Duration {
        if self.degraded {
            self.timing.degraded_rescan
        } else {
            self.timing.full_rescan
        }
    }

    /// When the next sync is due (`None` while paused by the user or running). The caller
    /// sleeps until then or until an input arrives, whichever is first.
    pub fn next_due(&self) -> Option<Duration> {
        if self.running.is_some() {
            return None;
        }
        match &self.held {
            Some(Held::ByUser) => return None,
            Some(Held::Blocked { retry_at, .. }) => return Some(*retry_at),
            None => {}
        }
        let mut due = self.next_poll.min(self.next_full);
        if let Some((first, last)) = self.burst {
            let settled = (last + self.timing.settle).min(first + self.timing.max_settle);
            due = due.min(settled);
        }
        Some(self.retry_at.map_or(due, |r| due.max(r)))
    }

    /// The sync to run at `now`, if one is due; the schedule then waits for
    /// [`Schedule::finished`].
    pub fn start(&mut self, now: Duration) -> Option<Scope> {
        if self.next_due().is_none_or(|due| due > now) {
            return None;
        }
        let full = self.full_due || now >= self.next_full;
        let scope = if full {
            self.touched.clear();
            Scope::Full
        } else {
            Scope::Touched(std::mem::take(&mut self.touched))
        };
        self.burst = None;
        self.full_due = false;
        if full {
            self.next_full = now + self.full_interval();
        }
        self.running = Some(scope.clone());
        Some(scope)
    }

    /// The running sync ended at `now` with `outcome`.
    pub fn finished(&mut self, now: Duration, outcome: Outcome) {
        let ran = self.running.take();
        match outcome {
            Outcome::Done { changed } => {
                self.failures = 0;
                self.retry_at = None;
                if matches!(self.held, Some(Held::Blocked { .. })) {
                    self.held = None;
                }
                let wait = if changed {
                    self.timing.poll_after_activity.min(self.timing.poll)
                } else {
                    self.timing.poll
                };
                self.next_poll = now + wait;
            }
            Outcome::Failed => {
                self.requeue(ran);
                self.failures = self.failures.saturating_add(1);
                let backoff = self
                    .timing
                    .retry
                    .saturating_mul(1 << self.failures.min(16).saturating_sub(1))
                    .min(self.timing.retry_max);
                self.retry_at = Some(now + backoff);
                self.next_poll = now + backoff;
            }
            Outcome::Blocked(blocker) => {
                self.requeue(ran);
                let retry_at = now + blocker.recheck_every();
                if self.held != Some(Held::ByUser) {
                    self.held = Some(Held::Blocked { blocker, retry_at });
                }
                self.next_poll = retry_at;
            }
        }
    }

    /// A sync that did not finish is redone with what it covered.
    fn requeue(&mut self, ran: Option<Scope>) {
        match ran {
            Some(Scope::Full) => self.full_due = true,
            Some(Scope::Touched(paths)) => self.touched.extend(paths),
            None => {}
        }
    }
}

#[cfg(test)]
mod tests;
