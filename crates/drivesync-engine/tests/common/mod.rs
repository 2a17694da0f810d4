//! What the engine's tests over the fakes share: a pair over MemRemote + MemFs ([`Rig`]), a
//! second "device" changing Drive, and the live loop of the pair.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use drivesync_drive::fake::MemRemote;
use drivesync_drive::{NewFile, RemoteStore, UploadSource};
use drivesync_engine::{Engine, SyncOptions, SyncReport};
use drivesync_localfs::MemFs;
use drivesync_model::{DriveId, PairSettings, RelPath};
use drivesync_reconcile::NameRules;
use drivesync_state::{NewPair, StateDb};

pub struct Rig {
    pub remote: Arc<MemRemote>,
    pub fs: MemFs,
    pub db: Arc<StateDb>,
    pub engine: Engine,
    pub root: DriveId,
    pub tmp: tempfile::TempDir,
}

pub fn opts() -> SyncOptions {
    SyncOptions {
        dry_run: false,
        force_deletes: false,
        now: Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap(),
        host: "testhost".into(),
    }
}

pub async fn rig() -> Rig {
    rig_with(PairSettings::default()).await
}

pub async fn rig_with(settings: PairSettings) -> Rig {
    let remote = Arc::new(MemRemote::new());
    let root = remote
        .create_folder(&NewFile::new(DriveId::new("root"), "Sync"))
        .await
        .unwrap()
        .id;
    let fs = MemFs::new().with_os_trash(false);
    let db = Arc::new(StateDb::open_in_memory().unwrap());
    let pair = db
        .add_pair(
            &NewPair {
                name: "p".into(),
                local_root: "/memfs".into(),
                remote_root: root.clone(),
                remote_path: "/Sync".into(),
                settings,
            },
            opts().now,
        )
        .unwrap();
    let engine = Engine::new(remote.clone(), Arc::new(fs.clone()), db.clone(), pair)
        .with_name_rules(NameRules::default());
    Rig {
        remote,
        fs,
        db,
        engine,
        root,
        tmp: tempfile::tempdir().unwrap(),
    }
}

impl Rig {
    pub async fn sync(&self) -> SyncReport {
        let r = self.engine.sync(&opts()).await.expect("sync");
        assert!(r.errors.is_empty(), "errors: {:#?}", r.errors);
        r
    }

    /// Local files and Drive files under the pair, by path, with content.
    pub async fn sides(&self) -> (BTreeMap<String, Vec<u8>>, BTreeMap<String, Vec<u8>>) {
        let local = self
            .fs
            .files()
            .into_iter()
            .map(|(p, b)| (p.as_str().to_owned(), b))
            .collect();
        let mut remote = BTreeMap::new();
        let mut pending = vec![(self.root.clone(), String::new())];
        while let Some((id, prefix)) = pending.pop() {
            for f in self.remote.list_children(&id).await.unwrap() {
                let p = if prefix.is_empty() {
                    f.name.clone()
                } else {
                    format!("{prefix}/{}", f.name)
                };
                if f.is_folder() {
                    pending.push((f.id.clone(), p));
                } else {
                    remote.insert(p, self.remote.content(&f.id).unwrap_or_default());
                }
            }
        }
        (local, remote)
    }

    pub async fn assert_identical(&self) {
        let (l, r) = self.sides().await;
        assert_eq!(l, r);
    }

    /// Another device writes a file on Drive in folder `parent`.
    pub async fn device_write(&self, parent: &DriveId, name: &str, bytes: &[u8]) -> DriveId {
        let p = self.tmp.path().join(format!("up-{name}"));
        std::fs::write(&p, bytes).unwrap();
        self.remote
            .create_file(&NewFile::new(parent.clone(), name), &UploadSource::new(&p))
            .await
            .unwrap()
            .id
    }

    pub async fn device_update(&self, id: &DriveId, bytes: &[u8]) {
        let p = self.tmp.path().join("update");
        std::fs::write(&p, bytes).unwrap();
        self.remote
            .update_content(id, &UploadSource::new(&p))
            .await
            .unwrap();
    }

    pub async fn id_of(&self, name: &str) -> DriveId {
        let kids = self.remote.list_children(&self.root).await.unwrap();
        kids.into_iter().find(|f| f.name == name).unwrap().id
    }
}

pub fn rp(s: &str) -> RelPath {
    RelPath::new(s).unwrap()
}
/// The live loop of `r`'s pair over the fakes: its command sender, its status and its task.
pub fn spawn_loop(
    r: &Rig,
) -> (
    tokio::sync::mpsc::UnboundedSender<drivesync_engine::live::Command>,
    tokio::sync::watch::Receiver<drivesync_engine::live::PairStatus>,
    tokio::task::JoinHandle<()>,
) {
    use drivesync_engine::live::{run_pair, PairStatus, Timing};
    let pair = r.engine.pair().clone();
    let engine = Engine::new(
        r.remote.clone(),
        Arc::new(r.fs.clone()),
        r.db.clone(),
        pair.clone(),
    );
    let (commands, rx) = tokio::sync::mpsc::unbounded_channel();
    let (tx, status) = tokio::sync::watch::channel(PairStatus::starting(&pair));
    let task = tokio::spawn(run_pair(
        engine,
        Timing::default(),
        "testhost".into(),
        rx,
        tx,
    ));
    (commands, status, task)
}

/// Waits (in paused time) until the pair's published status satisfies `f`.
pub async fn status_until(
    rx: &mut tokio::sync::watch::Receiver<drivesync_engine::live::PairStatus>,
    f: impl Fn(&drivesync_engine::live::PairStatus) -> bool,
) -> drivesync_engine::live::PairStatus {
    loop {
        {
            let s = rx.borrow_and_update();
            if f(&s) {
                return s.clone();
            }
        }
        rx.changed().await.expect("the loop is running");
    }
}
