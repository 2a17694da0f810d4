//! Conflicts: a file changed on both sides; the local version was renamed to a conflict copy
//! and both were synced. They stay listed until the user resolves them.

use chrono::{DateTime, Utc};
use drivesync_model::PairId;
use rusqlite::{params, Row};

use crate::codec::{self, parse};
use crate::types::{Conflict, ConflictId, NewConflict, Resolution};
use crate::{StateDb, StateError};

fn read_conflict(row: &Row<'_>) -> rusqlite::Result<Conflict> {
    Ok(Conflict {
        id: ConflictId(row.get(0)?),
        pair: PairId(row.get(1)?),
        at: parse(row, 2)?,
        path: parse(row, 3)?,
        copy: parse(row, 4)?,
        host: row.get(5)?,
    })
}

impl StateDb {
    /// Records a conflict of `pair`.
    pub fn add_conflict(&self, pair: PairId, c: &NewConflict) -> Result<ConflictId, StateError> {
        let conn = self.conn();
        self.ensure_pair(&conn, pair)?;
        conn.execute(
            "INSERT INTO conflicts (pair, at, path, copy, host) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                pair.0,
                codec::time(c.at),
                c.path.as_str(),
                c.copy.as_str(),
                c.host
            ],
        )
        .map_err(self.err("record a conflict"))?;
        let id = ConflictId(conn.last_insert_rowid());
        tracing::info!(pair = %pair, conflict = id.0, "conflict recorded");
        Ok(id)
    }

    /// The unresolved conflicts of `pair` (of every pair for `None`), oldest first.
    pub fn conflicts(&self, pair: Option<PairId>) -> Result<Vec<Conflict>, StateError> {
        let err = self.err("list conflicts");
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT id, pair, at, path, copy, host FROM conflicts
                 WHERE resolved_at IS NULL AND (?1 IS NULL OR pair = ?1)
                 ORDER BY id",
            )
            .map_err(&err)?;
        let rows = stmt
            .query_map([pair.map(|p| p.0)], read_conflict)
            .map_err(&err)?;
        rows.collect::<Result<_, _>>().map_err(&err)
    }

    /// Marks a conflict resolved the way the user chose (the files themselves are the
    /// engine's business). `false` when there is no such unresolved conflict.
    pub fn resolve_conflict(
        &self,
        id: ConflictId,
        how: Resolution,
        at: DateTime<Utc>,
    ) -> Result<bool, StateError> {
        let conn = self.conn();
        let n = conn
            .execute(
                "UPDATE conflicts SET resolved_at = ?1, resolution = ?2
                 WHERE id = ?3 AND resolved_at IS NULL",
                params![codec::time(at), how.as_str(), id.0],
            )
            .map_err(self.err("resolve a conflict"))?;
        if n > 0 {
            tracing::info!(conflict = id.0, resolution = %how, "conflict resolved");
        }
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pairs::tests::{new_pair, t};
    use drivesync_model::RelPath;

    fn conflict(s: i64, path: &str) -> NewConflict {
        NewConflict {
            at: t(s),
            path: RelPath::new(path).unwrap(),
            copy: RelPath::new(format!("{path} (conflict host 2024-01-01 000000)")).unwrap(),
            host: "host".into(),
        }
    }

    #[test]
    fn conflicts_are_listed_oldest_first_until_resolved() {
        let db = StateDb::open_in_memory().unwrap();
        let a = db.add_pair(&new_pair("a"), t(0)).unwrap().id;
        let b = db.add_pair(&new_pair("b"), t(0)).unwrap().id;
        let c1 = db.add_conflict(a, &conflict(1, "x.txt")).unwrap();
        let c2 = db.add_conflict(b, &conflict(2, "d/y.txt")).unwrap();
        let c3 = db.add_conflict(a, &conflict(3, "z")).unwrap();

        let all = db.conflicts(None).unwrap();
        assert_eq!(all.iter().map(|c| c.id).collect::<Vec<_>>(), [c1, c2, c3]);
        let n = conflict(2, "d/y.txt");
        assert_eq!(
            all[1],
            Conflict {
                id: c2,
                pair: b,
                at: n.at,
                path: n.path,
                copy: n.copy,
                host: n.host
            }
        );
        let of_a: Vec<_> = db
            .conflicts(Some(a))
            .unwrap()
            .iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(of_a, [c1, c3]);

        assert!(db.resolve_conflict(c1, Resolution::KeepBoth, t(9)).unwrap());
        assert!(!db
            .resolve_conflict(c1, Resolution::KeepMine, t(10))
            .unwrap());
        assert!(!db
            .resolve_conflict(ConflictId(999), Resolution::KeepTheirs, t(10))
            .unwrap());
        let of_a: Vec<_> = db
            .conflicts(Some(a))
            .unwrap()
            .iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(of_a, [c3]);
        let (at, how): (String, String) = db
            .conn()
            .query_row(
                "SELECT resolved_at, resolution FROM conflicts WHERE id = ?1",
                [c1.0],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((at, how.as_str()), (codec::time(t(9)), "keep_both"));
        assert!(matches!(
            db.add_conflict(PairId(404), &conflict(1, "q")),
            Err(StateError::NoSuchPair(_))
        ));
    }
}
