//! [`StateSessions`]: resumable upload sessions kept in the state database, so an upload cut
//! by a crash resumes from Drive's offset after a restart (safety rule 5).

use std::sync::Arc;

use chrono::Utc;
use drivesync_drive::{ResumableSession, UploadKey, UploadSessions};
use drivesync_state::{StateDb, StoredSession};

/// Upload sessions in the state database. Storage errors are logged, never fatal: losing a
/// session only costs re-sending the bytes.
#[derive(Clone)]
pub struct StateSessions(pub Arc<StateDb>);

impl UploadSessions for StateSessions {
    fn load(&self, key: &UploadKey) -> Option<ResumableSession> {
        match self.0.upload_session(key.as_str()) {
            Ok(s) => s.map(|s| ResumableSession {
                uri: s.uri,
                size: s.size,
                file_id: s.file_id,
            }),
            Err(e) => {
                tracing::warn!("cannot read a saved upload session: {e}");
                None
            }
        }
    }

    fn save(&self, key: &UploadKey, s: &ResumableSession) {
        let stored = StoredSession {
            uri: s.uri.clone(),
            size: s.size,
            file_id: s.file_id.clone(),
        };
        // The save time only decides when an abandoned session is pruned.
        if let Err(e) = self
            .0
            .save_upload_session(key.as_str(), &stored, Utc::now())
        {
            tracing::warn!("cannot save an upload session: {e}");
        }
    }

    fn clear(&self, key: &UploadKey) {
        if let Err(e) = self.0.clear_upload_session(key.as_str()) {
            tracing::warn!("cannot clear an upload session: {e}");
        }
    }
}
