//! [`KeyringStore`]: refresh tokens in the OS keychain through the `keyring` crate, with the
//! backend chosen explicitly per platform in Cargo.toml.

use async_trait::async_trait;
use drivesync_model::Sensitive;
use keyring::credential::CredentialPersistence;

use super::TokenStore;
use crate::AuthError;

/// The keychain drivesync uses on this platform, for messages.
const BACKEND: &str = if cfg!(target_os = "macos") {
    "the macOS Keychain"
} else if cfg!(target_os = "windows") {
    "the Windows Credential Manager"
} else if cfg!(any(
    target_os = "linux",
    target_os = "freebsd",
    target_os = "openbsd"
)) {
    "the Secret Service over D-Bus (GNOME Keyring or KWallet)"
} else {
    "no keychain (this platform has none drivesync supports)"
};

/// Refresh tokens in the OS keychain: one entry per account, service `drivesync`, user = the
/// account's email. Linux: the Secret Service over D-Bus; macOS: the Keychain; Windows: the
/// Credential Manager.
#[derive(Debug, Clone)]
pub struct KeyringStore {
    service: String,
}

impl Default for KeyringStore {
    fn default() -> Self {
        Self::new()
    }
}

impl KeyringStore {
    /// The store drivesync uses: service `drivesync`.
    pub fn new() -> Self {
        Self::with_service("drivesync")
    }

    /// A store under another service name (tests keep clear of the user's real entries).
    pub fn with_service(service: impl Into<String>) -> Self {
        Self {
            service: service.into(),
        }
    }

    /// Which keychain this platform's build uses, for the user ("the macOS Keychain").
    pub fn backend() -> &'static str {
        BACKEND
    }

    /// Checks that the keychain answers (reads an entry that does not exist).
    ///
    /// Errors: [`AuthError::NoKeychain`] when it cannot be reached, is locked, or this build
    /// only has keyring's in-memory mock.
    pub async fn probe(&self) -> Result<(), AuthError> {
        self.load("drivesync-keychain-probe").await.map(drop)
    }

    async fn run<T: Send + 'static>(
        &self,
        account: &str,
        op: impl FnOnce(keyring::Entry) -> Result<T, keyring::Error> + Send + 'static,
    ) -> Result<Result<T, keyring::Error>, AuthError> {
        let (service, account) = (self.service.clone(), account.to_owned());
        tokio::task::spawn_blocking(move || entry(&service, &account).map(op))
            .await
            .map_err(|e| AuthError::Store(format!("the keychain call failed: {e}")))?
    }
}

/// An entry built straight from the platform backend (never a globally swapped-in mock).
fn entry(service: &str, account: &str) -> Result<keyring::Entry, AuthError> {
    let builder = keyring::default::default_credential_builder();
    if matches!(
        builder.persistence(),
        CredentialPersistence::EntryOnly | CredentialPersistence::ProcessOnly
    ) {
        return Err(AuthError::NoKeychain(format!(
            "this build of drivesync has no keychain backend for this platform ({BACKEND})"
        )));
    }
    builder
        .build(None, service, account)
        .map(keyring::Entry::new_with_credential)
        .map_err(map_err)
}

fn map_err(e: keyring::Error) -> AuthError {
    match e {
        keyring::Error::PlatformFailure(e) | keyring::Error::NoStorageAccess(e) => {
            AuthError::NoKeychain(format!("{BACKEND} did not answer: {e}"))
        }
        other => AuthError::Store(format!("{BACKEND}: {other}")),
    }
}

#[async_trait]
impl TokenStore for KeyringStore {
    async fn save(&self, account: &str, token: &Sensitive<String>) -> Result<(), AuthError> {
        let token = token.clone();
        self.run(account, move |e| e.set_password(token.expose()))
            .await?
            .map_err(map_err)?;
        tracing::info!(account, "saved the refresh token in the keychain");
        Ok(())
    }

    async fn load(&self, account: &str) -> Result<Option<Sensitive<String>>, AuthError> {
        match self.run(account, |e| e.get_password()).await? {
            Ok(t) => Ok(Some(Sensitive::new(t))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(map_err(e)),
        }
    }

    async fn delete(&self, account: &str) -> Result<(), AuthError> {
        match self.run(account, |e| e.delete_credential()).await? {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(map_err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreachable_keychain_is_no_keychain() {
        let e = map_err(keyring::Error::PlatformFailure("no D-Bus".into()));
        assert!(
            matches!(&e, AuthError::NoKeychain(m) if m.contains("no D-Bus")),
            "{e}"
        );
        assert!(e.to_string().contains("opt in to plaintext"));
        let e = map_err(keyring::Error::BadEncoding(b"secret-bytes".to_vec()));
        assert!(matches!(&e, AuthError::Store(m) if !m.contains("secret-bytes")));
    }

    #[cfg(any(target_os = "linux", target_os = "macos", target_os = "windows"))]
    #[test]
    fn a_real_backend_is_compiled_in() {
        let p = keyring::default::default_credential_builder().persistence();
        assert!(matches!(p, CredentialPersistence::UntilDelete));
    }
}
