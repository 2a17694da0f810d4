//! drivesync's Google Drive v3 client.
//!
//! * [`RemoteStore`]: the operations the sync engine needs, each with its contract. The engine
//!   is generic over it.
//! * [`GoogleDrive`]: the real one, over reqwest: typed models ([`File`], [`FileList`],
//!   [`Change`], [`ChangeList`], [`About`]), exact `fields` per call, retries with backoff
//!   ([`retry::classify`] decides), client-wide rate and concurrency limits, idempotent
//!   creates, multipart and resumable uploads ([`UploadSessions`] keeps sessions across
//!   restarts), resumed downloads, MD5 checked both ways.
//! * [`Bandwidth`]: upload and download speed limits (token buckets) shared by a client's
//!   transfers and adjustable while they run ([`GoogleDrive::with_bandwidth`]).
//! * Feature `fake`: `MemRemote` (in memory, same semantics) and `FaultyRemote` (injects
//!   errors into any store), in the `fake` module.

mod bandwidth;
mod error;
pub mod fields;
mod google;
mod limits;
mod model;
pub mod retry;
mod sessions;
mod store;

#[cfg(feature = "fake")]
pub mod fake;

pub use bandwidth::Bandwidth;
pub use error::{DriveError, FileRef};
pub use google::{DriveConfig, GoogleDrive, Metrics, CHUNK_UNIT};
pub use model::{
    About, Change, ChangeList, ChangeToken, Changes, File, FileList, PageToken, RevisionId,
    ShortcutDetails, StorageQuota, User, FOLDER_MIME, GOOGLE_APPS_PREFIX, SHORTCUT_MIME,
};
pub use retry::RetryPolicy;
pub use sessions::{MemSessions, ResumableSession, UploadKey, UploadSessions};
pub use store::{
    Downloaded, NewFile, Progress, Relocation, RemoteStore, Reparent, UploadSource, TREE_BATCH,
};

pub use drivesync_model::{DriveId, Md5};
