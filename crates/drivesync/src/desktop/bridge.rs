//! The event bridge: turns a running [`Daemon`]'s engine events and status changes into what
//! the app's window shows ([`UiEvent`]s), with no polling by the UI. The Tauri shell emits
//! each as a Tauri event of the same name.

use std::sync::Arc;
use std::time::{Duration, Instant};

use drivesync_engine::{Event, PairEvent};
use drivesync_state::{Activity, ActivityId, ActivityQuery, Conflict, ConflictId, StateDb};
use serde::Serialize;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{app_status, AccountState, AppStatus, Transfer, TransferBoard};
use crate::{Daemon, PairInfo};

/// One thing for the window to show.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum UiEvent {
    /// The overall and per-pair status (event `status`).
    Status(AppStatus),
    /// A transfer's progress (event `transfer`).
    Transfer(Transfer),
    /// A new activity-log entry (event `activity`).
    Activity(Activity),
    /// A new conflict copy (event `conflict`).
    Conflict(Conflict),
    /// The account changed (event `account`).
    Account(AccountState),
    /// Pairs were added, removed or changed, by the window or by the command line (`drivesync
    /// pair ...` tells the running app through its control socket): every pair (event
    /// `pairs`). Not sent when only a pair's last sync or conflict count changed.
    Pairs(Vec<PairInfo>),
}

impl UiEvent {
    /// The Tauri event name.
    pub fn name(&self) -> &'static str {
        match self {
            UiEvent::Status(_) => "status",
            UiEvent::Transfer(_) => "transfer",
            UiEvent::Activity(_) => "activity",
            UiEvent::Conflict(_) => "conflict",
            UiEvent::Account(_) => "account",
            UiEvent::Pairs(_) => "pairs",
        }
    }
}

/// How often, at most, the status and new log entries are sent while a sync runs.
pub const FLUSH_EVERY: Duration = Duration::from_millis(250);

struct Bridge {
    daemon: Arc<Daemon>,
    db: Arc<StateDb>,
    out: mpsc::UnboundedSender<UiEvent>,
    board: TransferBoard,
    last_activity: i64,
    last_conflict: i64,
    log_dirty: bool,
    status_dirty: bool,
    /// The pairs as last sent (or found at the start), to tell when they change.
    pairs: Vec<PairInfo>,
    pairs_dirty: bool,
}

/// What makes a pair list differ for the window: not the last sync or the conflict count,
/// which change with every sync and come with `status` and `conflict` events.
fn same_pairs(a: &[PairInfo], b: &[PairInfo]) -> bool {
    let shape = |p: &PairInfo| {
        (
            p.id,
            p.name.clone(),
            p.local.clone(),
            p.drive_path.clone(),
            p.drive_id.clone(),
            p.enabled,
            p.settings.clone(),
        )
    };
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| shape(x) == shape(y))
}

impl Bridge {
    async fn flush(&mut self) {
        if self.pairs_dirty {
            self.pairs_dirty = false;
            if let Ok(now) = self.daemon.app().pairs() {
                if !same_pairs(&now, &self.pairs) {
                    self.pairs = now.clone();
                    let _ = self.out.send(UiEvent::Pairs(now));
                }
            }
        }
        if self.status_dirty {
            self.status_dirty = false;
            let status = app_status(&self.daemon.status().await, self.board.current());
            let _ = self.out.send(UiEvent::Status(status));
        }
        if !self.log_dirty {
            return;
        }
        self.log_dirty = false;
        let query = ActivityQuery {
            limit: 200,
            ..ActivityQuery::default()
        };
        if let Ok(mut new) = self.db.activity(&query) {
            new.retain(|a| a.id.0 > self.last_activity);
            for a in new.into_iter().rev() {
                self.last_activity = a.id.0;
                let _ = self.out.send(UiEvent::Activity(a));
            }
        }
        if let Ok(mut new) = self.db.conflicts(None) {
            new.retain(|c| c.id.0 > self.last_conflict);
            new.sort_by_key(|c| c.id.0);
            for c in new {
                self.last_conflict = c.id.0;
                let _ = self.out.send(UiEvent::Conflict(c));
            }
        }
    }

    fn take(&mut self, e: &PairEvent) {
        let before = self.board.current().len();
        if let Some(t) = self.board.apply(e, Instant::now()) {
            let _ = self.out.send(UiEvent::Transfer(t));
        }
        if self.board.current().len() != before {
            self.status_dirty = true;
        }
        if matches!(e.event, Event::Finished { .. } | Event::Conflict { .. }) {
            self.log_dirty = true;
        }
    }
}

fn newest_ids(db: &StateDb) -> (i64, i64) {
    let query = ActivityQuery {
        limit: 1,
        ..ActivityQuery::default()
    };
    let activity = db
        .activity(&query)
        .ok()
        .and_then(|a| a.first().map(|a| a.id))
        .unwrap_or(ActivityId(0));
    let conflict = db
        .conflicts(None)
        .ok()
        .and_then(|c| c.iter().map(|c| c.id).max())
        .unwrap_or(ConflictId(0));
    (activity.0, conflict.0)
}

/// Runs the bridge until `events` closes: engine events from `daemon`'s pairs (sent with
/// [`crate::Events::tagged`]) become transfers, log entries and conflicts; status changes
/// become `status` events, and changed pairs a `pairs` event. The first `status` is sent at
/// once.
pub fn spawn_bridge(
    daemon: Arc<Daemon>,
    db: Arc<StateDb>,
    mut events: mpsc::UnboundedReceiver<PairEvent>,
    out: mpsc::UnboundedSender<UiEvent>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut changes = daemon.subscribe();
        let (last_activity, last_conflict) = newest_ids(&db);
        let pairs = daemon.app().pairs().unwrap_or_default();
        let mut b = Bridge {
            daemon,
            db,
            out,
            board: TransferBoard::default(),
            last_activity,
            last_conflict,
            log_dirty: false,
            status_dirty: true,
            pairs,
            pairs_dirty: false,
        };
        // Nothing wakes the bridge while nothing happens: a flush is due only once something
        // changed, at most FLUSH_EVERY later.
        let mut due: Option<tokio::time::Instant> = Some(tokio::time::Instant::now());
        loop {
            tokio::select! {
                e = events.recv() => match e {
                    Some(e) => b.take(&e),
                    None => break,
                },
                r = changes.changed() => {
                    if r.is_err() {
                        break;
                    }
                    b.status_dirty = true;
                    // A sync that ended also ends its transfers and leaves new log entries;
                    // a reload follows a change of pairs.
                    b.log_dirty = true;
                    b.pairs_dirty = true;
                }
                _ = tokio::time::sleep_until(due.unwrap_or_else(tokio::time::Instant::now)), if due.is_some() => {
                    due = None;
                    b.flush().await;
                }
            }
            if due.is_none() && (b.status_dirty || b.log_dirty) {
                due = Some(tokio::time::Instant::now() + FLUSH_EVERY);
            }
        }
        b.flush().await;
    })
}
