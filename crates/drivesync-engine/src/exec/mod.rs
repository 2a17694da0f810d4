//! Executing one [`Op`]: the IO it stands for, re-checking what it expects first, and the
//! synced-tree changes to commit when it succeeded.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use chrono::{DateTime, Utc};
use drivesync_drive::{DriveError, File, NewFile, Relocation, RemoteStore, Reparent};
use drivesync_localfs::{Expect, FsError, FsKind, LocalFs, Meta};
use drivesync_model::{
    BaseEntry, DriveId, Kind, LocalStamp, Md5, PairId, RelPath, RemoteEntry, RootId, Tree,
};
use drivesync_reconcile::{base_of, is_export, moved_base, office_export, Op};
use drivesync_state::{ActivityKind, BaseChange, StateDb};
use md5::{Digest, Md5 as Md5Hasher};

use crate::events::Events;
use crate::observe::entry_of;
use crate::OpError;

mod checks;
mod transfer;

/// What a finished op did.
pub(crate) struct Done {
    pub kind: ActivityKind,
    pub message: String,
    pub changes: Vec<BaseChange>,
    pub bytes: u64,
}

/// Everything an op needs; shared by the ops of one sync.
pub(crate) struct Exec<'a> {
    pub remote: &'a dyn RemoteStore,
    pub fs: &'a dyn LocalFs,
    pub db: &'a StateDb,
    pub pair: PairId,
    pub root: &'a DriveId,
    pub planned_remote: &'a Tree<RemoteEntry>,
    /// The pair folder's identity when the sync was planned: an op that writes locally
    /// first checks the folder is still that one (a disk unplugged during the sync).
    pub root_id: RootId,
    pub base: Mutex<Tree<BaseEntry>>,
    /// Drive metadata learnt from responses during this sync, newer than the plan's.
    pub fresh: Mutex<HashMap<DriveId, RemoteEntry>>,
    /// The paths of `planned_remote` by id, built when first needed.
    pub alive: OnceLock<HashMap<DriveId, RelPath>>,
    /// Where the ops of this sync recorded each Drive id (the last path put).
    pub recorded: Mutex<HashMap<DriveId, RelPath>>,
    /// Commits finished ops.
    pub group: crate::group::GroupCommit,
    /// The ids stored for this plan's creates, coming while the ops run.
    pub ids: crate::ids::Ids,
    /// One permit per op at work (the pair's concurrency).
    pub slots: tokio::sync::Semaphore,
    /// Small files read for their uploads in groups.
    pub ahead: crate::readahead::ReadAhead,
    pub now: DateTime<Utc>,
    pub host: &'a str,
    pub events: &'a Events,
}

/// The content of the link file for a Google Doc or shortcut (as Drive for desktop writes).
pub fn link_content(remote: &RemoteEntry) -> Vec<u8> {
    let url = format!("https://drive.google.com/open?id={}", remote.id);
    let v = serde_json::json!({
        "url": url,
        "doc_id": remote.id.as_str(),
        "mime_type": remote.mime_type,
    });
    let mut out = serde_json::to_vec_pretty(&v).unwrap_or_default();
    out.push(b'\n');
    out
}

fn stamp_of(meta: &Meta) -> LocalStamp {
    meta.stamp
}

impl Exec<'_> {
    fn fresh(&self, planned: &RemoteEntry) -> RemoteEntry {
        self.fresh_entry(&planned.id)
            .unwrap_or_else(|| planned.clone())
    }

    /// Keeps Drive's answer `f` about a file this sync wrote as its newest metadata, at the
    /// place (`parent`, `name`) this sync meant for it. If the answer has it elsewhere,
    /// another device moved it meanwhile: the synced tree records the place it was synced
    /// at, so the next sync sees that move and mirrors it instead of taking it as done.
    fn learn(&self, f: &File, parent: &DriveId, name: &str) -> Option<RemoteEntry> {
        let mut e = entry_of(f)?;
        e.parent = parent.clone();
        e.name = name.to_owned();
        self.fresh
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(e.id.clone(), e.clone());
        Some(e)
    }

    fn base_at(&self, p: &RelPath) -> Option<BaseEntry> {
        self.base
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(p)
            .cloned()
    }

    /// The Drive id of the folder that holds `p`: the synced tree's, else the one Drive had
    /// at planning time (a folder both sides created, recorded later in the plan).
    fn parent_id(&self, p: &RelPath) -> Result<DriveId, OpError> {
        let Some(parent) = p.parent().filter(|q| !q.is_root()) else {
            return Ok(self.root.clone());
        };
        if let Some(b) = self.base_at(&parent).filter(|b| b.kind == Kind::Folder) {
            return Ok(b.id);
        }
        match self.planned_remote.get(&parent) {
            Some(r) if r.kind == Kind::Folder => Ok(r.id.clone()),
            _ => Err(OpError::new(
                p,
                "its folder is not on Drive yet (creating it failed); it will be retried at the next sync",
            )),
        }
    }

    /// The error of a failed create at `p`. When Drive refuses the pre-generated id itself
    /// (`fileIdNotUsable`), the id is dropped so the next attempt gets a fresh one.
    fn create_failed(&self, p: &RelPath, e: DriveError) -> OpError {
        // `fileIdInUse`: a create with this id already happened (its answer lost) and the
        // file changed since; the next sync sees that file through the feed, and a new id
        // makes the create again instead of failing forever.
        if matches!(e.reason(), Some("fileIdNotUsable" | "fileIdInUse")) {
            if let Err(err) = self.db.clear_pending_id(self.pair, p) {
                tracing::warn!(%p, "cannot drop an unusable Drive id: {err}");
            }
        }
        OpError::drive(p, e)
    }

    /// A pre-generated id for a create at `p`, stored before the create so a create redone
    /// after a crash reuses it and never makes a duplicate.
    async fn create_id(&self, p: &RelPath) -> Result<DriveId, OpError> {
        if let Some(id) = self.ids.wait_for(p).await {
            return Ok(id);
        }
        if let Some(id) = self.db.pending_id(self.pair, p)? {
            return Ok(id);
        }
        let id = self
            .remote
            .generate_ids(1)
            .await
            .map_err(|e| OpError::drive(p, e))?
            .pop()
            .ok_or_else(|| OpError::new(p, "Drive returned no id"))?;
        self.db.set_pending_id(self.pair, p, &id)?;
        Ok(id)
    }

    fn vanished(&self, p: &RelPath) -> OpError {
        OpError::new(
            p,
            "it disappeared locally; it will be synced at the next sync",
        )
    }

    fn changed(&self, p: &RelPath) -> OpError {
        OpError::new(
            p,
            "it changed locally since the sync was planned; it will be synced at the next sync",
        )
    }

    async fn local_stamp(&self, p: &RelPath) -> Result<LocalStamp, OpError> {
        match self.fs.stat(p).await.map_err(|e| OpError::fs(p, e))? {
            Some(m) => Ok(stamp_of(&m)),
            None => Err(self.vanished(p)),
        }
    }

    /// Fails with [`FsError::RootMissing`] (which holds the pair) unless the pair's folder
    /// is still the one the sync was planned on.
    async fn same_root(&self, p: &RelPath) -> Result<(), OpError> {
        match self.fs.root_id().await {
            Ok(Some(now)) if now == self.root_id => Ok(()),
            Ok(_) => {
                let root = self.fs.root().to_path_buf();
                Err(OpError::fs(p, FsError::RootMissing { root }))
            }
            Err(e) => Err(OpError::fs(p, e)),
        }
    }

    /// Runs `op`.
    pub async fn run(&self, op: &Op) -> Result<Done, OpError> {
        if !op.local_paths().is_empty() {
            self.same_root(op.path()).await?;
        }
        match op {
            Op::MoveLocal { from, to, remote } => {
                let meta = self
                    .fs
                    .rename(from, to, Expect::Any)
                    .await
                    .map_err(|e| OpError::fs(from, e))?;
                // The synced stamp stays: a rename keeps a file's stamp, so a local edit
                // made before the move still differs from it and is read at the next scan.
                let fresh = self.fresh(remote);
                let entry = match self.base_at(from) {
                    Some(b) => moved_base(&b, &fresh, to, b.local),
                    None if meta.kind == FsKind::Folder => base_of(&fresh, stamp_of(&meta), None),
                    // No synced stamp: one no file has, so the next scan reads it.
                    None => {
                        let unknown = LocalStamp {
                            size: u64::MAX,
                            mtime_ns: 0,
                            file_id: 0,
                        };
                        base_of(&fresh, unknown, None)
                    }
                };
                Ok(done(
                    ActivityKind::Moved,
                    format!("moved locally from {from} (as on Drive)"),
                    vec![
                        BaseChange::Move {
                            from: from.clone(),
                            to: to.clone(),
                        },
                        BaseChange::Put(to.clone(), entry),
                    ],
                ))
            }
            Op::MoveRemote { from, to, id, name } => {
                let b = self
                    .base_at(from)
                    .ok_or_else(|| OpError::new(from, "not in the synced tree"))?;
                let new_parent = self.parent_id(to)?;
                // The folder Drive had it in when the sync was planned: the synced one, or
                // another folder now at the same path (the path is what the plan compared).
                let now_in = self
                    .known(id)
                    .map_or_else(|| b.parent.clone(), |e| e.parent);
                let reloc = Relocation {
                    name: Some(name.clone()),
                    parent: (new_parent != now_in).then(|| Reparent {
                        from: now_in.clone(),
                        to: new_parent,
                    }),
                };
                let to_parent = reloc.parent.as_ref().map_or(&now_in, |r| &r.to).clone();
                let dest = reloc.parent.as_ref().map(|r| &r.to);
                self.check_move(from, id, &now_in, dest).await?;
                let f = self
                    .remote
                    .relocate(id, &reloc)
                    .await
                    .map_err(|e| OpError::drive(from, e))?;
                if reloc.parent.is_none() && !f.parents.contains(&now_in) {
                    return Err(self.undo_rename(from, id, &b).await);
                }
                let fresh = self
                    .learn(&f, &to_parent, name)
                    .ok_or_else(|| OpError::new(to, "Drive returned it without a parent"))?;
                let entry = moved_base(&b, &fresh, to, b.local);
                Ok(done(
                    ActivityKind::Moved,
                    format!("moved on Drive from {from}"),
                    vec![
                        BaseChange::Move {
                            from: from.clone(),
                            to: to.clone(),
                        },
                        BaseChange::Put(to.clone(), entry),
                    ],
                ))
            }
            Op::RecordMove { from, to, remote } => {
                let b = self
                    .base_at(from)
                    .ok_or_else(|| OpError::new(from, "not in the synced tree"))?;
                let entry = moved_base(&b, &self.fresh(remote), to, b.local);
                Ok(done(
                    ActivityKind::Moved,
                    format!("moved from {from} on both sides"),
                    vec![
                        BaseChange::Move {
                            from: from.clone(),
                            to: to.clone(),
                        },
                        BaseChange::Put(to.clone(), entry),
                    ],
                ))
            }
            Op::ConflictCopy { path, copy, expect } => {
                self.fs
                    .rename(path, copy, Expect::Stamp(*expect))
                    .await
                    .map_err(|e| OpError::fs(path, e))?;
                self.conflict(path, copy)?;
                Ok(done(
                    ActivityKind::Conflict,
                    format!("changed on both sides: your version is kept as {copy}"),
                    vec![],
                ))
            }
            Op::RenameRemoteAside {
                path,
                copy,
                id,
                name,
            } => {
                let reloc = Relocation {
                    name: Some(name.clone()),
                    parent: None,
                };
                let f = self
                    .remote
                    .relocate(id, &reloc)
                    .await
                    .map_err(|e| OpError::drive(path, e))?;
                if let Some(planned) = self.planned_remote.get(path).filter(|r| r.id == *id) {
                    self.learn(&f, &planned.parent, name);
                }
                self.conflict(path, copy)?;
                let changes = match self.base_at(path) {
                    Some(b) if b.id == *id => vec![BaseChange::Remove(path.clone())],
                    _ => vec![],
                };
                Ok(done(
                    ActivityKind::Conflict,
                    format!("a file on Drive and a local folder share this name: Drive's file is kept as {copy}"),
                    changes,
                ))
            }
            Op::MkdirLocal { path, remote, .. } => {
                let meta = self
                    .fs
                    .create_dir(path)
                    .await
                    .map_err(|e| OpError::fs(path, e))?;
                let entry = base_of(&self.fresh(remote), stamp_of(&meta), None);
                Ok(done(
                    ActivityKind::FolderCreated,
                    "folder created locally".into(),
                    vec![BaseChange::Put(path.clone(), entry)],
                ))
            }
            Op::MkdirRemote { path, name, .. } => {
                let stamp = self.local_stamp(path).await?;
                let parent = self.parent_id(path)?;
                let id = self.create_id(path).await?;
                let new = NewFile::new(parent.clone(), name.clone()).with_id(id);
                let f = self
                    .remote
                    .create_folder(&new)
                    .await
                    .map_err(|e| self.create_failed(path, e))?;
                let e = self
                    .learn(&f, &parent, name)
                    .ok_or_else(|| OpError::new(path, "Drive returned it without a parent"))?;
                Ok(done(
                    ActivityKind::FolderCreated,
                    "folder created on Drive".into(),
                    vec![BaseChange::Put(path.clone(), base_of(&e, stamp, None))],
                ))
            }
            Op::Upload {
                path,
                name,
                replace,
                expect,
                md5,
            } => {
                let unread = md5.is_none();
                self.upload(path, name, replace.as_ref(), expect, unread)
                    .await
            }
            Op::Download {
                path,
                remote,
                expect,
            } => self.download(path, remote, *expect).await,
            Op::WriteLink {
                path,
                remote,
                expect,
            } => {
                let export = office_export(&remote.mime_type)
                    .filter(|_| is_export(path.name(), &remote.mime_type));
                let (bytes, what) = match export {
                    Some((_, mime)) => {
                        let mut bytes = Vec::new();
                        self.remote
                            .export(&remote.id, mime, &mut bytes)
                            .await
                            .map_err(|e| OpError::drive(path, e))?;
                        (bytes, "exported from the Google file")
                    }
                    None => (link_content(remote), "link to the Google file written"),
                };
                let expect = expect.map_or(Expect::Absent, Expect::Stamp);
                let meta = self
                    .fs
                    .write_new(path, &bytes, expect, remote.modified)
                    .await
                    .map_err(|e| OpError::fs(path, e))?;
                let md5 = Md5(Md5Hasher::digest(&bytes).into());
                let entry = base_of(&self.fresh(remote), stamp_of(&meta), Some(md5));
                Ok(done(
                    ActivityKind::Downloaded,
                    format!("{what} ({})", remote.mime_type),
                    vec![BaseChange::Put(path.clone(), entry)],
                ))
            }
            Op::TrashLocal { path, expect, .. } => {
                self.verify_subtree(path, expect).await?;
                let how = match self.fs.stat(path).await.map_err(|e| OpError::fs(path, e))? {
                    Some(m) if m.kind == FsKind::File => match expect.get(path) {
                        Some(s) => Expect::Stamp(*s),
                        None => Expect::Any,
                    },
                    _ => Expect::Any,
                };
                let trashed = self
                    .fs
                    .trash(path, how)
                    .await
                    .map_err(|e| OpError::fs(path, e))?;
                let msg = match trashed {
                    drivesync_localfs::Trashed::Os => {
                        "deleted on Drive: moved to the trash locally".to_owned()
                    }
                    drivesync_localfs::Trashed::Fallback(p) => {
                        format!("deleted on Drive: moved to {}", p.display())
                    }
                };
                Ok(done(
                    ActivityKind::TrashedLocal,
                    msg,
                    vec![BaseChange::Remove(path.clone())],
                ))
            }
            Op::TrashRemote {
                path, id, version, ..
            } => {
                self.check_remote_unchanged(path, id, *version).await?;
                match self.remote.trash(id).await {
                    Ok(_) => {}
                    Err(DriveError::NotFound { .. }) => {}
                    Err(e) => return Err(OpError::drive(path, e)),
                }
                Ok(done(
                    ActivityKind::TrashedRemote,
                    "deleted locally: moved to Drive's trash".into(),
                    vec![BaseChange::Remove(path.clone())],
                ))
            }
            Op::Record {
                path,
                remote,
                local,
                md5,
            } => {
                let entry = base_of(&self.fresh(remote), *local, *md5);
                Ok(done(
                    ActivityKind::Info,
                    "already the same on both sides".into(),
                    vec![BaseChange::Put(path.clone(), entry)],
                ))
            }
            Op::Forget { path } => Ok(done(
                ActivityKind::Info,
                "deleted on both sides".into(),
                vec![BaseChange::Remove(path.clone())],
            )),
        }
    }
}

fn done(kind: ActivityKind, message: String, changes: Vec<BaseChange>) -> Done {
    Done {
        kind,
        message,
        changes,
        bytes: 0,
    }
}
