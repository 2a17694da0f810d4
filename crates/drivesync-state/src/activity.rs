//! The activity log.

use chrono::{DateTime, Utc};
use drivesync_model::{PairId, RelPath};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Row};

use crate::codec::{self, parse, parse_opt};
use crate::types::{Activity, ActivityId, ActivityQuery, NewActivity};
use crate::{StateDb, StateError};

fn read_activity(row: &Row<'_>) -> rusqlite::Result<Activity> {
    Ok(Activity {
        id: ActivityId(row.get(0)?),
        pair: row.get::<_, Option<i64>>(1)?.map(PairId),
        at: parse(row, 2)?,
        kind: parse(row, 3)?,
        path: parse_opt::<RelPath>(row, 4)?,
        message: row.get(5)?,
    })
}

impl StateDb {
    /// Records an activity entry for `pair` (`None`: the app as a whole).
    pub fn log(&self, pair: Option<PairId>, a: &NewActivity) -> Result<ActivityId, StateError> {
        let conn = self.conn();
        if let Some(pair) = pair {
            self.ensure_pair(&conn, pair)?;
        }
        conn.prepare_cached(
            "INSERT INTO activity (pair, at, kind, path, message) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .and_then(|mut s| {
            s.execute(params![
                pair.map(|p| p.0),
                codec::time(a.at),
                a.kind.as_str(),
                a.path.as_ref().map(RelPath::as_str),
                a.message
            ])
        })
        .map_err(self.err("record activity"))?;
        Ok(ActivityId(conn.last_insert_rowid()))
    }

    /// Activity entries matching `q`, newest first.
    ///
    /// The text filter ignores case for all of Unicode (not only ASCII, as SQLite's `LIKE`
    /// would) and treats `%` and `_` literally: it is applied here, while reading rows newest
    /// first, until `q.limit` match.
    pub fn activity(&self, q: &ActivityQuery) -> Result<Vec<Activity>, StateError> {
        if q.limit == 0 {
            return Ok(Vec::new());
        }
        let mut sql =
            String::from("SELECT id, pair, at, kind, path, message FROM activity WHERE 1 = 1");
        let mut args: Vec<Value> = Vec::new();
        if let Some(pair) = q.pair {
            args.push(pair.0.into());
            sql.push_str(&format!(" AND pair = ?{}", args.len()));
        }
        if let Some(kind) = q.kind {
            args.push(kind.as_str().to_owned().into());
            sql.push_str(&format!(" AND kind = ?{}", args.len()));
        }
        if let Some(before) = q.before {
            args.push(before.0.into());
            sql.push_str(&format!(" AND id < ?{}", args.len()));
        }
        sql.push_str(" ORDER BY id DESC");
        let needle = q
            .text
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(str::to_lowercase);
        let matches = |a: &Activity| match &needle {
            None => true,
            Some(n) => {
                a.message.to_lowercase().contains(n)
                    || a.path
                        .as_ref()
                        .is_some_and(|p| p.as_str().to_lowercase().contains(n))
            }
        };

        let err = self.err("read the activity log");
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&sql).map_err(&err)?;
        let rows = stmt
            .query_map(params_from_iter(args), read_activity)
            .map_err(&err)?;
        let mut out = Vec::new();
        for row in rows {
            let a = row.map_err(&err)?;
            if matches(&a) {
                out.push(a);
                if out.len() >= q.limit as usize {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Deletes activity entries from before `before`; returns how many.
    pub fn prune_activity(&self, before: DateTime<Utc>) -> Result<u64, StateError> {
        let conn = self.conn();
        let n = conn
            .execute("DELETE FROM activity WHERE at < ?1", [codec::time(before)])
            .map_err(self.err("prune the activity log"))?;
        Ok(n as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pairs::tests::{new_pair, t};
    use crate::types::ActivityKind;

    fn entry(s: i64, kind: ActivityKind, path: Option<&str>, message: &str) -> NewActivity {
        NewActivity {
            at: t(s),
            kind,
            path: path.map(|p| RelPath::new(p).unwrap()),
            message: message.into(),
        }
    }

    fn messages(v: &[Activity]) -> Vec<&str> {
        v.iter().map(|a| a.message.as_str()).collect()
    }

    #[test]
    fn entries_round_trip_newest_first() {
        let db = StateDb::open_in_memory().unwrap();
        let p = db.add_pair(&new_pair("p"), t(0)).unwrap().id;
        let e1 = entry(1, ActivityKind::Uploaded, Some("a/b.txt"), "one");
        let e2 = entry(2, ActivityKind::Info, None, "two");
        let id1 = db.log(Some(p), &e1).unwrap();
        let id2 = db.log(None, &e2).unwrap();
        assert!(id2 > id1);
        let all = db.activity(&ActivityQuery::default()).unwrap();
        assert_eq!(
            all,
            vec![
                Activity {
                    id: id2,
                    pair: None,
                    at: t(2),
                    kind: ActivityKind::Info,
                    path: None,
                    message: "two".into()
                },
                Activity {
                    id: id1,
                    pair: Some(p),
                    at: t(1),
                    kind: ActivityKind::Uploaded,
                    path: Some(RelPath::new("a/b.txt").unwrap()),
                    message: "one".into()
                },
            ]
        );
        assert!(matches!(
            db.log(Some(PairId(404)), &e1),
            Err(StateError::NoSuchPair(_))
        ));
    }

    #[test]
    fn filters_by_pair_kind_and_text_and_pages() {
        let db = StateDb::open_in_memory().unwrap();
        let a = db.add_pair(&new_pair("a"), t(0)).unwrap().id;
        let b = db.add_pair(&new_pair("b"), t(0)).unwrap().id;
        use ActivityKind::*;
        db.log(Some(a), &entry(1, Uploaded, Some("Photos/Été.JPG"), "m1"))
            .unwrap();
        db.log(
            Some(a),
            &entry(2, Downloaded, Some("x"), "Got 100% of REPORT"),
        )
        .unwrap();
        db.log(Some(b), &entry(3, Uploaded, Some("report_b"), "m3"))
            .unwrap();
        db.log(Some(a), &entry(4, Error, None, "disk full"))
            .unwrap();
        db.log(None, &entry(5, Info, None, "started")).unwrap();
        let q = |f: &dyn Fn(&mut ActivityQuery)| {
            let mut q = ActivityQuery::default();
            f(&mut q);
            messages(&db.activity(&q).unwrap())
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            q(&|q| q.pair = Some(a)),
            ["disk full", "Got 100% of REPORT", "m1"]
        );
        assert_eq!(q(&|q| q.kind = Some(Uploaded)), ["m3", "m1"]);
        assert_eq!(
            q(&|q| {
                q.kind = Some(Uploaded);
                q.pair = Some(b)
            }),
            ["m3"]
        );
        // Case-insensitive in all of Unicode, on path or message; `%` and `_` are literal.
        assert_eq!(q(&|q| q.text = Some("éTÉ".into())), ["m1"]);
        assert_eq!(
            q(&|q| q.text = Some("report".into())),
            ["m3", "Got 100% of REPORT"]
        );
        assert_eq!(q(&|q| q.text = Some("0%".into())), ["Got 100% of REPORT"]);
        assert_eq!(q(&|q| q.text = Some("t_b".into())), ["m3"]);
        assert_eq!(q(&|q| q.text = Some("%".into())), ["Got 100% of REPORT"]);
        assert_eq!(q(&|q| q.text = Some("nothing".into())).len(), 0);
        assert_eq!(q(&|q| q.text = Some(String::new())).len(), 5);

        // Paging: limit, then `before` the last id seen.
        let mut seen = Vec::new();
        let mut before = None;
        loop {
            let page = db
                .activity(&ActivityQuery {
                    before,
                    limit: 2,
                    ..ActivityQuery::default()
                })
                .unwrap();
            if page.is_empty() {
                break;
            }
            assert!(page.len() <= 2);
            before = page.last().map(|a| a.id);
            seen.extend(page.into_iter().map(|a| a.at));
        }
        assert_eq!(seen, vec![t(5), t(4), t(3), t(2), t(1)]);
        // Paging with a text filter fills pages with matches only.
        let page = db
            .activity(&ActivityQuery {
                text: Some("m".into()),
                limit: 1,
                ..ActivityQuery::default()
            })
            .unwrap();
        assert_eq!(messages(&page), ["m3"]);
        assert_eq!(q(&|q| q.limit = 0).len(), 0);
    }

    #[test]
    fn old_entries_are_pruned() {
        let db = StateDb::open_in_memory().unwrap();
        db.log(None, &entry(1, ActivityKind::Info, None, "old"))
            .unwrap();
        db.log(None, &entry(9, ActivityKind::Info, None, "new"))
            .unwrap();
        assert_eq!(db.prune_activity(t(5)).unwrap(), 1);
        let left = db.activity(&ActivityQuery::default()).unwrap();
        assert_eq!(messages(&left), ["new"]);
    }
}
