//! Sync pairs: add, list, find, change, remove.

use chrono::{DateTime, Utc};
use drivesync_model::{Cursor, DriveId, PairId, PairSettings, RootId};
use rusqlite::{params, OptionalExtension, Row};

use crate::codec::{self, parse, parse_opt};
use crate::error::PairField;
use crate::types::{NewPair, Pair};
use crate::{StateDb, StateError};

const COLUMNS: &str =
    "id, name, local_root, remote_root, remote_path, settings, created, last_sync";

fn read_pair(row: &Row<'_>) -> rusqlite::Result<Pair> {
    let settings: String = row.get(5)?;
    let settings: PairSettings = serde_json::from_str(&settings).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(5, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(Pair {
        id: PairId(row.get(0)?),
        name: row.get(1)?,
        local_root: row.get::<_, String>(2)?.into(),
        remote_root: DriveId::new(row.get::<_, String>(3)?),
        remote_path: row.get(4)?,
        settings,
        created: parse(row, 6)?,
        last_sync: parse_opt(row, 7)?,
    })
}

impl StateDb {
    /// Adds a pair. Its name and its local folder must be unique
    /// ([`StateError::PairExists`] otherwise); the local folder must be valid UTF-8.
    pub fn add_pair(&self, new: &NewPair, at: DateTime<Utc>) -> Result<Pair, StateError> {
        let root = new
            .local_root
            .to_str()
            .ok_or_else(|| StateError::NonUtf8Root {
                path: new.local_root.clone(),
            })?;
        let settings = serde_json::to_string(&new.settings).expect("settings serialize");
        let err = self.err("add a sync pair");
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(&err)?;
        for (field, column, value) in [
            (PairField::Name, "name", new.name.as_str()),
            (PairField::LocalRoot, "local_root", root),
        ] {
            let taken = tx
                .query_row(
                    &format!("SELECT 1 FROM pairs WHERE {column} = ?1"),
                    [value],
                    |_| Ok(()),
                )
                .optional()
                .map_err(&err)?;
            if taken.is_some() {
                return Err(StateError::PairExists {
                    field,
                    value: value.to_owned(),
                });
            }
        }
        tx.execute(
            "INSERT INTO pairs (name, local_root, remote_root, remote_path, settings, created)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                new.name,
                root,
                new.remote_root.as_str(),
                new.remote_path,
                settings,
                codec::time(at)
            ],
        )
        .map_err(&err)?;
        let id = PairId(tx.last_insert_rowid());
        tx.commit().map_err(&err)?;
        tracing::info!(pair = %id, name = %new.name, "sync pair added");
        Ok(Pair {
            id,
            name: new.name.clone(),
            local_root: new.local_root.clone(),
            remote_root: new.remote_root.clone(),
            remote_path: new.remote_path.clone(),
            settings: new.settings.clone(),
            created: at,
            last_sync: None,
        })
    }

    /// Every pair, by id.
    pub fn pairs(&self) -> Result<Vec<Pair>, StateError> {
        let err = self.err("list the sync pairs");
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM pairs ORDER BY id"))
            .map_err(&err)?;
        let rows = stmt.query_map([], read_pair).map_err(&err)?;
        rows.collect::<Result<_, _>>().map_err(&err)
    }

    /// The pair with this id.
    pub fn pair(&self, id: PairId) -> Result<Option<Pair>, StateError> {
        let conn = self.conn();
        conn.query_row(
            &format!("SELECT {COLUMNS} FROM pairs WHERE id = ?1"),
            [id.0],
            read_pair,
        )
        .optional()
        .map_err(self.err("read a sync pair"))
    }

    /// The pair named `name_or_id`, else the pair whose id it is (as a decimal number).
    pub fn find_pair(&self, name_or_id: &str) -> Result<Option<Pair>, StateError> {
        let by_name = {
            let conn = self.conn();
            conn.query_row(
                &format!("SELECT {COLUMNS} FROM pairs WHERE name = ?1"),
                [name_or_id],
                read_pair,
            )
            .optional()
            .map_err(self.err("find a sync pair"))?
        };
        match (by_name, name_or_id.trim().parse::<i64>()) {
            (Some(p), _) => Ok(Some(p)),
            (None, Ok(id)) => self.pair(PairId(id)),
            (None, Err(_)) => Ok(None),
        }
    }

    /// Removes a pair and all its rows (synced tree, cursor, pending creates, activity,
    /// conflicts). Never touches any file. `false` when there was no such pair.
    pub fn remove_pair(&self, id: PairId) -> Result<bool, StateError> {
        let conn = self.conn();
        // Rows of the pair go with it: every table references pairs ON DELETE CASCADE.
        let n = conn
            .execute("DELETE FROM pairs WHERE id = ?1", [id.0])
            .map_err(self.err("remove a sync pair"))?;
        if n > 0 {
            tracing::info!(pair = %id, "sync pair removed");
        }
        Ok(n > 0)
    }

    /// Replaces a pair's settings.
    pub fn set_settings(&self, id: PairId, s: &PairSettings) -> Result<(), StateError> {
        let json = serde_json::to_string(s).expect("settings serialize");
        self.update_pair(id, "settings", json, "save a pair's settings")
    }

    /// Records when the last sync without errors of a pair started.
    pub fn set_last_sync(&self, id: PairId, at: DateTime<Utc>) -> Result<(), StateError> {
        self.update_pair(
            id,
            "last_sync",
            codec::time(at),
            "record a pair's last sync",
        )
    }

    /// The pair's position in Drive's change feed (`None`: never listed, or no such pair).
    pub fn cursor(&self, pair: PairId) -> Result<Option<Cursor>, StateError> {
        let c = self.pair_text(pair, "cursor", "read a pair's change cursor")?;
        Ok(c.map(Cursor))
    }

    /// Stores the pair's position in Drive's change feed.
    pub fn set_cursor(&self, pair: PairId, c: &Cursor) -> Result<(), StateError> {
        self.update_pair(pair, "cursor", c.0.clone(), "save a pair's change cursor")
    }

    /// The recorded identity of the pair's local folder (`None`: not recorded yet, or no
    /// such pair).
    pub fn root_id(&self, pair: PairId) -> Result<Option<RootId>, StateError> {
        let text = self.pair_text(pair, "root_id", "read a pair's folder identity")?;
        // Written only by `set_root_id`; anything else reads as "not recorded", which makes
        // the next sync record it again.
        Ok(text.and_then(|t| {
            let (device, file_id) = t.split_once(':')?;
            Some(RootId {
                device: device.parse().ok()?,
                file_id: file_id.parse().ok()?,
            })
        }))
    }

    /// Records the identity of the pair's local folder (`None` forgets it: the next sync
    /// records the folder it finds, as for a pair from before identities were kept).
    pub fn set_root_id(&self, pair: PairId, id: Option<RootId>) -> Result<(), StateError> {
        let text = id.map(|id| format!("{}:{}", id.device, id.file_id));
        self.update_pair(pair, "root_id", text, "record a pair's folder identity")
    }

    /// Drive folders that moved into the pair and whose content a sync listed, to be listed
    /// again by every sync until one stores its cursor. The change feed does not mention a
    /// moved folder's content, and after a folder is recorded it no longer looks new: a
    /// file inside it whose download failed would otherwise never be seen again.
    pub fn relist(&self, pair: PairId) -> Result<Vec<DriveId>, StateError> {
        let err = self.err("read the folders to list again");
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached("SELECT drive_id FROM relist WHERE pair = ?1 ORDER BY drive_id")
            .map_err(&err)?;
        let rows = stmt
            .query_map([pair.0], |r| r.get::<_, String>(0).map(DriveId::new))
            .map_err(&err)?;
        rows.collect::<Result<_, _>>().map_err(&err)
    }

    /// Replaces the pair's [`StateDb::relist`] folders with `ids` (none: nothing to list
    /// again), in one transaction.
    pub fn set_relist(&self, pair: PairId, ids: &[DriveId]) -> Result<(), StateError> {
        let err = self.err("save the folders to list again");
        let mut conn = self.conn();
        self.ensure_pair(&conn, pair)?;
        let tx = conn.transaction().map_err(&err)?;
        tx.execute("DELETE FROM relist WHERE pair = ?1", [pair.0])
            .map_err(&err)?;
        {
            let mut stmt = tx
                .prepare_cached("INSERT OR IGNORE INTO relist (pair, drive_id) VALUES (?1, ?2)")
                .map_err(&err)?;
            for id in ids {
                stmt.execute(params![pair.0, id.as_str()]).map_err(&err)?;
            }
        }
        tx.commit().map_err(&err)
    }

    /// The text in `column` of the pair (`None`: NULL, or no such pair).
    fn pair_text(
        &self,
        pair: PairId,
        column: &'static str,
        action: &'static str,
    ) -> Result<Option<String>, StateError> {
        let conn = self.conn();
        let text: Option<Option<String>> = conn
            .query_row(
                &format!("SELECT {column} FROM pairs WHERE id = ?1"),
                [pair.0],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err(action))?;
        Ok(text.flatten())
    }

    fn update_pair(
        &self,
        id: PairId,
        column: &'static str,
        value: impl rusqlite::ToSql,
        action: &'static str,
    ) -> Result<(), StateError> {
        let conn = self.conn();
        let n = conn
            .execute(
                &format!("UPDATE pairs SET {column} = ?1 WHERE id = ?2"),
                params![value, id.0],
            )
            .map_err(self.err(action))?;
        if n == 0 {
            return Err(StateError::NoSuchPair(id));
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "pairs_tests.rs"]
pub(crate) mod tests;
