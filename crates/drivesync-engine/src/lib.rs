//! The sync engine: one [`Engine::sync`] of a pair observes both sides (the change feed on
//! Drive, a scan on disk), plans with the pure `drivesync-reconcile`, checks the delete
//! guard, runs the plan through a [`RemoteStore`] and a [`LocalFs`], and commits the synced
//! tree in `drivesync-state` after every op, so a crash loses at most the ops in flight.
//! Errors on one file are logged and the rest goes on. Time is passed in ([`SyncOptions::now`]).

mod blocker;
mod events;
mod exec;
mod group;
mod held;
mod ids;
mod kept;
pub mod live;

pub use live::Scope;
mod observe;
mod readahead;
mod report;
mod root;
mod run;
mod sessions;
mod stale;
mod unread;

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use drivesync_drive::{DriveError, RemoteStore};
use drivesync_localfs::{
    hash_deferred, rescan, scan, FsError, LocalFs, Scan, ScanOptions, MTIME_RESOLUTION_NS,
    TRASH_DIR,
};
use drivesync_model::{BaseEntry, Kind, LocalEntry, RelPath, Tree};
use drivesync_reconcile::{
    check_deletes, compares_content, plan, DeleteGuard, IgnoreRules, NameRules, Op, Plan,
    PlanContext, IGNORE_FILE,
};
use drivesync_state::{ActivityKind, BaseChange, NewActivity, Pair, StateDb, StateError};

pub use blocker::Blocker;
pub use events::{op_name, Event, Events, PairEvent};
pub use exec::link_content;
pub use observe::entry_of;
pub use report::{OpError, SyncReport};
pub use root::{anchor, is_pair_folder, FolderProblem};
pub use sessions::StateSessions;

/// Why a whole sync could not run (errors on single files are in [`SyncReport::errors`]).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Drive refused or failed (sign-in needed, quota, network after retries).
    #[error(transparent)]
    Drive(#[from] DriveError),
    /// The pair's local folder is missing or unreadable: nothing is synced, and nothing is
    /// treated as deleted.
    #[error("{0}; the pair is not synced until the folder is back")]
    LocalRoot(#[from] FsError),
    /// The folder at the pair's path is not the folder that was synced (or it was emptied):
    /// nothing is planned until it is back, or the user forces a sync.
    #[error(
        "the folder {} is not the pair's folder as drivesync knows it: {}. Is its disk or \
         network share not mounted? Nothing was deleted; the pair waits until the folder is \
         back. If it is the right folder and its files are meant to be gone, force the sync \
         (`drivesync sync --force-deletes`, or Sync anyway in the app): what is missing then \
         goes to Drive's trash",
        root.display(),
        problem.describe()
    )]
    NotThePairFolder {
        /// The pair's local folder.
        root: std::path::PathBuf,
        /// What is wrong with it.
        problem: FolderProblem,
    },
    /// The state database failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// The plan deletes too much; run with `force_deletes` after checking.
    #[error(transparent)]
    DeleteGuard(#[from] DeleteGuard),
    /// The state database failed while committing a group of finished ops: its message (the
    /// first op of the group has it as [`EngineError::State`]).
    #[error("{0}")]
    Commit(String),
    /// A bug: an internal task failed.
    #[error("internal error: {0}; please report it (the sync stopped; nothing was lost)")]
    Internal(String),
}

impl EngineError {
    /// The user must sign in again (revoked or expired grant).
    pub fn needs_sign_in(&self) -> bool {
        matches!(self, EngineError::Drive(e) if e.needs_sign_in())
    }
}

/// How to run one sync.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Plan only; change nothing.
    pub dry_run: bool,
    /// Run even if the delete guard trips.
    pub force_deletes: bool,
    /// The time of this sync (conflict names, activity log).
    pub now: DateTime<Utc>,
    /// This computer's name, for conflict copies.
    pub host: String,
}

/// What an engine keeps between its syncs, so a live loop does not reload and rescan
/// everything each time.
#[derive(Default)]
struct Cache {
    /// The synced tree as committed.
    base: Option<Tree<BaseEntry>>,
    /// The local tree of the last scan.
    local: Option<Tree<LocalEntry>>,
    /// Local paths changed by this engine since that scan.
    dirty: BTreeSet<RelPath>,
    /// That scan found exactly the synced tree (a quiet sync).
    clean: bool,
    /// New files their upload could not read, left out until they change.
    unread: unread::Unread,
}

/// Syncs one pair.
pub struct Engine {
    remote: Arc<dyn RemoteStore>,
    fs: Arc<dyn LocalFs>,
    db: Arc<StateDb>,
    pair: Pair,
    rules: NameRules,
    events: Events,
    cache: Mutex<Cache>,
    /// Paths never synced whatever the ignore rules say (drivesync's own folders).
    left_out: Vec<RelPath>,
}

impl Engine {
    /// An engine for `pair`, whose local folder is `fs` and whose Drive is `remote`.
    pub fn new(
        remote: Arc<dyn RemoteStore>,
        fs: Arc<dyn LocalFs>,
        db: Arc<StateDb>,
        pair: Pair,
    ) -> Self {
        let rules = NameRules {
            export_docs: pair.settings.export_docs,
            ..NameRules::native()
        };
        Self {
            remote,
            fs,
            db,
            pair,
            rules,
            events: Events::none(),
            cache: Mutex::new(Cache::default()),
            left_out: Vec::new(),
        }
    }

    /// Never scans, uploads, downloads or trashes `paths` or anything under them, whatever
    /// the ignore rules say: drivesync's data and config folders inside a pair's folder.
    pub fn leaving_out(mut self, paths: Vec<RelPath>) -> Self {
        self.left_out = paths;
        self
    }

    /// Sends progress to `events`.
    pub fn with_events(mut self, events: Events) -> Self {
        self.events = events.for_pair(self.pair.id);
        self
    }

    /// Uses `rules` for local names (default: this platform's). Whether Docs are exported
    /// stays the pair's setting.
    pub fn with_name_rules(mut self, rules: NameRules) -> Self {
        self.rules = NameRules {
            export_docs: self.pair.settings.export_docs,
            ..rules
        };
        self
    }

    /// The pair.
    pub fn pair(&self) -> &Pair {
        &self.pair
    }

    async fn ignore_rules(&self, now: DateTime<Utc>) -> IgnoreRules {
        let path = RelPath::new(IGNORE_FILE).unwrap_or_else(|_| RelPath::root());
        let text = match self.fs.upload_path(&path).await {
            Ok(f) => match tokio::fs::read_to_string(&f.path).await {
                Ok(t) => t,
                Err(e) => {
                    let msg = format!("cannot read {IGNORE_FILE} ({e}): only the built-in ignore rules apply; fix its permissions");
                    self.log(Some(&path), ActivityKind::Error, msg, now);
                    String::new()
                }
            },
            Err(e) if e.is_not_found() => String::new(),
            Err(e) => {
                let msg =
                    format!("cannot read {IGNORE_FILE}: {e}; only the built-in ignore rules apply");
                self.log(Some(&path), ActivityKind::Error, msg, now);
                String::new()
            }
        };
        let (rules, errors) = IgnoreRules::new(&text);
        for e in errors {
            self.log(Some(&path), ActivityKind::Error, e.to_string(), now);
        }
        rules.leaving_out(self.left_out.clone())
    }

    /// Writes an entry about the pair as a whole (paused, resumed...) to the activity log.
    pub fn note(&self, kind: ActivityKind, message: String, at: DateTime<Utc>) {
        self.log(None, kind, message, at);
    }

    fn log(&self, path: Option<&RelPath>, kind: ActivityKind, message: String, at: DateTime<Utc>) {
        let a = NewActivity {
            at,
            kind,
            path: path.cloned(),
            message,
        };
        if let Err(e) = self.db.log(Some(self.pair.id), &a) {
            tracing::warn!("cannot write the activity log: {e}");
        }
    }

    /// Tells the user where a version kept by an interrupted sync went.
    fn log_kept_leftover(&self, left: kept::Leftover, at: DateTime<Utc>) {
        let (kind, message) = match left.outcome {
            Ok(()) => (
                ActivityKind::TrashedLocal,
                format!(
                    "an interrupted sync had kept aside the version of `{}` that a download \
                     replaced; it was moved to the trash",
                    left.name
                ),
            ),
            Err(e) => (
                ActivityKind::Error,
                format!(
                    "an interrupted sync had kept aside the version of `{}` that a download \
                     replaced; moving it to the trash failed ({e}): it stays in {TRASH_DIR}",
                    left.name
                ),
            ),
        };
        self.log(None, kind, message, at);
    }

    /// Runs one sync (or, with `dry_run`, only plans it), scanning the whole pair. See the
    /// crate docs.
    pub async fn sync(&self, opts: &SyncOptions) -> Result<SyncReport, EngineError> {
        self.sync_scoped(opts, &Scope::Full).await
    }

    /// Runs one sync that re-reads locally only what `scope` says (the live loop passes the
    /// paths its watcher reported). A narrowed scope needs the local tree of an earlier sync
    /// of this engine; without one (first sync, or after a failed one) the pair is scanned
    /// whole. Paths this engine changed locally are always re-read, and a changed
    /// `.drivesyncignore` means a full scan.
    ///
    /// The future is boxed and `Send`, so a live loop can run on any runtime thread.
    pub fn sync_scoped<'a>(
        &'a self,
        opts: &'a SyncOptions,
        scope: &'a Scope,
    ) -> futures_util::future::BoxFuture<'a, Result<SyncReport, EngineError>> {
        Box::pin(self.sync_inner(opts, scope))
    }

    async fn sync_inner(
        &self,
        opts: &SyncOptions,
        scope: &Scope,
    ) -> Result<SyncReport, EngineError> {
        let pair = self.pair.id;
        let started = std::time::Instant::now();
        // Taken out: a sync that fails half-way leaves nothing cached, so the next one
        // reloads from the database and scans everything.
        let cached = std::mem::take(&mut *self.cache.lock().unwrap_or_else(|e| e.into_inner()));
        let (base, loaded) = match cached.base {
            Some(b) => (b, false),
            None => (self.db.base(pair)?, true),
        };
        tracing::debug!(took = ?started.elapsed(), entries = base.len(), "synced tree loaded");
        let mut cursor = self.db.cursor(pair)?;
        // Loaded afresh (a restart, or after a failed sync): a sync cut short may have left
        // a Drive id at two paths. Only a full listing says which one Drive has (the change
        // feed may say nothing about it), so this sync lists Drive whole.
        if loaded && stale::has_shared_ids(&base) {
            tracing::info!("a Drive id at two synced paths: listing Drive whole");
            cursor = None;
        }
        // Dry runs check too, and are forced with the same flag.
        let force = opts.force_deletes;
        let seen = root::before_scan(self.fs.as_ref(), &self.db, &self.pair, &base, force).await?;
        let root_id = seen.now;
        let ignore = self.ignore_rules(opts.now).await;
        let is_ignored = |p: &RelPath, dir: bool| ignore.is_ignored(p, dir);
        // Stamps were recorded no earlier than the last sync's start: a file modified within
        // the file system's time resolution of it may have changed with the same stamp.
        let last_start = self.db.pair(pair)?.and_then(|p| p.last_sync);
        let scan_opts = ScanOptions {
            ignore: &is_ignored,
            hash_concurrency: 4,
            // A dry run reads everything: its plan shows unreadable files as skipped, not
            // as uploads that would be skipped.
            defer_new: !opts.dry_run,
            racy_from_ns: last_start
                .and_then(|t| t.timestamp_nanos_opt())
                .map(|t| t.saturating_sub(MTIME_RESOLUTION_NS)),
        };
        let ignore_file = RelPath::new(IGNORE_FILE).expect("a plain name");
        // Nothing reported, nothing written by the last sync, and the local tree was the
        // synced tree then: it still is (an idle poll reads only Drive).
        let untouched = matches!(scope, Scope::Touched(p) if p.is_empty())
            && cached.dirty.is_empty()
            && cached.clean;
        // After a quiet sync the local tree is the synced tree's and is not kept (it would
        // double the memory of an idle daemon): it is derived again when needed.
        let derive = cached.clean && !untouched;
        let known_local = cached.local.or_else(|| derive.then(|| local_of(&base)));
        let mut scanned = match (scope, known_local) {
            (_, local) if untouched => local.map(|tree| Scan {
                tree,
                ..Scan::default()
            }),
            (Scope::Touched(paths), Some(mut tree)) if !paths.contains(&ignore_file) => {
                let mut touched = cached.dirty.clone();
                touched.extend(paths.iter().cloned());
                let found =
                    rescan(self.fs.as_ref(), &base, &mut tree, &touched, &scan_opts).await?;
                Some(Scan { tree, ..found })
            }
            _ => Some(scan(self.fs.as_ref(), &base, &scan_opts).await?),
        };
        let mut unread = cached.unread;
        if let Some(s) = scanned.as_mut() {
            unread.hold_back(s, |p| match scope {
                Scope::Full => true,
                Scope::Touched(paths) => paths.iter().any(|t| p.starts_with(t)),
            });
        }
        tracing::debug!(took = ?started.elapsed(), "local scan done");
        if let Some(s) = scanned.as_ref() {
            let trees = (&base, &s.tree);
            root::after_scan(
                self.fs.as_ref(),
                &self.db,
                &self.pair,
                seen,
                trees,
                (force, opts.dry_run),
            )
            .await?;
        }
        if !opts.dry_run {
            for partial in scanned.iter().flat_map(|s| &s.partials) {
                if let Err(e) = self.fs.remove_partial(partial).await {
                    self.log(Some(partial), ActivityKind::Error, e.to_string(), opts.now);
                }
            }
            // Loaded afresh: a sync before this one may have been cut short holding a
            // replaced version aside.
            if let Some(s) = scanned.as_ref().filter(|_| loaded) {
                for left in kept::clear_leftovers(self.fs.as_ref(), &s.tree).await {
                    self.log_kept_leftover(left, opts.now);
                }
            }
        }
        let claimed = self
            .db
            .pending_ids(pair)?
            .into_iter()
            .map(|(p, id)| (id, p))
            .collect();
        let relist = self.db.relist(pair)?;
        let observed = observe::observe(
            self.remote.as_ref(),
            &self.pair.remote_root,
            &base,
            cursor.as_ref(),
            &claimed,
            &self.rules,
            &relist,
        )
        .await?;
        // Stored before any op runs: a sync cut short lists these folders again.
        if !opts.dry_run && observed.listed != relist {
            self.db.set_relist(pair, &observed.listed)?;
        }
        tracing::debug!(took = ?started.elapsed(), "Drive observed");
        let quiet = observed.unchanged
            && (untouched
                || scanned
                    .as_ref()
                    .is_some_and(|s| same_as_synced(&s.tree, &base)));
        // Nothing was read locally (an idle poll): the local tree is the synced tree's.
        let mut scanned = match scanned {
            Some(s) => s,
            None if quiet => Scan::default(),
            None => Scan {
                tree: local_of(&base),
                ..Scan::default()
            },
        };
        let nothing = Tree::new();
        let (plan, base_view, remote_view) = if quiet {
            (
                Plan::default(),
                Cow::Borrowed(&base),
                Cow::Borrowed(&nothing),
            )
        } else {
            let kept = |p: &RelPath, kind: Kind| !ignore.is_ignored(p, kind == Kind::Folder);
            let mut base_view: Tree<BaseEntry> = base
                .iter()
                .filter(|(p, b)| kept(p, b.kind))
                .map(|(p, b)| (p.clone(), b.clone()))
                .collect();
            let remote_view: Tree<_> = if observed.unchanged {
                base.iter()
                    .filter(|(p, b)| kept(p, b.kind))
                    .map(|(p, b)| (p.clone(), b.synced_remote()))
                    .collect()
            } else {
                observed
                    .placed
                    .tree
                    .iter()
                    .filter(|(p, r)| kept(p, r.kind))
                    .map(|(p, r)| (p.clone(), r.clone()))
                    .collect()
            };
            let ctx = PlanContext {
                host: opts.host.clone(),
                now: opts.now,
                rules: self.rules,
            };
            if !observed.unchanged {
                let left = stale::mark_left_places(&mut base_view, &remote_view);
                if left > 0 {
                    tracing::info!(left, "synced entries at a place their Drive file left");
                }
            }
            tracing::debug!(took = ?started.elapsed(), "ignore rules applied");
            let compared = compares_content(&base_view, &remote_view);
            hash_deferred(
                self.fs.as_ref(),
                &mut scanned,
                compared,
                scan_opts.hash_concurrency,
            )
            .await;
            let plan = plan(&base_view, &scanned.tree, &remote_view, &ctx);
            (plan, Cow::Owned(base_view), Cow::Owned(remote_view))
        };
        tracing::debug!(took = ?started.elapsed(), ops = plan.ops.len(), quiet, "planned");
        let mut report = SyncReport::new(plan.clone());
        report.issues = scanned
            .issues
            .iter()
            .map(|i| format!("{}: {:?}", i.path, i.kind))
            .collect();
        report.mappings = observed.placed.mappings.clone();
        if !opts.force_deletes {
            check_deletes(&plan, &base_view, &self.pair.settings)?;
        }
        if opts.dry_run {
            *self.cache.lock().unwrap_or_else(|e| e.into_inner()) = Cache {
                base: Some(base),
                local: (!quiet).then_some(scanned.tree),
                dirty: cached.dirty,
                clean: quiet,
                unread,
            };
            return Ok(report);
        }
        for issue in &scanned.issues {
            self.log(
                Some(&issue.path),
                ActivityKind::Skipped,
                report::describe_issue(&issue.kind),
                opts.now,
            );
        }
        // An empty plan runs nothing: the synced tree stays as it is (not even copied, which
        // matters to an idle loop with 100,000 files).
        let (synced, relist_all) = if plan.ops.is_empty() {
            (None, false)
        } else {
            let (synced, relist_all) = self
                .run_plan(&plan, &base, &remote_view, (opts, root_id), &mut report)
                .await?;
            (Some(synced), relist_all)
        };
        let dirty = plan.ops.iter().flat_map(Op::local_paths).collect();
        // An op may have dropped the stored cursor (`BaseChange::Relist`): a sync that ran
        // ops stores it again, unless dropping stale entries needs a full listing.
        let stale = synced.is_some() || cursor.as_ref() != Some(&observed.cursor);
        if report.errors.is_empty() && stale && !relist_all {
            self.db.set_cursor(pair, &observed.cursor)?;
        }
        // After the cursor: a crash in between lists the folders once more, never less.
        if report.errors.is_empty() && !observed.listed.is_empty() {
            self.db.set_relist(pair, &[])?;
        }
        // Only a sync without errors: the next scan re-reads files modified since this
        // time (less the clock's resolution), so a file whose racy re-read found an edit
        // that then failed to upload is read again until it is synced.
        if report.errors.is_empty() {
            self.db.set_last_sync(pair, opts.now)?;
        }
        drop(remote_view);
        for (path, stamp) in &report.unread {
            unread.note(path.clone(), *stamp);
        }
        let base = synced.unwrap_or(base);
        if !quiet {
            hashed_by_upload(&mut scanned.tree, &base);
        }
        *self.cache.lock().unwrap_or_else(|e| e.into_inner()) = Cache {
            base: Some(base),
            local: (!quiet).then_some(scanned.tree),
            dirty,
            clean: quiet,
            unread,
        };
        Ok(report)
    }
}

/// The local tree as the synced tree recorded it: what a scan finds when nothing changed
/// (folders' mtimes aside, which nothing compares).
fn local_of(base: &Tree<BaseEntry>) -> Tree<LocalEntry> {
    base.iter()
        .map(|(p, b)| {
            let md5 = b.md5.filter(|_| b.kind != Kind::Folder);
            let entry = LocalEntry {
                kind: b.kind,
                md5,
                stamp: b.local,
            };
            (p.clone(), entry)
        })
        .collect()
}

/// Gives the files the scan left unread the MD5 their upload found (the synced entry with
/// the same stamp), so that the kept local tree does not see them as changed.
fn hashed_by_upload(local: &mut Tree<LocalEntry>, synced: &Tree<BaseEntry>) {
    for (p, l) in local.iter_mut() {
        if l.kind == Kind::File && l.md5.is_none() {
            if let Some(b) = synced.get(p).filter(|b| b.local == l.stamp) {
                l.md5 = b.md5;
            }
        }
    }
}

/// Whether the scanned local tree is exactly the synced tree (same entries, kinds, stamps and
/// contents): with Drive unchanged too, there is nothing to plan.
fn same_as_synced(local: &Tree<LocalEntry>, base: &Tree<BaseEntry>) -> bool {
    local.len() == base.len()
        && local.iter().zip(base.iter()).all(|((lp, l), (bp, b))| {
            lp == bp
                && l.kind == b.kind
                && match b.kind {
                    Kind::Folder => l.stamp.file_id == b.local.file_id,
                    _ => l.stamp == b.local && l.md5 == b.md5,
                }
        })
}

/// Applies `c` to an in-memory synced tree the way [`StateDb::apply`] does.
pub fn apply_change(t: &mut Tree<BaseEntry>, c: &BaseChange) {
    let under = |t: &Tree<BaseEntry>, p: &RelPath| -> Vec<RelPath> {
        t.range(p.clone()..)
            .take_while(|(k, _)| k.starts_with(p))
            .map(|(k, _)| k.clone())
            .collect()
    };
    match c {
        BaseChange::Put(p, e) => {
            t.insert(p.clone(), e.clone());
        }
        BaseChange::Remove(p) => {
            for k in under(t, p) {
                t.remove(&k);
            }
        }
        BaseChange::Move { from, to } => {
            if from == to || to.starts_with(from) {
                return;
            }
            let moved: Vec<(RelPath, BaseEntry)> = under(t, from)
                .into_iter()
                .filter_map(|k| t.remove(&k).map(|e| (k, e)))
                .collect();
            for (k, e) in moved {
                t.insert(k.rebase(from, to).unwrap_or(k), e);
            }
        }
        BaseChange::Relist => {}
    }
}
