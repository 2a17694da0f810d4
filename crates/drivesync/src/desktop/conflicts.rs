//! Settling a conflict from the app: keep the local version, the other side's, or both.
//! The version dropped goes to the trash (never deleted); the running sync then carries the
//! change to Drive like any local edit.

use std::sync::Arc;

use chrono::Utc;
use drivesync_localfs::{Expect, FsError, FsKind, LocalFs, StdFs};
use drivesync_model::RelPath;
use drivesync_state::{Conflict, ConflictId, Resolution};

use crate::{Drivesync, Error};

fn fs_error(e: FsError) -> Error {
    Error::Invalid(format!("{e}; nothing was changed"))
}

/// The file at `path`, which must be a regular file.
async fn file_stamp(fs: &dyn LocalFs, path: &RelPath) -> Result<Expect, Error> {
    match fs.stat(path).await.map_err(fs_error)? {
        Some(m) if m.kind == FsKind::File => Ok(Expect::Stamp(m.stamp)),
        Some(_) => Err(Error::Invalid(format!(
            "{} is not a file any more: settle it by hand in the folder",
            fs.root().join(path.as_str()).display()
        ))),
        None => Err(Error::Invalid(format!(
            "{} is gone: nothing to keep; choose \"keep both\" to clear the conflict",
            fs.root().join(path.as_str()).display()
        ))),
    }
}

impl Drivesync {
    /// Every unresolved conflict of every pair, newest first.
    pub fn all_conflicts(&self) -> Result<Vec<Conflict>, Error> {
        Ok(self.state()?.conflicts(None)?)
    }

    /// Settles conflict `id`: `KeepMine` puts the local version (the copy) at the original
    /// path and trashes the other; `KeepTheirs` trashes the copy; `KeepBoth` only clears it
    /// from the list. Each file is re-checked first; the conflict stays listed if anything
    /// fails.
    pub async fn resolve_conflict(&self, id: i64, how: Resolution) -> Result<(), Error> {
        let db = self.state()?;
        let conflict = db
            .conflicts(None)?
            .into_iter()
            .find(|c| c.id.0 == id)
            .ok_or(Error::NoSuchConflict(id))?;
        let pair = db
            .pair(conflict.pair)?
            .ok_or_else(|| Error::NoSuchPair(conflict.pair.0.to_string()))?;
        let fs: Arc<dyn LocalFs> = Arc::new(StdFs::new(pair.local_root.clone()));
        match how {
            Resolution::KeepBoth => {}
            Resolution::KeepTheirs => {
                let copy = file_stamp(fs.as_ref(), &conflict.copy).await?;
                fs.trash(&conflict.copy, copy).await.map_err(fs_error)?;
            }
            Resolution::KeepMine => {
                let copy = file_stamp(fs.as_ref(), &conflict.copy).await?;
                if fs.stat(&conflict.path).await.map_err(fs_error)?.is_some() {
                    let theirs = file_stamp(fs.as_ref(), &conflict.path).await?;
                    fs.trash(&conflict.path, theirs).await.map_err(fs_error)?;
                }
                fs.rename(&conflict.copy, &conflict.path, copy)
                    .await
                    .map_err(fs_error)?;
            }
        }
        if !db.resolve_conflict(ConflictId(id), how, Utc::now())? {
            return Err(Error::NoSuchConflict(id));
        }
        Ok(())
    }
}
