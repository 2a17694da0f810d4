//! [`Session`]: a signed-in account's refresh token and the access token cached from it,
//! refreshed shortly before it expires or when the API rejects it.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use drivesync_model::Sensitive;

use crate::google::{Google, Tokens};
use crate::{AccessTokenSource, AuthConfig, AuthError, Clock, TokenStore};

/// An access token is refreshed when it has less than this left.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
struct Current {
    /// The cached access token and when it expires (by the session's clock).
    token: Option<(Sensitive<String>, SystemTime)>,
    /// Google refused the refresh token (`invalid_grant`): every call says Reconnect without
    /// asking Google again.
    gone: bool,
}

/// A signed-in account: implements [`AccessTokenSource`] for the Drive client.
///
/// The access token lives only in memory. Refreshes happen under one async lock, so callers
/// that need a new token at the same time share a single refresh.
#[derive(Debug)]
pub struct Session {
    account: String,
    refresh: Sensitive<String>,
    google: Google,
    clock: Arc<dyn Clock>,
    current: tokio::sync::Mutex<Current>,
}

impl Session {
    /// A session for `account` from its refresh token; the first call fetches an access
    /// token.
    pub fn new(
        config: &AuthConfig,
        account: impl Into<String>,
        refresh_token: Sensitive<String>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, AuthError> {
        Ok(Self::with_google(
            Google::new(config)?,
            account.into(),
            refresh_token,
            clock,
        ))
    }

    pub(crate) fn with_google(
        google: Google,
        account: String,
        refresh: Sensitive<String>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            account,
            refresh,
            google,
            clock,
            current: tokio::sync::Mutex::new(Current::default()),
        }
    }

    /// The session of an account signed in earlier, its refresh token read from `store`.
    ///
    /// Errors: [`AuthError::NotSignedIn`] when the store has no token for `account`; the
    /// store's errors.
    pub async fn restore(
        config: &AuthConfig,
        store: &dyn TokenStore,
        account: &str,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, AuthError> {
        let refresh = store
            .load(account)
            .await?
            .ok_or_else(|| AuthError::NotSignedIn {
                account: account.to_owned(),
            })?;
        Self::new(config, account, refresh, clock)
    }

    /// The account (email) this session signs in as.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// Starts the cache with the access token the sign-in already got.
    pub(crate) fn seed(self, tokens: &Tokens, issued: SystemTime) -> Self {
        let mut current = self.current.into_inner();
        current.token = Some((tokens.access.clone(), issued + tokens.lifetime));
        Self {
            current: tokio::sync::Mutex::new(current),
            ..self
        }
    }

    fn fresh<'a>(&self, current: &'a Current) -> Option<&'a Sensitive<String>> {
        let (token, expires) = current.token.as_ref()?;
        (self.clock.now() + REFRESH_MARGIN < *expires).then_some(token)
    }

    /// Refreshes with the lock held.
    async fn refresh_locked(&self, current: &mut Current) -> Result<Sensitive<String>, AuthError> {
        if current.gone {
            return Err(AuthError::Reconnect {
                account: self.account.clone(),
            });
        }
        let issued = self.clock.now();
        tracing::debug!(account = %self.account, "refreshing the access token");
        match self.google.refresh(&self.refresh, &self.account).await {
            Ok(tokens) => {
                current.token = Some((tokens.access.clone(), issued + tokens.lifetime));
                Ok(tokens.access)
            }
            Err(e) => {
                if matches!(e, AuthError::Reconnect { .. }) {
                    tracing::warn!(account = %self.account, "Google revoked drivesync's access: the account must sign in again");
                    current.gone = true;
                    current.token = None;
                } else {
                    tracing::warn!(account = %self.account, error = %e, "refreshing the access token failed");
                }
                Err(e)
            }
        }
    }
}

#[async_trait]
impl AccessTokenSource for Session {
    async fn access_token(&self) -> Result<Sensitive<String>, AuthError> {
        let mut current = self.current.lock().await;
        if let Some(t) = self.fresh(&current) {
            return Ok(t.clone());
        }
        self.refresh_locked(&mut current).await
    }

    async fn refresh_rejected(
        &self,
        rejected: &Sensitive<String>,
    ) -> Result<Sensitive<String>, AuthError> {
        let mut current = self.current.lock().await;
        // Another caller already replaced the rejected token: use theirs.
        if let Some(t) = self.fresh(&current).filter(|t| *t != rejected) {
            return Ok(t.clone());
        }
        self.refresh_locked(&mut current).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use drivesync_model::GoogleEndpoints;
    use std::sync::Mutex;

    #[derive(Debug)]
    struct TestClock(Mutex<SystemTime>);
    impl Clock for TestClock {
        fn now(&self) -> SystemTime {
            *self.0.lock().unwrap()
        }
    }

    /// A session whose token endpoint is closed (port 9): any refresh is a network error.
    fn offline_session(clock: Arc<TestClock>) -> Session {
        let base = url::Url::parse("http://127.0.0.1:9/").unwrap();
        let config = AuthConfig::new("id", "secret").with_endpoints(GoogleEndpoints::at(&base));
        let tokens = Tokens {
            access: Sensitive::new("at-1".into()),
            lifetime: Duration::from_secs(3600),
            refresh: None,
        };
        let now = clock.now();
        Session::new(&config, "a@x", Sensitive::new("rt".into()), clock)
            .unwrap()
            .seed(&tokens, now)
    }

    #[tokio::test]
    async fn cached_token_is_used_until_the_margin() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let clock = Arc::new(TestClock(Mutex::new(t0)));
        let s = offline_session(clock.clone());
        assert_eq!(s.access_token().await.unwrap().expose(), "at-1");
        *clock.0.lock().unwrap() =
            t0 + Duration::from_secs(3600) - REFRESH_MARGIN - Duration::from_secs(1);
        assert_eq!(s.access_token().await.unwrap().expose(), "at-1");
        *clock.0.lock().unwrap() += Duration::from_secs(1);
        assert!(matches!(s.access_token().await, Err(AuthError::Network(_))));
    }

    #[tokio::test]
    async fn a_token_newer_than_the_rejected_one_is_returned_as_is() {
        let clock = Arc::new(TestClock(Mutex::new(SystemTime::now())));
        let s = offline_session(clock);
        let newer = s
            .refresh_rejected(&Sensitive::new("at-0".into()))
            .await
            .unwrap();
        assert_eq!(newer.expose(), "at-1");
        assert!(matches!(
            s.refresh_rejected(&newer).await,
            Err(AuthError::Network(_))
        ));
    }
}
