//! [`PlaintextFileStore`]: refresh tokens in a JSON file readable by the user only. Used only
//! when no keychain is reachable and the user opted in to it in the config.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use drivesync_model::Sensitive;

use super::TokenStore;
use crate::AuthError;

/// Refresh tokens in a plaintext JSON file (`{"email": "token"}`), mode 0600 on Unix.
///
/// Anyone who can read the file can use the Drive account: it exists for machines without a
/// keychain (servers, minimal desktops), chosen explicitly by the user, and every save logs a
/// warning.
#[derive(Debug)]
pub struct PlaintextFileStore {
    path: PathBuf,
    lock: tokio::sync::Mutex<()>,
}

impl PlaintextFileStore {
    /// A store in `path` (created on the first save). Logs a warning: tokens will be in
    /// plaintext.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        tracing::warn!(
            path = %path.display(),
            "refresh tokens will be kept in a PLAINTEXT file (opted in): anyone who can read it can use your Drive"
        );
        Self {
            path,
            lock: tokio::sync::Mutex::new(()),
        }
    }

    async fn update(
        &self,
        f: impl FnOnce(&mut BTreeMap<String, String>) + Send + 'static,
    ) -> Result<(), AuthError> {
        let _guard = self.lock.lock().await;
        let path = self.path.clone();
        blocking(move || {
            let mut map = read(&path)?;
            f(&mut map);
            write(&path, &map)
        })
        .await
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AuthError> + Send + 'static,
) -> Result<T, AuthError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AuthError::Store(format!("the token file task failed: {e}")))?
}

fn store_err(path: &Path, what: &str, e: impl std::fmt::Display) -> AuthError {
    AuthError::Store(format!(
        "cannot {what} the token file {}: {e}",
        path.display()
    ))
}

fn read(path: &Path) -> Result<BTreeMap<String, String>, AuthError> {
    private(path)?;
    match std::fs::read(path) {
        Ok(bytes) if bytes.is_empty() => Ok(BTreeMap::new()),
        // serde_json's message gives a position, never the content.
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| store_err(path, "read", e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(store_err(path, "read", e)),
    }
}

/// Refuses a token file that others can read or write (on Unix): it may have been exposed, and
/// the user must know before drivesync uses it.
fn private(path: &Path) -> Result<(), AuthError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(md) = std::fs::symlink_metadata(path) {
            let mode = md.permissions().mode() & 0o777;
            if !md.is_file() || mode & 0o077 != 0 {
                return Err(AuthError::Store(format!(
                    "the token file {} is not a private file (mode {mode:o}): others may have \
                     read your Google sign-in. Delete it, sign in again (`drivesync login`) and \
                     remove old access at https://myaccount.google.com/permissions",
                    path.display()
                )));
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Writes a new file beside the old one (created exclusively, mode 0600 from its creation, so
/// nothing planted there, a link say, receives the tokens), syncs it, renames it over the old
/// one and syncs the folder.
fn write(path: &Path, map: &BTreeMap<String, String>) -> Result<(), AuthError> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir).map_err(|e| store_err(path, "create the folder of", e))?;
    }
    let tmp = path.with_extension("tmp");
    // A temp file left by an interrupted write (or anything else at that name) goes first.
    match std::fs::remove_file(&tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(store_err(path, "replace the temporary file of", e))
        }
        _ => {}
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let bytes = serde_json::to_vec_pretty(map).map_err(|e| store_err(path, "encode", e))?;
    let mut f = opts.open(&tmp).map_err(|e| store_err(path, "write", e))?;
    f.write_all(&bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| store_err(path, "write", e))?;
    std::fs::rename(&tmp, path).map_err(|e| store_err(path, "replace", e))?;
    #[cfg(unix)]
    if let Some(dir) = dir {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| store_err(path, "sync the folder of", e))?;
    }
    Ok(())
}

#[async_trait]
impl TokenStore for PlaintextFileStore {
    async fn save(&self, account: &str, token: &Sensitive<String>) -> Result<(), AuthError> {
        let (account_owned, token) = (account.to_owned(), token.expose().clone());
        self.update(move |m| {
            m.insert(account_owned, token);
        })
        .await?;
        tracing::warn!(
            account,
            path = %self.path.display(),
            "saved the refresh token in a PLAINTEXT file (no keychain; opted in)"
        );
        Ok(())
    }

    async fn load(&self, account: &str) -> Result<Option<Sensitive<String>>, AuthError> {
        let _guard = self.lock.lock().await;
        let path = self.path.clone();
        let map = blocking(move || read(&path)).await?;
        Ok(map.get(account).cloned().map(Sensitive::new))
    }

    async fn delete(&self, account: &str) -> Result<(), AuthError> {
        let account = account.to_owned();
        self.update(move |m| {
            m.remove(&account);
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn round_trip_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/tokens.json");
        let s = PlaintextFileStore::new(&path);
        assert_eq!(s.load("a@x").await.unwrap(), None);
        s.save("a@x", &Sensitive::new("rt-a".into())).await.unwrap();
        s.save("b@x", &Sensitive::new("rt-b".into())).await.unwrap();
        s.save("a@x", &Sensitive::new("rt-a2".into()))
            .await
            .unwrap();
        let again = PlaintextFileStore::new(&path);
        assert_eq!(again.load("a@x").await.unwrap().unwrap().expose(), "rt-a2");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        again.delete("a@x").await.unwrap();
        again.delete("a@x").await.unwrap();
        assert_eq!(s.load("a@x").await.unwrap(), None);
        assert_eq!(s.load("b@x").await.unwrap().unwrap().expose(), "rt-b");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_token_file_others_can_read_is_refused_and_a_planted_link_gets_no_token() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        let s = PlaintextFileStore::new(&path);
        s.save("a@x", &Sensitive::new("rt-a".into())).await.unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = s.load("a@x").await.unwrap_err();
        assert!(e.to_string().contains("not a private file"), "{e}");
        assert!(!e.to_string().contains("rt-a"), "{e}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();

        // Someone plants a link where the temporary file goes: it is replaced, not followed.
        let bait = dir.path().join("bait");
        std::fs::write(&bait, "").unwrap();
        std::os::unix::fs::symlink(&bait, path.with_extension("tmp")).unwrap();
        s.save("b@x", &Sensitive::new("rt-b".into())).await.unwrap();
        assert_eq!(
            std::fs::read_to_string(&bait).unwrap(),
            "",
            "nothing written through it"
        );
        assert_eq!(s.load("b@x").await.unwrap().unwrap().expose(), "rt-b");
    }

    #[tokio::test]
    async fn corrupt_file_is_a_store_error_without_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        std::fs::write(&path, "{\"a@x\": \"rt-secret").unwrap();
        let e = PlaintextFileStore::new(&path)
            .load("a@x")
            .await
            .unwrap_err();
        assert!(
            matches!(&e, AuthError::Store(m) if !m.contains("rt-secret")),
            "{e}"
        );
    }
}
