//! One case: the engine over the wrapped fakes, its steps, syncs and checks.

use super::io::{fake_op, fault_of, Recorder};
use super::*;

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
    /// The engine did not take the folder for the pair's (and planned nothing).
    NotThePair(FolderProblem, String),
    Crashed,
    Hung,
}

struct SyncResult {
    quiet: bool,
    writes: u64,
    failed: Option<String>,
}

pub(super) struct Case {
    pub(super) sh: Arc<Shared>,
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
    /// The user confirmed an emptied folder: the next sync is forced.
    force_next: bool,
    _tmp: tempfile::TempDir,
}

impl Case {
    pub(super) async fn new(
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
        // As `pair add` does: the folder is recorded before any sync.
        drivesync_engine::anchor(&fs, &db, &pair)
            .await
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
            between_calls: tokio::sync::Mutex::new(()),
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
            force_next: false,
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

    pub(super) async fn step(&mut self, step: &Step) -> Result<(), Failure> {
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
        // The disk's clock follows the case's, so a file's mtime says when it was written.
        if let Some(ns) = self.now.timestamp_nanos_opt() {
            self.sh.fs.advance_clock_to(ns);
        }
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
            st.window_trashed.clear();
            st.local_touch.clear();
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
            // The user's "Sync anyway" answers what they saw: not a disk unplugged since.
            force_deletes: std::mem::take(&mut self.force_next) && !self.sh.fs.is_unmounted(),
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
                    Ok(Err(EngineError::NotThePairFolder { problem, root })) => {
                        let e = EngineError::NotThePairFolder { problem, root };
                        Outcome::NotThePair(problem, e.to_string())
                    }
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
        // the trash at the old one did not), and one whose ops failed may leave it for the
        // next sync to resolve (the loaded sync that lists Drive whole could not run the ops
        // that drop the extra path); one that finished cleanly may not.
        let clean = matches!(&outcome, Outcome::Done(r) if r.errors.is_empty() && r.held == 0);
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
            // Unplugged: held, as it must be. Emptied by the user's steps: the user confirms
            // it (Sync anyway), so the next sync is forced.
            Outcome::NotThePair(problem, e) => {
                let unplugged = self.sh.fs.is_unmounted();
                let expected = unplugged || problem == FolderProblem::Emptied;
                self.force_next = !unplugged;
                let mut st = self.sh.st();
                st.stats.failed_syncs += 1;
                st.log
                    .push(format!("  held, the folder is not the pair's: {e}"));
                if !expected {
                    result.failed = Some(e);
                }
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
        if clean && !shared.is_empty() {
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
                Model::trashed_edits(
                    &watch,
                    &st.during_destroyed
                        .union(&st.window_trashed)
                        .copied()
                        .collect(),
                    &after,
                ),
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
    pub(super) async fn finish(&mut self) -> Result<(), Failure> {
        if self.sh.fs.is_unmounted() {
            // A case shrunk without its `local mount`: the user plugs the disk back in.
            self.sh.fs.mount();
            self.log("-- the disk is plugged back in");
        }
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

    pub(super) fn trace(&self) -> Trace {
        let st = self.sh.st();
        Trace {
            seed: self.seed,
            steps: self.steps.lock().map(|s| s.clone()).unwrap_or_default(),
            log: st.log.clone(),
            stats: st.stats,
        }
    }
}
