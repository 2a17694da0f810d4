//! [`SyncReport`]: what a sync did, and [`OpError`]: why one op failed.

use drivesync_drive::DriveError;
use drivesync_localfs::{FsError, IssueKind};
use drivesync_model::{LocalStamp, RelPath};
use drivesync_reconcile::{NameMapping, Op, Plan};
use drivesync_state::StateError;
use serde::Serialize;

use crate::Blocker;

/// One op that failed. The rest of the sync went on; the op is planned again next time.
#[derive(Debug, Clone, Serialize, thiserror::Error)]
#[error("{path}: {message}")]
pub struct OpError {
    /// The file or folder.
    pub path: RelPath,
    /// What happened and what to do, for the user.
    pub message: String,
    /// A cause outside drivesync behind the error (sign-in needed, disk or Drive full): the
    /// live loop pauses the pair until it is gone.
    pub blocker: Option<Blocker>,
    /// The state database failed (not a problem of this file).
    #[serde(skip)]
    pub state: Option<String>,
}

impl OpError {
    /// An error with a message.
    pub fn new(path: &RelPath, message: impl Into<String>) -> Self {
        Self {
            path: path.clone(),
            message: message.into(),
            blocker: None,
            state: None,
        }
    }

    /// A Drive error on `path`.
    pub fn drive(path: &RelPath, e: DriveError) -> Self {
        let mut out = Self::new(path, e.to_string());
        out.blocker = Blocker::of_drive(&e);
        out
    }

    /// A local file system error on `path`.
    pub fn fs(path: &RelPath, e: FsError) -> Self {
        let mut out = Self::new(path, e.to_string());
        out.blocker = Blocker::of_fs(&e);
        out
    }
}

impl From<StateError> for OpError {
    fn from(e: StateError) -> Self {
        let mut out = Self::new(&RelPath::root(), e.to_string());
        out.state = Some(e.to_string());
        out
    }
}

/// A scan issue in words.
pub fn describe_issue(k: &IssueKind) -> String {
    match k {
        IssueKind::Symlink => "symbolic link: not followed, not synced".into(),
        IssueKind::Unreadable(why) => format!("cannot be read ({why}): skipped"),
        IssueKind::ChangedWhileHashing => {
            "changed while being read: synced at the next sync".into()
        }
        IssueKind::BadName(why) => format!("name cannot be synced ({why}): skipped"),
        IssueKind::Special => "not a regular file or folder: skipped".into(),
    }
}

/// What one sync did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncReport {
    /// The plan it ran (or, for a dry run, would run).
    pub plan: Plan,
    /// Files uploaded (new or changed).
    pub uploaded: u64,
    /// Files downloaded (and link files written).
    pub downloaded: u64,
    /// Renames and moves, either way.
    pub moved: u64,
    /// Folders created, either way.
    pub folders: u64,
    /// Moved to the local trash.
    pub trashed_local: u64,
    /// Moved to Drive's trash.
    pub trashed_remote: u64,
    /// Conflict copies made.
    pub conflicts: u64,
    /// Bytes uploaded.
    pub bytes_up: u64,
    /// Bytes downloaded.
    pub bytes_down: u64,
    /// Ops that failed.
    pub errors: Vec<OpError>,
    /// Ops not run because an op they rely on failed (retried with it at the next sync).
    pub held: u64,
    /// Local entries skipped (symlinks, unreadable...).
    pub issues: Vec<String>,
    /// Drive names mapped to other local names.
    pub mappings: Vec<NameMapping>,
    /// New files their upload found unreadable (path, stamp as planned), also in `issues`.
    #[serde(skip)]
    pub(crate) unread: Vec<(RelPath, LocalStamp)>,
}

impl SyncReport {
    /// A report for `plan`, nothing done yet.
    pub fn new(plan: Plan) -> Self {
        Self {
            plan,
            ..Self::default()
        }
    }

    /// Counts a finished op.
    pub fn count(&mut self, op: &Op, bytes: u64) {
        match op {
            Op::Upload { .. } => {
                self.uploaded += 1;
                self.bytes_up += bytes;
            }
            Op::Download { .. } | Op::WriteLink { .. } => {
                self.downloaded += 1;
                self.bytes_down += bytes;
            }
            Op::MoveLocal { .. } | Op::MoveRemote { .. } => self.moved += 1,
            Op::MkdirLocal { .. } | Op::MkdirRemote { .. } => self.folders += 1,
            Op::TrashLocal { .. } => self.trashed_local += 1,
            Op::TrashRemote { .. } => self.trashed_remote += 1,
            Op::ConflictCopy { .. } | Op::RenameRemoteAside { .. } => self.conflicts += 1,
            Op::RecordMove { .. } | Op::Record { .. } | Op::Forget { .. } => {}
        }
    }

    /// Nothing failed.
    pub fn is_clean(&self) -> bool {
        self.errors.is_empty()
    }
}
