//! drivesync's local file system seam.
//!
//! * [`LocalFs`]: every local operation the engine needs, each with its contract
//!   (destructive ones carry an [`Expect`] and re-check it right before acting), and
//!   [`Staged`]: a download written to a temporary file next to its target, then committed
//!   by an atomic rename that never overwrites a file that changed.
//! * [`StdFs`]: the real disk (blocking calls on tokio's blocking pool; OS trash with a
//!   `.drivesync-trash` fallback).
//! * Feature `fake`: [`MemFs`], in memory and deterministic, with helpers that act as a user
//!   would.
//! * [`scan()`]: the local tree of a pair, reading only what changed since the synced tree;
//!   [`rescan()`]: the same, narrowed to the paths a [`Watcher`] reported.
//! * [`Watcher`]: debounced file system events of a pair, as batches of touched paths.

mod api;
mod error;
#[cfg(feature = "fake")]
mod mem;
mod rescan;
mod scan;
mod std_fs;
mod watch;

pub use api::{
    Expect, FsKind, Hashed, Kept, Listing, LocalFs, Meta, Skipped, Staged, Trashed, UploadFile,
    KEPT_PREFIX, PAIR_MARKER, PARTIAL_PREFIX, SMALL_FILE, TRASH_DIR,
};
pub use error::FsError;
#[cfg(feature = "fake")]
pub use mem::{AsRel, MemFs};
pub use rescan::rescan;
pub use scan::{
    hash_deferred, is_internal, scan, IssueKind, Scan, ScanIssue, ScanOptions, MTIME_RESOLUTION_NS,
};
pub use std_fs::{prune_fallback_trash, StdFs};
pub use watch::{WatchError, WatchEvent, Watcher};

pub use drivesync_model::{LocalStamp, Md5, RelPath};
