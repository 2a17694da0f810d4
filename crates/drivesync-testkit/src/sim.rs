//! Level 1: the deterministic simulation. The whole engine runs over the fakes (`MemRemote`
//! behind `FaultyRemote`, `MemFs`, an in-memory `StateDb`) on a current-thread tokio
//! runtime, with the time passed in and no real sleeps; the same seed gives the same trace.
//!
//! Between the engine and the fakes sit two thin wrappers ([`SimRemote`], [`SimFs`]) that
//! count the engine's calls (to Drive, and those changing the local disk) and, at chosen
//! calls, run a user's or the other device's change (a [`During`]), or crash: the call (or
//! its answer) never comes back, the sync future is dropped, and a new [`Engine`] is built
//! over the same disk, Drive and database, which is what a restart does (each op commits in
//! its own transaction, so a crash loses nothing committed; a download cut by the crash
//! leaves its partial file behind, as a killed process would). The wrappers also keep the
//! test's records: Drive's version history, which Drive files drivesync named (for the
//! duplicate check), and every overwrite drivesync makes ([`crate::model`], rule 3).
//!
//! After every sync the model's rules 1 and 2 are checked; after the last step the case
//! quiesces (no faults; syncs until one plans nothing), both sides must be identical, Drive
//! must hold no duplicate drivesync made, and one more sync must plan nothing and make no
//! change anywhere.

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
use drivesync_engine::{Engine, Event, Events, Scope, SyncOptions, SyncReport};
use drivesync_localfs::{
    Expect, FsError, FsKind, Hashed, Listing, LocalFs, MemFs, Meta, Staged, Trashed, UploadFile,
    PARTIAL_PREFIX,
};
use drivesync_model::{DriveId, Kind, Md5, PairSettings, RelPath};
use drivesync_reconcile::{NameRules, Op};
use drivesync_state::{NewPair, Pair, StateDb};
use tokio::io::AsyncWrite;
use tokio::sync::{mpsc, watch};

use crate::apply::{apply_local, apply_remote, md5_of, Applied, Device};
use crate::check::{
    differences, drive_files, duplicate_names, mem_local_side, remote_side, shared_base_ids,
};
use crate::gen::{During, FaultKind, FaultSpec, Gen, GenConfig, RemoteCall, Step, SyncSpec, View};
use crate::model::{overwrite_ok, unsynced, Model, Place, Presence};
use crate::script::to_script;

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
    /// Overwrites of a Drive edit made in the documented one-request window.
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

/// Records what drivesync really did on Drive (inside `FaultyRemote`, so an answer lost to
/// an "after" fault still counts).
struct Recorder {
    drive: Arc<MemRemote>,
    sh: Arc<Shared>,
}

#[async_trait]
impl RemoteStore for Recorder {
    async fn get(&self, id: &DriveId) -> Result<File, DriveError> {
        {
            let mut st = self.sh.st();
            st.tick += 1;
            let t = st.tick;
            st.engine_read.insert(id.clone(), t);
        }
        self.drive.get(id).await
    }

    async fn list_page(
        &self,
        parents: &[DriveId],
        page: Option<&PageToken>,
    ) -> Result<FileList, DriveError> {
        self.drive.list_page(parents, page).await
    }

    async fn create_folder(&self, new: &NewFile) -> Result<File, DriveError> {
        let r = self.drive.create_folder(new).await;
        if let Ok(f) = &r {
            self.sh.st().engine_named.insert(f.id.clone());
        }
        r
    }

    async fn create_file(&self, new: &NewFile, source: &UploadSource) -> Result<File, DriveError> {
        let r = self.drive.create_file(new, source).await;
        if let Ok(f) = &r {
            self.sh.st().engine_named.insert(f.id.clone());
        }
        r
    }

    async fn update_content(
        &self,
        id: &DriveId,
        source: &UploadSource,
    ) -> Result<File, DriveError> {
        let old = self.drive.content(id).map(|c| md5_of(&c));
        let new = std::fs::read(&source.path).ok().map(|b| md5_of(&b));
        let r = self.drive.update_content(id, source).await;
        if let (Ok(_), Some(old), Some(new)) = (&r, old, new) {
            self.sh.engine_updated(id, old, new);
        }
        r
    }

    async fn relocate(&self, id: &DriveId, to: &Relocation) -> Result<File, DriveError> {
        let r = self.drive.relocate(id, to).await;
        if r.is_ok() {
            self.sh.st().engine_named.insert(id.clone());
        }
        r
    }

    async fn trash(&self, id: &DriveId) -> Result<File, DriveError> {
        self.drive.trash(id).await
    }

    async fn untrash(&self, id: &DriveId) -> Result<File, DriveError> {
        self.drive.untrash(id).await
    }

    async fn download(
        &self,
        id: &DriveId,
        expect: Option<&Md5>,
        to: &mut (dyn AsyncWrite + Send + Unpin),
    ) -> Result<Downloaded, DriveError> {
        self.drive.download(id, expect, to).await
    }

    async fn export(
        &self,
        id: &DriveId,
        mime_type: &str,
        to: &mut (dyn AsyncWrite + Send + Unpin),
    ) -> Result<u64, DriveError> {
        self.drive.export(id, mime_type, to).await
    }

    async fn start_page_token(&self) -> Result<ChangeToken, DriveError> {
        self.drive.start_page_token().await
    }

    async fn changes_page(&self, token: &ChangeToken) -> Result<ChangeList, DriveError> {
        self.drive.changes_page(token).await
    }

    async fn about(&self) -> Result<About, DriveError> {
        self.drive.about().await
    }

    async fn generate_ids(&self, count: u32) -> Result<Vec<DriveId>, DriveError> {
        self.drive.generate_ids(count).await
    }
}

/// The Drive the engine sees: the gate, then the faults, then the recorder.
pub struct SimRemote {
    sh: Arc<Shared>,
    faulty: FaultyRemote<Recorder>,
}

#[async_trait]
impl RemoteStore for SimRemote {
    async fn get(&self, id: &DriveId) -> Result<File, DriveError> {
        self.sh.gated(false, self.faulty.get(id)).await
    }

    async fn list_page(
        &self,
        parents: &[DriveId],
        page: Option<&PageToken>,
    ) -> Result<FileList, DriveError> {
        self.sh
            .gated(false, self.faulty.list_page(parents, page))
            .await
    }

    async fn create_folder(&self, new: &NewFile) -> Result<File, DriveError> {
        self.sh.gated(true, self.faulty.create_folder(new)).await
    }

    async fn create_file(&self, new: &NewFile, source: &UploadSource) -> Result<File, DriveError> {
        self.sh
            .gated(true, self.faulty.create_file(new, source))
            .await
    }

    async fn update_content(
        &self,
        id: &DriveId,
        source: &UploadSource,
    ) -> Result<File, DriveError> {
        self.sh
            .gated(true, self.faulty.update_content(id, source))
            .await
    }

    async fn relocate(&self, id: &DriveId, to: &Relocation) -> Result<File, DriveError> {
        self.sh.gated(true, self.faulty.relocate(id, to)).await
    }

    async fn trash(&self, id: &DriveId) -> Result<File, DriveError> {
        self.sh.gated(true, self.faulty.trash(id)).await
    }

    async fn untrash(&self, id: &DriveId) -> Result<File, DriveError> {
        self.sh.gated(true, self.faulty.untrash(id)).await
    }

    async fn download(
        &self,
        id: &DriveId,
        expect: Option<&Md5>,
        to: &mut (dyn AsyncWrite + Send + Unpin),
    ) -> Result<Downloaded, DriveError> {
        self.sh
            .gated(false, self.faulty.download(id, expect, to))
            .await
    }

    async fn export(
        &self,
        id: &DriveId,
        mime_type: &str,
        to: &mut (dyn AsyncWrite + Send + Unpin),
    ) -> Result<u64, DriveError> {
        self.sh
            .gated(false, self.faulty.export(id, mime_type, to))
            .await
    }

    async fn start_page_token(&self) -> Result<ChangeToken, DriveError> {
        self.sh.gated(false, self.faulty.start_page_token()).await
    }

    async fn changes_page(&self, token: &ChangeToken) -> Result<ChangeList, DriveError> {
        self.sh.gated(false, self.faulty.changes_page(token)).await
    }

    async fn about(&self) -> Result<About, DriveError> {
        self.sh.gated(false, self.faulty.about()).await
    }

    async fn generate_ids(&self, count: u32) -> Result<Vec<DriveId>, DriveError> {
        self.sh.gated(true, self.faulty.generate_ids(count)).await
    }
}

// ---------------------------------------------------------------------------------------
// The local disk: reads pass through; changes go through the gate.

/// The local disk the engine sees.
pub struct SimFs {
    sh: Arc<Shared>,
}

#[async_trait]
impl LocalFs for SimFs {
    fn root(&self) -> &Path {
        LocalFs::root(&self.sh.fs)
    }

    async fn stat(&self, path: &RelPath) -> Result<Option<Meta>, FsError> {
        self.sh.fs.stat(path).await
    }

    async fn list_dir(&self, path: &RelPath) -> Result<Listing, FsError> {
        self.sh.fs.list_dir(path).await
    }

    async fn hash(&self, path: &RelPath) -> Result<Hashed, FsError> {
        self.sh.fs.hash(path).await
    }

    async fn create_dir(&self, path: &RelPath) -> Result<Meta, FsError> {
        self.sh.gated(true, self.sh.fs.create_dir(path)).await
    }

    async fn rename(&self, from: &RelPath, to: &RelPath, expect: Expect) -> Result<Meta, FsError> {
        self.sh
            .gated(true, self.sh.fs.rename(from, to, expect))
            .await
    }

    async fn trash(&self, path: &RelPath, expect: Expect) -> Result<Trashed, FsError> {
        self.sh.gated(true, self.sh.fs.trash(path, expect)).await
    }

    async fn stage(&self, dir: &RelPath) -> Result<Box<dyn Staged>, FsError> {
        let inner = self.sh.gated(true, self.sh.fs.stage(dir)).await?;
        Ok(Box::new(SimStaged {
            inner: Some(inner),
            sh: self.sh.clone(),
            dir: dir.clone(),
            bytes: Vec::new(),
            done: false,
        }))
    }

    async fn upload_path(&self, path: &RelPath) -> Result<UploadFile, FsError> {
        self.sh.fs.upload_path(path).await
    }

    async fn remove_partial(&self, path: &RelPath) -> Result<(), FsError> {
        self.sh.gated(true, self.sh.fs.remove_partial(path)).await
    }
}

/// A download being written: keeps a copy of the bytes, checks the overwrite on commit, and
/// leaves the partial file behind when a crash cuts it.
struct SimStaged {
    inner: Option<Box<dyn Staged>>,
    sh: Arc<Shared>,
    dir: RelPath,
    bytes: Vec<u8>,
    done: bool,
}

impl Drop for SimStaged {
    fn drop(&mut self) {
        if self.done || !self.sh.st().crashed {
            return;
        }
        let dir_ok = self.dir.is_root()
            || self.sh.fs.meta(self.dir.clone()).map(|m| m.kind) == Some(FsKind::Folder);
        let n = {
            let mut st = self.sh.st();
            st.partial_seq += 1;
            st.partial_seq
        };
        if let (true, Ok(p)) = (dir_ok, self.dir.join(&format!("{PARTIAL_PREFIX}crash{n}"))) {
            self.sh.fs.write(p, &self.bytes);
        }
    }
}

impl AsyncWrite for SimStaged {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(Err(std::io::Error::other("already committed")));
        };
        match Pin::new(inner).poll_write(cx, buf) {
            Poll::Ready(Ok(n)) => {
                this.bytes.extend_from_slice(&buf[..n]);
                Poll::Ready(Ok(n))
            }
            other => other,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut().inner.as_mut() {
            Some(inner) => Pin::new(inner).poll_flush(cx),
            None => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut().inner.as_mut() {
            Some(inner) => Pin::new(inner).poll_shutdown(cx),
            None => Poll::Ready(Ok(())),
        }
    }
}

#[async_trait]
impl Staged for SimStaged {
    async fn commit(
        mut self: Box<Self>,
        to: &RelPath,
        expect: Expect,
        mtime: Option<DateTime<Utc>>,
    ) -> Result<Meta, FsError> {
        let sh = self.sh.clone();
        let after = sh.enter(true).await;
        let old = sh.fs.read(to.clone()).ok().map(|b| md5_of(&b));
        let synced = sh.synced_at(to);
        let new = md5_of(&self.bytes);
        let Some(inner) = self.inner.take() else {
            return Err(FsError::NotFound {
                op: "write",
                path: to.to_path(LocalFs::root(&sh.fs)),
            });
        };
        let r = inner.commit(to, expect, mtime).await;
        self.done = true;
        if let (Ok(_), Some(old)) = (&r, old) {
            sh.engine_overwrote_local(to, old, new, synced);
        }
        sh.leave(after).await;
        r
    }
}

// ---------------------------------------------------------------------------------------
// A case.

fn fake_op(c: RemoteCall) -> FakeOp {
    match c {
        RemoteCall::Get => FakeOp::Get,
        RemoteCall::List => FakeOp::List,
        RemoteCall::CreateFolder => FakeOp::CreateFolder,
        RemoteCall::CreateFile => FakeOp::CreateFile,
        RemoteCall::UpdateContent => FakeOp::UpdateContent,
        RemoteCall::Relocate => FakeOp::Relocate,
        RemoteCall::Trash => FakeOp::Trash,
        RemoteCall::Download => FakeOp::Download,
        RemoteCall::Changes => FakeOp::Changes,
        RemoteCall::StartPageToken => FakeOp::StartPageToken,
        RemoteCall::GenerateIds => FakeOp::GenerateIds,
    }
}

fn fault_of(k: FaultKind) -> Fault {
    match k {
        FaultKind::ServerError | FaultKind::Reset => Fault::Transient,
        FaultKind::RateLimited => Fault::RateLimited,
        FaultKind::RateLimited403 => Fault::Api(403, "rateLimitExceeded".into()),
        FaultKind::Unauthorized => Fault::Unauthorized,
        FaultKind::ChecksumMismatch => Fault::ChecksumMismatch,
        FaultKind::QuotaExceeded => Fault::QuotaExceeded,
    }
}

/// An op in one line.
pub fn op_label(op: &Op) -> String {
    match op {
        Op::MoveLocal { from, to, .. } => format!("move-local {from} -> {to}"),
        Op::MoveRemote { from, to, .. } => format!("move-drive {from} -> {to}"),
        Op::RecordMove { from, to, .. } => format!("record-move {from} -> {to}"),
        Op::ConflictCopy { path, copy, .. } => format!("conflict-copy {path} -> {copy}"),
        Op::RenameRemoteAside { path, copy, .. } => {
            format!("rename-drive-aside {path} -> {copy}")
        }
        Op::MkdirLocal { path, .. } => format!("mkdir-local {path}"),
        Op::MkdirRemote { path, .. } => format!("mkdir-drive {path}"),
        Op::Upload { path, replace, .. } => match replace {
            Some(id) => format!("upload {path} (into {id})"),
            None => format!("upload {path} (new)"),
        },
        Op::Download { path, expect, .. } => match expect {
            Some(_) => format!("download {path} (over the local file)"),
            None => format!("download {path} (new)"),
        },
        Op::WriteLink { path, .. } => format!("write-link {path}"),
        Op::TrashLocal { path, .. } => format!("trash-local {path}"),
        Op::TrashRemote { path, id, .. } => format!("trash-drive {path} ({id})"),
        Op::Record { path, .. } => format!("record {path}"),
        Op::Forget { path } => format!("forget {path}"),
    }
}

enum Outcome {
    Done(SyncReport),
    Failed(String),
    Crashed,
    Hung,
}

struct SyncResult {
    quiet: bool,
    writes: u64,
    failed: Option<String>,
}

struct Case {
    sh: Arc<Shared>,
    remote: Arc<SimRemote>,
    fs: Arc<SimFs>,
    engine: Engine,
    events_tx: mpsc::UnboundedSender<Event>,
    events_rx: mpsc::UnboundedReceiver<Event>,
    cfg: SimConfig,
    now: DateTime<Utc>,
    crash_rx: watch::Receiver<bool>,
    steps: Arc<Mutex<Vec<Step>>>,
    seed: Option<u64>,
    syncs: u64,
    _tmp: tempfile::TempDir,
}

impl Case {
    async fn new(
        cfg: &SimConfig,
        seed: Option<u64>,
        steps: Arc<Mutex<Vec<Step>>>,
    ) -> Result<Self, String> {
        let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
        let drive = Arc::new(MemRemote::new());
        let root = drive
            .create_folder(&NewFile::new(DriveId::new("root"), "Sync"))
            .await
            .map_err(|e| e.to_string())?
            .id;
        let fs = MemFs::new().with_os_trash(cfg.os_trash);
        let db = Arc::new(StateDb::open_in_memory().map_err(|e| e.to_string())?);
        let pair = db
            .add_pair(
                &NewPair {
                    name: "sim".into(),
                    local_root: "/memfs".into(),
                    remote_root: root.clone(),
                    remote_path: "/Sync".into(),
                    settings: PairSettings {
                        concurrency: cfg.concurrency.max(1),
                        ..PairSettings::default()
                    },
                },
                start_time(),
            )
            .map_err(|e| e.to_string())?;
        let (crash_tx, crash_rx) = watch::channel(false);
        let sh = Arc::new(Shared {
            fs,
            drive: drive.clone(),
            db,
            pair,
            root,
            tmp: tmp.path().to_owned(),
            st: Mutex::new(St::default()),
            crash_tx,
        });
        let remote = Arc::new(SimRemote {
            sh: sh.clone(),
            faulty: FaultyRemote::new(Recorder {
                drive,
                sh: sh.clone(),
            }),
        });
        let fs = Arc::new(SimFs { sh: sh.clone() });
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let engine = Self::engine_of(&sh, &remote, &fs, &events_tx);
        Ok(Self {
            events_tx,
            events_rx,
            sh,
            remote,
            fs,
            engine,
            cfg: cfg.clone(),
            now: start_time(),
            crash_rx,
            steps,
            seed,
            syncs: 0,
            _tmp: tmp,
        })
    }

    fn engine_of(
        sh: &Arc<Shared>,
        remote: &Arc<SimRemote>,
        fs: &Arc<SimFs>,
        events: &mpsc::UnboundedSender<Event>,
    ) -> Engine {
        Engine::new(remote.clone(), fs.clone(), sh.db.clone(), sh.pair.clone())
            .with_name_rules(NameRules::default())
            .with_events(Events::to(events.clone()))
    }

    /// What the ops of a crashed sync got done before the crash, from the engine's events.
    fn log_events(&mut self) {
        while let Ok(e) = self.events_rx.try_recv() {
            let line = match e {
                Event::Started { path, what } => format!("  started: {what} {path}"),
                Event::Finished {
                    path,
                    kind,
                    message,
                    ..
                } => format!("  finished: {path}: {kind:?}: {message}"),
                _ => continue,
            };
            self.log(line);
        }
    }

    fn log(&self, line: impl Into<String>) {
        self.sh.st().log.push(line.into());
    }

    fn fail(&self, kind: FailureKind, message: impl Into<String>) -> Failure {
        let st = self.sh.st();
        Failure {
            kind,
            message: message.into(),
            seed: self.seed,
            steps: self.steps.lock().map(|s| s.clone()).unwrap_or_default(),
            log: st.log.clone(),
        }
    }

    fn set_faults(&self, f: Option<&FaultSpec>) {
        self.remote.faulty.clear();
        self.sh.fs.set_disk_full(false);
        let Some(f) = f else { return };
        for r in &f.rules {
            let when = if r.after { When::After } else { When::Before };
            self.remote
                .faulty
                .inject(r.call.map(fake_op), r.count, fault_of(r.kind), when);
        }
        if f.permille > 0 {
            self.remote
                .faulty
                .random(f.seed, f64::from(f.permille) / 1000.0);
        }
        self.sh.fs.set_disk_full(f.disk_full);
    }

    async fn step(&mut self, step: &Step) -> Result<(), Failure> {
        if let Ok(mut s) = self.steps.lock() {
            s.push(step.clone());
        }
        match step {
            Step::Sync(spec) => {
                self.sync(spec).await?;
            }
            _ => {
                let line = self.sh.apply_user(step, false).await;
                self.log(line);
            }
        }
        Ok(())
    }

    /// Runs one sync as `spec` says, then checks the model's rules 1 to 3.
    async fn sync(&mut self, spec: &SyncSpec) -> Result<SyncResult, Failure> {
        self.syncs += 1;
        self.now += chrono::Duration::seconds(i64::from(spec.advance));
        let before = self.sh.presence();
        let watch = self.sh.unsynced();
        let scope;
        {
            let mut st = self.sh.st();
            st.model.sync_begins(&before);
            st.now = Some(self.now);
            st.calls = 0;
            st.writes = 0;
            st.crash = spec.crash;
            let mut during = spec.during.clone();
            during.sort_by_key(|d| d.at);
            st.during = during.into();
            st.in_sync = true;
            st.during_destroyed.clear();
            scope = if self.cfg.scoped {
                Scope::Touched(std::mem::take(&mut st.touched))
            } else {
                st.touched.clear();
                Scope::Full
            };
            st.stats.syncs += 1;
            st.log.push(format!("#{} {spec}", self.syncs));
        }
        self.set_faults(spec.faults.as_ref());
        let faults_before = self.remote.faulty.injected();
        let opts = SyncOptions {
            dry_run: false,
            force_deletes: false,
            now: self.now,
            host: "laptop".into(),
        };
        let mut rx = self.crash_rx.clone();
        let outcome = {
            let run =
                tokio::time::timeout(self.cfg.hang_after, self.engine.sync_scoped(&opts, &scope));
            tokio::select! {
                biased;
                _ = rx.wait_for(|c| *c) => Outcome::Crashed,
                r = run => match r {
                    Ok(Ok(report)) => Outcome::Done(report),
                    Ok(Err(e)) => Outcome::Failed(e.to_string()),
                    Err(_) => Outcome::Hung,
                },
            }
        };
        let injected = self.remote.faulty.injected() - faults_before;
        if !matches!(outcome, Outcome::Crashed) {
            while self.events_rx.try_recv().is_ok() {}
        }
        self.set_faults(None);
        let (calls, writes) = {
            let mut st = self.sh.st();
            st.in_sync = false;
            st.crash = None;
            st.stats.faults += injected;
            let left: Vec<During> = st.during.drain(..).collect();
            for d in left {
                st.log
                    .push(format!("  during {} not reached: {}", d.at, d.op));
            }
            (st.calls, st.writes)
        };
        let mut result = SyncResult {
            quiet: false,
            writes,
            failed: None,
        };
        // A sync cut short may leave a Drive id at two paths (the create at the new one ran,
        // the trash at the old one did not); one that finished may not.
        let finished = matches!(outcome, Outcome::Done(_));
        match outcome {
            Outcome::Done(report) => {
                let mut st = self.sh.st();
                st.stats.ops += report.plan.ops.len() as u64;
                st.stats.op_errors += report.errors.len() as u64;
                st.stats.conflicts += report.conflicts;
                for op in &report.plan.ops {
                    st.log.push(format!("  {}", op_label(op)));
                }
                for e in &report.errors {
                    st.log.push(format!("  ERROR {}: {}", e.path, e.message));
                }
                st.log.push(format!(
                    "  done: {} ops, {} errors, {calls} calls, {writes} changes, {injected} faults",
                    report.plan.ops.len(),
                    report.errors.len()
                ));
                result.quiet = report.plan.is_empty() && report.errors.is_empty();
            }
            Outcome::Failed(e) => {
                let mut st = self.sh.st();
                st.stats.failed_syncs += 1;
                st.log.push(format!(
                    "  sync failed after {calls} calls ({injected} faults): {e}"
                ));
                result.failed = Some(e);
            }
            Outcome::Crashed => {
                self.log_events();
                self.sh.crash_tx.send_replace(false);
                {
                    let mut st = self.sh.st();
                    st.crashed = false;
                    st.stats.crashes += 1;
                    st.log.push(format!(
                        "  CRASH at call {calls} ({injected} faults); restarted"
                    ));
                }
                self.engine = Self::engine_of(&self.sh, &self.remote, &self.fs, &self.events_tx);
            }
            Outcome::Hung => {
                return Err(self.fail(
                    FailureKind::Hang,
                    format!(
                        "sync #{} did not finish in {:?}",
                        self.syncs, self.cfg.hang_after
                    ),
                ))
            }
        }
        if let (Some(e), None) = (&result.failed, &spec.faults) {
            return Err(self.fail(
                FailureKind::SyncFailed,
                format!("sync #{} failed without faults: {e}", self.syncs),
            ));
        }
        // The model's rules.
        let violations = std::mem::take(&mut self.sh.st().violations);
        if let Some((kind, _)) = violations.first() {
            let msg: Vec<String> = violations.iter().map(|(_, m)| m.clone()).collect();
            return Err(self.fail(*kind, msg.join("\n")));
        }
        let base = self.sh.db.base(self.sh.pair.id).unwrap_or_default();
        let shared = shared_base_ids(&base);
        if finished && !shared.is_empty() {
            return Err(self.fail(
                FailureKind::SharedId,
                format!(
                    "after sync #{} the synced tree has one Drive id at several paths: {shared:?}",
                    self.syncs
                ),
            ));
        }
        let after = self.sh.presence();
        let (lost, trashed) = {
            let st = self.sh.st();
            (
                st.model.lost(&after),
                Model::trashed_edits(&watch, &st.during_destroyed, &after),
            )
        };
        if !lost.is_empty() {
            return Err(self.fail(
                FailureKind::Lost,
                format!(
                    "after sync #{} these versions are on no side, in no trash and in no history:\n  {}",
                    self.syncs,
                    lost.join("\n  ")
                ),
            ));
        }
        if !trashed.is_empty() {
            return Err(self.fail(
                FailureKind::EditTrashed,
                format!(
                    "after sync #{} these unsynced versions are no longer on either side:\n  {}",
                    self.syncs,
                    trashed.join("\n  ")
                ),
            ));
        }
        Ok(result)
    }

    /// Quiescence and the end-state checks.
    async fn finish(&mut self) -> Result<(), Failure> {
        self.log("-- quiescence");
        let calm = SyncSpec {
            advance: 1,
            ..SyncSpec::default()
        };
        let mut quiet = false;
        for _ in 0..self.cfg.max_quiesce.max(1) {
            if self.sync(&calm).await?.quiet {
                quiet = true;
                break;
            }
        }
        if !quiet {
            return Err(self.fail(
                FailureKind::NoQuiescence,
                format!(
                    "{} syncs without faults still planned work or had errors",
                    self.cfg.max_quiesce
                ),
            ));
        }
        let base = self
            .sh
            .db
            .base(self.sh.pair.id)
            .map_err(|e| self.fail(FailureKind::SyncFailed, e.to_string()))?;
        let (local, partials) = mem_local_side(&self.sh.fs);
        if !partials.is_empty() {
            return Err(self.fail(
                FailureKind::PartialLeft,
                format!("partial downloads left behind: {partials:?}"),
            ));
        }
        let files = drive_files(self.sh.drive.as_ref(), &self.sh.root)
            .await
            .map_err(|e| self.fail(FailureKind::SyncFailed, e))?;
        let remote = remote_side(&files, &self.sh.root, &base, &NameRules::default());
        let diff = differences(&local, &remote);
        if !diff.is_empty() {
            return Err(self.fail(
                FailureKind::Diverged,
                format!(
                    "after quiescence the sides differ:\n  {}",
                    diff.join("\n  ")
                ),
            ));
        }
        let bad: Vec<String> = {
            let st = self.sh.st();
            duplicate_names(&files, &self.sh.root)
                .into_iter()
                .filter(|(parent, name, ids)| {
                    let ours = ids.iter().filter(|id| st.engine_named.contains(id)).count();
                    ours >= 2
                        || (ours == 1 && !st.allowed_dups.contains(&(parent.clone(), name.clone())))
                })
                .map(|(parent, name, ids)| format!("{name:?} in folder {parent}: {ids:?}"))
                .collect()
        };
        if !bad.is_empty() {
            return Err(self.fail(
                FailureKind::Duplicates,
                format!(
                    "drivesync made duplicate names on Drive:\n  {}",
                    bad.join("\n  ")
                ),
            ));
        }
        self.log("-- one more sync must do nothing");
        let r = self.sync(&calm).await?;
        if !r.quiet || r.writes > 0 {
            return Err(self.fail(
                FailureKind::NotIdempotent,
                format!(
                    "the sync after quiescence planned work or changed something ({} changes)",
                    r.writes
                ),
            ));
        }
        Ok(())
    }

    fn trace(&self) -> Trace {
        let st = self.sh.st();
        Trace {
            seed: self.seed,
            steps: self.steps.lock().map(|s| s.clone()).unwrap_or_default(),
            log: st.log.clone(),
            stats: st.stats,
        }
    }
}

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

/// Simpler versions of one sync spec, simplest first.
fn simpler(s: &SyncSpec) -> Vec<SyncSpec> {
    let mut out = Vec::new();
    if *s != SyncSpec::default() {
        out.push(SyncSpec {
            advance: s.advance,
            ..SyncSpec::default()
        });
    }
    if !s.during.is_empty() {
        out.push(SyncSpec {
            during: Vec::new(),
            ..s.clone()
        });
        for i in 0..s.during.len() {
            let mut t = s.clone();
            t.during.remove(i);
            out.push(t);
        }
    }
    if s.crash.is_some() {
        out.push(SyncSpec {
            crash: None,
            ..s.clone()
        });
    }
    if let Some(f) = &s.faults {
        out.push(SyncSpec {
            faults: None,
            ..s.clone()
        });
        if f.permille > 0 {
            let mut t = s.clone();
            if let Some(g) = t.faults.as_mut() {
                g.permille = 0;
            }
            out.push(t);
        }
        for i in 0..f.rules.len() {
            let mut t = s.clone();
            if let Some(g) = t.faults.as_mut() {
                g.rules.remove(i);
            }
            out.push(t);
        }
        if f.disk_full {
            let mut t = s.clone();
            if let Some(g) = t.faults.as_mut() {
                g.disk_full = false;
            }
            out.push(t);
        }
    }
    out
}

/// Shrinks a failure's steps: drops steps and simplifies syncs while the replay still fails
/// the same way, within `budget` replays. Returns the shortest steps found.
pub fn shrink(failure: &Failure, cfg: &SimConfig, budget: usize) -> Vec<Step> {
    let kind = failure.kind;
    let tries = std::cell::Cell::new(0usize);
    let fails = |s: &[Step]| {
        tries.set(tries.get() + 1);
        matches!(run_steps(s, cfg), Err(f) if f.kind == kind)
    };
    let mut steps = failure.steps.clone();
    let mut changed = true;
    while changed && tries.get() < budget {
        changed = false;
        let mut n = (steps.len() / 2).max(1);
        loop {
            let mut i = 0;
            while i < steps.len() && tries.get() < budget {
                let mut cand = steps.clone();
                cand.drain(i..(i + n).min(steps.len()));
                if fails(&cand) {
                    steps = cand;
                    changed = true;
                } else {
                    i += n;
                }
            }
            if n == 1 {
                break;
            }
            n /= 2;
        }
        for i in 0..steps.len() {
            let Step::Sync(spec) = &steps[i] else {
                continue;
            };
            for s in simpler(spec) {
                if tries.get() >= budget {
                    break;
                }
                let mut cand = steps.clone();
                cand[i] = Step::Sync(s);
                if fails(&cand) {
                    steps = cand;
                    changed = true;
                    break;
                }
            }
        }
    }
    steps
}

/// The source of a named regression test replaying `steps` (for `tests/sim.rs`, which
/// defines `replay`).
pub fn regression_test(name: &str, failure: &Failure, steps: &[Step]) -> String {
    let origin = match failure.seed {
        Some(s) => format!("seed {s}"),
        None => "a replayed script".to_owned(),
    };
    let mut body = String::new();
    for line in to_script(steps).lines() {
        body.push_str("        ");
        body.push_str(line);
        body.push('\n');
    }
    format!(
        "/// Found by the simulation ({origin}): {kind:?}.\n#[test]\n#[ignore = \"known bug: {kind:?}: describe it in one line\"]\nfn {name}() {{\n    replay(\n        r##\"\n{body}        \"##,\n    );\n}}\n",
        kind = failure.kind
    )
}
