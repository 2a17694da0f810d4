//! The store's data types: what goes in and what comes out.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use drivesync_model::{BaseEntry, DriveId, PairId, PairSettings, RelPath, Sensitive};
use serde::{Deserialize, Serialize};

/// A sync pair to add: a local folder and a Drive folder kept identical.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPair {
    /// A short name the user picks (unique).
    pub name: String,
    /// The local folder (unique; the caller canonicalizes it).
    pub local_root: PathBuf,
    /// The Drive folder's id.
    pub remote_root: DriveId,
    /// The Drive folder's path as shown to the user (e.g. `My Drive/Photos`).
    pub remote_path: String,
    /// The pair's settings.
    pub settings: PairSettings,
}

/// A stored sync pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pair {
    /// Its id (never reused after removal).
    pub id: PairId,
    /// Its unique name.
    pub name: String,
    /// The local folder.
    pub local_root: PathBuf,
    /// The Drive folder's id.
    pub remote_root: DriveId,
    /// The Drive folder's path as shown to the user.
    pub remote_path: String,
    /// The pair's settings.
    pub settings: PairSettings,
    /// When it was added.
    pub created: DateTime<Utc>,
    /// When its last sync without errors started.
    pub last_sync: Option<DateTime<Utc>>,
}

/// One change to a pair's synced tree, applied by [`crate::StateDb::apply`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BaseChange {
    /// Inserts or replaces the entry at the path (not the root).
    Put(RelPath, BaseEntry),
    /// Removes the entry at the path and every entry under it (not the root).
    Remove(RelPath),
    /// Gives the entry at `from` and every entry under it `to` as prefix
    /// ([`RelPath::rebase`]); entries already at those targets are replaced, other entries
    /// under `to` stay. Neither may be the root, and `to` may not be inside `from`;
    /// `from == to` changes nothing.
    Move {
        /// The old path.
        from: RelPath,
        /// The new path.
        to: RelPath,
    },
    /// Forgets the pair's change cursor, so the next sync lists the pair's Drive folder
    /// whole instead of reading the change feed. Committed with a change that drops entries
    /// still on Drive elsewhere in the pair: the feed will not mention them again, and until
    /// the op that records them at their new place has run, only a listing finds them.
    Relist,
}

/// A resumable upload session kept across restarts (see `drivesync_drive::ResumableSession`).
///
/// Not serializable: the URI is a capability (whoever has it can upload to it until it
/// expires, within a week) and must reach no UI, log or file other than the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    /// The session URI.
    pub uri: Sensitive<String>,
    /// The total size declared when the session started.
    pub size: u64,
    /// For creates, the pre-generated id of the new file.
    pub file_id: Option<DriveId>,
}

/// An activity-log entry's id; larger is newer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ActivityId(pub i64);

/// A conflict's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConflictId(pub i64);

macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident, $err:literal { $($(#[$vm:meta])* $v:ident = $s:literal,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vm])* #[serde(rename = $s)] $v,)*
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$v,)*];

            /// The stored (and serialized) text.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s,)* }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($s => Ok($name::$v),)*
                    _ => Err(UnknownValue { what: $err, value: s.to_owned() }),
                }
            }
        }
    };
}

/// A stored text that names no known value of an enum (a newer or damaged database).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}")]
pub struct UnknownValue {
    /// The enum.
    pub what: &'static str,
    /// The text found.
    pub value: String,
}

text_enum!(
    /// What an activity-log entry is about. Stored and serialized in lower case.
    ActivityKind, "activity kind" {
        /// A file was uploaded.
        Uploaded = "uploaded",
        /// A file was downloaded.
        Downloaded = "downloaded",
        /// An entry was moved to another folder.
        Moved = "moved",
        /// An entry was renamed.
        Renamed = "renamed",
        /// A local entry went to the OS trash.
        TrashedLocal = "trashedlocal",
        /// A Drive entry went to Drive's trash.
        TrashedRemote = "trashedremote",
        /// A folder was created.
        FolderCreated = "foldercreated",
        /// Both sides changed: a conflict copy was made.
        Conflict = "conflict",
        /// An entry was left alone (ignored, unsupported...).
        Skipped = "skipped",
        /// Something failed.
        Error = "error",
        /// Anything else worth telling.
        Info = "info",
    }
);

text_enum!(
    /// How the user settled a conflict. Stored and serialized in snake case.
    Resolution, "resolution" {
        /// Keep the local version (the conflict copy), drop the other.
        KeepMine = "keep_mine",
        /// Keep the other side's version (the original path), drop the copy.
        KeepTheirs = "keep_theirs",
        /// Keep both files.
        KeepBoth = "keep_both",
    }
);

/// An activity-log entry to record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewActivity {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What happened.
    pub kind: ActivityKind,
    /// The entry concerned, if any.
    pub path: Option<RelPath>,
    /// A sentence for the user.
    pub message: String,
}

/// A stored activity-log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    /// Its id.
    pub id: ActivityId,
    /// The pair it belongs to (`None`: the app as a whole).
    pub pair: Option<PairId>,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What happened.
    pub kind: ActivityKind,
    /// The entry concerned, if any.
    pub path: Option<RelPath>,
    /// A sentence for the user.
    pub message: String,
}

/// Which activity-log entries to read: newest first, every filter optional.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ActivityQuery {
    /// Only this pair's entries.
    pub pair: Option<PairId>,
    /// Only entries of this kind.
    pub kind: Option<ActivityKind>,
    /// Only entries whose path or message contains this text, ignoring case (Unicode).
    pub text: Option<String>,
    /// Only entries older than this one (the last id of the previous page).
    pub before: Option<ActivityId>,
    /// At most this many entries (0 gives none).
    pub limit: u32,
}

impl Default for ActivityQuery {
    fn default() -> Self {
        Self {
            pair: None,
            kind: None,
            text: None,
            before: None,
            limit: 100,
        }
    }
}

/// A conflict to record: both sides changed a file; the local version was renamed to `copy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewConflict {
    /// When it was found.
    pub at: DateTime<Utc>,
    /// The original path (now holding the other side's version).
    pub path: RelPath,
    /// The conflict copy (the local version, renamed).
    pub copy: RelPath,
    /// The host named in the copy's name.
    pub host: String,
}

/// A stored, unresolved conflict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    /// Its id.
    pub id: ConflictId,
    /// The pair it belongs to.
    pub pair: PairId,
    /// When it was found.
    pub at: DateTime<Utc>,
    /// The original path.
    pub path: RelPath,
    /// The conflict copy.
    pub copy: RelPath,
    /// The host named in the copy's name.
    pub host: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_text_is_the_serde_text() {
        for k in ActivityKind::ALL {
            let json = serde_json::to_string(k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
            assert_eq!(k.as_str().parse::<ActivityKind>().unwrap(), *k);
            assert_eq!(k.as_str(), k.as_str().to_lowercase());
        }
        assert_eq!(ActivityKind::ALL.len(), 11);
        for r in Resolution::ALL {
            assert_eq!(serde_json::to_string(r).unwrap(), format!("\"{r}\""));
            assert_eq!(r.as_str().parse::<Resolution>().unwrap(), *r);
        }
        assert!("Uploaded".parse::<ActivityKind>().is_err());
    }

    #[test]
    fn default_query_reads_a_page_of_100() {
        assert_eq!(ActivityQuery::default().limit, 100);
        let q: ActivityQuery = serde_json::from_str("{\"text\":\"x\"}").unwrap();
        assert_eq!(q.limit, 100);
        assert_eq!(q.text.as_deref(), Some("x"));
    }
}
