//! Where the Drive client gets bearer tokens from.

use async_trait::async_trait;
use drivesync_model::Sensitive;

use crate::AuthError;

/// A source of OAuth access tokens for API calls.
#[async_trait]
pub trait AccessTokenSource: Send + Sync {
    /// A token that is valid now (refreshed first if it is about to expire).
    ///
    /// Errors: [`AuthError::Reconnect`] when the grant is gone; [`AuthError::Network`] when the
    /// token endpoint cannot be reached (the caller may retry later).
    async fn access_token(&self) -> Result<Sensitive<String>, AuthError>;

    /// The API answered 401 to `rejected`: return a fresh token. Refreshes at most once per
    /// rejected token (concurrent callers that saw the same token share one refresh); if the
    /// current token is already newer than `rejected`, returns it without refreshing.
    async fn refresh_rejected(
        &self,
        rejected: &Sensitive<String>,
    ) -> Result<Sensitive<String>, AuthError>;
}

/// A fixed token (tests, and tokens minted by `drive-emulator`). It cannot be refreshed: a 401
/// gives [`AuthError::Reconnect`].
#[derive(Debug, Clone)]
pub struct StaticToken(pub Sensitive<String>);

#[async_trait]
impl AccessTokenSource for StaticToken {
    async fn access_token(&self) -> Result<Sensitive<String>, AuthError> {
        Ok(self.0.clone())
    }

    async fn refresh_rejected(
        &self,
        _rejected: &Sensitive<String>,
    ) -> Result<Sensitive<String>, AuthError> {
        Err(AuthError::Reconnect {
            account: "the account".into(),
        })
    }
}
