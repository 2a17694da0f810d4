//! Sync pairs and syncing them: add/list/remove a pair, run a sync, show status. Adapters from
//! the facade's configuration and signed-in account to `drivesync-engine` and
//! `drivesync-state`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Utc;
use drivesync_drive::{DriveId, NewFile, RemoteStore, FOLDER_MIME};
use drivesync_engine::{Engine, Events, StateSessions, SyncOptions, SyncReport};
use drivesync_localfs::StdFs;
use drivesync_state::{NewPair, Pair, PairSettings, StateDb};
use serde::Serialize;

use crate::{Drivesync, Error, InstanceLock};

/// A pair as front ends show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PairInfo {
    /// The pair's id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// The local folder.
    pub local: PathBuf,
    /// The Drive folder's path as given when it was added.
    pub drive_path: String,
    /// The Drive folder's id.
    pub drive_id: String,
    /// When it was last synced (RFC 3339).
    pub last_sync: Option<String>,
    /// Unresolved conflicts.
    pub conflicts: usize,
    /// Synced by `sync` and `run`.
    pub enabled: bool,
    /// Its settings.
    pub settings: PairSettings,
}

/// What to do in a sync.
#[derive(Debug, Clone, Copy, Default)]
pub struct SyncRequest {
    /// Plan only.
    pub dry_run: bool,
    /// Proceed even when the delete guard trips.
    pub force_deletes: bool,
}

pub(crate) fn host_name() -> String {
    std::env::var("DRIVESYNC_HOST")
        .ok()
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|s| s.trim().to_owned())
        })
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "this computer".to_owned())
}

impl Drivesync {
    /// The state database (in the data folder).
    pub fn state(&self) -> Result<Arc<StateDb>, Error> {
        Ok(Arc::new(StateDb::open(
            &self.config.data_dir.join("state.sqlite3"),
        )?))
    }

    fn info(&self, db: &StateDb, p: &Pair) -> Result<PairInfo, Error> {
        Ok(PairInfo {
            id: p.id.0,
            name: p.name.clone(),
            local: p.local_root.clone(),
            drive_path: p.remote_path.clone(),
            drive_id: p.remote_root.to_string(),
            last_sync: p.last_sync.map(|t| t.to_rfc3339()),
            conflicts: db.conflicts(Some(p.id))?.len(),
            enabled: p.settings.enabled,
            settings: p.settings.clone(),
        })
    }

    /// Adds a pair: the local folder `local` (created if missing) and the Drive folder `drive`,
    /// a path like `/Photos/2024` (folders created if missing) or `id:FILE_ID`.
    pub async fn pair_add(
        &self,
        local: &Path,
        drive: &str,
        name: Option<&str>,
    ) -> Result<PairInfo, Error> {
        std::fs::create_dir_all(local).map_err(|source| Error::Io {
            path: local.to_owned(),
            source,
        })?;
        let local = local.canonicalize().map_err(|source| Error::Io {
            path: local.to_owned(),
            source,
        })?;
        let remote = self.remote().await?;
        let (id, shown) = match drive.strip_prefix("id:") {
            Some(id) => {
                let f = remote.get(&DriveId::new(id)).await?;
                if f.mime_type != FOLDER_MIME || f.trashed {
                    return Err(Error::NoSuchPath(format!(
                        "{drive} is not a folder on Drive"
                    )));
                }
                let path = crate::desktop::folder_path(remote.as_ref(), &f.id).await?;
                (f.id, path)
            }
            None => (folder_at(remote.as_ref(), drive).await?, normalize(drive)),
        };
        let db = self.state()?;
        let default_name = local
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("pair")
            .to_owned();
        let new = NewPair {
            name: name.map_or(default_name, str::to_owned),
            local_root: local,
            remote_root: id,
            remote_path: shown,
            settings: PairSettings::default(),
        };
        let pair = db.add_pair(&new, Utc::now())?;
        // The folder as it is now is the pair's: an empty mount point or another folder at
        // its path later is never read as "everything was deleted".
        let fs = StdFs::new(pair.local_root.clone());
        if let Err(e) = drivesync_engine::anchor(&fs, &db, &pair).await {
            db.remove_pair(pair.id)?;
            return Err(e.into());
        }
        self.info(&db, &pair)
    }

    /// The unresolved conflicts of pair `id`.
    pub fn conflicts(&self, id: i64) -> Result<Vec<drivesync_state::Conflict>, Error> {
        Ok(self.state()?.conflicts(Some(drivesync_state::PairId(id)))?)
    }

    /// The pair with id `id`.
    pub fn pair_by_id(&self, id: i64) -> Result<Pair, Error> {
        self.state()?
            .pair(drivesync_state::PairId(id))?
            .ok_or_else(|| Error::NoSuchPair(id.to_string()))
    }

    /// The newest activity-log entries matching `query`.
    pub fn activity(
        &self,
        query: &drivesync_state::ActivityQuery,
    ) -> Result<Vec<drivesync_state::Activity>, Error> {
        Ok(self.state()?.activity(query)?)
    }

    /// Every pair.
    pub fn pairs(&self) -> Result<Vec<PairInfo>, Error> {
        let db = self.state()?;
        db.pairs()?.iter().map(|p| self.info(&db, p)).collect()
    }

    /// Changes the settings of a pair (by name or id) with `change`; they apply from its
    /// next sync. Returns the new settings.
    pub fn pair_configure(
        &self,
        which: &str,
        change: impl FnOnce(&mut PairSettings),
    ) -> Result<PairSettings, Error> {
        let db = self.state()?;
        let pair = db
            .find_pair(which)?
            .ok_or_else(|| Error::NoSuchPair(which.to_owned()))?;
        let mut settings = pair.settings.clone();
        change(&mut settings);
        db.set_settings(pair.id, &settings)?;
        Ok(settings)
    }

    /// Forgets a pair (by name or id) and its sync state. Never deletes files.
    pub fn pair_remove(&self, which: &str) -> Result<PairInfo, Error> {
        let db = self.state()?;
        let pair = db
            .find_pair(which)?
            .ok_or_else(|| Error::NoSuchPair(which.to_owned()))?;
        let info = self.info(&db, &pair)?;
        db.remove_pair(pair.id)?;
        Ok(info)
    }

    /// Syncs one pair (by name or id) or every enabled pair; progress goes to `events`.
    /// Returns one result per pair: a failing pair does not stop the others.
    pub async fn sync(
        &self,
        which: Option<&str>,
        req: SyncRequest,
        events: Events,
    ) -> Result<Vec<(PairInfo, Result<SyncReport, Error>)>, Error> {
        let db = self.state()?;
        let pairs = match which {
            Some(w) => vec![db
                .find_pair(w)?
                .ok_or_else(|| Error::NoSuchPair(w.to_owned()))?],
            None => db
                .pairs()?
                .into_iter()
                .filter(|p| p.settings.enabled)
                .collect(),
        };
        if pairs.is_empty() {
            return Err(Error::NoPairs);
        }
        // A dry run changes nothing, so it may run beside `drivesync run`; a sync may not.
        let _lock = if req.dry_run {
            None
        } else {
            Some(InstanceLock::acquire(&self.config.data_dir)?)
        };
        let remote = self.remote_with(Some(db.clone())).await?;
        let opts = SyncOptions {
            dry_run: req.dry_run,
            force_deletes: req.force_deletes,
            now: Utc::now(),
            host: host_name(),
        };
        let mut out = Vec::new();
        for pair in pairs {
            let fs = Arc::new(StdFs::new(pair.local_root.clone()));
            let engine = Engine::new(remote.clone(), fs, db.clone(), pair.clone())
                .with_events(events.clone());
            let result = engine.sync(&opts).await.map_err(Error::from);
            let fresh = db.pair(pair.id)?.unwrap_or(pair);
            out.push((self.info(&db, &fresh)?, result));
        }
        Ok(out)
    }

    pub(crate) async fn remote(&self) -> Result<Arc<dyn RemoteStore>, Error> {
        self.remote_with(None).await
    }

    pub(crate) async fn remote_with(
        &self,
        db: Option<Arc<StateDb>>,
    ) -> Result<Arc<dyn RemoteStore>, Error> {
        let mut drive = self.drive(self.session().await?)?;
        if let Some(db) = db {
            drive = drive.with_sessions(Arc::new(StateSessions(db)));
        }
        Ok(Arc::new(drive))
    }
}

fn normalize(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    format!("/{}", parts.join("/"))
}

/// The folder at `path` under My Drive, creating missing folders.
async fn folder_at(remote: &dyn RemoteStore, path: &str) -> Result<DriveId, Error> {
    let mut current = remote.get(&DriveId::new("root")).await?.id;
    for name in path.split('/').filter(|s| !s.is_empty()) {
        let kids = remote.list_children(&current).await?;
        current = match kids
            .into_iter()
            .find(|f| f.name == name && f.mime_type == FOLDER_MIME)
        {
            Some(f) => f.id,
            None => remote.create_folder(&NewFile::new(current, name)).await?.id,
        };
    }
    Ok(current)
}
