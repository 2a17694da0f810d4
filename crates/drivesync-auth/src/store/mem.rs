//! [`MemTokenStore`]: tokens in memory, for tests (feature `fake`).

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use drivesync_model::Sensitive;

use super::TokenStore;
use crate::AuthError;

/// Tokens in a map; they vanish with the value. Never used in production builds.
#[derive(Debug, Default)]
pub struct MemTokenStore(Mutex<HashMap<String, Sensitive<String>>>);

impl MemTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The accounts that have a token, sorted.
    pub fn accounts(&self) -> Vec<String> {
        let mut v: Vec<String> = self.map().keys().cloned().collect();
        v.sort();
        v
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Sensitive<String>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl TokenStore for MemTokenStore {
    async fn save(&self, account: &str, token: &Sensitive<String>) -> Result<(), AuthError> {
        self.map().insert(account.to_owned(), token.clone());
        Ok(())
    }

    async fn load(&self, account: &str) -> Result<Option<Sensitive<String>>, AuthError> {
        Ok(self.map().get(account).cloned())
    }

    async fn delete(&self, account: &str) -> Result<(), AuthError> {
        self.map().remove(account);
        Ok(())
    }
}
