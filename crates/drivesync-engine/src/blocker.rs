//! Causes outside drivesync that stop a pair until they are gone: the live loop pauses the
//! pair with the reason and re-checks by itself.

use std::time::Duration;

use drivesync_drive::DriveError;
use drivesync_localfs::FsError;
use serde::{Deserialize, Serialize};

use crate::EngineError;

/// Why a pair cannot sync now, for the status and the activity log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Blocker {
    /// Google access was revoked or expired: the account must be connected again.
    SignIn,
    /// The local disk is full.
    DiskFull,
    /// The Google account's storage is full.
    DriveFull,
    /// The pair's local folder is missing or unreadable (an unmounted disk?). Never treated as
    /// "everything was deleted".
    FolderMissing,
    /// The sync would move more to the trash than the pair's delete guard allows: the user
    /// checks, then forces it (or restores the files).
    TooManyDeletes {
        /// Entries the sync would trash.
        deletes: u64,
    },
    /// The pair's folder (local or on Drive) equals, contains or lies inside another pair's,
    /// or lies inside drivesync's own folder: it does not sync until one of the pairs is
    /// removed.
    Overlapping,
}

impl Blocker {
    /// The blocker behind a Drive error, if it is one.
    pub fn of_drive(e: &DriveError) -> Option<Self> {
        if e.needs_sign_in() {
            Some(Self::SignIn)
        } else if matches!(e, DriveError::QuotaExceeded { .. }) {
            Some(Self::DriveFull)
        } else {
            None
        }
    }

    /// The blocker behind a local file system error, if it is one.
    pub fn of_fs(e: &FsError) -> Option<Self> {
        match e {
            FsError::DiskFull { .. } => Some(Self::DiskFull),
            FsError::RootMissing { .. } => Some(Self::FolderMissing),
            _ => None,
        }
    }

    /// The blocker behind a failed sync, if it is one.
    pub fn of_engine(e: &EngineError) -> Option<Self> {
        match e {
            EngineError::Drive(d) => Self::of_drive(d),
            EngineError::LocalRoot(f) => Some(Self::of_fs(f).unwrap_or(Self::FolderMissing)),
            EngineError::NotThePairFolder { .. } => Some(Self::FolderMissing),
            EngineError::DeleteGuard(g) => Some(Self::TooManyDeletes { deletes: g.deletes }),
            _ => None,
        }
    }

    /// How often the loop checks whether it is gone.
    pub fn recheck_every(&self) -> Duration {
        Duration::from_secs(match self {
            Self::SignIn => 60,
            Self::DiskFull => 30,
            Self::DriveFull => 300,
            Self::FolderMissing => 10,
            Self::TooManyDeletes { .. } => 60,
            Self::Overlapping => 3600,
        })
    }

    /// What the user reads: what happened and what to do.
    pub fn message(&self, local_folder: &std::path::Path) -> String {
        match self {
            Self::SignIn => {
                "Paused: Google access was revoked or has expired. Reconnect the account \
                             (`drivesync login` or Connect in the app); syncing resumes by itself."
                    .into()
            }
            Self::DiskFull => format!(
                "Paused: the disk holding {} is full. Free some space; syncing resumes by itself.",
                local_folder.display()
            ),
            Self::DriveFull => "Paused: your Google Drive storage is full. Free space on Drive or \
                                buy more storage; syncing resumes by itself."
                .into(),
            Self::FolderMissing => format!(
                "Paused: the folder {} is missing, not mounted, or not the folder drivesync \
                 synced (another disk or folder at its path, emptied, or without its \
                 .drivesync-pair marker). Nothing was deleted; syncing resumes by itself when \
                 the folder is back. If it is the right folder and its files are meant to be \
                 gone, force the sync (`drivesync sync --force-deletes`, or Sync anyway in the \
                 app): they then go to Drive's trash.",
                local_folder.display()
            ),
            Self::TooManyDeletes { deletes } => format!(
                "Paused: this sync would move {deletes} files and folders of {} to the trash, more \
                 than the delete guard allows. If that is what you want, force it (`drivesync \
                 sync --force-deletes`, or Sync anyway in the app); if not, restore the files and \
                 syncing resumes by itself.",
                local_folder.display()
            ),
            Self::Overlapping => format!(
                "Paused: the folder {} overlaps another pair's folder or drivesync's own. \
                 Remove one of the pairs (`drivesync pair remove`, or Remove in the app).",
                local_folder.display()
            ),
        }
    }
}
