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

use crate::{overlap, Drivesync, Error, InstanceLock};

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
    /// drivesync's own folders inside the pair's folder, never synced (a home folder pair).
    pub left_out: Vec<String>,
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
            left_out: overlap::left_out(&p.local_root, &self.config.own_paths())
                .iter()
                .map(|r| r.to_string())
                .collect(),
        })
    }

    /// Adds a pair: the local folder `local` (created if missing) and the Drive folder `drive`,
    /// a path like `/Photos/2024` (folders created if missing) or `id:FILE_ID`. Refuses a
    /// local folder inside drivesync's own folders, and folders (local or on Drive) that
    /// equal, contain or lie inside another pair's ([`Error::Overlap`]); drivesync's own
    /// folders inside `local` are left out of the pair ([`PairInfo::left_out`]).
    pub async fn pair_add(
        &self,
        local: &Path,
        drive: &str,
        name: Option<&str>,
    ) -> Result<PairInfo, Error> {
        let io = |source| Error::Io {
            path: local.to_owned(),
            source,
        };
        let db = self.state()?;
        let pairs = db.pairs()?;
        let own = self.config.own_paths();
        let local_clash = |at: &Path| match overlap::local_clash(at, &own, &pairs, None) {
            Some(c) => Err(Error::Overlap(c.message(&at.display().to_string()))),
            None => Ok(()),
        };
        local_clash(&overlap::canonical(
            &std::path::absolute(local).map_err(io)?,
        ))?;
        let remote = self.remote().await?;
        let others = drive_chains(remote.as_ref(), &pairs).await;
        let drive_clash = |chain: &[DriveId]| match overlap::drive_clash(chain, &others) {
            Some(c) => Err(Error::Overlap(
                c.message(&format!("the Drive folder {drive}")),
            )),
            None => Ok(()),
        };
        let (id, shown) = match drive.strip_prefix("id:") {
            Some(id) => {
                let f = remote.get(&DriveId::new(id)).await?;
                if f.mime_type != FOLDER_MIME || f.trashed {
                    return Err(Error::NoSuchPath(format!(
                        "{drive} is not a folder on Drive"
                    )));
                }
                drive_clash(&overlap::drive_chain(remote.as_ref(), &f.id).await?)?;
                let path = crate::desktop::folder_path(remote.as_ref(), &f.id).await?;
                (f.id, path)
            }
            None => {
                let (found, missing) = existing_part(remote.as_ref(), drive).await?;
                let mut chain = overlap::drive_chain(remote.as_ref(), &found).await?;
                if !missing.is_empty() {
                    // A folder still to create: it can only lie inside another pair's.
                    chain.insert(0, DriveId::new(""));
                }
                drive_clash(&chain)?;
                let id = create_rest(remote.as_ref(), found, &missing).await?;
                (id, normalize(drive))
            }
        };
        std::fs::create_dir_all(local).map_err(io)?;
        let local = local.canonicalize().map_err(io)?;
        local_clash(&local)?;
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

    /// An engine for `pair`, with drivesync's own folders inside it left out.
    pub(crate) fn engine(
        &self,
        remote: Arc<dyn RemoteStore>,
        db: Arc<StateDb>,
        pair: &Pair,
    ) -> Engine {
        let fs = Arc::new(StdFs::new(pair.local_root.clone()));
        let left_out = overlap::left_out(&pair.local_root, &self.config.own_paths());
        Engine::new(remote, fs, db, pair.clone()).leaving_out(left_out)
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
            let engine = self
                .engine(remote.clone(), db.clone(), &pair)
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

/// The deepest folder of `path` (under My Drive) that exists, and the names below it that
/// do not.
async fn existing_part<'a>(
    remote: &dyn RemoteStore,
    path: &'a str,
) -> Result<(DriveId, Vec<&'a str>), Error> {
    let mut current = remote.get(&DriveId::new("root")).await?.id;
    let mut names = path.split('/').filter(|s| !s.is_empty());
    for name in names.by_ref() {
        let kids = remote.list_children(&current).await?;
        match kids
            .into_iter()
            .find(|f| f.name == name && f.mime_type == FOLDER_MIME)
        {
            Some(f) => current = f.id,
            None => return Ok((current, std::iter::once(name).chain(names).collect())),
        }
    }
    Ok((current, Vec::new()))
}

/// Creates the folders `names` one in the other under `parent`; the last one's id.
async fn create_rest(
    remote: &dyn RemoteStore,
    parent: DriveId,
    names: &[&str],
) -> Result<DriveId, Error> {
    let mut current = parent;
    for name in names {
        current = remote
            .create_folder(&NewFile::new(current, *name))
            .await?
            .id;
    }
    Ok(current)
}

/// The Drive folder of each pair with its parents, for [`overlap::drive_clash`]; a pair whose
/// folder cannot be read (trashed, gone) is left out.
pub(crate) async fn drive_chains<'p>(
    remote: &dyn RemoteStore,
    pairs: &'p [Pair],
) -> Vec<(&'p Pair, Vec<DriveId>)> {
    let mut out = Vec::new();
    for p in pairs {
        match overlap::drive_chain(remote, &p.remote_root).await {
            Ok(chain) => out.push((p, chain)),
            Err(e) => tracing::warn!(pair = %p.name, "cannot read its Drive folder: {e}"),
        }
    }
    out
}
