//! A pair's synced tree (the base) and its pending creates.
//!
//! Subtrees are selected exactly, component-wise, without `LIKE` (names may hold `%`, `_`,
//! `'`...): the rows under `p` are those with `p + "/" <= path < p + "0"` (`'0'` is the byte
//! right after `'/'`; SQLite's default collation compares bytes, and every path under `p`
//! starts with `p/`). `ab` and `a-b` are outside that range for `a`; the primary key index
//! serves it.

use drivesync_model::{BaseEntry, DriveId, LocalStamp, Md5, PairId, RelPath, Tree};
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::codec::{self, parse, parse_kind, parse_opt};
use crate::types::BaseChange;
use crate::{StateDb, StateError};

const COLUMNS: &str = "path, drive_id, parent_id, remote_name, kind, mime_type, md5, size, \
                       version, local_size, mtime_ns, file_id";

/// The half-open range of paths strictly under `p`.
fn subtree_range(p: &RelPath) -> (String, String) {
    (format!("{}/", p.as_str()), format!("{}0", p.as_str()))
}

fn read_entry(row: &Row<'_>) -> rusqlite::Result<(RelPath, BaseEntry)> {
    let path: RelPath = parse(row, 0)?;
    let entry = BaseEntry {
        id: DriveId::new(row.get::<_, String>(1)?),
        parent: DriveId::new(row.get::<_, String>(2)?),
        remote_name: row.get(3)?,
        kind: parse_kind(row, 4)?,
        mime_type: row.get(5)?,
        md5: parse_opt::<Md5>(row, 6)?,
        size: codec::u64_from(row.get(7)?),
        version: codec::u64_from(row.get(8)?),
        local: LocalStamp {
            size: codec::u64_from(row.get(9)?),
            mtime_ns: row.get(10)?,
            file_id: codec::u64_from(row.get(11)?),
        },
    };
    Ok((path, entry))
}

fn put(tx: &Connection, pair: PairId, path: &RelPath, e: &BaseEntry) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(&format!(
        "INSERT OR REPLACE INTO base (pair, {COLUMNS})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
    ))?;
    stmt.execute(params![
        pair.0,
        path.as_str(),
        e.id.as_str(),
        e.parent.as_str(),
        e.remote_name,
        codec::kind(e.kind),
        e.mime_type,
        e.md5.map(|m| m.to_string()),
        codec::u64_sql(e.size),
        codec::u64_sql(e.version),
        codec::u64_sql(e.local.size),
        e.local.mtime_ns,
        codec::u64_sql(e.local.file_id),
    ])?;
    Ok(())
}

/// Deletes the row at `p` and every row under it; returns how many.
fn remove(tx: &Connection, pair: PairId, p: &RelPath) -> rusqlite::Result<usize> {
    let (lo, hi) = subtree_range(p);
    tx.prepare_cached(
        "DELETE FROM base WHERE pair = ?1 AND (path = ?2 OR (path >= ?3 AND path < ?4))",
    )?
    .execute(params![pair.0, p.as_str(), lo, hi])
}

/// Moves the row at `from` and every row under it to `to`; returns how many.
fn move_subtree(
    tx: &Connection,
    pair: PairId,
    from: &RelPath,
    to: &RelPath,
) -> Result<usize, rusqlite::Error> {
    let (lo, hi) = subtree_range(from);
    let moved: Vec<(RelPath, BaseEntry)> = tx
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM base
             WHERE pair = ?1 AND (path = ?2 OR (path >= ?3 AND path < ?4))"
        ))?
        .query_map(params![pair.0, from.as_str(), lo, hi], read_entry)?
        .collect::<Result<_, _>>()?;
    // Every source goes first: a target may itself be a source (moving `a/b` to `a` makes
    // `a/b/b/x` the new `a/b/x`, while the old `a/b/x` becomes `a/x`).
    remove(tx, pair, from)?;
    for (path, entry) in &moved {
        let target = path
            .rebase(from, to)
            .expect("selected rows are under `from`");
        put(tx, pair, &target, entry)?;
    }
    Ok(moved.len())
}

/// One finished op's writes (see [`StateDb::commit_op`]).
fn write_op(
    conn: &Connection,
    pair: PairId,
    changes: &[BaseChange],
    activity: Option<&crate::NewActivity>,
) -> rusqlite::Result<()> {
    for change in changes {
        match change {
            BaseChange::Put(p, e) => {
                put(conn, pair, p, e)?;
                if activity.is_some() {
                    conn.prepare_cached(
                        "DELETE FROM pending_creates WHERE pair = ?1 AND path = ?2",
                    )?
                    .execute(params![pair.0, p.as_str()])?;
                }
            }
            BaseChange::Remove(p) => {
                remove(conn, pair, p)?;
            }
            BaseChange::Move { from, to } if from == to => {}
            BaseChange::Move { from, to } => {
                move_subtree(conn, pair, from, to)?;
            }
            BaseChange::Relist => {
                conn.prepare_cached("UPDATE pairs SET cursor = NULL WHERE id = ?1")?
                    .execute([pair.0])?;
            }
        }
    }
    if let Some(a) = activity {
        conn.prepare_cached(
            "INSERT INTO activity (pair, at, kind, path, message) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            pair.0,
            crate::codec::time(a.at),
            a.kind.as_str(),
            a.path.as_ref().map(RelPath::as_str),
            a.message
        ])?;
    }
    Ok(())
}

/// Refuses changes that make no sense, before anything is written.
fn check(change: &BaseChange) -> Result<(), StateError> {
    let invalid = |path: &RelPath, reason| {
        Err(StateError::InvalidChange {
            path: path.clone(),
            reason,
        })
    };
    match change {
        BaseChange::Put(p, _) | BaseChange::Remove(p) if p.is_root() => {
            invalid(p, "the root is not an entry")
        }
        BaseChange::Move { from, to } if from.is_root() || to.is_root() => {
            invalid(from, "the root cannot move, nor be a move's target")
        }
        BaseChange::Move { from, to } if from != to && to.starts_with(from) => {
            invalid(to, "a folder cannot move into itself")
        }
        _ => Ok(()),
    }
}

impl StateDb {
    /// The pair's synced tree (empty for an unknown pair).
    pub fn base(&self, pair: PairId) -> Result<Tree<BaseEntry>, StateError> {
        let err = self.err("read a pair's synced tree");
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM base WHERE pair = ?1"))
            .map_err(&err)?;
        let rows = stmt.query_map([pair.0], read_entry).map_err(&err)?;
        rows.collect::<Result<_, _>>().map_err(&err)
    }

    /// The synced entry at `path`, if there is one (one row read, for front ends).
    pub fn base_entry(
        &self,
        pair: PairId,
        path: &RelPath,
    ) -> Result<Option<BaseEntry>, StateError> {
        let conn = self.conn();
        conn.query_row(
            &format!("SELECT {COLUMNS} FROM base WHERE pair = ?1 AND path = ?2"),
            params![pair.0, path.as_str()],
            read_entry,
        )
        .optional()
        .map(|row| row.map(|(_, e)| e))
        .map_err(self.err("read a synced entry"))
    }

    /// How many entries the pair's synced tree has.
    pub fn base_len(&self, pair: PairId) -> Result<u64, StateError> {
        let conn = self.conn();
        let n: i64 = conn
            .query_row("SELECT count(*) FROM base WHERE pair = ?1", [pair.0], |r| {
                r.get(0)
            })
            .map_err(self.err("count a pair's synced tree"))?;
        Ok(n as u64)
    }

    /// Applies `changes` in order, in one transaction: all of them or, on any error, none.
    /// See [`BaseChange`] for each change's meaning and what is refused
    /// ([`StateError::InvalidChange`]).
    pub fn apply(&self, pair: PairId, changes: &[BaseChange]) -> Result<(), StateError> {
        self.commit_op(pair, changes, None)
    }

    /// What the engine commits when an op finished, in ONE transaction: the synced-tree
    /// `changes` (as [`StateDb::apply`]), the end of the pending creates at every path they
    /// put, and the op's `activity` entry.
    pub fn commit_op(
        &self,
        pair: PairId,
        changes: &[BaseChange],
        activity: Option<&crate::NewActivity>,
    ) -> Result<(), StateError> {
        self.commit_ops(pair, &[(changes, activity)])?
            .pop()
            .expect("one result per op")
    }

    /// Commits the ops that finished together (each as [`StateDb::commit_op`]) in ONE
    /// transaction, so a burst of small ops pays for one. Each op stays all or nothing: an op
    /// whose changes are refused gets its error in the list (in order) and the others are
    /// kept; when the database fails on one, the batch is rolled back and each op is retried
    /// in a transaction of its own. `Err`: nothing was committed.
    pub fn commit_ops(
        &self,
        pair: PairId,
        ops: &[(&[BaseChange], Option<&crate::NewActivity>)],
    ) -> Result<Vec<Result<(), StateError>>, StateError> {
        let err = self.err("update a pair's synced tree");
        let mut conn = self.conn();
        let checked: Vec<Result<(), StateError>> = ops
            .iter()
            .map(|(changes, _)| changes.iter().try_for_each(check))
            .collect();
        let tx = conn.transaction().map_err(&err)?;
        self.ensure_pair(&tx, pair)?;
        let written = ops
            .iter()
            .zip(&checked)
            .filter(|(_, c)| c.is_ok())
            .try_for_each(|((changes, activity), _)| write_op(&tx, pair, changes, *activity));
        if written.is_ok() {
            tx.commit().map_err(&err)?;
            tracing::debug!(pair = %pair, ops = ops.len(), "synced tree updated");
            return Ok(checked);
        }
        drop(tx);
        let mut results = Vec::with_capacity(ops.len());
        for ((changes, activity), c) in ops.iter().zip(checked) {
            if c.is_err() {
                results.push(c);
                continue;
            }
            let tx = conn.transaction().map_err(&err)?;
            match write_op(&tx, pair, changes, *activity) {
                Ok(()) => results.push(tx.commit().map_err(&err)),
                // Dropping the transaction rolls this op back; the others stay.
                Err(e) => results.push(Err(err(e))),
            }
        }
        tracing::debug!(pair = %pair, ops = ops.len(), "synced tree updated op by op");
        Ok(results)
    }

    /// The Drive id generated for a create at `path` that may not have finished.
    pub fn pending_id(&self, pair: PairId, path: &RelPath) -> Result<Option<DriveId>, StateError> {
        let conn = self.conn();
        conn.prepare_cached("SELECT drive_id FROM pending_creates WHERE pair = ?1 AND path = ?2")
            .and_then(|mut st| {
                st.query_row(params![pair.0, path.as_str()], |r| {
                    r.get::<_, String>(0).map(DriveId::new)
                })
            })
            .optional()
            .map_err(self.err("read a pending create"))
    }

    /// Every pending create of the pair: (path, id). A file with one of these ids on Drive
    /// is what the create at that path made, though its answer was lost.
    pub fn pending_ids(&self, pair: PairId) -> Result<Vec<(RelPath, DriveId)>, StateError> {
        let err = self.err("read the pending creates");
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached("SELECT path, drive_id FROM pending_creates WHERE pair = ?1")
            .map_err(&err)?;
        let rows = stmt
            .query_map([pair.0], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(&err)?;
        let mut out = Vec::new();
        for row in rows {
            let (path, id) = row.map_err(&err)?;
            // A path that no longer parses (never written by this version) is skipped.
            if let Ok(p) = RelPath::new(&path) {
                out.push((p, DriveId::new(id)));
            }
        }
        Ok(out)
    }

    /// Remembers the id generated for a create at `path`, before the create is sent.
    pub fn set_pending_id(
        &self,
        pair: PairId,
        path: &RelPath,
        id: &DriveId,
    ) -> Result<(), StateError> {
        if path.is_root() {
            return Err(StateError::InvalidChange {
                path: path.clone(),
                reason: "the root is never created",
            });
        }
        let conn = self.conn();
        self.ensure_pair(&conn, pair)?;
        conn.prepare_cached(
            "INSERT OR REPLACE INTO pending_creates (pair, path, drive_id) VALUES (?1, ?2, ?3)",
        )
        .and_then(|mut st| st.execute(params![pair.0, path.as_str(), id.as_str()]))
        .map_err(self.err("save a pending create"))?;
        Ok(())
    }

    /// [`StateDb::set_pending_id`] for many paths, in one transaction.
    pub fn set_pending_ids(
        &self,
        pair: PairId,
        ids: &[(RelPath, DriveId)],
    ) -> Result<(), StateError> {
        if let Some((path, _)) = ids.iter().find(|(p, _)| p.is_root()) {
            return Err(StateError::InvalidChange {
                path: path.clone(),
                reason: "the root is never created",
            });
        }
        let mut conn = self.conn();
        self.ensure_pair(&conn, pair)?;
        let tx = conn
            .transaction()
            .map_err(self.err("save pending creates"))?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO pending_creates (pair, path, drive_id) VALUES (?1, ?2, ?3)",
                )
                .map_err(self.err("save pending creates"))?;
            for (path, id) in ids {
                stmt.execute(params![pair.0, path.as_str(), id.as_str()])
                    .map_err(self.err("save pending creates"))?;
            }
        }
        tx.commit().map_err(self.err("save pending creates"))?;
        Ok(())
    }

    /// Forgets the pending create at `path` (it finished, or was abandoned).
    pub fn clear_pending_id(&self, pair: PairId, path: &RelPath) -> Result<(), StateError> {
        let conn = self.conn();
        conn.prepare_cached("DELETE FROM pending_creates WHERE pair = ?1 AND path = ?2")
            .and_then(|mut st| st.execute(params![pair.0, path.as_str()]))
            .map_err(self.err("clear a pending create"))?;
        Ok(())
    }
}

#[cfg(test)]
#[path = "tree_tests.rs"]
pub(crate) mod tests;
