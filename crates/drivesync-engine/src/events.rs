//! [`Event`]: what the engine tells front ends while it works (progress bars in the CLI, the
//! app's window). Sent on an unbounded channel; nobody listening is fine.

use drivesync_model::RelPath;
use drivesync_reconcile::Op;
use drivesync_state::{ActivityKind, PairId};
use serde::Serialize;
use tokio::sync::mpsc::UnboundedSender;

/// One thing that happened during a sync.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The plan is made: this many ops, this many bytes to transfer.
    Planned {
        /// Ops to run.
        ops: usize,
        /// Bytes to upload and download.
        bytes: u64,
    },
    /// An op started.
    Started {
        /// What it is about.
        path: RelPath,
        /// A short name of the op (`upload`, `download`, `move`...).
        what: &'static str,
    },
    /// Bytes moved for a transfer.
    Progress {
        /// The file.
        path: RelPath,
        /// Bytes done.
        done: u64,
        /// Bytes in all.
        total: u64,
        /// Upload (else download).
        upload: bool,
    },
    /// An op finished (or failed: `error` is set).
    Finished {
        /// What it was about.
        path: RelPath,
        /// What happened.
        kind: ActivityKind,
        /// The message shown to the user.
        message: String,
        /// Bytes transferred.
        bytes: u64,
    },
    /// A conflict copy was made.
    Conflict {
        /// The original path.
        path: RelPath,
        /// The copy.
        copy: RelPath,
    },
}

/// An [`Event`] with the pair it is about, for front ends that follow several pairs at once
/// (the app's event bridge).
#[derive(Debug, Clone, Serialize)]
pub struct PairEvent {
    /// The pair's id.
    pub pair: PairId,
    /// What happened.
    pub event: Event,
}

#[derive(Debug, Clone)]
enum Sink {
    Plain(UnboundedSender<Event>),
    Tagged(UnboundedSender<PairEvent>, PairId),
}

/// Where events go (cloneable; a no-op without a receiver).
#[derive(Debug, Clone, Default)]
pub struct Events(Option<Sink>);

impl Events {
    /// Events go to `tx`.
    pub fn to(tx: UnboundedSender<Event>) -> Self {
        Self(Some(Sink::Plain(tx)))
    }

    /// Events go to `tx`, each with its pair's id (set by [`Events::for_pair`], which every
    /// `Engine` calls for its own pair).
    pub fn tagged(tx: UnboundedSender<PairEvent>) -> Self {
        Self(Some(Sink::Tagged(tx, PairId(0))))
    }

    /// These events, as sent by pair `pair`.
    pub fn for_pair(self, pair: PairId) -> Self {
        match self.0 {
            Some(Sink::Tagged(tx, _)) => Self(Some(Sink::Tagged(tx, pair))),
            other => Self(other),
        }
    }

    /// Events go nowhere.
    pub fn none() -> Self {
        Self(None)
    }

    /// Sends `e` if anyone listens.
    pub fn send(&self, e: Event) {
        match &self.0 {
            Some(Sink::Plain(tx)) => {
                let _ = tx.send(e);
            }
            Some(Sink::Tagged(tx, pair)) => {
                let _ = tx.send(PairEvent {
                    pair: *pair,
                    event: e,
                });
            }
            None => {}
        }
    }
}

/// A short name for an op, for progress display.
pub fn op_name(op: &Op) -> &'static str {
    match op {
        Op::MoveLocal { .. } => "move locally",
        Op::MoveRemote { .. } => "move on Drive",
        Op::RecordMove { .. } => "record move",
        Op::ConflictCopy { .. } | Op::RenameRemoteAside { .. } => "keep both",
        Op::MkdirLocal { .. } => "create folder locally",
        Op::MkdirRemote { .. } => "create folder on Drive",
        Op::Upload { .. } => "upload",
        Op::Download { .. } => "download",
        Op::WriteLink { .. } => "write link",
        Op::TrashLocal { .. } => "trash locally",
        Op::TrashRemote { .. } => "trash on Drive",
        Op::Record { .. } => "record",
        Op::Forget { .. } => "forget",
    }
}
