//! Resumable upload sessions, kept so an upload cut by a crash resumes (design safety rule 5).
//!
//! The URI is a capability for one upload: it is stored because resuming needs it, and it is
//! never logged (keys are logged only by length: they hold local paths).

use chrono::{DateTime, Utc};
use drivesync_model::{DriveId, Sensitive};
use rusqlite::{params, OptionalExtension};

use crate::codec;
use crate::types::StoredSession;
use crate::{StateDb, StateError};

impl StateDb {
    /// The session saved under `key`, if any.
    pub fn upload_session(&self, key: &str) -> Result<Option<StoredSession>, StateError> {
        let conn = self.conn();
        conn.prepare_cached("SELECT uri, size, file_id FROM upload_sessions WHERE key = ?1")
            .and_then(|mut st| {
                st.query_row([key], |r| {
                    Ok(StoredSession {
                        uri: Sensitive::new(r.get(0)?),
                        size: codec::u64_from(r.get(1)?),
                        file_id: r.get::<_, Option<String>>(2)?.map(DriveId::new),
                    })
                })
            })
            .optional()
            .map_err(self.err("read an upload session"))
    }

    /// Saves (or replaces) the session under `key`; `at` is when, for
    /// [`StateDb::prune_upload_sessions`].
    pub fn save_upload_session(
        &self,
        key: &str,
        s: &StoredSession,
        at: DateTime<Utc>,
    ) -> Result<(), StateError> {
        let conn = self.conn();
        conn.prepare_cached(
            "INSERT OR REPLACE INTO upload_sessions (key, uri, size, file_id, saved)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .and_then(|mut st| {
            st.execute(params![
                key,
                s.uri.expose(),
                codec::u64_sql(s.size),
                s.file_id.as_ref().map(DriveId::as_str),
                codec::time(at)
            ])
        })
        .map_err(self.err("save an upload session"))?;
        tracing::debug!(key_len = key.len(), size = s.size, "upload session saved");
        Ok(())
    }

    /// Forgets the session under `key` (the upload finished, or the session is gone).
    pub fn clear_upload_session(&self, key: &str) -> Result<(), StateError> {
        let conn = self.conn();
        conn.prepare_cached("DELETE FROM upload_sessions WHERE key = ?1")
            .and_then(|mut st| st.execute([key]))
            .map_err(self.err("clear an upload session"))?;
        Ok(())
    }

    /// Forgets every session saved before `before` (Drive expires them within a week, so
    /// older ones are useless capabilities); returns how many.
    pub fn prune_upload_sessions(&self, before: DateTime<Utc>) -> Result<u64, StateError> {
        let conn = self.conn();
        let n = conn
            .execute(
                "DELETE FROM upload_sessions WHERE saved < ?1",
                [codec::time(before)],
            )
            .map_err(self.err("prune old upload sessions"))?;
        if n > 0 {
            tracing::info!(count = n, "expired upload sessions forgotten");
        }
        Ok(n as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pairs::tests::t;

    const URI: &str = "https://upload.example/upload?upload_id=SECRET-CAPABILITY";

    #[test]
    fn sessions_round_trip_and_never_show_their_uri() {
        let db = StateDb::open_in_memory().unwrap();
        assert_eq!(db.upload_session("k").unwrap(), None);
        let s = StoredSession {
            uri: Sensitive::new(URI.into()),
            size: u64::MAX,
            file_id: Some(DriveId::new("gen-1")),
        };
        db.save_upload_session("k", &s, t(0)).unwrap();
        let got = db.upload_session("k").unwrap().unwrap();
        assert_eq!(got, s);
        assert_eq!(got.uri.expose(), URI);
        let shown = format!("{got:?} {:?}", Some(&got));
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(!shown.contains("upload.example"), "{shown}");

        let s2 = StoredSession {
            uri: Sensitive::new("https://u/2".into()),
            size: 3,
            file_id: None,
        };
        db.save_upload_session("k", &s2, t(1)).unwrap();
        assert_eq!(db.upload_session("k").unwrap(), Some(s2));
        assert_eq!(db.upload_session("other").unwrap(), None);
        db.clear_upload_session("k").unwrap();
        assert_eq!(db.upload_session("k").unwrap(), None);
        db.clear_upload_session("k").unwrap();
    }

    #[test]
    fn old_sessions_are_pruned() {
        let db = StateDb::open_in_memory().unwrap();
        let s = |n| StoredSession {
            uri: Sensitive::new(format!("https://u/{n}")),
            size: n,
            file_id: None,
        };
        db.save_upload_session("old", &s(1), t(0)).unwrap();
        db.save_upload_session("new", &s(2), t(100)).unwrap();
        assert_eq!(db.prune_upload_sessions(t(50)).unwrap(), 1);
        assert_eq!(db.upload_session("old").unwrap(), None);
        assert_eq!(db.upload_session("new").unwrap(), Some(s(2)));
    }
}
