//! [`Op`]: one step of a [`Plan`], carrying the state it expects so the executor can re-check
//! before acting, and [`Plan`]: the steps in an order that is safe to execute.

use drivesync_model::{DriveId, LocalStamp, Md5, RelPath, RemoteEntry, Tree};
use serde::{Deserialize, Serialize};

/// One step of a plan. Paths are where things are when the step runs (after the moves before
/// it). The executor updates the synced tree after each step that succeeds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// Mirror a Drive rename/move locally: move `from` to `to` (never replacing anything).
    /// Synced tree: the entry and its content move to `to`, taking `remote`'s metadata.
    MoveLocal {
        /// Where it is locally.
        from: RelPath,
        /// Where Drive has it.
        to: RelPath,
        /// The Drive file as it is now.
        remote: RemoteEntry,
    },
    /// Mirror a local rename/move on Drive: give file `id` the name `name` in the folder at
    /// `to`'s parent. Synced tree: moves `from` to `to`.
    MoveRemote {
        /// Where Drive has it (as a local path).
        from: RelPath,
        /// Where it is locally.
        to: RelPath,
        /// The Drive file.
        id: DriveId,
        /// Its new Drive name.
        name: String,
    },
    /// Only the synced tree moves: both sides made the same move, or the local move is
    /// recorded before Drive's different one is mirrored (an [`Op::MoveLocal`] follows).
    RecordMove {
        /// The old path.
        from: RelPath,
        /// The new path.
        to: RelPath,
        /// The Drive file to record: as it is now for the same move; as it was synced when a
        /// local move follows, so that Drive's move is still seen if that one does not run.
        remote: RemoteEntry,
    },
    /// Keep the local version of a conflicting file by renaming it to `copy` (a later
    /// [`Op::Upload`] sends it); `path` is then free for Drive's version.
    ConflictCopy {
        /// The conflicting local file.
        path: RelPath,
        /// The conflict copy's path.
        copy: RelPath,
        /// The local file as planned (re-checked before the rename).
        expect: LocalStamp,
    },
    /// Keep Drive's version of a conflicting file by renaming it on Drive to `copy` (a later
    /// [`Op::Download`] fetches it), freeing `path` for the local folder. Synced tree: the
    /// entry at `path` is dropped if it is this file (never the entries under `path`).
    RenameRemoteAside {
        /// The path Drive's file has now.
        path: RelPath,
        /// Its new path.
        copy: RelPath,
        /// The Drive file.
        id: DriveId,
        /// Its new Drive name.
        name: String,
    },
    /// Create a local folder for a Drive folder.
    MkdirLocal {
        /// Where.
        path: RelPath,
        /// The Drive folder.
        remote: RemoteEntry,
        /// Needed by the next move, so it runs in the move sequence.
        before_move: bool,
    },
    /// Create a Drive folder named `name` for a local folder.
    MkdirRemote {
        /// Where (its parent must be in the synced tree by then).
        path: RelPath,
        /// The Drive name.
        name: String,
        /// Needed by the next move, so it runs in the move sequence.
        before_move: bool,
    },
    /// Upload a local file: a new Drive file named `name`, or new content for `replace`.
    Upload {
        /// The local file.
        path: RelPath,
        /// The Drive name for a new file.
        name: String,
        /// The Drive file whose content this replaces (`None`: create).
        replace: Option<DriveId>,
        /// The local file as planned.
        expect: LocalStamp,
        /// Its MD5 as planned: `None` for a new file the scan left unread (the upload hashes
        /// what it sends).
        md5: Option<Md5>,
    },
    /// Download a Drive file to `path`, which must still be as `expect` says (absent for
    /// `None`): a local change since planning makes this a conflict, never an overwrite.
    Download {
        /// The local path.
        path: RelPath,
        /// The Drive file.
        remote: RemoteEntry,
        /// What must be at `path` (`None`: nothing).
        expect: Option<LocalStamp>,
    },
    /// Write the local link file for a Google Doc or shortcut.
    WriteLink {
        /// The link file's path.
        path: RelPath,
        /// The Drive file.
        remote: RemoteEntry,
        /// What must be at `path` (`None`: nothing).
        expect: Option<LocalStamp>,
    },
    /// Move a local file or folder to the OS trash. `expect` lists the stamp of every file in
    /// it (path -> stamp): if anything differs or appeared, nothing is trashed.
    TrashLocal {
        /// The file or folder.
        path: RelPath,
        /// The files it must contain, as planned.
        expect: Tree<LocalStamp>,
        /// The path is re-created by this plan (a type change), so this runs first.
        replaced: bool,
    },
    /// Move a Drive file or folder to Drive's trash.
    TrashRemote {
        /// Its local path.
        path: RelPath,
        /// The Drive file.
        id: DriveId,
        /// Its version as planned.
        version: u64,
        /// The path is re-created by this plan (a type change), so this runs first.
        replaced: bool,
    },
    /// Both sides agree (same content, or only metadata changed): store it as synced.
    Record {
        /// The path.
        path: RelPath,
        /// The Drive file.
        remote: RemoteEntry,
        /// The local entry's stamp.
        local: LocalStamp,
        /// The content's MD5 (files).
        md5: Option<Md5>,
    },
    /// Gone on both sides: forget the synced entry (and everything under it).
    Forget {
        /// The path.
        path: RelPath,
    },
}

/// When an op runs. Ops of a stage run after every op of the stages before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Stage {
    /// Moves and renames, one at a time, in plan order.
    Moves,
    /// Conflict copies and the trashing of paths that change type.
    Prepare,
    /// Folder creation, parents first.
    Folders,
    /// Transfers and records, any order, concurrently.
    Transfers,
    /// Trashing, deepest first.
    Deletes,
}

impl Op {
    /// The local paths the op changes on disk (none for ops that only touch Drive or the
    /// synced tree): what must be re-read locally after it ran.
    pub fn local_paths(&self) -> Vec<RelPath> {
        match self {
            Op::MoveLocal { from, to, .. } => vec![from.clone(), to.clone()],
            Op::ConflictCopy { path, copy, .. } => vec![path.clone(), copy.clone()],
            Op::MkdirLocal { path, .. }
            | Op::Download { path, .. }
            | Op::WriteLink { path, .. }
            | Op::TrashLocal { path, .. } => vec![path.clone()],
            _ => Vec::new(),
        }
    }

    /// Every path the op acts on, on either side: both ends of a move or a rename aside,
    /// else its one path. What must wait when the op fails.
    pub fn paths(&self) -> Vec<&RelPath> {
        match self {
            Op::MoveLocal { from, to, .. }
            | Op::MoveRemote { from, to, .. }
            | Op::RecordMove { from, to, .. } => vec![from, to],
            Op::ConflictCopy { path, copy, .. } | Op::RenameRemoteAside { path, copy, .. } => {
                vec![path, copy]
            }
            op => vec![op.path()],
        }
    }

    /// The path the op is about (the destination for moves).
    pub fn path(&self) -> &RelPath {
        match self {
            Op::MoveLocal { to, .. } | Op::MoveRemote { to, .. } | Op::RecordMove { to, .. } => to,
            Op::ConflictCopy { path, .. }
            | Op::RenameRemoteAside { path, .. }
            | Op::MkdirLocal { path, .. }
            | Op::MkdirRemote { path, .. }
            | Op::Upload { path, .. }
            | Op::Download { path, .. }
            | Op::WriteLink { path, .. }
            | Op::TrashLocal { path, .. }
            | Op::TrashRemote { path, .. }
            | Op::Record { path, .. }
            | Op::Forget { path } => path,
        }
    }

    /// The stage it belongs to.
    pub fn stage(&self) -> Stage {
        match self {
            Op::MoveLocal { .. }
            | Op::MoveRemote { .. }
            | Op::RecordMove { .. }
            | Op::MkdirLocal {
                before_move: true, ..
            }
            | Op::MkdirRemote {
                before_move: true, ..
            } => Stage::Moves,
            Op::ConflictCopy { .. } | Op::RenameRemoteAside { .. } => Stage::Prepare,
            Op::TrashLocal { replaced: true, .. } | Op::TrashRemote { replaced: true, .. } => {
                Stage::Prepare
            }
            Op::MkdirLocal { .. } | Op::MkdirRemote { .. } => Stage::Folders,
            Op::Record { remote, .. } if remote.kind == drivesync_model::Kind::Folder => {
                Stage::Folders
            }
            Op::Upload { .. }
            | Op::Download { .. }
            | Op::WriteLink { .. }
            | Op::Record { .. }
            | Op::Forget { .. } => Stage::Transfers,
            Op::TrashLocal { .. } | Op::TrashRemote { .. } => Stage::Deletes,
        }
    }

    /// Does it move something to a trash?
    pub fn is_delete(&self) -> bool {
        matches!(self, Op::TrashLocal { .. } | Op::TrashRemote { .. })
    }

    /// A base-only op (changes nothing on either side).
    pub fn is_record(&self) -> bool {
        matches!(
            self,
            Op::Record { .. } | Op::RecordMove { .. } | Op::Forget { .. }
        )
    }

    /// Moves bytes (upload, download, link file).
    pub fn is_transfer(&self) -> bool {
        matches!(
            self,
            Op::Upload { .. } | Op::Download { .. } | Op::WriteLink { .. }
        )
    }
}

/// The ops of one sync, in execution order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// The ops, sorted by [`Stage`]; inside a stage, by the order of [`Plan::batches`].
    pub ops: Vec<Op>,
}

impl Plan {
    /// Nothing to do.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The ops grouped into batches that run one after another; the ops of one batch are
    /// independent and may run in any order or at once. Moves are one per batch; folders are
    /// batched by depth (parents first), deletes by depth (deepest first).
    pub fn batches(&self) -> Vec<&[Op]> {
        let key = |op: &Op| -> (Stage, usize) {
            match op.stage() {
                Stage::Moves => (Stage::Moves, usize::MAX),
                Stage::Folders => (Stage::Folders, op.path().depth()),
                Stage::Deletes => (Stage::Deletes, usize::MAX - op.path().depth()),
                s => (s, 0),
            }
        };
        let mut out: Vec<&[Op]> = Vec::new();
        let mut start = 0;
        for i in 1..=self.ops.len() {
            let split = i == self.ops.len()
                || self.ops[i].stage() == Stage::Moves
                || key(&self.ops[i]) != key(&self.ops[start]);
            if split {
                out.push(&self.ops[start..i]);
                start = i;
            }
        }
        out
    }

    /// Files and folders this plan moves to a trash (counting everything inside a trashed
    /// folder, as far as `expect` / the synced tree tell).
    pub fn deletes(&self) -> u64 {
        self.ops
            .iter()
            .map(|op| match op {
                Op::TrashLocal { expect, .. } => expect.len().max(1) as u64,
                Op::TrashRemote { .. } => 1,
                _ => 0,
            })
            .sum()
    }
}
