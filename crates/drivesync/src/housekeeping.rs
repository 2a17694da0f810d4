//! What grows without bound is pruned when a running drivesync starts and once a day: the
//! activity log, stored upload sessions (Drive forgets them within a week anyway) and each
//! pair's fallback trash (`.drivesync-trash`, kept 30 days, as an OS trash would). The log
//! files keep 7 days by themselves (`logs.rs`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use drivesync_localfs::StdFs;
use drivesync_state::StateDb;

use crate::{Drivesync, Error};

/// Activity entries are kept this many days.
pub const ACTIVITY_DAYS: i64 = 90;
/// Stored resumable upload sessions are kept this many days (Drive's own limit is a week).
pub const UPLOAD_SESSION_DAYS: i64 = 7;
/// What went to `.drivesync-trash` is kept this many days.
pub const FALLBACK_TRASH_DAYS: i64 = 30;
/// How often a running drivesync prunes.
pub const EVERY: Duration = Duration::from_secs(24 * 3600);

/// What one pruning removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Activity entries deleted.
    pub activity: u64,
    /// Upload sessions forgotten.
    pub upload_sessions: u64,
    /// Fallback-trash folders emptied.
    pub trash_folders: usize,
}

impl Drivesync {
    /// Prunes the activity log, old upload sessions and the old fallback trash of every pair
    /// whose folder is its own (never an unmounted disk's mount point), as of `now`.
    pub async fn prune(&self, db: &StateDb, now: DateTime<Utc>) -> Result<Pruned, Error> {
        let days = chrono::Duration::days;
        let mut out = Pruned {
            activity: db.prune_activity(now - days(ACTIVITY_DAYS))?,
            upload_sessions: db.prune_upload_sessions(now - days(UPLOAD_SESSION_DAYS))?,
            trash_folders: 0,
        };
        for pair in db.pairs()? {
            let fs = StdFs::new(pair.local_root.clone());
            if !drivesync_engine::is_pair_folder(&fs, db, &pair).await {
                continue;
            }
            let root = pair.local_root.clone();
            let before = now - days(FALLBACK_TRASH_DAYS);
            let pruned = tokio::task::spawn_blocking(move || {
                drivesync_localfs::prune_fallback_trash(&root, before)
            })
            .await
            .map_err(|e| Error::Invalid(format!("pruning the trash failed: {e}")))?;
            match pruned {
                Ok(gone) => out.trash_folders += gone.len(),
                Err(e) => tracing::warn!(pair = %pair.name, "cannot prune its fallback trash: {e}"),
            }
        }
        tracing::info!(?out, "housekeeping done");
        Ok(out)
    }
}
