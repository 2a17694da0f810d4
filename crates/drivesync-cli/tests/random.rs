//! Level 2 of the randomized reliability test (R1-R3 in `shared/targets.md`): the real
//! `drivesync` binary on a real disk against `drive-emulator`, with the emulator's faults and
//! SIGKILL crashes. It shares the generator ([`Gen`]), the Drive-side applier and the
//! no-data-loss model with level 1 (`drivesync-testkit`).
//!
//! Each case is a seed: a pair `cSEED` between a fresh local folder and `/cSEED` on Drive, a
//! sequence of steps (local changes on disk, another device's changes through the Drive API,
//! `drivesync sync` runs, some with faults, some killed at a random moment), then quiescence
//! (syncs without faults until a dry run plans nothing) and the checks: no required version
//! lost after any sync (crashed ones included), both sides identical, no duplicates on Drive,
//! and a further sync does nothing.
//!
//! * `DRIVESYNC_RANDOM_CASES=N` runs N cases (default 300), `DRIVESYNC_RANDOM_SEED=S` starts
//!   at seed S; a failing case prints its seed and steps.
//! * Every fourth case is live: `drivesync run` works while the changes are made; its sync
//!   steps let it run for a moment (with faults), a crash SIGKILLs it and starts it again, and
//!   quiescence waits for it to have nothing left to do.
//! * Each of two workers has its own config, state and sign-in (one `drivesync` at a time per
//!   state folder); every case has its own `HOME`, so the OS trash is the case's own.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use drive_emulator::faults::FaultSpec;
use drive_emulator::{Emulator, EmulatorConfig, EmulatorHandle, Snapshot};
use drivesync_auth::StaticToken;
use drivesync_drive::{DriveConfig, GoogleDrive, FOLDER_MIME};
use drivesync_localfs::{PAIR_MARKER, PARTIAL_PREFIX};
use drivesync_model::{BaseEntry, DriveId, GoogleEndpoints, Kind, Md5, RelPath, Sensitive, Tree};
use drivesync_reconcile::NameRules;
use drivesync_state::StateDb;
use drivesync_testkit::apply::{
    apply_local, apply_remote, md5_of, Applied, Device, Disk, RealDisk,
};
use drivesync_testkit::check;
use drivesync_testkit::model::{Model, Place, Presence};
use drivesync_testkit::script::to_script;
use drivesync_testkit::{Gen, GenConfig, LocalOp, Step, SyncSpec, View};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const TRASH_FOLDER: &str = ".drivesync-trash";

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// One worker: a config, a state folder and a signed-in account of its own.
struct Worker {
    dir: PathBuf,
    config: PathBuf,
}

/// What a case needs of the test's world.
struct Case<'a> {
    emu: &'a EmulatorHandle,
    worker: &'a Worker,
    name: String,
    local: PathBuf,
    home: PathBuf,
    root: DriveId,
    /// Every content each Drive file of the case ever had (Drive keeps old content in the
    /// file's version history).
    history: HashMap<String, BTreeSet<Md5>>,
    /// Every content the other device wrote to Drive. Drive keeps each in its file's version
    /// history, and files are never deleted for good here, so none can be lost on Drive; the
    /// emulator keeps no revisions, and a write that drivesync replaces before the test's
    /// next snapshot would otherwise look lost (SEMANTICS.md, known gaps: an edit landing
    /// between drivesync's re-check and its upload is kept only in the file's history).
    device_written: BTreeSet<Md5>,
    /// The Drive files the other device created.
    device_named: std::collections::HashSet<DriveId>,
    /// The pair's folder was emptied by the steps and drivesync held it: the user confirms
    /// it, so the next sync is forced (unless the disk is unplugged by then).
    force_next: bool,
    /// The steps so far, for the reproduction.
    steps: Vec<Step>,
    /// What happened, for the failure message.
    log: Vec<String>,
    /// What happened, counted.
    stats: Stats,
    /// `drivesync run`, in a live case.
    daemon: Option<std::process::Child>,
}

/// What the cases did, counted (printed at the end, so a run that tests nothing shows).
#[derive(Debug, Default, Clone, Copy)]
struct Stats {
    changes: u64,
    skipped: u64,
    syncs: u64,
    failed_syncs: u64,
    kills: u64,
    faults: u64,
}

impl std::ops::AddAssign for Stats {
    fn add_assign(&mut self, o: Self) {
        self.changes += o.changes;
        self.skipped += o.skipped;
        self.syncs += o.syncs;
        self.failed_syncs += o.failed_syncs;
        self.kills += o.kills;
        self.faults += o.faults;
    }
}

/// The Drive side of a case from a snapshot: id -> (path under the pair, file), for files
/// under the pair's folder; `trashed` is true when the file or a folder above it is trashed.
struct DriveSide {
    files: Vec<(String, String, Option<Md5>, bool, bool)>,
}

fn md5_of_hex(hex: &str) -> Option<Md5> {
    hex.parse().ok()
}

impl DriveSide {
    fn of(snap: &Snapshot, root: &DriveId) -> Self {
        let by_id: HashMap<&str, &drive_emulator::SnapshotFile> =
            snap.files.iter().map(|f| (f.id.as_str(), f)).collect();
        let mut files = Vec::new();
        for f in &snap.files {
            // Walk up to the pair's folder, collecting names and the trashed flag.
            let mut names = vec![f.name.clone()];
            let mut trashed = f.trashed;
            let mut cur = f.parents.first().map(String::as_str);
            let mut inside = false;
            while let Some(p) = cur {
                if p == root.as_str() {
                    inside = true;
                    break;
                }
                let Some(parent) = by_id.get(p) else { break };
                names.push(parent.name.clone());
                trashed |= parent.trashed;
                cur = parent.parents.first().map(String::as_str);
            }
            if !inside {
                continue;
            }
            names.reverse();
            let folder = f.mime_type == FOLDER_MIME;
            let md5 = f.md5_checksum.as_deref().and_then(md5_of_hex);
            files.push((f.id.clone(), names.join("/"), md5, folder, trashed));
        }
        Self { files }
    }

    /// Live files and folders: path -> (kind, md5). The first of duplicates wins (the
    /// duplicate check reports the others).
    fn live(&self) -> BTreeMap<String, (Kind, Option<Md5>)> {
        let mut out = BTreeMap::new();
        for (_, path, md5, folder, trashed) in &self.files {
            if !trashed {
                let kind = if *folder { Kind::Folder } else { Kind::File };
                out.entry(path.clone()).or_insert((kind, *md5));
            }
        }
        out
    }
}

/// The local side: path -> (kind, md5), trash folder, pair marker and partial downloads left
/// out.
fn local_side(root: &Path) -> BTreeMap<String, (Kind, Option<Md5>)> {
    let mut out = BTreeMap::new();
    let mut pending = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, rel)) = pending.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let internal = rel.is_empty() && (name == TRASH_FOLDER || name == PAIR_MARKER);
            if internal || name.starts_with(PARTIAL_PREFIX) {
                continue;
            }
            let path = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let Ok(m) = std::fs::symlink_metadata(e.path()) else {
                continue;
            };
            if m.is_dir() {
                out.insert(path.clone(), (Kind::Folder, None));
                pending.push((e.path(), path));
            } else if m.is_file() {
                let md5 = std::fs::read(e.path()).ok().map(|b| md5_of(&b));
                out.insert(path, (Kind::File, md5));
            }
        }
    }
    out
}

impl Case<'_> {
    fn drive(&self) -> DriveSide {
        DriveSide::of(&self.emu.snapshot(), &self.root)
    }

    /// Where every version is now; also notes Drive's contents in the version history.
    fn presence(&mut self) -> Presence {
        let mut now = Presence::default();
        for (path, (kind, md5)) in local_side(&self.local) {
            if let (Kind::File, Some(m)) = (kind, md5) {
                now.add(m, Place::Local(path));
            }
        }
        for (path, (kind, md5)) in local_side(&self.unplugged()) {
            if let (Kind::File, Some(m)) = (kind, md5) {
                now.add(m, Place::Local(format!("{path} (unplugged)")));
            }
        }
        for dir in [
            self.local.join(TRASH_FOLDER),
            self.home.join(".local/share/Trash/files"),
        ] {
            let trash = RealDisk { root: dir };
            for bytes in trash.contents_under(&RelPath::root()) {
                now.add(
                    md5_of(&bytes),
                    Place::LocalTrash(trash.root.display().to_string()),
                );
            }
        }
        let drive = self.drive();
        for (id, _, md5, folder, trashed) in &drive.files {
            let Some(m) = md5.filter(|_| !folder) else {
                continue;
            };
            self.history.entry(id.clone()).or_default().insert(m);
            let place = if *trashed {
                Place::DriveTrash(id.clone())
            } else {
                Place::Drive(id.clone())
            };
            now.add(m, place);
        }
        for (id, _, _, _, _) in &drive.files {
            for m in self.history.get(id).into_iter().flatten() {
                now.add(*m, Place::DriveHistory(id.clone()));
            }
        }
        for m in &self.device_written {
            now.add(
                *m,
                Place::DriveHistory("a file the other device wrote".into()),
            );
        }
        now
    }

    /// Where the pair's folder is while its disk is unplugged ([`RealDisk`]'s `unmount`).
    fn unplugged(&self) -> PathBuf {
        let mut name = self.local.as_os_str().to_owned();
        name.push(".unplugged");
        PathBuf::from(name)
    }

    /// While the disk is unplugged, nothing may be written to the empty mount point.
    fn mount_point_untouched(&self) -> Result<(), String> {
        if !self.unplugged().exists() {
            return Ok(());
        }
        let inside: Vec<_> = std::fs::read_dir(&self.local)
            .map_err(|e| e.to_string())?
            .flatten()
            .map(|e| e.file_name())
            .collect();
        match inside.is_empty() {
            true => Ok(()),
            false => Err(format!(
                "drivesync wrote into the unplugged disk's empty mount point: {inside:?}"
            )),
        }
    }

    /// Whether drivesync's last answer was that the pair's folder was emptied, with the disk
    /// plugged in: the user then confirms it (Sync anyway).
    fn note_held(&mut self, stderr: &str) {
        self.force_next = stderr.contains("it is empty while") && !self.unplugged().exists();
    }

    /// `--force-deletes` when the user confirmed an emptied folder and it is still plugged in.
    fn confirmation(&mut self) -> Option<&'static str> {
        (std::mem::take(&mut self.force_next) && !self.unplugged().exists())
            .then_some("--force-deletes")
    }

    /// The pair's synced tree, from the worker's state database.
    fn synced_tree(&self) -> Result<Tree<BaseEntry>, String> {
        let db = StateDb::open(&self.worker.dir.join("state/state.sqlite3"))
            .map_err(|e| e.to_string())?;
        let pair = db
            .pairs()
            .map_err(|e| e.to_string())?
            .into_iter()
            .find(|p| p.name == self.name)
            .ok_or("the pair is missing from the state database")?;
        db.base(pair.id).map_err(|e| e.to_string())
    }

    fn view(&self) -> View {
        let mut v = View::default();
        for (p, (k, _)) in local_side(&self.local) {
            v.local.insert(p, k);
        }
        for (p, (k, _)) in self.drive().live() {
            v.remote.insert(p, k);
        }
        v
    }

    fn device_store(&self) -> GoogleDrive<StaticToken> {
        let token = self.emu.mint_tokens(None).expect("a token").access_token;
        let url = url::Url::parse(&self.emu.base_url()).expect("the emulator's URL");
        GoogleDrive::new(
            StaticToken(Sensitive::new(token)),
            DriveConfig::at(GoogleEndpoints::at(&url)),
        )
        .expect("a Drive client")
    }

    fn drivesync(&self) -> Command {
        let mut c = common::drivesync(&self.worker.config);
        c.env("HOME", &self.home)
            .env("XDG_DATA_HOME", self.home.join(".local/share"));
        c
    }

    /// Installs `spec`'s faults (1 to 3 random emulator faults); the generator for the rest
    /// of the step.
    fn faults(&mut self, spec: &SyncSpec) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::seed_from_u64(spec.faults.as_ref().map_or(1, |f| f.seed));
        if spec.faults.is_some() {
            for _ in 0..rng.random_range(1..=3) {
                let what = self.fault(&mut rng);
                self.stats.faults += 1;
                self.log.push(format!("  fault: {what}"));
            }
        }
        rng
    }

    /// Starts `drivesync run` (live cases).
    fn start_daemon(&mut self) -> Result<(), String> {
        let child = self
            .drivesync()
            .arg("run")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start drivesync run: {e}"))?;
        self.daemon = Some(child);
        // Up once it answers on its control socket.
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            let out = self
                .drivesync()
                .args(["status", "--json"])
                .output()
                .map_err(|e| e.to_string())?;
            let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
            if !status["daemon"].is_null() {
                return Ok(());
            }
            if Instant::now() > until {
                return Err("drivesync run did not start within 20 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops `drivesync run`: SIGKILL for a crash, else SIGTERM and a wait.
    fn stop_daemon(&mut self, crash: bool) {
        let Some(mut child) = self.daemon.take() else {
            return;
        };
        if !crash {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let until = Instant::now() + Duration::from_secs(10);
            while Instant::now() < until {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// A sync step of a live case: `drivesync run` works on its own for a moment, with
    /// `spec`'s faults, and is SIGKILLed and started again for a crash.
    fn live_step(&mut self, spec: &SyncSpec) -> Result<(), String> {
        let mut rng = self.faults(spec);
        self.stats.syncs += 1;
        std::thread::sleep(Duration::from_millis(rng.random_range(50..400)));
        if spec.crash.is_some() {
            self.stop_daemon(true);
            self.stats.kills += 1;
            self.log
                .push("  SIGKILL of drivesync run; started again".into());
            self.start_daemon()?;
        }
        self.emu.clear_faults();
        Ok(())
    }

    /// Waits until the live loop has nothing left to do (nudging it with `drivesync sync`,
    /// which a running instance takes as "sync now"), then stops it; nothing may be left.
    fn live_quiescence(&mut self) -> Result<(), String> {
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            let force = self.confirmation();
            let nudge = self
                .drivesync()
                .args(["sync", &self.name])
                .args(force)
                .output()
                .map_err(|e| e.to_string())?;
            if !String::from_utf8_lossy(&nudge.stdout).contains("is syncing now") {
                return Err(format!(
                    "drivesync run is not running: {}",
                    String::from_utf8_lossy(&nudge.stderr)
                ));
            }
            if self.settled()? {
                break;
            }
            if Instant::now() > until {
                return Err("drivesync run did not converge within 60 s".into());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        self.stop_daemon(false);
        if !self.settled()? {
            let plan = self
                .drivesync()
                .args(["sync", &self.name, "--dry-run"])
                .output()
                .map_err(|e| e.to_string())?;
            return Err(format!(
                "drivesync run stopped with work left to do:\n{}{}",
                String::from_utf8_lossy(&plan.stdout),
                String::from_utf8_lossy(&plan.stderr)
            ));
        }
        Ok(())
    }

    /// Runs `drivesync sync` for the case's pair, with `spec`'s faults and crash.
    fn sync(&mut self, spec: &SyncSpec) -> Result<(), String> {
        let mut rng = self.faults(spec);
        let force = self.confirmation();
        let mut child = self
            .drivesync()
            .args(["sync", &self.name])
            .args(force)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start drivesync: {e}"))?;
        self.stats.syncs += 1;
        let started = Instant::now();
        let kill_at = spec
            .crash
            .map(|_| Duration::from_millis(rng.random_range(0..150)));
        loop {
            if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                self.stats.failed_syncs += u64::from(!status.success());
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                self.log.push(format!(
                    "  sync{} exited {:?} after {:?}{}",
                    force.map(|f| format!(" {f}")).unwrap_or_default(),
                    status.code(),
                    started.elapsed(),
                    if status.success() {
                        String::new()
                    } else {
                        format!(": {}", err.trim())
                    }
                ));
                self.note_held(&err);
                break;
            }
            if kill_at.is_some_and(|k| started.elapsed() >= k) {
                child.kill().map_err(|e| e.to_string())?;
                child.wait().map_err(|e| e.to_string())?;
                self.stats.kills += 1;
                self.log
                    .push(format!("  SIGKILL after {:?}", started.elapsed()));
                break;
            }
            if started.elapsed() > Duration::from_secs(120) {
                let _ = child.kill();
                return Err("drivesync sync did not finish within 120 s".into());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        self.emu.clear_faults();
        Ok(())
    }

    /// Installs one random emulator fault; says which.
    fn fault(&self, rng: &mut ChaCha8Rng) -> String {
        let mut spec = FaultSpec {
            path: Some("/drive/*".into()),
            count: Some(rng.random_range(1..=2)),
            ..FaultSpec::default()
        };
        let what = match rng.random_range(0..9) {
            7 => {
                spec.status = Some(403);
                spec.reason = Some("storageQuotaExceeded".into());
                spec.path = Some("/upload/*".into());
                "403 storageQuotaExceeded on uploads"
            }
            8 => {
                spec.delay_ms = Some(rng.random_range(20..200));
                spec.count = Some(rng.random_range(1..=4));
                "slow Drive calls"
            }
            0 => {
                spec.status = Some(503);
                "503 on Drive calls"
            }
            1 => {
                spec.status = Some(500);
                spec.path = Some("/upload/*".into());
                "500 on uploads"
            }
            2 => {
                spec.status = Some(429);
                "429 on Drive calls"
            }
            3 => {
                spec.status = Some(403);
                spec.reason = Some("rateLimitExceeded".into());
                "403 rateLimitExceeded"
            }
            4 => {
                spec.path = Some("/upload/*".into());
                spec.reset_after_bytes = Some(rng.random_range(0..8));
                "connection reset during an upload"
            }
            5 => {
                spec.query_contains = Some("alt=media".into());
                spec.reset_after_bytes = Some(rng.random_range(0..8));
                "connection reset during a download"
            }
            _ => {
                let _ = self.emu.expire_access_tokens();
                return "access tokens expired".into();
            }
        };
        self.emu.add_fault(spec);
        what.into()
    }

    /// The dry run's plan is empty (a dry run that finds the folder emptied counts as the
    /// user's cue to confirm it).
    fn settled(&mut self) -> Result<bool, String> {
        let out = self
            .drivesync()
            .args(["sync", &self.name, "--dry-run"])
            .output()
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&out.stdout);
        self.note_held(&String::from_utf8_lossy(&out.stderr));
        Ok(out.status.success() && text.contains("nothing to do"))
    }
}

/// Runs case `seed`; `Err` describes the failure.
fn run_case(
    rt: &tokio::runtime::Handle,
    emu: &EmulatorHandle,
    worker: &Worker,
    seed: u64,
) -> Result<Stats, String> {
    let name = format!("c{seed}");
    let local = worker.dir.join(&name);
    let home = worker.dir.join(format!("home-{seed}"));
    let tmp = worker.dir.join(format!("tmp-{seed}"));
    for d in [&local, &home, &tmp] {
        std::fs::create_dir_all(d).map_err(|e| e.to_string())?;
    }
    let out = common::drivesync(&worker.config)
        .args(["pair", "add", local.to_str().unwrap(), &format!("/{name}")])
        .args(["--name", &name])
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "pair add: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let snap = emu.snapshot();
    let root = snap
        .files
        .iter()
        .find(|f| f.path.as_deref() == Some(&format!("/{name}")) && !f.trashed)
        .map(|f| DriveId::new(f.id.clone()))
        .ok_or("the pair's Drive folder is missing")?;
    let mut case = Case {
        emu,
        worker,
        name: name.clone(),
        local: local.clone(),
        home: home.clone(),
        root,
        history: HashMap::new(),
        device_written: BTreeSet::new(),
        device_named: Default::default(),
        force_next: false,
        steps: Vec::new(),
        log: Vec::new(),
        stats: Stats::default(),
        daemon: None,
    };
    let result = drive_case(rt, &mut case, seed, &tmp);
    case.stop_daemon(true);
    let result = result.map_err(|e| {
        format!(
            "seed {seed}: {e}\n--- steps ---\n{}\n--- log ---\n{}",
            to_script(&case.steps),
            case.log.join("\n")
        )
    });
    let result = result.map(|()| case.stats);
    if result.is_ok() {
        let _ = common::drivesync(&worker.config)
            .args(["pair", "remove", &name])
            .output();
        for d in [&local, &home, &tmp] {
            let _ = std::fs::remove_dir_all(d);
        }
    }
    result
}

fn no_delete(_: &DriveId) -> Result<Vec<(DriveId, Option<Md5>)>, String> {
    Err("permanent deletes are not generated at level 2".into())
}

fn drive_case(
    rt: &tokio::runtime::Handle,
    case: &mut Case<'_>,
    seed: u64,
    tmp: &Path,
) -> Result<(), String> {
    let cfg = GenConfig {
        steps: 12,
        during_permille: 0,
        drive_extras: false,
        same_stamp_permille: 0,
        ..GenConfig::default()
    };
    let mut gen = Gen::new(seed, cfg.clone());
    let mut model = Model::new();
    let disk = RealDisk {
        root: case.local.clone(),
    };
    // Every fourth case runs with `drivesync run` working while the changes are made.
    let live = seed % 4 == 3;
    if live {
        case.log
            .push("live: drivesync run works during the steps".into());
        case.start_daemon()?;
    }
    for _ in 0..cfg.steps {
        let step = gen.next_step(&case.view());
        case.steps.push(step.clone());
        case.log.push(to_script(std::slice::from_ref(&step)));
        match &step {
            Step::Local(op) => {
                if *op == LocalOp::Mount {
                    case.mount_point_untouched()?;
                }
                let applied = apply_local(&disk, op);
                note(case, &mut model, &applied);
            }
            Step::Remote(op) => {
                let store = case.device_store();
                let device = Device {
                    store: &store,
                    root: case.root.clone(),
                    tmp: tmp.to_path_buf(),
                    now: chrono::Utc::now(),
                    delete_forever: &no_delete,
                };
                let applied = rt.block_on(apply_remote(&device, op));
                case.device_written.extend(applied.written.iter().copied());
                case.device_named
                    .extend(applied.named.iter().map(|n| n.id.clone()));
                for (id, m) in &applied.revisions {
                    case.history
                        .entry(id.as_str().to_owned())
                        .or_default()
                        .insert(*m);
                }
                note(case, &mut model, &applied);
            }
            // A live case checks for losses only once the loop is stopped: the test's
            // reading of the disk is not atomic while drivesync renames files.
            Step::Sync(spec) if live => {
                let before = case.presence();
                model.sync_begins(&before);
                case.live_step(spec)?;
            }
            Step::Sync(spec) => {
                let before = case.presence();
                model.sync_begins(&before);
                case.sync(spec)?;
                check_lost(case, &model)?;
            }
        }
    }
    case.mount_point_untouched()?;
    if disk.mount() {
        case.log.push("the disk is plugged back in".into());
    }
    if live {
        case.live_quiescence()?;
        check_lost(case, &model)?;
    }
    // Quiescence: syncs without faults until a dry run plans nothing.
    let mut settled = live;
    for _ in 0..if live { 0 } else { 6 } {
        let before = case.presence();
        model.sync_begins(&before);
        case.sync(&SyncSpec::default())?;
        check_lost(case, &model)?;
        if case.settled()? {
            settled = true;
            break;
        }
    }
    if !settled {
        return Err("6 syncs without faults still left work to do".into());
    }
    // Drive's files placed at local paths as the engine places them (duplicate names get
    // ` (2)`, the synced one keeping its name), with the pair's final synced tree.
    // The other worker's faults may expire every access token: mint a new one and retry.
    let mut listed = Err(String::new());
    for _ in 0..5 {
        listed = rt.block_on(check::drive_files(&case.device_store(), &case.root));
        if listed.is_ok() {
            break;
        }
    }
    let files = listed?;
    let base = case.synced_tree()?;
    let remote = check::remote_side(&files, &case.root, &base, &NameRules::native());
    let local: check::SideTree = local_side(&case.local)
        .into_iter()
        .filter_map(|(p, v)| Some((RelPath::new(&p).ok()?, v)))
        .collect();
    let diff = check::differences(&local, &remote);
    if !diff.is_empty() {
        return Err(format!("the sides differ:\n{}", diff.join("\n")));
    }
    // A name held twice in one folder is drivesync's doing when at least two of the files are
    // not the other device's (which may move a file next to one of the same name).
    let dups: Vec<String> = check::duplicate_names(&files, &case.root)
        .into_iter()
        .filter(|(_, _, ids)| {
            ids.iter()
                .filter(|id| !case.device_named.contains(*id))
                .count()
                >= 2
        })
        .map(|(parent, name, ids)| format!("{name:?} in folder {parent}: {ids:?}"))
        .collect();
    if !dups.is_empty() {
        return Err(format!("drivesync made duplicates on Drive: {dups:?}"));
    }
    Ok(())
}

/// Updates the model after a user's or device's step.
fn note(case: &mut Case<'_>, model: &mut Model, applied: &Applied) {
    if let Some(why) = &applied.skipped {
        case.stats.skipped += 1;
        case.log.push(format!("  skipped: {why}"));
        return;
    }
    case.stats.changes += 1;
    for m in &applied.written {
        model.wrote(*m, "written by the test");
    }
    let now = case.presence();
    model.destroyed(&applied.destroyed, &now);
}

fn check_lost(case: &mut Case<'_>, model: &Model) -> Result<(), String> {
    let now = case.presence();
    let lost = model.lost(&now);
    if lost.is_empty() {
        Ok(())
    } else {
        Err(format!("versions lost: {}", lost.join("; ")))
    }
}

async fn new_worker(emu: &EmulatorHandle, dir: PathBuf) -> Worker {
    std::fs::create_dir_all(&dir).unwrap();
    let config = common::write_config(&dir, &emu.base_url());
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("[sync]\npoll_seconds = 1\n");
    std::fs::write(&config, text).unwrap();
    common::login(common::drivesync(&config)).await.unwrap();
    Worker { dir, config }
}

/// The cases run on plain threads (they wait for child processes); the emulator serves on
/// the test's runtime, whose threads they never block.
#[tokio::test(flavor = "multi_thread")]
async fn random_changes_faults_and_crashes_on_the_real_binary_converge_without_loss() {
    let emu = Arc::new(Emulator::start(EmulatorConfig::default()).await.unwrap());
    let top = tempfile::tempdir().unwrap();
    let cases = env_u64("DRIVESYNC_RANDOM_CASES").unwrap_or(300);
    let first = env_u64("DRIVESYNC_RANDOM_SEED").unwrap_or(0);
    let next = Arc::new(AtomicU64::new(first));
    let started = Instant::now();
    let mut threads = Vec::new();
    for w in 0..2 {
        let worker = new_worker(&emu, top.path().join(format!("w{w}"))).await;
        let (emu, next) = (emu.clone(), next.clone());
        let rt = tokio::runtime::Handle::current();
        threads.push(std::thread::spawn(move || {
            let (mut failures, mut stats) = (Vec::new(), Stats::default());
            loop {
                let seed = next.fetch_add(1, Ordering::SeqCst);
                if seed >= first + cases {
                    return (failures, stats);
                }
                match run_case(&rt, &emu, &worker, seed) {
                    Ok(s) => stats += s,
                    Err(e) => {
                        failures.push(e);
                        next.store(first + cases, Ordering::SeqCst);
                    }
                }
            }
        }));
    }
    let (failures, stats) = tokio::task::spawn_blocking(move || {
        let (mut all, mut total) = (Vec::new(), Stats::default());
        for t in threads {
            let (f, s) = t.join().expect("a worker panicked");
            all.extend(f);
            total += s;
        }
        (all, total)
    })
    .await
    .unwrap();
    eprintln!(
        "{cases} cases from seed {first} in {:?}: {stats:?}",
        started.elapsed()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(stats.syncs > cases && stats.changes > cases, "{stats:?}");
}
