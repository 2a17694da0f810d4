//! The re-checks an op makes right before it acts: Drive still has what the plan saw, a
//! move's source and destination are still as planned, the local side did not change.

use drivesync_drive::{DriveError, File, Relocation};
use drivesync_localfs::FsKind;
use drivesync_model::{BaseEntry, DriveId, LocalStamp, Md5, RelPath, RemoteEntry, Tree};
use drivesync_state::NewConflict;

use super::Exec;
use crate::events::Event;
use crate::OpError;

impl Exec<'_> {
    /// Where Drive had file `id` in the pair when the sync was planned.
    pub fn planned_path(&self, id: &DriveId) -> Option<&RelPath> {
        self.alive
            .get_or_init(|| {
                self.planned_remote
                    .iter()
                    .map(|(p, r)| (r.id.clone(), p.clone()))
                    .collect()
            })
            .get(id)
    }

    /// Re-checks on Drive, right before trashing, that file `id` is still the version the
    /// plan saw (or a newer one this sync made): an edit made on Drive since is never trashed.
    pub(super) async fn check_remote_unchanged(
        &self,
        path: &RelPath,
        id: &DriveId,
        planned: u64,
    ) -> Result<(), OpError> {
        let expected = self.fresh_entry(id).map_or(planned, |e| e.version);
        match self.remote.get(id).await {
            Ok(f) if f.is_folder() && !f.trashed => self.check_folder_unchanged(path, id).await,
            Ok(f) if f.trashed || f.version.unwrap_or(0) <= expected => Ok(()),
            Ok(_) => Err(OpError::new(
                path,
                "it changed on Drive since the sync was planned; not deleting it (the next sync handles it)",
            )),
            Err(DriveError::NotFound { .. }) => Ok(()),
            Err(e) => Err(OpError::drive(path, e)),
        }
    }

    /// Drive's metadata of file `id` now (for the op at `path`).
    pub(super) async fn drive_file(&self, path: &RelPath, id: &DriveId) -> Result<File, OpError> {
        self.remote
            .get(id)
            .await
            .map_err(|e| OpError::drive(path, e))
    }

    /// What this sync learnt of Drive file `id` from Drive's answers.
    pub(super) fn fresh_entry(&self, id: &DriveId) -> Option<RemoteEntry> {
        self.fresh
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    /// Drive file `id` as this sync last knew it: from Drive's answers during the sync, else
    /// as planned.
    pub(super) fn known(&self, id: &DriveId) -> Option<RemoteEntry> {
        self.fresh_entry(id).or_else(|| {
            self.planned_path(id)
                .and_then(|at| self.planned_remote.get(at))
                .cloned()
        })
    }

    /// Re-checks, right before a Drive move, that file `id` is still in `parent` (another
    /// device may have moved it since the plan) and that the folder it goes to, `dest`, is
    /// not in Drive's trash (another device may have trashed it: what moves in goes to the
    /// trash with it). Both are read at once.
    pub(super) async fn check_move(
        &self,
        path: &RelPath,
        id: &DriveId,
        parent: &DriveId,
        dest: Option<&DriveId>,
    ) -> Result<(), OpError> {
        let dest_file = async {
            match dest {
                Some(d) => Some(self.drive_file(path, d).await),
                None => None,
            }
        };
        let (f, d) = futures_util::future::join(self.drive_file(path, id), dest_file).await;
        let f = f?;
        if f.trashed || f.parents.first() != Some(parent) {
            return Err(OpError::new(
                path,
                "it moved on Drive since the sync was planned; not moving it (the next sync handles it)",
            ));
        }
        if d.transpose()?.is_some_and(|d| d.trashed) {
            return Err(OpError::new(
                path,
                "the Drive folder it was to move to was moved to Drive's trash meanwhile; not \
                 moving it (the next sync handles it)",
            ));
        }
        Ok(())
    }

    /// Re-checks, right before trashing the Drive folder `id`, that nothing the plan saw
    /// moved into it since (another device moving a file of the pair there) and that nothing
    /// in it changed: trashing the folder would take that file along. What the plan never
    /// saw (ignored files, files from outside the pair) goes to Drive's trash with the
    /// folder, as before.
    pub(super) async fn check_folder_unchanged(
        &self,
        path: &RelPath,
        id: &DriveId,
    ) -> Result<(), OpError> {
        let inside = self
            .remote
            .list_tree(id)
            .await
            .map_err(|e| OpError::drive(path, e))?;
        let at = self
            .planned_path(id)
            .cloned()
            .unwrap_or_else(|| path.clone());
        let changed = inside.iter().find(|f| {
            let Some(planned) = self.planned_path(&f.id) else {
                return false;
            };
            if !planned.starts_with(&at) {
                return true;
            }
            let expected = self.known(&f.id).map_or(0, |e| e.version);
            !f.is_folder() && f.version.unwrap_or(0) > expected
        });
        match changed {
            Some(f) => Err(OpError::new(
                path,
                format!(
                    "{:?} moved into it or changed on Drive since the sync was planned; not deleting the folder (the next sync handles it)",
                    f.name
                ),
            )),
            None => Ok(()),
        }
    }

    /// Re-checks, right before replacing its content, that file `id` on Drive still has the
    /// content of the synced tree: a Drive edit made since becomes a conflict at the next
    /// sync instead of a silently older revision.
    pub(super) async fn check_remote_content(
        &self,
        path: &RelPath,
        id: &DriveId,
        synced: Option<Md5>,
    ) -> Result<(), OpError> {
        let f = self.drive_file(path, id).await?;
        if f.md5_checksum != synced {
            return Err(OpError::new(
                path,
                "it changed on Drive too since the sync was planned; the next sync keeps both versions",
            ));
        }
        Ok(())
    }

    /// A rename on Drive of `id` (synced as `b` at `from`) landed in a folder another device
    /// had just moved the file into, after the re-check: in that folder the new name may be
    /// taken, and the rename was meant for the old one. It is undone (the name the plan saw
    /// is put back), and the next sync mirrors the other device's move instead. Returns the
    /// op's error.
    pub(super) async fn undo_rename(&self, from: &RelPath, id: &DriveId, b: &BaseEntry) -> OpError {
        let name = self
            .known(id)
            .map_or_else(|| b.remote_name.clone(), |e| e.name);
        let back = Relocation {
            name: Some(name),
            parent: None,
        };
        match self.remote.relocate(id, &back).await {
            Ok(_) => OpError::new(
                from,
                "another device moved it on Drive while drivesync renamed it there; the rename was undone and the next sync follows the move",
            ),
            Err(e) => OpError::new(
                from,
                format!("another device moved it on Drive while drivesync renamed it there, and undoing the rename failed ({e}); the next sync follows the move"),
            ),
        }
    }

    /// Records in the conflicts list that `path`'s local version was kept as `copy`.
    pub(super) fn conflict(&self, path: &RelPath, copy: &RelPath) -> Result<(), OpError> {
        self.db.add_conflict(
            self.pair,
            &NewConflict {
                at: self.now,
                path: path.clone(),
                copy: copy.clone(),
                host: self.host.to_owned(),
            },
        )?;
        self.events.send(Event::Conflict {
            path: path.clone(),
            copy: copy.clone(),
        });
        Ok(())
    }

    /// Every file under `path` must still have the stamp the plan saw, and no other file may
    /// have appeared: otherwise nothing is trashed.
    pub(super) async fn verify_subtree(
        &self,
        path: &RelPath,
        expect: &Tree<LocalStamp>,
    ) -> Result<(), OpError> {
        let mut pending = vec![path.clone()];
        while let Some(p) = pending.pop() {
            let Some(meta) = self.fs.stat(&p).await.map_err(|e| OpError::fs(&p, e))? else {
                continue;
            };
            match meta.kind {
                FsKind::Folder => {
                    let listing = self.fs.list_dir(&p).await.map_err(|e| OpError::fs(&p, e))?;
                    if !listing.skipped.is_empty() {
                        return Err(OpError::new(&p, "it holds files drivesync cannot name; not deleting it"));
                    }
                    for (name, _) in listing.entries {
                        if let Ok(child) = p.join(&name) {
                            pending.push(child);
                        }
                    }
                }
                _ if expect.get(&p) == Some(&meta.stamp) => {}
                _ => {
                    return Err(OpError::new(
                        &p,
                        "it changed or appeared locally since the sync was planned; not deleting it (the next sync handles it)",
                    ))
                }
            }
        }
        Ok(())
    }
}
