//! Resumable upload sessions that outlive the process: the caller stores them (in SQLite, in
//! production) through [`UploadSessions`], so an upload cut by a crash resumes from the offset
//! Drive reports instead of starting over.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::SystemTime;

use drivesync_model::{DriveId, Sensitive};

/// The caller's name for one upload of one local file version to one target, e.g. built by
/// [`UploadKey::for_local`] from the target, path, size and mtime: a changed file gets a new
/// key, so a stale session is never resumed with different bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UploadKey(String);

impl UploadKey {
    /// Any caller-chosen key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// A key from the upload's target (`create:<parent>/<name>` or `update:<id>`, as the
    /// caller names it) and the local file's path, size and modification time.
    pub fn for_local(target: &str, path: &Path, size: u64, mtime: SystemTime) -> Self {
        let nanos = mtime
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Self(format!("{target}|{}|{size}|{nanos}", path.display()))
    }

    /// The key as text, for storage.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A started resumable upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumableSession {
    /// The session URI Drive returned (a credential: whoever has it can upload to it).
    pub uri: Sensitive<String>,
    /// The total size declared when the session started.
    pub size: u64,
    /// For creates, the pre-generated id the new file gets (so a retried create after the
    /// session expired still makes at most one file).
    pub file_id: Option<DriveId>,
}

/// Where resumable upload sessions are kept between runs.
///
/// Contract: `load` returns what the last `save` for the key stored, until `clear`. All three
/// are cheap and must not fail loudly: losing a session only costs re-sending the bytes, so an
/// implementation logs its own storage errors and carries on.
pub trait UploadSessions: Send + Sync {
    /// The session saved for `key`, if any.
    fn load(&self, key: &UploadKey) -> Option<ResumableSession>;
    /// Remembers `session` for `key` (called once, right after the session starts).
    fn save(&self, key: &UploadKey, session: &ResumableSession);
    /// Forgets `key` (the upload finished, or its session is gone).
    fn clear(&self, key: &UploadKey);
}

/// Sessions kept in memory: they survive a dropped upload or client in the same process, not a
/// restart. The default of [`crate::GoogleDrive`].
#[derive(Debug, Default)]
pub struct MemSessions(Mutex<HashMap<UploadKey, ResumableSession>>);

impl MemSessions {
    /// No sessions yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many sessions are stored.
    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Nothing stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl UploadSessions for MemSessions {
    fn load(&self, key: &UploadKey) -> Option<ResumableSession> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
    }

    fn save(&self, key: &UploadKey, session: &ResumableSession) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.clone(), session.clone());
    }

    fn clear(&self, key: &UploadKey) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_change_with_the_file_and_sessions_round_trip() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(5);
        let a = UploadKey::for_local("update:x", Path::new("/a"), 10, t);
        let b = UploadKey::for_local("update:x", Path::new("/a"), 11, t);
        assert_ne!(a, b);
        let s = MemSessions::new();
        let sess = ResumableSession {
            uri: Sensitive::new("http://u".into()),
            size: 10,
            file_id: None,
        };
        s.save(&a, &sess);
        assert_eq!(s.load(&a), Some(sess));
        assert_eq!(s.load(&b), None);
        s.clear(&a);
        assert!(s.is_empty());
    }
}
