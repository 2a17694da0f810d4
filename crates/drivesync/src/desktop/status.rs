//! The app's view of the running sync: transfers in flight (built from engine events, time
//! passed in) and one overall state with a status line for the tray.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use drivesync_engine::live::{PairState, PairStatus};
use drivesync_engine::{Blocker, Event, PairEvent};
use serde::Serialize;

use crate::DaemonStatus;

/// One file moving, as the app shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transfer {
    /// The pair's id.
    pub pair: i64,
    /// The file, relative to the pair's folder.
    pub path: String,
    /// Upload (else download).
    pub upload: bool,
    /// Bytes done.
    pub done: u64,
    /// Bytes in all.
    pub total: u64,
    /// Average speed since it started.
    pub bytes_per_sec: u64,
    /// It ended (done or failed); sent once, then it leaves the board.
    pub finished: bool,
}

struct Live {
    transfer: Transfer,
    started: Instant,
    last_sent: Instant,
}

/// The transfers in flight, fed with engine events. Progress updates are thinned to one per
/// file per [`TransferBoard::MIN_GAP`] so the UI is not flooded.
#[derive(Default)]
pub struct TransferBoard {
    live: BTreeMap<(i64, String), Live>,
}

impl TransferBoard {
    /// The least time between two progress updates of one file.
    pub const MIN_GAP: Duration = Duration::from_millis(100);

    /// Takes in `e`, seen at `now`; returns the update to show, if one is due.
    pub fn apply(&mut self, e: &PairEvent, now: Instant) -> Option<Transfer> {
        let pair = e.pair.0;
        match &e.event {
            Event::Progress {
                path,
                done,
                total,
                upload,
            } => {
                let key = (pair, path.to_string());
                let first = !self.live.contains_key(&key);
                let live = self.live.entry(key).or_insert_with(|| Live {
                    transfer: Transfer {
                        pair,
                        path: path.to_string(),
                        upload: *upload,
                        done: 0,
                        total: *total,
                        bytes_per_sec: 0,
                        finished: false,
                    },
                    started: now,
                    last_sent: now,
                });
                live.transfer.done = *done;
                live.transfer.total = *total;
                let secs = now.duration_since(live.started).as_secs_f64();
                if secs > 0.0 {
                    live.transfer.bytes_per_sec = (*done as f64 / secs) as u64;
                }
                let due = first || done >= total || now >= live.last_sent + Self::MIN_GAP;
                due.then(|| {
                    live.last_sent = now;
                    live.transfer.clone()
                })
            }
            Event::Finished { path, .. } => {
                self.live.remove(&(pair, path.to_string())).map(|mut l| {
                    l.transfer.finished = true;
                    l.transfer
                })
            }
            _ => None,
        }
    }

    /// Forgets the transfers of `pair` (its loop stopped or its sync ended).
    pub fn clear_pair(&mut self, pair: i64) {
        self.live.retain(|(p, _), _| *p != pair);
    }

    /// The transfers in flight.
    pub fn current(&self) -> Vec<Transfer> {
        self.live.values().map(|l| l.transfer.clone()).collect()
    }
}

/// The state the tray icon shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Overall {
    /// Every pair is up to date.
    InSync,
    /// Something is being synced.
    Syncing,
    /// Every pair is paused.
    Paused,
    /// Something needs the user (sign-in, full disk, missing folder, failed files...).
    Attention,
    /// Drive cannot be reached; retrying.
    Offline,
    /// No Google account is connected.
    NotConnected,
}

/// Everything the app's status screen and tray show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppStatus {
    /// The overall state.
    pub overall: Overall,
    /// The tray's status line.
    pub summary: String,
    /// Each running pair.
    pub pairs: Vec<PairStatus>,
    /// The transfers in flight.
    pub transfers: Vec<Transfer>,
}

fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// The overall state of a running drivesync with `transfers` in flight. The most urgent
/// state wins: not connected, needs attention, offline, syncing, paused, in sync.
pub fn app_status(daemon: &DaemonStatus, transfers: Vec<Transfer>) -> AppStatus {
    let pairs = daemon.pairs.clone();
    let (overall, summary) = overall(daemon, &transfers);
    AppStatus {
        overall,
        summary,
        pairs,
        transfers,
    }
}

fn overall(daemon: &DaemonStatus, transfers: &[Transfer]) -> (Overall, String) {
    if let Some(problem) = &daemon.account_problem {
        return (Overall::NotConnected, problem.clone());
    }
    let pairs = &daemon.pairs;
    if pairs.is_empty() {
        return (Overall::InSync, "No folders are synced yet".into());
    }
    let blocked: Vec<&PairStatus> = pairs
        .iter()
        .filter(|p| matches!(p.state, PairState::Blocked { .. }))
        .collect();
    if let Some(p) = blocked.first() {
        let PairState::Blocked { blocker, message } = &p.state else {
            unreachable!("filtered above")
        };
        let summary = match blocker {
            Blocker::SignIn => "Reconnect your Google account".to_owned(),
            _ => format!("{}: {message}", p.name),
        };
        return (Overall::Attention, summary);
    }
    let failed: usize = pairs.iter().map(|p| p.failed_files).sum();
    if failed > 0 {
        return (
            Overall::Attention,
            format!("{} could not be synced", plural(failed, "file")),
        );
    }
    if let Some(message) = pairs.iter().find_map(|p| match &p.state {
        PairState::Retrying { message } => Some(message),
        _ => None,
    }) {
        return (Overall::Offline, format!("Retrying: {message}"));
    }
    if pairs
        .iter()
        .any(|p| matches!(p.state, PairState::Syncing | PairState::Starting))
        || !transfers.is_empty()
    {
        let summary = if transfers.is_empty() {
            "Syncing".to_owned()
        } else {
            format!("Syncing {}", plural(transfers.len(), "file"))
        };
        return (Overall::Syncing, summary);
    }
    if pairs.iter().all(|p| p.state == PairState::Paused) {
        return (Overall::Paused, "Paused".into());
    }
    (Overall::InSync, "Up to date".into())
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
