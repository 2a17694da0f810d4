//! What can go wrong with the state database.

use std::path::{Path, PathBuf};

use drivesync_model::{PairId, RelPath};
use rusqlite::ErrorCode;

/// Which unique property of a pair another pair already has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairField {
    /// The pair's name.
    Name,
    /// The pair's local folder.
    LocalRoot,
}

impl std::fmt::Display for PairField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PairField::Name => "name",
            PairField::LocalRoot => "local folder",
        })
    }
}

/// A state-store failure. Every variant says what happened and what to do about it.
///
/// No variant ever carries an upload-session URI.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The folder for the database could not be created.
    #[error("could not create the folder {} for drivesync's state database: {source}; check that it is writable", path.display())]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The database file could not be opened or set up.
    #[error("could not open drivesync's state database {}: {source}; check that the file is readable and writable, and that the disk is not full", path.display())]
    Open {
        /// The database file.
        path: PathBuf,
        /// Why.
        #[source]
        source: rusqlite::Error,
    },
    /// The database was written by a newer drivesync, whose schema this one does not know.
    #[error("drivesync's state database {} was written by a newer drivesync (schema version {found}, this one knows up to {known}): upgrade drivesync", path.display())]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// The schema version found in the file.
        found: i64,
        /// The newest schema version this build knows.
        known: i64,
    },
    /// Another process held the database locked for longer than the busy timeout (5 s).
    #[error("drivesync's state database {} stayed locked by another process while trying to {action}: is another drivesync running? Close it and try again", path.display())]
    Busy {
        /// The database file.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
    },
    /// Any other SQLite failure.
    #[error("drivesync's state database {} failed to {action}: {source}; if this keeps happening, check the disk (space, permissions) and report it", path.display())]
    Sql {
        /// The database file.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// A stored value could not be read back (hand-edited or damaged database).
    #[error("drivesync's state database {} holds a value it cannot read while trying to {action} ({what}); the file may be damaged: remove the affected pair and add it again", path.display())]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// What could not be read.
        what: String,
    },
    /// A pair with the same name or local folder exists already.
    #[error("a sync pair with the {field} {value:?} already exists: choose another {field}, or remove the existing pair first")]
    PairExists {
        /// Which property clashes.
        field: PairField,
        /// The clashing value.
        value: String,
    },
    /// No pair has this id (it was removed, or never existed).
    #[error("there is no sync pair with id {0}: list the pairs to see which exist")]
    NoSuchPair(PairId),
    /// A pair's local folder is not valid UTF-8, which the store cannot keep faithfully.
    #[error("the local folder {} is not valid UTF-8: choose a folder whose path is valid UTF-8", path.display())]
    NonUtf8Root {
        /// The folder.
        path: PathBuf,
    },
    /// A change to the synced tree that makes no sense; nothing of its batch was applied.
    #[error("invalid change to the synced tree at {path}: {reason}; nothing of this batch was applied (this is a bug in drivesync, please report it)")]
    InvalidChange {
        /// The path the change names.
        path: RelPath,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl StateError {
    /// Wraps a rusqlite error met while doing `action` on the database at `path`, telling
    /// lock timeouts and unreadable values apart from other failures.
    pub(crate) fn sql(path: &Path, action: &'static str, source: rusqlite::Error) -> Self {
        let path = path.to_path_buf();
        match &source {
            rusqlite::Error::SqliteFailure(e, _)
                if matches!(e.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) =>
            {
                StateError::Busy { path, action }
            }
            rusqlite::Error::FromSqlConversionFailure(col, _, err) => StateError::Corrupt {
                path,
                action,
                what: format!("column {col}: {err}"),
            },
            rusqlite::Error::InvalidColumnType(_, name, ty) => StateError::Corrupt {
                path,
                action,
                what: format!("column {name} has type {ty}"),
            },
            _ => StateError::Sql {
                path,
                action,
                source,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_to_do() {
        let e = StateError::TooNew {
            path: "/s/state.db".into(),
            found: 9,
            known: 1,
        };
        assert!(e.to_string().contains("upgrade drivesync"), "{e}");
        let e = StateError::PairExists {
            field: PairField::LocalRoot,
            value: "/home/u/Drive".into(),
        };
        assert!(
            e.to_string().contains("local folder \"/home/u/Drive\""),
            "{e}"
        );
    }

    #[test]
    fn busy_and_bad_values_are_told_apart() {
        let busy = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            None,
        );
        assert!(matches!(
            StateError::sql(Path::new("x"), "read", busy),
            StateError::Busy { .. }
        ));
        let bad = rusqlite::Error::FromSqlConversionFailure(
            2,
            rusqlite::types::Type::Text,
            "nope".into(),
        );
        assert!(matches!(
            StateError::sql(Path::new("x"), "read", bad),
            StateError::Corrupt { .. }
        ));
    }
}
