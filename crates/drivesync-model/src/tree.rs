//! The three trees of a sync pair, as plain data: the synced tree ([`BaseEntry`], what both
//! sides agreed on last), the local tree ([`LocalEntry`], what is on disk now) and the remote
//! tree ([`RemoteEntry`], what Drive has now). Each is a [`Tree`] keyed by [`RelPath`].

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{DriveId, Md5, RelPath};

/// A tree of entries keyed by path (the root itself is never a key).
pub type Tree<E> = BTreeMap<RelPath, E>;

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A file with binary content on both sides.
    File,
    /// A folder.
    Folder,
    /// A Google Doc, Sheet, Slides... or a shortcut: on Drive it has no binary content;
    /// locally it is a small link file (`.gdoc`, `.gsheet`...) written by drivesync and never
    /// uploaded back as content.
    Link,
}

/// What the file system says about a local entry, enough to tell "unchanged" without reading
/// it: size, modification time and the file's identity (inode on Unix, file index on
/// Windows), which also follows a file through renames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LocalStamp {
    /// Byte size (0 for folders).
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// The inode / file index (0 when the platform has none).
    pub file_id: u64,
}

/// What identifies a pair's local folder itself: the device (file system) it is on and its
/// file id there. A folder with another identity at the pair's path is not the folder that
/// was synced (an unmounted disk leaves its empty mount point; a repointed link another
/// folder), and its emptiness must never read as "everything was deleted".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RootId {
    /// The device or volume (`st_dev` on Unix, the volume serial number on Windows).
    pub device: u64,
    /// The folder's inode / file index on that device.
    pub file_id: u64,
}

/// One entry of the local tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalEntry {
    /// File, folder, or a link file standing for a Google Doc.
    pub kind: Kind,
    /// The content's MD5 (files only; taken from the synced tree when the stamp matches it).
    pub md5: Option<Md5>,
    /// Size, mtime and identity.
    pub stamp: LocalStamp,
}

/// One entry of the remote tree: a Drive file placed at a local path (after name mapping).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteEntry {
    /// The Drive file id (follows the file through renames and moves).
    pub id: DriveId,
    /// Its parent folder's id.
    pub parent: DriveId,
    /// Its name on Drive (the local name can differ, see SEMANTICS.md).
    pub name: String,
    /// File, folder, or Google Doc / shortcut.
    pub kind: Kind,
    /// Drive's MIME type.
    pub mime_type: String,
    /// `md5Checksum` (files with binary content only).
    pub md5: Option<Md5>,
    /// Byte size (0 for folders and Docs).
    pub size: u64,
    /// Drive's `version`: grows on every change.
    pub version: u64,
    /// Drive's `modifiedTime`.
    pub modified: Option<DateTime<Utc>>,
}

/// One entry of the synced tree: what both sides had when it was last synced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseEntry {
    /// The Drive file id.
    pub id: DriveId,
    /// The Drive parent folder's id.
    pub parent: DriveId,
    /// The name on Drive (kept so a mapped local name maps back to it).
    pub remote_name: String,
    /// File, folder or link.
    pub kind: Kind,
    /// Drive's MIME type.
    pub mime_type: String,
    /// The content's MD5 (files; for links, the MD5 of the local link file).
    pub md5: Option<Md5>,
    /// Byte size.
    pub size: u64,
    /// Drive's `version` when synced.
    pub version: u64,
    /// The local file's stamp when synced.
    pub local: LocalStamp,
}

impl BaseEntry {
    /// The Drive entry as it was when this entry was synced (Drive's MD5 only for files).
    /// A Drive entry that still equals it has not changed since.
    pub fn synced_remote(&self) -> RemoteEntry {
        RemoteEntry {
            id: self.id.clone(),
            parent: self.parent.clone(),
            name: self.remote_name.clone(),
            kind: self.kind,
            mime_type: self.mime_type.clone(),
            md5: self.md5.filter(|_| self.kind == Kind::File),
            size: self.size,
            version: self.version,
            modified: None,
        }
    }
}

/// A position in a pair's Drive change feed (a `changes` page token), stored per pair.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(pub String);

/// A sync pair's id in the state store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PairId(pub i64);

impl fmt::Display for PairId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
