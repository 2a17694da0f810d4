//! The live loop of one pair: a file watcher, timers and user commands feed the
//! [`Schedule`]; each sync it asks for runs through [`Engine::sync_scoped`]; what happens is
//! published as a [`PairStatus`].

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use drivesync_localfs::{WatchEvent, Watcher};
use drivesync_state::ActivityKind;
use drivesync_state::Pair;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::schedule::{Held, Outcome, Schedule, Timing};
use crate::{Blocker, Engine, EngineError, SyncOptions, SyncReport};

/// What the user asks of a running pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Stop syncing until resumed.
    Pause,
    /// Sync again (a full sync follows).
    Resume,
    /// Sync now, whatever the timers say.
    SyncNow,
    /// Sync now and let it move more files to the trash than the delete guard allows (after
    /// the user checked).
    ForceDeletes,
}

/// Where a running pair is, for status displays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum PairState {
    /// Not synced yet since the loop started.
    Starting,
    /// In sync as of the last sync; waiting for changes.
    Idle,
    /// A sync is running.
    Syncing,
    /// Paused by the user.
    Paused,
    /// Held by a cause outside drivesync until it is gone (re-checked by itself).
    Blocked {
        /// The cause.
        blocker: Blocker,
        /// What happened and what to do.
        message: String,
    },
    /// The last sync failed for a passing reason (network...); retried with backoff.
    Retrying {
        /// The error.
        message: String,
    },
}

/// The published status of one running pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairStatus {
    /// The pair's id.
    pub pair: i64,
    /// The pair's name.
    pub name: String,
    /// Its local folder.
    pub local: PathBuf,
    /// Where it is.
    #[serde(flatten)]
    pub state: PairState,
    /// When its last sync finished without errors.
    pub last_sync: Option<DateTime<Utc>>,
    /// Local changes seen but not synced yet.
    pub pending_local: usize,
    /// Files that failed in the last sync (each is in the activity log).
    pub failed_files: usize,
    /// Set when file watching does not work (e.g. the OS watch limit): changes are then found
    /// by periodic rescans, later than usual.
    pub watch_problem: Option<String>,
}

impl PairStatus {
    /// The status of `pair` before its loop's first sync.
    pub fn starting(pair: &Pair) -> Self {
        Self {
            pair: pair.id.0,
            name: pair.name.clone(),
            local: pair.local_root.clone(),
            state: PairState::Starting,
            last_sync: pair.last_sync,
            pending_local: 0,
            failed_files: 0,
            watch_problem: None,
        }
    }
}

/// Runs the live loop of `engine`'s pair until `commands` is closed (the sender dropped):
/// watches `engine`'s local folder, syncs as [`Schedule`] decides with `timing`, and
/// publishes each change of state on `status`. `host` names this computer in conflict copies.
pub async fn run_pair(
    engine: Engine,
    timing: Timing,
    host: String,
    mut commands: mpsc::UnboundedReceiver<Command>,
    status: watch::Sender<PairStatus>,
) {
    let local: PathBuf = engine.pair().local_root.clone();
    let start = Instant::now();
    let now = move || start.elapsed();
    let mut schedule = Schedule::new(timing, now());
    let (tx, mut events) = mpsc::unbounded_channel();
    let mut watcher: Option<Watcher> = None;
    let mut force_deletes = false;
    let mut st = PairStatus::starting(engine.pair());
    loop {
        if watcher.is_none() && schedule.held().is_none() {
            watcher = start_watcher(&engine, &local, &tx, &mut schedule, &mut st, now).await;
        }
        st.pending_local = schedule.pending();
        status.send_if_modified(|s| replace_if_changed(s, &st));
        let deadline = schedule.next_due().map(|d| start + d);
        let sleep = async move {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            cmd = commands.recv() => match cmd {
                None => break,
                Some(Command::Pause) => {
                    schedule.pause();
                    st.state = PairState::Paused;
                }
                Some(Command::Resume) => {
                    schedule.resume(now());
                    if st.state == PairState::Paused {
                        st.state = PairState::Idle;
                    }
                }
                Some(Command::SyncNow) => schedule.sync_now(now()),
                Some(Command::ForceDeletes) => {
                    force_deletes = true;
                    schedule.sync_now(now());
                }
            },
            Some(event) = events.recv() => match event {
                WatchEvent::Changed(paths) => schedule.local_changed(now(), paths),
                WatchEvent::Rescan { reason } => {
                    tracing::info!(pair = %st.name, "watcher asked for a rescan: {reason}");
                    schedule.rescan(now());
                    if let Some(problem) = watcher.as_ref().and_then(Watcher::degraded) {
                        degrade(&engine, &mut schedule, &mut st, problem, now());
                    }
                }
            },
            () = sleep => {
                let Some(scope) = schedule.start(now()) else { continue };
                st.state = PairState::Syncing;
                st.pending_local = schedule.pending();
                status.send_if_modified(|s| replace_if_changed(s, &st));
                let opts = SyncOptions {
                    dry_run: false,
                    force_deletes: std::mem::take(&mut force_deletes),
                    now: Utc::now(),
                    host: host.clone(),
                };
                let result = engine.sync_scoped(&opts, &scope).await;
                let outcome = outcome_of(&result);
                tracing::debug!(pair = %st.name, ?scope, ?outcome, "live sync finished");
                let was_blocked = matches!(st.state, PairState::Blocked { .. });
                schedule.finished(now(), outcome.clone());
                st.failed_files = result.as_ref().map_or(0, |r| r.errors.len());
                st.state = match (&outcome, schedule.held()) {
                    (_, Some(Held::ByUser)) => PairState::Paused,
                    (Outcome::Blocked(b), _) => {
                        let message = b.message(&local);
                        if !was_blocked {
                            tracing::warn!(pair = %st.name, "{message}");
                            engine.note(ActivityKind::Error, message.clone(), opts.now);
                        }
                        if matches!(b, Blocker::FolderMissing) {
                            // The watch went with the folder; a new one starts when it is back.
                            watcher = None;
                        }
                        PairState::Blocked { blocker: b.clone(), message }
                    }
                    (Outcome::Failed, _) => PairState::Retrying {
                        message: failure_message(&result),
                    },
                    (Outcome::Done { .. }, _) => {
                        if was_blocked {
                            engine.note(ActivityKind::Info, "Syncing resumed.".into(), opts.now);
                        }
                        st.last_sync = Some(opts.now);
                        PairState::Idle
                    }
                };
            }
        }
    }
}

/// Starts watching (on a blocking thread: it visits every folder); on failure the pair
/// falls back to periodic rescans and says why.
async fn start_watcher(
    engine: &Engine,
    local: &std::path::Path,
    tx: &mpsc::UnboundedSender<WatchEvent>,
    schedule: &mut Schedule,
    st: &mut PairStatus,
    clock: impl Fn() -> Duration,
) -> Option<Watcher> {
    let (root, tx) = (local.to_path_buf(), tx.clone());
    let started =
        tokio::task::spawn_blocking(move || Watcher::start(&root, Duration::from_millis(200), tx))
            .await;
    let now = clock();
    let Ok(started) = started else {
        tracing::warn!(pair = %st.name, "the file watcher could not start (task failed)");
        return None;
    };
    match started {
        Ok(w) => {
            if st.watch_problem.take().is_some() {
                schedule.set_degraded(now, false);
                schedule.rescan(now);
            }
            if let Some(problem) = w.degraded() {
                degrade(engine, schedule, st, problem, now);
            }
            Some(w)
        }
        Err(e) if e.is_limit_reached() => {
            degrade(engine, schedule, st, e.to_string(), now);
            None
        }
        Err(e) => {
            // The folder itself is missing or unreadable: the next sync finds out and
            // holds the pair; watching is retried once it runs again.
            tracing::debug!(pair = %st.name, "cannot watch yet: {e}");
            None
        }
    }
}

/// File watching does not work: rescan periodically, and tell the user once.
fn degrade(
    engine: &Engine,
    schedule: &mut Schedule,
    st: &mut PairStatus,
    problem: String,
    now: Duration,
) {
    if st.watch_problem.as_deref() == Some(problem.as_str()) {
        return;
    }
    tracing::warn!(pair = %st.name, "{problem}");
    engine.note(ActivityKind::Error, problem.clone(), Utc::now());
    schedule.set_degraded(now, true);
    st.watch_problem = Some(problem);
}

fn replace_if_changed(current: &mut PairStatus, new: &PairStatus) -> bool {
    if current == new {
        false
    } else {
        *current = new.clone();
        true
    }
}

/// How a sync's result counts for the schedule.
pub fn outcome_of(result: &Result<SyncReport, EngineError>) -> Outcome {
    match result {
        Ok(r) if r.errors.is_empty() => Outcome::Done {
            changed: !r.plan.is_empty(),
        },
        Ok(r) => match r.errors.iter().find_map(|e| e.blocker.clone()) {
            Some(b) => Outcome::Blocked(b),
            None => Outcome::Failed,
        },
        Err(e) => match Blocker::of_engine(e) {
            Some(b) => Outcome::Blocked(b),
            None => Outcome::Failed,
        },
    }
}

fn failure_message(result: &Result<SyncReport, EngineError>) -> String {
    match result {
        Ok(r) => format!(
            "{} file(s) could not be synced (see the activity log); retrying",
            r.errors.len()
        ),
        Err(e) => format!("{e}; retrying"),
    }
}
