//! [`Watcher`]: the file system events of one pair, debounced and batched into sets of
//! touched paths for [`crate::rescan()`], or into "rescan everything" when events were lost.
//!
//! Built on `notify` (inotify, FSEvents, ReadDirectoryChangesW) and `notify-debouncer-full`
//! (which pairs the two ends of a rename). On top of the debouncer, a thread gathers its
//! batches until the folder has been quiet for half the debounce time (or, under constant
//! activity, at most [`MAX_WAIT_FACTOR`] times the debounce time), so that a burst (a build,
//! a `git checkout`) becomes one [`WatchEvent::Changed`] and so one plan.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use drivesync_model::RelPath;
use notify::event::{AccessKind, AccessMode, ModifyKind};
use notify::{ErrorKind, EventKind, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{
    new_debouncer_opt, DebounceEventResult, DebouncedEvent, Debouncer, RecommendedCache,
};
use tokio::sync::mpsc::UnboundedSender;

use crate::is_internal;
use crate::rescan::compact;

/// A batch is sent at the latest this many debounce times after its first change, even if
/// the folder never goes quiet (a long build), so syncing keeps up.
const MAX_WAIT_FACTOR: u32 = 10;
/// Above this many touched paths in one batch, a full rescan is cheaper than narrowing.
const MAX_BATCH_PATHS: usize = 20_000;
/// How often the root folder is checked to still be the watched one (an unmounted folder
/// sends no event).
const ROOT_CHECK: Duration = Duration::from_secs(2);
/// The shortest debounce time accepted (the debouncer polls at a quarter of it).
const MIN_DEBOUNCE: Duration = Duration::from_millis(20);
/// Where Linux tells the limit on inotify watches.
const LINUX_WATCH_LIMIT_FILE: &str = "/proc/sys/fs/inotify/max_user_watches";

/// What the watcher reports, already debounced and batched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    /// These paths (relative to the pair root; files or folders, created, changed, removed
    /// or renamed: both ends of a rename) changed, so the caller re-examines just them with
    /// [`crate::rescan()`]. A folder path means "rescan this folder's subtree"; a path under
    /// a folder that is also in the set is left out. Never empty.
    Changed(BTreeSet<RelPath>),
    /// Events were lost (kernel queue overflow, watch limit reached, watcher error) or the
    /// root itself was removed, moved or unmounted: the caller must rescan everything.
    /// `reason` says why, for the status and the activity log.
    Rescan {
        /// Why, in words for the user.
        reason: String,
    },
}

/// Why a folder cannot be watched. Either way the caller falls back to periodic full
/// rescans, and shows the message: the pair still syncs, only later.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WatchError {
    /// The OS limit on watches is reached (inotify's `max_user_watches` on Linux). The
    /// message says for which folder, the limit, the fallback and how to raise the limit.
    #[error("{}", limit_message(.root, *.limit))]
    LimitReached {
        /// The pair root being watched.
        root: PathBuf,
        /// The current limit, when the OS tells it (`/proc/sys/fs/inotify/max_user_watches`).
        limit: Option<u64>,
    },
    /// Any other failure to watch (the root is missing, the OS refused...).
    #[error("cannot watch {} for changes: {source}; drivesync falls back to periodic full rescans of this folder", root.display())]
    Other {
        /// The pair root being watched.
        root: PathBuf,
        /// What the OS or the watcher said.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl WatchError {
    /// Classifies a watcher error about `root`: the watch limit ([`WatchError::LimitReached`],
    /// with the current limit) or anything else.
    fn from_notify(root: &Path, e: notify::Error) -> Self {
        if is_limit(&e) {
            Self::LimitReached {
                root: root.to_path_buf(),
                limit: watch_limit(),
            }
        } else {
            Self::Other {
                root: root.to_path_buf(),
                source: Box::new(e),
            }
        }
    }

    /// The watch limit is reached: the user can raise it.
    pub fn is_limit_reached(&self) -> bool {
        matches!(self, Self::LimitReached { .. })
    }
}

/// Whether `e` says the OS limit on watches is reached.
fn is_limit(e: &notify::Error) -> bool {
    match &e.kind {
        ErrorKind::MaxFilesWatch => true,
        // inotify_add_watch fails with ENOSPC when max_user_watches is reached.
        #[cfg(any(target_os = "linux", target_os = "android"))]
        ErrorKind::Io(io) => io.raw_os_error() == Some(28),
        _ => false,
    }
}

/// The current limit on inotify watches, if the OS tells it.
fn watch_limit() -> Option<u64> {
    if !cfg!(any(target_os = "linux", target_os = "android")) {
        return None;
    }
    std::fs::read_to_string(LINUX_WATCH_LIMIT_FILE)
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The message of [`WatchError::LimitReached`]: what, where, the fallback, the fix.
fn limit_message(root: &Path, limit: Option<u64>) -> String {
    let what = if cfg!(any(target_os = "linux", target_os = "android")) {
        let now = match limit {
            Some(n) => format!(" (fs.inotify.max_user_watches is {n})"),
            None => String::new(),
        };
        format!(
            "the system limit on watched folders is reached{now}. To raise it, run \
             `sudo sysctl fs.inotify.max_user_watches=524288`, and to keep it after a restart \
             add the line `fs.inotify.max_user_watches=524288` to a file in /etc/sysctl.d/ \
             (e.g. /etc/sysctl.d/90-drivesync.conf); then restart drivesync"
        )
    } else {
        "the system limit on watched files is reached. Raise the limit on open files \
         (`ulimit -n`), then restart drivesync"
            .to_owned()
    };
    format!(
        "cannot watch {} for changes: {what}. Until then drivesync falls back to periodic \
         full rescans of this folder, so changes there are synced later than usual",
        root.display()
    )
}

/// Watches one pair's folder recursively. Dropping it stops watching: nothing is sent
/// after the drop, and the channel closes shortly after.
pub struct Watcher {
    _debouncer: Debouncer<RecommendedWatcher, RecommendedCache>,
    root: PathBuf,
    degraded: Arc<Mutex<Option<String>>>,
    stopped: Arc<AtomicBool>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stopped.store(true, Ordering::SeqCst);
    }
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("root", &self.root)
            .field("degraded", &self.degraded())
            .finish_non_exhaustive()
    }
}

impl Watcher {
    /// Starts watching `root` recursively; events are batched for `debounce` (the live loop
    /// uses ~300 ms; at least 20 ms) and sent to `tx` as [`WatchEvent`]s. Links are not
    /// followed, and drivesync's own temporary files (partial downloads, the
    /// `.drivesync-trash` folder) are not reported, so its own writes cause no loop.
    ///
    /// Errors: [`WatchError::LimitReached`] when the OS limit on watches is reached while
    /// setting up (with a message saying how to raise it), [`WatchError::Other`] when the
    /// root is missing or cannot be watched. The caller then rescans periodically.
    ///
    /// Blocking: setting up a recursive watch visits every folder of the pair (on Linux one
    /// inotify watch per folder), so from async code call it in `spawn_blocking`.
    pub fn start(
        root: &Path,
        debounce: Duration,
        tx: UnboundedSender<WatchEvent>,
    ) -> Result<Watcher, WatchError> {
        let other = |source: Box<dyn std::error::Error + Send + Sync>| WatchError::Other {
            root: root.to_path_buf(),
            source,
        };
        match std::fs::metadata(root) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(other("it is not a folder".into())),
            Err(e) => return Err(other(Box::new(e))),
        }
        let debounce = debounce.max(MIN_DEBOUNCE);
        let (raw_tx, raw_rx) = mpsc::channel::<DebounceEventResult>();
        let config = notify::Config::default().with_follow_symlinks(false);
        let mut debouncer = new_debouncer_opt::<_, RecommendedWatcher, RecommendedCache>(
            debounce,
            None,
            move |r: DebounceEventResult| {
                // The gatherer is gone only when the watcher is being dropped.
                let _ = raw_tx.send(r);
            },
            RecommendedCache::new(),
            config,
        )
        .map_err(|e| WatchError::from_notify(root, e))?;
        debouncer
            .watch(root, RecursiveMode::Recursive)
            .map_err(|e| WatchError::from_notify(root, e))?;

        let degraded = Arc::new(Mutex::new(None));
        let stopped = Arc::new(AtomicBool::new(false));
        let gatherer = Gatherer {
            roots: Roots::new(root),
            tx,
            degraded: Arc::clone(&degraded),
            stopped: Arc::clone(&stopped),
            quiet: debounce / 2,
            max_wait: debounce * MAX_WAIT_FACTOR,
            root_id: crate::std_fs::ops::root_id(root),
        };
        std::thread::Builder::new()
            .name("drivesync-watch".to_owned())
            .spawn(move || gatherer.run(raw_rx))
            .map_err(|e| other(Box::new(e)))?;
        tracing::debug!(root = %root.display(), ?debounce, "watching");
        Ok(Watcher {
            _debouncer: debouncer,
            root: root.to_path_buf(),
            degraded,
            stopped,
        })
    }

    /// The folder being watched.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `Some(why)` once the watch no longer sees every change (the watch limit was reached
    /// for a new folder, or the root was removed, moved or unmounted): the caller should say
    /// so in the status and rescan periodically, or restart the watcher once fixed. A
    /// [`WatchEvent::Rescan`] with the same reason was sent when it happened.
    pub fn degraded(&self) -> Option<String> {
        lock(&self.degraded).clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The root as given and as the OS may report it (symbolic links resolved, e.g. macOS's
/// `/var` -> `/private/var`).
#[derive(Debug, Clone)]
struct Roots(Vec<PathBuf>);

/// Where an event's path is.
#[derive(Debug, PartialEq, Eq)]
enum Place {
    /// Outside the pair.
    Outside,
    /// The pair root itself.
    Root,
    /// Inside.
    In(RelPath),
}

impl Roots {
    fn new(root: &Path) -> Self {
        let mut v = vec![root.to_path_buf()];
        if let Ok(c) = std::fs::canonicalize(root) {
            if c != root {
                v.push(c);
            }
        }
        Self(v)
    }

    /// The pair path of `p`. A name that cannot be synced (not UTF-8) stands for its
    /// folder, whose rescan will report it (in the root: dropped).
    fn place(&self, p: &Path) -> Place {
        let Some(rest) = self.0.iter().find_map(|r| p.strip_prefix(r).ok()) else {
            return Place::Outside;
        };
        let mut out = RelPath::root();
        for c in rest.components() {
            match c {
                Component::Normal(n) => match n.to_str().map(|n| out.join(n)) {
                    Some(Ok(joined)) => out = joined,
                    // At the top, that would mean a full rescan for each event: left to
                    // the periodic one.
                    _ if out.is_root() => return Place::Outside,
                    _ => break,
                },
                Component::CurDir => {}
                _ => return Place::Outside,
            }
        }
        if out.is_root() {
            Place::Root
        } else {
            Place::In(out)
        }
    }
}

/// Whether the scanner always skips `p` (it is, or is under, drivesync's own files).
fn is_skipped(p: &RelPath) -> bool {
    let mut dir = RelPath::root();
    for name in p.components() {
        if is_internal(&dir, name) {
            return true;
        }
        match dir.join(name) {
            Ok(d) => dir = d,
            Err(_) => return true,
        }
    }
    false
}

/// What one debounced batch means.
#[derive(Debug, PartialEq, Eq)]
enum Batch {
    /// These paths changed (maybe none: reads only, outside paths...).
    Paths(BTreeSet<RelPath>),
    /// Rescan everything: events were lost, or the root went away (`true`).
    Rescan(String, bool),
}

/// Turns debounced events into touched pair paths.
fn classify(roots: &Roots, events: &[DebouncedEvent]) -> Batch {
    let mut paths = BTreeSet::new();
    for ev in events {
        if ev.need_rescan() {
            return Batch::Rescan(
                format!(
                    "file system events for {} were lost (the kernel's event queue overflowed)",
                    roots.0[0].display()
                ),
                false,
            );
        }
        match ev.kind {
            // Opening and reading (drivesync's own hashing among them) changes nothing.
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => {}
            EventKind::Access(_) | EventKind::Other => continue,
            _ => {}
        }
        for p in &ev.paths {
            match roots.place(p) {
                Place::Outside => {}
                Place::Root => {
                    if matches!(
                        ev.kind,
                        EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(_))
                    ) {
                        return Batch::Rescan(root_gone(&roots.0[0]), true);
                    }
                }
                Place::In(rel) => {
                    if !is_skipped(&rel) {
                        paths.insert(rel);
                    }
                }
            }
        }
    }
    Batch::Paths(paths)
}

fn root_gone(root: &Path) -> String {
    format!(
        "the folder {} was removed, moved or unmounted, so it is no longer watched; \
         drivesync rescans it and watches it again once it is back",
        root.display()
    )
}

/// The thread between the debouncer and the caller: gathers batches into bursts, turns
/// errors into rescans, checks the root.
struct Gatherer {
    roots: Roots,
    tx: UnboundedSender<WatchEvent>,
    degraded: Arc<Mutex<Option<String>>>,
    /// Set when the [`Watcher`] is dropped: send nothing more.
    stopped: Arc<AtomicBool>,
    /// A burst ends after this long without a change.
    quiet: Duration,
    /// A burst is sent at the latest this long after its first change.
    max_wait: Duration,
    /// The root's identity at start, `None` once it is reported gone.
    root_id: Option<drivesync_model::RootId>,
}

impl Gatherer {
    fn run(mut self, rx: mpsc::Receiver<DebounceEventResult>) {
        let mut pending = BTreeSet::new();
        // (first change, last change) of the burst being gathered.
        let mut burst: Option<(Instant, Instant)> = None;
        let mut next_root_check = Instant::now() + ROOT_CHECK;
        loop {
            if self.tx.is_closed() || self.stopped.load(Ordering::SeqCst) {
                return;
            }
            let now = Instant::now();
            if now >= next_root_check {
                self.check_root();
                next_root_check = now + ROOT_CHECK;
            }
            let flush_at =
                burst.map(|(first, last)| (last + self.quiet).min(first + self.max_wait));
            if flush_at.is_some_and(|t| t <= now) {
                self.flush(&mut pending);
                burst = None;
                continue;
            }
            let wake = flush_at.map_or(next_root_check, |t| t.min(next_root_check));
            let msg = match rx.recv_timeout(wake.saturating_duration_since(now)) {
                Ok(m) => m,
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                // The watcher was dropped.
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            };
            match msg {
                Ok(events) => match classify(&self.roots, &events) {
                    Batch::Paths(paths) if paths.is_empty() => {}
                    Batch::Paths(paths) => {
                        pending.extend(paths);
                        let now = Instant::now();
                        burst = Some((burst.map_or(now, |b| b.0), now));
                        if pending.len() > MAX_BATCH_PATHS {
                            pending = compact(&pending);
                        }
                        if pending.len() > MAX_BATCH_PATHS {
                            pending.clear();
                            burst = None;
                            self.send(WatchEvent::Rescan {
                                reason: format!(
                                    "more than {MAX_BATCH_PATHS} paths changed at once in {}",
                                    self.roots.0[0].display()
                                ),
                            });
                        }
                    }
                    Batch::Rescan(reason, root_gone) => {
                        if root_gone {
                            self.root_id = None;
                            self.degrade(&reason);
                        }
                        pending.clear();
                        burst = None;
                        self.send(WatchEvent::Rescan { reason });
                    }
                },
                Err(errors) => {
                    let reason = self.errors(errors);
                    pending.clear();
                    burst = None;
                    self.send(WatchEvent::Rescan { reason });
                }
            }
        }
    }

    /// Sends the gathered paths as one [`WatchEvent::Changed`].
    fn flush(&self, pending: &mut BTreeSet<RelPath>) {
        let paths = compact(&std::mem::take(pending));
        if !paths.is_empty() {
            tracing::debug!(root = %self.roots.0[0].display(), paths = paths.len(), "local changes");
            self.send(WatchEvent::Changed(paths));
        }
    }

    fn send(&self, ev: WatchEvent) {
        if self.stopped.load(Ordering::SeqCst) {
            return;
        }
        if let WatchEvent::Rescan { reason } = &ev {
            tracing::warn!(root = %self.roots.0[0].display(), %reason, "full rescan needed");
        }
        // A closed channel ends the loop at its next turn.
        let _ = self.tx.send(ev);
    }

    fn degrade(&self, reason: &str) {
        *lock(&self.degraded) = Some(reason.to_owned());
    }

    /// The reason to rescan for watcher errors; the watch limit also degrades the watch.
    fn errors(&self, errors: Vec<notify::Error>) -> String {
        let root = &self.roots.0[0];
        let mut reasons: Vec<String> = Vec::new();
        for e in errors {
            let e = WatchError::from_notify(root, e);
            if e.is_limit_reached() {
                self.degrade(&e.to_string());
            }
            let r = e.to_string();
            if !reasons.contains(&r) {
                reasons.push(r);
            }
        }
        reasons.join("; ")
    }

    /// Reports the root gone (once) when it is missing or another folder (unmounted).
    fn check_root(&mut self) {
        if self.root_id.is_none() {
            return;
        }
        let now = crate::std_fs::ops::root_id(&self.roots.0[0]);
        if now != self.root_id {
            self.root_id = None;
            let reason = root_gone(&self.roots.0[0]);
            self.degrade(&reason);
            self.send(WatchEvent::Rescan { reason });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, RemoveKind, RenameMode};
    use notify::Event;

    fn ev(kind: EventKind, paths: &[&str]) -> DebouncedEvent {
        let mut e = Event::new(kind);
        for p in paths {
            e = e.add_path(PathBuf::from(p));
        }
        DebouncedEvent::new(e, Instant::now())
    }

    fn rels(v: &[&str]) -> BTreeSet<RelPath> {
        v.iter().map(|p| RelPath::new(*p).unwrap()).collect()
    }

    #[test]
    fn the_watch_limit_is_recognised_and_explained() {
        let root = Path::new("/home/u/Drive");
        let e = WatchError::from_notify(root, notify::Error::new(ErrorKind::MaxFilesWatch));
        assert!(e.is_limit_reached(), "{e:?}");
        #[cfg(target_os = "linux")]
        {
            let enospc = notify::Error::io(std::io::Error::from_raw_os_error(28));
            assert!(WatchError::from_notify(root, enospc).is_limit_reached());
            let msg = WatchError::LimitReached {
                root: root.into(),
                limit: Some(8192),
            }
            .to_string();
            for part in [
                "/home/u/Drive",
                "max_user_watches is 8192",
                "sudo sysctl fs.inotify.max_user_watches=524288",
                "/etc/sysctl.d/",
                "periodic full rescans",
            ] {
                assert!(msg.contains(part), "{part:?} missing in: {msg}");
            }
            assert_eq!(
                watch_limit().is_some(),
                Path::new(LINUX_WATCH_LIMIT_FILE).exists()
            );
        }
        let other = WatchError::from_notify(root, notify::Error::path_not_found());
        assert!(!other.is_limit_reached());
        let msg = other.to_string();
        assert!(
            msg.contains("/home/u/Drive") && msg.contains("periodic full rescans"),
            "{msg}"
        );
    }

    #[test]
    fn the_watcher_can_live_in_a_task() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Watcher>();
        send_sync::<WatchEvent>();
        send_sync::<WatchError>();
    }

    #[test]
    fn events_become_pair_paths_without_drivesyncs_own_files() {
        let roots = Roots(vec![PathBuf::from("/r")]);
        let batch = classify(
            &roots,
            &[
                ev(EventKind::Create(CreateKind::File), &["/r/a.txt"]),
                ev(
                    EventKind::Modify(ModifyKind::Name(RenameMode::Both)),
                    &["/r/d/x.tmp", "/r/d/x"],
                ),
                ev(
                    EventKind::Remove(RemoveKind::File),
                    &["/r/.drivesync-partial-1"],
                ),
                ev(
                    EventKind::Create(CreateKind::File),
                    &["/r/.drivesync-trash/t/f"],
                ),
                ev(
                    EventKind::Create(CreateKind::File),
                    &["/r/s/.drivesync-trash"],
                ),
                ev(
                    EventKind::Access(AccessKind::Open(AccessMode::Any)),
                    &["/r/read"],
                ),
                ev(
                    EventKind::Access(AccessKind::Close(AccessMode::Write)),
                    &["/r/w"],
                ),
                ev(EventKind::Create(CreateKind::File), &["/elsewhere/f"]),
                ev(EventKind::Modify(ModifyKind::Any), &["/r"]),
            ],
        );
        assert_eq!(
            batch,
            Batch::Paths(rels(&[
                "a.txt",
                "d/x.tmp",
                "d/x",
                "s/.drivesync-trash",
                "w"
            ]))
        );
    }

    #[test]
    fn lost_events_and_a_vanished_root_ask_for_a_rescan() {
        let roots = Roots(vec![PathBuf::from("/r")]);
        let overflow = DebouncedEvent::new(
            Event::new(EventKind::Other).set_flag(notify::event::Flag::Rescan),
            Instant::now(),
        );
        assert!(matches!(
            classify(&roots, &[overflow]),
            Batch::Rescan(_, false)
        ));
        let gone = ev(EventKind::Remove(RemoveKind::Folder), &["/r"]);
        assert!(
            matches!(classify(&roots, &[gone]), Batch::Rescan(r, true) if r.contains("/r was removed"))
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_name_that_is_not_utf8_stands_for_its_folder() {
        use std::os::unix::ffi::OsStrExt;
        let roots = Roots(vec![PathBuf::from("/r")]);
        let p = Path::new("/r/d").join(std::ffi::OsStr::from_bytes(b"\xff"));
        assert_eq!(roots.place(&p), Place::In(RelPath::new("d").unwrap()));
        let top = Path::new("/r").join(std::ffi::OsStr::from_bytes(b"\xff"));
        assert_eq!(roots.place(&top), Place::Outside);
    }
}
