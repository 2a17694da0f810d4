//! The schema and its migrations.
//!
//! `MIGRATIONS[i]` takes a database from `PRAGMA user_version = i` to `i + 1`; each step runs
//! in its own transaction together with the version bump, so a crash leaves the database at
//! one version or the next, never in between. Steps are only ever appended, never edited.

use std::path::Path;

use rusqlite::Connection;

use crate::StateError;

/// The schema steps, in order. Paths are TEXT (`RelPath::as_str`, never `""`), ids TEXT,
/// times RFC 3339 TEXT, `u64`s INTEGER holding the same 64 bits.
const MIGRATIONS: &[&str] = &[
    // 1: everything.
    "
    CREATE TABLE pairs (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        name        TEXT NOT NULL UNIQUE,
        local_root  TEXT NOT NULL UNIQUE,
        remote_root TEXT NOT NULL,
        remote_path TEXT NOT NULL,
        settings    TEXT NOT NULL,
        created     TEXT NOT NULL,
        last_sync   TEXT,
        cursor      TEXT
    ) STRICT;

    CREATE TABLE base (
        pair        INTEGER NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
        path        TEXT NOT NULL CHECK (path <> ''),
        drive_id    TEXT NOT NULL,
        parent_id   TEXT NOT NULL,
        remote_name TEXT NOT NULL,
        kind        TEXT NOT NULL CHECK (kind IN ('file', 'folder', 'link')),
        mime_type   TEXT NOT NULL,
        md5         TEXT CHECK (md5 IS NULL OR length(md5) = 32),
        size        INTEGER NOT NULL,
        version     INTEGER NOT NULL,
        local_size  INTEGER NOT NULL,
        mtime_ns    INTEGER NOT NULL,
        file_id     INTEGER NOT NULL,
        PRIMARY KEY (pair, path)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE pending_creates (
        pair     INTEGER NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
        path     TEXT NOT NULL CHECK (path <> ''),
        drive_id TEXT NOT NULL,
        PRIMARY KEY (pair, path)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE upload_sessions (
        key     TEXT PRIMARY KEY,
        uri     TEXT NOT NULL,
        size    INTEGER NOT NULL,
        file_id TEXT,
        saved   TEXT NOT NULL
    ) STRICT;

    CREATE TABLE activity (
        id      INTEGER PRIMARY KEY AUTOINCREMENT,
        pair    INTEGER REFERENCES pairs(id) ON DELETE CASCADE,
        at      TEXT NOT NULL,
        kind    TEXT NOT NULL,
        path    TEXT,
        message TEXT NOT NULL
    ) STRICT;
    CREATE INDEX activity_by_pair ON activity (pair, id);

    CREATE TABLE conflicts (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        pair        INTEGER NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
        at          TEXT NOT NULL,
        path        TEXT NOT NULL,
        copy        TEXT NOT NULL,
        host        TEXT NOT NULL,
        resolved_at TEXT,
        resolution  TEXT
    ) STRICT;
    CREATE INDEX conflicts_by_pair ON conflicts (pair, id);
    ",
    // 2: Drive folders a sync listed whole, listed again until a sync stores its cursor.
    "
    CREATE TABLE relist (
        pair     INTEGER NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
        drive_id TEXT NOT NULL,
        PRIMARY KEY (pair, drive_id)
    ) STRICT, WITHOUT ROWID;
    ",
    // 3: the identity of each pair's local folder (`device:file_id`), recorded when the pair
    // is added or, for older pairs, at their first sync.
    "
    ALTER TABLE pairs ADD COLUMN root_id TEXT;
    ",
];

/// The newest schema version this build knows.
pub(crate) const VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database at `path` (for messages) up to [`VERSION`], or refuses one from a
/// newer drivesync.
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StateError> {
    let err = |e| StateError::sql(path, "upgrade its schema", e);
    let found: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(err)?;
    if found > VERSION {
        return Err(StateError::TooNew {
            path: path.to_path_buf(),
            found,
            known: VERSION,
        });
    }
    for (step, sql) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
        let next = step as i64 + 1;
        let tx = conn.transaction().map_err(err)?;
        tx.execute_batch(sql).map_err(err)?;
        tx.pragma_update(None, "user_version", next).map_err(err)?;
        tx.commit().map_err(err)?;
        tracing::info!(db = %path.display(), version = next, "state database schema upgraded");
    }
    Ok(())
}

/// The schema version of an open database.
#[cfg(test)]
pub(crate) fn user_version(conn: &Connection) -> i64 {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .expect("user_version")
}
