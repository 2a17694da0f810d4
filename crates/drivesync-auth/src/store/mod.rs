//! Where refresh tokens are kept between runs: the OS keychain ([`KeyringStore`]), a
//! plaintext file only when the user opted in ([`PlaintextFileStore`]), or memory in tests
//! (`MemTokenStore`, feature `fake`).

mod file;
mod keychain;
#[cfg(feature = "fake")]
mod mem;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use drivesync_model::Sensitive;

use crate::AuthError;

pub use file::PlaintextFileStore;
pub use keychain::KeyringStore;
#[cfg(feature = "fake")]
pub use mem::MemTokenStore;

/// Keeps one refresh token per Google account, keyed by the account's email.
///
/// Implementations never log the token. Calls may wait on the OS keychain (IPC), so they are
/// async and run off the async threads where needed.
#[async_trait]
pub trait TokenStore: Send + Sync + std::fmt::Debug {
    /// Saves `token` for `account`, replacing any token saved before. When it returns `Ok`,
    /// the token survives the end of this process.
    ///
    /// Errors: [`AuthError::NoKeychain`] when the store cannot be reached (locked or absent
    /// keychain); [`AuthError::Store`] when it was reached but refused.
    async fn save(&self, account: &str, token: &Sensitive<String>) -> Result<(), AuthError>;

    /// The token saved for `account`, or `Ok(None)` if there is none.
    ///
    /// Errors: as [`TokenStore::save`]; a missing entry is not an error.
    async fn load(&self, account: &str) -> Result<Option<Sensitive<String>>, AuthError>;

    /// Deletes the token saved for `account`. Idempotent: deleting a missing entry is `Ok`.
    ///
    /// Errors: as [`TokenStore::save`].
    async fn delete(&self, account: &str) -> Result<(), AuthError>;
}

/// The production store: the OS keychain if it can be reached; otherwise the plaintext file
/// `plaintext_opt_in` if (and only if) the user opted in to it in the config; otherwise
/// [`AuthError::NoKeychain`] saying what is missing. Never falls back silently.
pub async fn open_token_store(
    plaintext_opt_in: Option<&Path>,
) -> Result<Arc<dyn TokenStore>, AuthError> {
    let keyring = KeyringStore::new();
    match keyring.probe().await {
        Ok(()) => Ok(Arc::new(keyring)),
        Err(AuthError::NoKeychain(why)) => match plaintext_opt_in {
            Some(path) => {
                tracing::warn!(
                    keychain_error = %why,
                    path = %path.display(),
                    "NO KEYCHAIN: keeping sign-in tokens in a PLAINTEXT file, as the config allows"
                );
                Ok(Arc::new(PlaintextFileStore::new(path)))
            }
            None => Err(AuthError::NoKeychain(why)),
        },
        Err(e) => Err(e),
    }
}
