//! Level 1: the deterministic simulation. The whole engine runs over the fakes (`MemRemote`
//! behind `FaultyRemote`, `MemFs`, an in-memory `StateDb`) on a current-thread tokio
//! runtime, with the time passed in and no real sleeps; the same seed gives the same trace.
//!
//! Between the engine and the fakes sit two thin wrappers ([`SimRemote`], [`SimFs`], in
//! `io.rs`) that count the engine's calls (to Drive, and those changing the local disk) and, at
//! chosen calls, run a user's or the other device's change (a [`During`]), or crash: the call
//! (or its answer) never comes back, the sync future is dropped, and a new [`Engine`] is built
//! over the same disk, Drive and database, which is what a restart does (each op is committed,
//! all or nothing, before it counts as done, so a crash loses nothing committed; a download cut
//! by the crash leaves its partial file behind, as a killed process would). The wrappers also
//! keep the test's records: Drive's version history, which Drive files drivesync named (for the
//! duplicate check), and every overwrite drivesync makes ([`crate::model`], rule 3).
//!
//! After every sync the model's rules 1 and 2 are checked; after the last step the case
//! quiesces (no faults; syncs until one plans nothing), both sides must be identical, Drive
//! must hold no duplicate drivesync made, and one more sync must plan nothing and make no
//! change anywhere. One case runs in `case.rs`; `shrink.rs` shrinks a failure.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use drivesync_drive::fake::{Fault, FaultyRemote, MemRemote, Op as FakeOp, When};
use drivesync_drive::{
    About, ChangeList, ChangeToken, Downloaded, DriveError, File, FileList, NewFile, PageToken,
    Relocation, RemoteStore, UploadSource,
};
use drivesync_engine::{
    Engine, EngineError, Event, Events, FolderProblem, Scope, SyncOptions, SyncReport,
};
use drivesync_localfs::{
    Expect, FsError, FsKind, Hashed, Kept, Listing, LocalFs, MemFs, Meta, Staged, Trashed,
    UploadFile, PARTIAL_PREFIX,
};
use drivesync_model::{DriveId, Kind, Md5, PairSettings, RelPath, RootId};
use drivesync_reconcile::{NameRules, Op};
use drivesync_state::{NewPair, Pair, StateDb};
use tokio::io::AsyncWrite;
use tokio::sync::{mpsc, watch};

use crate::apply::{apply_local, apply_remote, md5_of, Applied, Device};
use crate::check::{
    differences, drive_files, duplicate_names, mem_local_side, remote_side, shared_base_ids,
};
use crate::gen::{
    During, FaultKind, FaultSpec, Gen, GenConfig, LocalOp, RemoteCall, Step, SyncSpec, View,
};
use crate::model::{overwrite_ok, unsynced, Model, Place, Presence};
use crate::script::to_script;

mod case;
mod io;
mod shrink;

pub use case::op_label;
use case::Case;
pub use io::{SimFs, SimRemote};
pub use shrink::{regression_test, shrink};

/// How a case runs.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The generator's knobs.
    pub gen: GenConfig,
    /// The pair's `concurrency` setting. 1 (the default) keeps runs deterministic: with more,
    /// the engine's ops of one batch interleave through `spawn_blocking` (its commits, and
    /// `MemRemote`'s reads of upload files through `tokio::fs`), whose completion order is
    /// the OS scheduler's.
    pub concurrency: usize,
    /// Local trash goes to a fake OS trash (`true`) or to `.drivesync-trash` in the pair.
    pub os_trash: bool,
    /// Syncs allowed to reach quiescence.
    pub max_quiesce: usize,
    /// A sync taking longer than this (real time) is a hang.
    pub hang_after: Duration,
    /// Syncs re-read locally only the paths the user changed since the last sync (what the
    /// live loop's watcher reports: `Engine::sync_scoped` with `Scope::Touched`), not the
    /// whole pair (`Engine::sync`).
    pub scoped: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            gen: GenConfig::default(),
            concurrency: 1,
            os_trash: false,
            max_quiesce: 5,
            hang_after: Duration::from_secs(60),
            scoped: false,
        }
    }
}

/// What went wrong in a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// A required version is nowhere (model rule 1).
    Lost,
    /// drivesync replaced content that was not the synced version (model rule 3).
    Overwrote,
    /// An unsynced version ended up only in a trash or in history (model rule 2).
    EditTrashed,
    /// The sides differ after quiescence.
    Diverged,
    /// Syncs kept planning work (or failing) without faults.
    NoQuiescence,
    /// drivesync made two Drive files with one name in one folder.
    Duplicates,
    /// A sync after quiescence planned or changed something.
    NotIdempotent,
    /// A partial download was left behind after quiescence.
    PartialLeft,
    /// A sync without faults failed as a whole.
    SyncFailed,
    /// Something panicked (the engine, a fake, or the test).
    Panic,
    /// A sync did not finish.
    Hang,
    /// The synced tree records one Drive id at two paths.
    SharedId,
}

/// A failed case: enough to reproduce it.
#[derive(Debug, Clone)]
pub struct Failure {
    /// What went wrong.
    pub kind: FailureKind,
    /// The details.
    pub message: String,
    /// The case's seed (`None` for a replayed script).
    pub seed: Option<u64>,
    /// The steps up to the failure (replay them with [`run_steps`]).
    pub steps: Vec<Step>,
    /// The trace up to the failure.
    pub log: Vec<String>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.seed {
            Some(s) => writeln!(f, "case seed {s} failed: {:?}", self.kind)?,
            None => writeln!(f, "replayed case failed: {:?}", self.kind)?,
        }
        writeln!(f, "{}", self.message)?;
        writeln!(f, "--- steps ({}) ---", self.steps.len())?;
        write!(f, "{}", to_script(&self.steps))?;
        writeln!(f, "--- trace (last 60 lines) ---")?;
        let skip = self.log.len().saturating_sub(60);
        for line in &self.log[skip..] {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

/// Counts of what a case exercised.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// User and device steps carried out.
    pub changes: u64,
    /// User and device steps skipped (they did not fit).
    pub skipped: u64,
    /// Syncs run (quiescence included).
    pub syncs: u64,
    /// Syncs cut by a crash.
    pub crashes: u64,
    /// Syncs that failed as a whole.
    pub failed_syncs: u64,
    /// Ops planned.
    pub ops: u64,
    /// Ops that failed.
    pub op_errors: u64,
    /// Conflict copies made.
    pub conflicts: u64,
    /// Faults injected.
    pub faults: u64,
    /// Changes made while a sync ran.
    pub during: u64,
    /// Overwrites of a Drive edit made in the documented one-request window, and local
    /// files moved into a folder in the window between drivesync's re-check of the folder
    /// and its move to the trash.
    pub known_gap: u64,
}

impl std::ops::AddAssign for Stats {
    fn add_assign(&mut self, o: Self) {
        self.changes += o.changes;
        self.skipped += o.skipped;
        self.syncs += o.syncs;
        self.crashes += o.crashes;
        self.failed_syncs += o.failed_syncs;
        self.ops += o.ops;
        self.op_errors += o.op_errors;
        self.conflicts += o.conflicts;
        self.faults += o.faults;
        self.during += o.during;
        self.known_gap += o.known_gap;
    }
}

/// A case that passed: its steps and trace (equal for equal seeds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    /// The case's seed (`None` for a replayed script).
    pub seed: Option<u64>,
    /// Every step.
    pub steps: Vec<Step>,
    /// What happened, a line per event: each step, each sync's ops and errors.
    pub log: Vec<String>,
    /// Counts.
    pub stats: Stats,
}

// ---------------------------------------------------------------------------------------
// The shared state of a case and the call gate.

/// The test's records and the gate's state.
#[derive(Default)]
struct St {
    /// Engine calls in this sync (as counted for crashes and `during`).
    calls: u32,
    /// Of which changed something (Drive writes, local changes).
    writes: u64,
    crash: Option<crate::gen::CrashSpec>,
    crashed: bool,
    during: VecDeque<During>,
    in_sync: bool,
    now: Option<DateTime<Utc>>,
    /// Drive's version history: (file, content it held).
    revisions: Vec<(DriveId, Md5)>,
    /// Drive files whose current name drivesync gave.
    engine_named: HashSet<DriveId>,
    /// (folder, name) where the test made duplicates itself (or raced the engine).
    allowed_dups: HashSet<(DriveId, String)>,
    violations: Vec<(FailureKind, String)>,
    model: Model,
    during_destroyed: HashSet<Md5>,
    /// Unsynced versions the user put into a local folder after drivesync last listed it
    /// and before drivesync moved the folder to the trash (the documented window of
    /// `LocalFs::trash`): in the trash, not lost, and reported apart.
    window_trashed: HashSet<Md5>,
    /// When the user last changed each local path during the current sync, and when the
    /// engine last listed each local folder (the event clock `tick`).
    local_touch: HashMap<RelPath, u64>,
    listed: HashMap<RelPath, u64>,
    /// Event clock, for the known-gap window: when the engine last read a file, when the
    /// device last changed it.
    tick: u64,
    engine_read: HashMap<DriveId, u64>,
    device_touch: HashMap<DriveId, u64>,
    partial_seq: u32,
    /// Local paths changed by the user since the last sync began (for `scoped`).
    touched: std::collections::BTreeSet<RelPath>,
    log: Vec<String>,
    stats: Stats,
}

struct Shared {
    fs: MemFs,
    drive: Arc<MemRemote>,
    db: Arc<StateDb>,
    pair: Pair,
    root: DriveId,
    tmp: PathBuf,
    st: Mutex<St>,
    crash_tx: watch::Sender<bool>,
    /// Held while the changes due before an engine call are made: the engine's other calls
    /// (its ops run concurrently) wait, so a change lands whole between two engine calls, as
    /// one request of another device does. Without it a device's read-modify-write could
    /// straddle an engine upload, and the model would record the wrong version as replaced.
    between_calls: tokio::sync::Mutex<()>,
}

impl Shared {
    fn st(&self) -> MutexGuard<'_, St> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn crash(&self) {
        self.st().crashed = true;
        self.crash_tx.send_replace(true);
    }

    /// Before an engine call: counts it, runs the changes due, crashes if due. Returns
    /// whether to crash after the call.
    async fn enter(&self, write: bool) -> bool {
        let crashed = self.st().crashed;
        if crashed {
            return std::future::pending().await;
        }
        let between = self.between_calls.lock().await;
        if self.st().crashed {
            return std::future::pending().await;
        }
        let (due, now, after) = {
            let mut st = self.st();
            st.calls += 1;
            if write {
                st.writes += 1;
            }
            let n = st.calls;
            let mut due = Vec::new();
            while st.during.front().is_some_and(|d| d.at <= n) {
                due.extend(st.during.pop_front());
            }
            let crash = st.crash.filter(|c| c.at == n);
            (
                due,
                crash.is_some_and(|c| !c.after),
                crash.is_some_and(|c| c.after),
            )
        };
        for d in due {
            let line = self.apply_user(&d.op, true).await;
            let mut st = self.st();
            st.stats.during += 1;
            let n = st.calls;
            st.log.push(format!("  during (before call {n}): {line}"));
        }
        drop(between);
        if now {
            self.crash();
            return std::future::pending().await;
        }
        after
    }

    /// After an engine call: crashes if due.
    async fn leave(&self, crash_after: bool) {
        if crash_after {
            self.crash();
            std::future::pending::<()>().await;
        }
    }

    async fn gated<T>(&self, write: bool, call: impl Future<Output = T>) -> T {
        let after = self.enter(write).await;
        let out = call.await;
        self.leave(after).await;
        out
    }

    /// The synced content of Drive file `id`, and every synced content.
    fn synced_of_id(&self, id: &DriveId) -> (Option<Md5>, HashSet<Md5>) {
        let base = self.db.base(self.pair.id).unwrap_or_default();
        let of_id = base.values().find(|b| &b.id == id).and_then(|b| b.md5);
        (of_id, synced_set(&base))
    }

    /// drivesync moved Drive file or folder `id` into a folder that is in Drive's trash. It
    /// re-reads the destination right before a move and refuses a trashed one, so another
    /// device trashed it in between: the documented one-request window of a Drive move
    /// (SEMANTICS.md section 10). The versions moved are in Drive's trash, not lost, and
    /// reported apart (see `window_trashed`).
    fn moved_into_trash(&self, id: &DriveId) {
        let files = self.drive.files();
        let parent: HashMap<&DriveId, &DriveId> = files
            .iter()
            .filter_map(|f| Some((&f.id, f.parents.first()?)))
            .collect();
        let under = |f: &DriveId| {
            let mut cur = Some(f);
            while let Some(c) = cur {
                if c == id {
                    return true;
                }
                cur = parent.get(c).copied();
            }
            false
        };
        let moved: Vec<Md5> = files
            .iter()
            .filter(|f| under(&f.id))
            .filter_map(|f| self.drive.content(&f.id))
            .map(|c| md5_of(&c))
            .collect();
        let mut st = self.st();
        st.stats.known_gap += 1;
        st.log.push(format!(
            "  known gap: drivesync moved {id} into a Drive folder trashed after its re-check"
        ));
        st.window_trashed.extend(moved);
    }

    /// Right before drivesync moves local `path` to the trash: the unsynced versions below
    /// it that the user put there during this sync, after the engine last listed the folder
    /// they landed in, are in the documented window between drivesync's re-check and the
    /// move (see `window_trashed`).
    fn note_window(&self, path: &RelPath) {
        let synced = synced_set(&self.db.base(self.pair.id).unwrap_or_default());
        let files = self.fs.files();
        let mut st = self.st();
        for (f, bytes) in files {
            if f == *path || !f.starts_with(path) {
                continue;
            }
            let m = md5_of(&bytes);
            if synced.contains(&m) {
                continue;
            }
            let mut at = Some(f.clone());
            let mut window = false;
            while let Some(cur) = at.filter(|c| c != path) {
                let parent = cur.parent();
                let listed = parent
                    .as_ref()
                    .and_then(|d| st.listed.get(d))
                    .copied()
                    .unwrap_or(0);
                if st.local_touch.get(&cur).is_some_and(|t| *t > listed) {
                    window = true;
                    break;
                }
                at = parent;
            }
            if window {
                st.window_trashed.insert(m);
                st.stats.known_gap += 1;
                st.log.push(format!(
                    "  known gap: {f} was put in {path} after drivesync's re-check; it goes to the trash with the folder"
                ));
            }
        }
    }

    /// The synced content at `p`, and every synced content.
    fn synced_at(&self, p: &RelPath) -> (Option<Md5>, HashSet<Md5>) {
        let base = self.db.base(self.pair.id).unwrap_or_default();
        let at = base
            .get(p)
            .filter(|b| b.kind == Kind::File)
            .and_then(|b| b.md5);
        (at, synced_set(&base))
    }

    /// drivesync uploaded `new` into Drive file `id`, which held `old`.
    fn engine_updated(&self, id: &DriveId, old: Md5, new: Md5) {
        let (synced, all) = self.synced_of_id(id);
        let mut st = self.st();
        if old != new {
            st.revisions.push((id.clone(), old));
        }
        if overwrite_ok(old, new, synced, &all) {
            return;
        }
        let read = st.engine_read.get(id).copied().unwrap_or(0);
        let touched = st.device_touch.get(id).copied().unwrap_or(0);
        if touched > read {
            st.stats.known_gap += 1;
            st.log.push(format!(
                "  known gap: Drive file {id} was edited after drivesync's re-check; its {old} is only in the file's history"
            ));
        } else {
            st.violations.push((
                FailureKind::Overwrote,
                format!(
                    "drivesync uploaded {new} into Drive file {id}, replacing {old}, which is not its synced version ({synced:?})"
                ),
            ));
        }
    }

    /// drivesync wrote `new` over the local file `path`, which held `old`.
    fn engine_overwrote_local(
        &self,
        path: &RelPath,
        old: Md5,
        new: Md5,
        (synced, all): (Option<Md5>, HashSet<Md5>),
    ) {
        if !overwrite_ok(old, new, synced, &all) {
            self.st().violations.push((
                FailureKind::Overwrote,
                format!(
                    "drivesync wrote {new} over the local file {path}, replacing {old}, which is not its synced version ({synced:?})"
                ),
            ));
        }
    }

    /// Deletes `id` for good, with everything below it (trashed files too).
    fn delete_forever(&self, id: &DriveId) -> Result<Vec<(DriveId, Option<Md5>)>, String> {
        let files = self.drive.files();
        let parent: HashMap<&DriveId, &DriveId> = files
            .iter()
            .filter_map(|f| Some((&f.id, f.parents.first()?)))
            .collect();
        let below = |f: &File| {
            let mut cur = Some(&f.id);
            while let Some(c) = cur {
                if c == id {
                    return true;
                }
                cur = parent.get(c).copied();
            }
            false
        };
        let gone: Vec<(DriveId, Option<Md5>)> = files
            .iter()
            .filter(|f| below(f))
            .map(|f| (f.id.clone(), self.drive.content(&f.id).map(|c| md5_of(&c))))
            .collect();
        self.drive
            .delete_permanently(id)
            .map_err(|e| e.to_string())?;
        Ok(gone)
    }

    /// Carries out a user's or the device's change and records it in the model.
    async fn apply_user(&self, step: &Step, during: bool) -> String {
        let applied = match step {
            Step::Local(LocalOp::EditSameStamp { path, .. }) if !self.within_a_tick(path) => {
                Applied::skip("not within a coarse clock's tick of now: no disk keeps its stamp")
            }
            Step::Local(op) => apply_local(&self.fs, op),
            Step::Remote(op) => {
                let now = self.st().now.unwrap_or_else(start_time);
                let delete = |id: &DriveId| self.delete_forever(id);
                let dev = Device {
                    store: self.drive.as_ref(),
                    root: self.root.clone(),
                    tmp: self.tmp.clone(),
                    now,
                    delete_forever: &delete,
                };
                apply_remote(&dev, op).await
            }
            Step::Sync(_) => return "a sync cannot run during a sync: skipped".into(),
        };
        self.record(step, &applied, during);
        let line = step.to_string();
        match applied.skipped {
            Some(why) => format!("{line}  [skipped: {why}]"),
            None => line,
        }
    }

    /// Whether the file at `path` was modified within the coarsest clock's resolution of now
    /// (the current sync's start, or the last one's between syncs): only then can an edit
    /// keep its stamp on some file system.
    fn within_a_tick(&self, path: &str) -> bool {
        let now = self.st().now.unwrap_or_else(start_time);
        let now_ns = now.timestamp_nanos_opt().unwrap_or(i64::MAX);
        let mtime = RelPath::new(path)
            .ok()
            .and_then(|p| self.fs.meta(p))
            .map(|m| m.stamp.mtime_ns);
        mtime.is_some_and(|m| m >= now_ns - drivesync_localfs::MTIME_RESOLUTION_NS)
    }

    fn record(&self, step: &Step, a: &Applied, during: bool) {
        let mut destroyed = a.destroyed.clone();
        {
            let mut st = self.st();
            if a.skipped.is_some() {
                st.stats.skipped += 1;
            } else {
                st.stats.changes += 1;
            }
            st.tick += 1;
            let t = st.tick;
            for (id, m) in &a.revisions {
                st.revisions.push((id.clone(), *m));
                st.device_touch.insert(id.clone(), t);
            }
            for id in &a.deleted {
                // Deleting for good takes the file's version history along.
                destroyed.extend(
                    st.revisions
                        .iter()
                        .filter(|(r, _)| r == id)
                        .map(|(_, m)| *m),
                );
                st.revisions.retain(|(r, _)| r != id);
                st.engine_named.remove(id);
            }
            for n in &a.named {
                st.engine_named.remove(&n.id);
                st.device_touch.insert(n.id.clone(), t);
                if n.duplicate || during {
                    st.allowed_dups.insert((n.parent.clone(), n.name.clone()));
                }
            }
            st.touched.extend(a.touched.iter().cloned());
            if during {
                for p in &a.touched {
                    st.local_touch.insert(p.clone(), t);
                }
            }
            let what = step.to_string();
            for m in &a.written {
                st.model.wrote(*m, format!("written by `{}`", what.trim()));
            }
            if during {
                st.during_destroyed.extend(destroyed.iter().copied());
                st.during_destroyed.extend(a.trashed.iter().copied());
            }
        }
        if !destroyed.is_empty() {
            let now = self.presence();
            self.st().model.destroyed(&destroyed, &now);
        }
    }

    /// Where every version is now.
    fn presence(&self) -> Presence {
        let mut p = Presence::default();
        for (path, bytes) in self.fs.files() {
            if !path.name().starts_with(PARTIAL_PREFIX) {
                p.add(md5_of(&bytes), Place::Local(path.to_string()));
            }
        }
        for (path, bytes) in self.fs.unmounted_files() {
            if !path.name().starts_with(PARTIAL_PREFIX) {
                p.add(md5_of(&bytes), Place::Local(format!("{path} (unplugged)")));
            }
        }
        for (path, bytes) in self.fs.trashed() {
            p.add(md5_of(&bytes), Place::LocalTrash(path.to_string()));
        }
        for f in self.drive.files() {
            if let Some(c) = self.drive.content(&f.id) {
                let at = f.id.to_string();
                p.add(
                    md5_of(&c),
                    if f.trashed {
                        Place::DriveTrash(at)
                    } else {
                        Place::Drive(at)
                    },
                );
            }
        }
        for (id, m) in &self.st().revisions {
            p.add(*m, Place::DriveHistory(id.to_string()));
        }
        p
    }

    /// Live Drive files and folders in the pair, with their paths of Drive names (the first
    /// of duplicates), in creation order.
    fn drive_paths(&self) -> Vec<(String, File)> {
        let files = self.drive.files();
        let by_id: HashMap<&DriveId, &File> = files.iter().map(|f| (&f.id, f)).collect();
        let mut out = Vec::new();
        for f in files.iter().filter(|f| !f.trashed) {
            let mut names = vec![f.name.as_str()];
            let mut cur = f.parents.first();
            let inside = loop {
                match cur {
                    Some(p) if *p == self.root => break true,
                    Some(p) => match by_id.get(p) {
                        Some(g) => {
                            names.push(g.name.as_str());
                            cur = g.parents.first();
                        }
                        None => break false,
                    },
                    None => break false,
                }
            };
            if inside {
                names.reverse();
                out.push((names.join("/"), f.clone()));
            }
        }
        out
    }

    /// Rule 2's starting set.
    fn unsynced(&self) -> BTreeMap<Md5, String> {
        let base = self.db.base(self.pair.id).unwrap_or_default();
        let local: Vec<(RelPath, Md5)> = self
            .fs
            .files()
            .into_iter()
            .filter(|(p, _)| !p.name().starts_with(PARTIAL_PREFIX))
            .map(|(p, b)| (p, md5_of(&b)))
            .collect();
        let drive: Vec<(DriveId, Md5)> = self
            .drive_paths()
            .into_iter()
            .filter_map(|(_, f)| Some((f.id.clone(), self.drive.content(&f.id)?)))
            .map(|(id, c)| (id, md5_of(&c)))
            .collect();
        unsynced(local, drive, &base)
    }

    /// What both sides hold, for the generator.
    fn view(&self) -> View {
        let mut v = View::default();
        for (p, _) in self.fs.files() {
            if !p.name().starts_with(PARTIAL_PREFIX) {
                v.local.insert(p.to_string(), Kind::File);
            }
        }
        for p in self.fs.folders() {
            v.local.insert(p.to_string(), Kind::Folder);
        }
        for (path, f) in self.drive_paths() {
            let kind = if f.is_folder() {
                Kind::Folder
            } else if f.is_google_type() {
                Kind::Link
            } else {
                Kind::File
            };
            v.remote.entry(path).or_insert(kind);
        }
        v
    }
}

fn synced_set(base: &drivesync_model::Tree<drivesync_model::BaseEntry>) -> HashSet<Md5> {
    base.values()
        .filter(|b| b.kind == Kind::File)
        .filter_map(|b| b.md5)
        .collect()
}

fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 10, 15, 0)
        .single()
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// Drive: the recorder (inside the faults) and the gate (outside).

/// Where the steps come from.
enum Source<'a> {
    Seed(u64),
    Script(&'a [Step]),
}

fn run(source: Source<'_>, cfg: &SimConfig) -> Result<Trace, Failure> {
    let seed = match source {
        Source::Seed(s) => Some(s),
        Source::Script(_) => None,
    };
    let steps = Arc::new(Mutex::new(Vec::new()));
    let recorded = steps.clone();
    let body = std::panic::AssertUnwindSafe(|| -> Result<Trace, Failure> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| panic_failure(seed, &[], format!("no runtime: {e}")))?;
        rt.block_on(async {
            let mut case = Case::new(cfg, seed, recorded)
                .await
                .map_err(|e| panic_failure(seed, &[], format!("cannot set up: {e}")))?;
            match source {
                Source::Seed(s) => {
                    let mut gen = Gen::new(s, cfg.gen.clone());
                    for _ in 0..cfg.gen.steps {
                        let step = gen.next_step(&case.sh.view());
                        case.step(&step).await?;
                    }
                }
                Source::Script(steps) => {
                    for step in steps {
                        case.step(step).await?;
                    }
                }
            }
            case.finish().await?;
            Ok(case.trace())
        })
    });
    match std::panic::catch_unwind(body) {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "a panic".into());
            let steps = steps.lock().map(|s| s.clone()).unwrap_or_default();
            Err(panic_failure(seed, &steps, msg))
        }
    }
}

fn panic_failure(seed: Option<u64>, steps: &[Step], message: String) -> Failure {
    Failure {
        kind: FailureKind::Panic,
        message,
        seed,
        steps: steps.to_vec(),
        log: Vec::new(),
    }
}

/// Runs case `seed`: generated steps, then quiescence and the checks.
pub fn run_case(seed: u64, cfg: &SimConfig) -> Result<Trace, Failure> {
    run(Source::Seed(seed), cfg)
}

/// Runs the given steps (a reproduction), then quiescence and the checks.
pub fn run_steps(steps: &[Step], cfg: &SimConfig) -> Result<Trace, Failure> {
    run(Source::Script(steps), cfg)
}
