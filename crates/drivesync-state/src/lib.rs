//! drivesync's state store: one SQLite database (rusqlite, SQLite bundled) holding everything
//! the sync engine must remember between runs.
//!
//! # Tables
//!
//! * `pairs`: each sync pair (a local folder and a Drive folder), its settings (JSON), when
//!   it was added and last synced, and its position in Drive's change feed (the cursor).
//! * `base`: each pair's synced tree, one row per path (`pair`, `path` is the primary key):
//!   Drive id, parent id, Drive name, kind, MIME type, MD5 (32 hex digits or NULL), size,
//!   Drive version, and the local stamp (size, mtime in ns, inode / file index).
//! * `pending_creates`: Drive ids generated *before* a create, so a create redone after a
//!   crash reuses the id and never makes a duplicate.
//! * `relist`: Drive folders that moved into a pair and were listed whole, listed again by
//!   each sync until one stores its cursor ([`StateDb::relist`]).
//! * `upload_sessions`: resumable upload sessions by an opaque key, so an upload cut by a
//!   crash resumes instead of starting over.
//! * `activity`: the activity log the UI and CLI show.
//! * `conflicts`: conflict copies made by the sync, until the user resolves them.
//!
//! Removing a pair removes all its rows in every table (never any file). The schema is
//! migrated on open (`PRAGMA user_version`); a database written by a newer drivesync is
//! refused with [`StateError::TooNew`].
//!
//! # Secrets
//!
//! There are none besides the upload-session URIs: each is a capability for one upload of one
//! file, which Drive expires within a week. They are kept as [`Sensitive`] (redacted in
//! `Debug`), never logged, and cleared when the upload ends. OAuth tokens are never stored
//! here: they live in the OS keychain.
//!
//! # Where the database lives
//!
//! The caller chooses ([`StateDb::open`] takes a path and creates missing folders). The file
//! uses WAL journaling with `synchronous = NORMAL`: a power cut may lose the last commits,
//! never the database's consistency; `apply` batches are all or nothing.
//!
//! # Threads
//!
//! [`StateDb`] is `Send + Sync`: one connection behind a mutex. Every method is short and
//! blocking; async callers call it directly for small reads and writes.

mod activity;
mod codec;
mod conflicts;
mod error;
mod pairs;
mod schema;
mod tree;
mod types;
mod uploads;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension};

pub use drivesync_model::{
    BaseEntry, Cursor, DriveId, Kind, LocalStamp, Md5, PairId, PairSettings, RelPath, Sensitive,
    Tree,
};
pub use error::{PairField, StateError};
pub use types::{
    Activity, ActivityId, ActivityKind, ActivityQuery, BaseChange, Conflict, ConflictId,
    NewActivity, NewConflict, NewPair, Pair, Resolution, StoredSession, UnknownValue,
};

/// How long a write waits for another process's lock before failing with
/// [`StateError::Busy`].
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The state database. Cheap to share (`Arc<StateDb>`); see the crate docs.
pub struct StateDb {
    conn: Mutex<Connection>,
    /// The file, or `:memory:`; for messages.
    path: PathBuf,
}

impl std::fmt::Debug for StateDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateDb").field("path", &self.path).finish()
    }
}

impl StateDb {
    /// Opens (or creates) the database at `path`, creating missing parent folders, and
    /// brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, StateError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StateError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let open_err = |source| StateError::Open {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(open_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(db = %path.display(), mode, "state database is not in WAL mode");
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        let db = Self::setup(conn, path.to_path_buf())?;
        tracing::debug!(db = %path.display(), "state database open");
        Ok(db)
    }

    /// A fresh database in memory (tests, dry runs); gone when dropped.
    pub fn open_in_memory() -> Result<Self, StateError> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(|source| StateError::Open {
            path: path.clone(),
            source,
        })?;
        Self::setup(conn, path)
    }

    fn setup(mut conn: Connection, path: PathBuf) -> Result<Self, StateError> {
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(|source| StateError::Open {
                path: path.clone(),
                source,
            })?;
        schema::migrate(&mut conn, &path)?;
        Ok(Self {
            conn: Mutex::new(conn),
            path,
        })
    }

    /// The database file (`:memory:` for one in memory).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The connection. A panic while it was held leaves nothing half-done (an open
    /// transaction rolls back when dropped), so a poisoned lock is taken over.
    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A mapper of rusqlite errors met while doing `action`.
    fn err(&self, action: &'static str) -> impl Fn(rusqlite::Error) -> StateError + '_ {
        move |e| StateError::sql(&self.path, action, e)
    }

    /// Fails with [`StateError::NoSuchPair`] unless the pair exists.
    fn ensure_pair(&self, conn: &Connection, id: PairId) -> Result<(), StateError> {
        let found = conn
            .prepare_cached("SELECT 1 FROM pairs WHERE id = ?1")
            .and_then(|mut st| st.query_row([id.0], |_| Ok(())))
            .optional()
            .map_err(self.err("look up a pair"))?;
        found.ok_or(StateError::NoSuchPair(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn is_send_and_sync() {
        assert_send_sync::<StateDb>();
    }

    #[test]
    fn a_fresh_file_is_migrated_and_reopening_keeps_data_and_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dirs/state.db");
        let db = StateDb::open(&path).unwrap();
        assert_eq!(schema::user_version(&db.conn()), schema::VERSION);
        let mode: String = db
            .conn()
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let fk: bool = db
            .conn()
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .unwrap();
        assert!(fk);
        let pair = db
            .add_pair(&pairs::tests::new_pair("p"), pairs::tests::t(1))
            .unwrap();
        drop(db);

        let db = StateDb::open(&path).unwrap();
        assert_eq!(schema::user_version(&db.conn()), schema::VERSION);
        assert_eq!(db.pairs().unwrap(), vec![pair]);
    }

    #[test]
    fn a_database_from_a_newer_drivesync_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        drop(StateDb::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", schema::VERSION + 1)
            .unwrap();
        drop(conn);
        let err = StateDb::open(&path).unwrap_err();
        assert!(
            matches!(err, StateError::TooNew { found, known, .. } if found == schema::VERSION + 1 && known == schema::VERSION),
            "{err:?}"
        );
        assert!(err.to_string().contains("upgrade drivesync"));
    }

    #[test]
    fn a_file_that_is_not_a_database_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        std::fs::write(&path, vec![7u8; 4096]).unwrap();
        let err = StateDb::open(&path).unwrap_err();
        assert!(err.to_string().contains("state.db"), "{err}");
    }

    #[test]
    fn in_memory_databases_are_separate() {
        let a = StateDb::open_in_memory().unwrap();
        let b = StateDb::open_in_memory().unwrap();
        a.add_pair(&pairs::tests::new_pair("p"), pairs::tests::t(1))
            .unwrap();
        assert_eq!(b.pairs().unwrap(), vec![]);
        assert_eq!(a.path(), Path::new(":memory:"));
    }
}
