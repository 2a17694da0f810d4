//! Continuous sync of every enabled pair (`drivesync run`, and the desktop app): one live
//! loop per pair over one shared Drive client, restarted when pairs or settings change, with
//! a status other processes can read.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use drivesync_drive::RemoteStore;
use drivesync_engine::live::{run_pair, Command, PairState, PairStatus, Timing};
use drivesync_engine::{Blocker, Events};
use drivesync_state::{Pair, StateDb};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch, Mutex};
use tokio::task::JoinHandle;

use crate::instance::InstanceLock;
use crate::pairs::host_name;
use crate::{overlap, Drivesync, Error};

/// What a running drivesync reports about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonStatus {
    /// Its process id.
    pub pid: u32,
    /// When it started.
    pub started: DateTime<Utc>,
    /// Why nothing syncs at all (not signed in, access revoked), when that is so.
    pub account_problem: Option<String>,
    /// Each running pair.
    pub pairs: Vec<PairStatus>,
    /// The upload speed limit in bytes per second, if any.
    pub upload_limit: Option<u64>,
    /// The download speed limit in bytes per second, if any.
    pub download_limit: Option<u64>,
}

struct Loop {
    pair: Pair,
    commands: mpsc::UnboundedSender<Command>,
    status: watch::Receiver<PairStatus>,
    task: JoinHandle<()>,
}

#[derive(Default)]
struct Inner {
    remote: Option<Arc<dyn RemoteStore>>,
    loops: BTreeMap<i64, Loop>,
    account_problem: Option<String>,
}

/// Every enabled pair syncing continuously. Holds the instance lock for its lifetime.
pub struct Daemon {
    app: Drivesync,
    db: Arc<StateDb>,
    events: Events,
    timing: std::sync::Mutex<Timing>,
    started: DateTime<Utc>,
    inner: Mutex<Inner>,
    changed: watch::Sender<()>,
    _lock: InstanceLock,
}

impl Daemon {
    /// Starts the loops of every enabled pair of `app`, sending their progress to `events`.
    /// `lock` proves no other drivesync uses the data folder. Without a usable sign-in it
    /// still runs, reporting the problem, until [`Daemon::reload`] after a login.
    pub async fn start(
        app: &Drivesync,
        lock: InstanceLock,
        events: Events,
    ) -> Result<Arc<Self>, Error> {
        let timing = Timing {
            poll: app.config().poll,
            ..Timing::default()
        };
        let daemon = Arc::new(Self {
            app: app.clone(),
            db: app.state()?,
            events,
            timing: std::sync::Mutex::new(timing),
            started: Utc::now(),
            inner: Mutex::new(Inner::default()),
            changed: watch::channel(()).0,
            _lock: lock,
        });
        daemon.reload(false).await?;
        tokio::spawn(housekeeping(Arc::downgrade(&daemon)));
        Ok(daemon)
    }

    /// Brings the loops in line with the pairs in the database: starts new or re-enabled
    /// pairs, stops removed or disabled ones, restarts those whose settings changed. With
    /// `reconnect` (after a login), the Drive client is rebuilt and every loop restarted.
    pub async fn reload(&self, reconnect: bool) -> Result<(), Error> {
        let mut inner = self.inner.lock().await;
        if reconnect || inner.remote.is_none() {
            for (_, l) in std::mem::take(&mut inner.loops) {
                l.task.abort();
            }
            match self.app.remote_with(Some(self.db.clone())).await {
                Ok(r) => {
                    inner.remote = Some(r);
                    inner.account_problem = None;
                }
                Err(e) if e.needs_login() => {
                    tracing::warn!("not syncing: {e}");
                    inner.remote = None;
                    inner.account_problem = Some(e.to_string());
                    self.changed.send_replace(());
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        }
        let wanted: BTreeMap<i64, Pair> = self
            .db
            .pairs()?
            .into_iter()
            .filter(|p| p.settings.enabled)
            .map(|p| (p.id.0, p))
            .collect();
        let stale: Vec<i64> = inner
            .loops
            .iter()
            .filter(|(id, l)| wanted.get(*id).is_none_or(|p| !same_setup(p, &l.pair)))
            .map(|(id, _)| *id)
            .collect();
        for id in stale {
            if let Some(l) = inner.loops.remove(&id) {
                tracing::info!(pair = %l.pair.name, "stopping its live sync");
                l.task.abort();
            }
        }
        let remote = inner.remote.clone().expect("set above");
        let clashes = clashes(&self.app, remote.as_ref(), &wanted).await;
        for (id, pair) in wanted {
            if inner.loops.contains_key(&id) {
                continue;
            }
            let l = match clashes.get(&id) {
                Some(message) => {
                    tracing::warn!(pair = %pair.name, "{message}");
                    held(pair, Blocker::Overlapping, message.clone())
                }
                None => {
                    tracing::info!(pair = %pair.name, local = %pair.local_root.display(), "starting its live sync");
                    self.spawn(remote.clone(), pair)
                }
            };
            inner.loops.insert(id, l);
        }
        self.changed.send_replace(());
        Ok(())
    }

    /// Stops every loop and drops the Drive client before a sign-out, whatever its outcome:
    /// nothing syncs with the account being signed out. `reload(true)` starts again (after a
    /// sign-out that did not happen, or a new sign-in).
    pub async fn sign_out(&self) {
        let mut inner = self.inner.lock().await;
        for (_, l) in std::mem::take(&mut inner.loops) {
            l.task.abort();
        }
        inner.remote = None;
        inner.account_problem = Some("signing out: not syncing".into());
        self.changed.send_replace(());
        tracing::info!("signing out: every pair stopped");
    }

    /// Sets how often the loops poll Drive; they restart with it.
    pub async fn set_poll(&self, poll: std::time::Duration) -> Result<(), Error> {
        {
            let mut timing = self.timing.lock().expect("timing lock");
            if timing.poll == poll {
                return Ok(());
            }
            timing.poll = poll;
        }
        {
            let mut inner = self.inner.lock().await;
            for (_, l) in std::mem::take(&mut inner.loops) {
                l.task.abort();
            }
        }
        self.reload(false).await
    }

    /// The configuration it runs with.
    pub fn app(&self) -> &Drivesync {
        &self.app
    }

    /// A receiver that is marked changed whenever a pair's status changes or pairs start
    /// and stop, to follow the daemon without polling.
    pub fn subscribe(&self) -> watch::Receiver<()> {
        self.changed.subscribe()
    }

    fn spawn(&self, remote: Arc<dyn RemoteStore>, pair: Pair) -> Loop {
        let engine = self
            .app
            .engine(remote, self.db.clone(), &pair)
            .with_events(self.events.clone());
        let (commands, rx) = mpsc::unbounded_channel();
        let initial = PairStatus::starting(&pair);
        let (tx, status) = watch::channel(initial);
        let timing = self.timing.lock().expect("timing lock").clone();
        let task = tokio::spawn(run_pair(engine, timing, host_name(), rx, tx));
        tokio::spawn(follow_status(status.clone(), self.changed.clone()));
        Loop {
            pair,
            commands,
            status,
            task,
        }
    }

    /// Sends `command` to the pair named or numbered `which`, or to every running pair.
    /// Returns how many pairs got it.
    pub async fn command(&self, which: Option<&str>, command: Command) -> Result<usize, Error> {
        let inner = self.inner.lock().await;
        let targets: Vec<&Loop> = inner
            .loops
            .values()
            .filter(|l| which.is_none_or(|w| l.pair.name == w || l.pair.id.0.to_string() == w))
            .collect();
        if let Some(w) = which.filter(|_| targets.is_empty()) {
            return Err(Error::NoSuchPair(w.to_owned()));
        }
        for l in &targets {
            let _ = l.commands.send(command.clone());
        }
        Ok(targets.len())
    }

    /// Sets the transfer speed limits in KiB/s (0 = unlimited; `None` leaves one as it is);
    /// transfers in flight slow down or speed up at once.
    pub fn set_limits(&self, up_kib: Option<u64>, down_kib: Option<u64>) {
        let b = self.app.bandwidth();
        let (up, down) = b.limits();
        b.set_limits(
            up_kib.map_or(up, crate::config::kib_limit),
            down_kib.map_or(down, crate::config::kib_limit),
        );
    }

    /// The status of every running pair.
    pub async fn status(&self) -> DaemonStatus {
        let inner = self.inner.lock().await;
        let (upload_limit, download_limit) = self.app.bandwidth().limits();
        DaemonStatus {
            upload_limit,
            download_limit,
            pid: std::process::id(),
            started: self.started,
            account_problem: inner.account_problem.clone(),
            pairs: inner
                .loops
                .values()
                .map(|l| l.status.borrow().clone())
                .collect(),
        }
    }

    /// A receiver of one pair's status, to follow it without polling (the app's event
    /// bridge). `None` when the pair is not running.
    pub async fn watch_pair(&self, id: i64) -> Option<watch::Receiver<PairStatus>> {
        self.inner
            .lock()
            .await
            .loops
            .get(&id)
            .map(|l| l.status.clone())
    }

    /// Stops every loop (a sync in progress is cut; everything it committed stays, the rest
    /// is redone next time).
    pub async fn stop(&self) {
        let mut inner = self.inner.lock().await;
        for (_, l) in std::mem::take(&mut inner.loops) {
            l.task.abort();
            let _ = l.task.await;
        }
    }
}

/// Follows one loop's status until the loop ends: tells `changed`'s subscribers, and hands
/// freed memory back to the OS each time the pair settles after a sync (its peak is while it
/// scans and plans).
async fn follow_status(mut status: watch::Receiver<PairStatus>, changed: watch::Sender<()>) {
    let mut was_busy = true;
    while status.changed().await.is_ok() {
        changed.send_replace(());
        let busy = matches!(
            status.borrow_and_update().state,
            PairState::Starting | PairState::Syncing
        );
        if was_busy && !busy {
            crate::memory::release_freed_memory();
        }
        was_busy = busy;
    }
    changed.send_replace(());
}

/// Whether a running loop for `running` still fits the pair as stored now.
/// The pairs of `wanted` that overlap an older one (locally or on Drive) or lie inside
/// drivesync's own folders, with what the user reads: they stay paused.
async fn clashes(
    app: &Drivesync,
    remote: &dyn RemoteStore,
    wanted: &BTreeMap<i64, Pair>,
) -> BTreeMap<i64, String> {
    let own = app.config().own_paths();
    let pairs: Vec<Pair> = wanted.values().cloned().collect();
    let chains = crate::pairs::drive_chains(remote, &pairs).await;
    let mut out = BTreeMap::new();
    for (i, p) in pairs.iter().enumerate() {
        let older = &pairs[..i];
        let local = overlap::local_clash(&p.local_root, &own, older, None);
        let clash = local.or_else(|| {
            let mine = chains.iter().find(|(q, _)| q.id == p.id)?;
            let before: Vec<_> = chains
                .iter()
                .filter(|(q, _)| q.id < p.id)
                .cloned()
                .collect();
            overlap::drive_clash(&mine.1, &before)
        });
        if let Some(c) = clash {
            let what = format!("the pair \"{}\" ({})", p.name, p.local_root.display());
            let message = format!(
                "Paused: {}. Remove one of the pairs (`drivesync pair remove`, or Remove in the app).",
                c.message(&what)
            );
            out.insert(p.id.0, message);
        }
    }
    out
}

/// Prunes at start and once a day while the daemon lives.
async fn housekeeping(daemon: std::sync::Weak<Daemon>) {
    let mut every = tokio::time::interval(crate::housekeeping::EVERY);
    loop {
        every.tick().await;
        let Some(d) = daemon.upgrade() else { return };
        if let Err(e) = d.app.prune(&d.db, Utc::now()).await {
            tracing::warn!("housekeeping failed: {e}");
        }
    }
}

/// A pair that does not run, showing why.
fn held(pair: Pair, blocker: Blocker, message: String) -> Loop {
    let mut status = PairStatus::starting(&pair);
    status.state = PairState::Blocked { blocker, message };
    let (commands, _) = mpsc::unbounded_channel();
    Loop {
        pair,
        commands,
        status: watch::channel(status).1,
        task: tokio::spawn(async {}),
    }
}

fn same_setup(stored: &Pair, running: &Pair) -> bool {
    stored.local_root == running.local_root
        && stored.remote_root == running.remote_root
        && stored.settings == running.settings
        && stored.name == running.name
}
