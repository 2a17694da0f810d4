//! The account as the app shows it: connected (with quota), disconnected, or needing a new
//! sign-in.

use serde::Serialize;

use crate::{account, AccountInfo, Drivesync, Error};

/// The account's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AccountState {
    /// No account is connected.
    Disconnected,
    /// Connected and working.
    Connected {
        /// Email address.
        email: String,
        /// Display name.
        name: String,
        /// Bytes used.
        used: Option<u64>,
        /// Bytes available in all (none: unlimited).
        limit: Option<u64>,
    },
    /// Access was revoked or expired: the user must connect again.
    Reconnect {
        /// The account that lost access, when known.
        email: Option<String>,
        /// What happened and what to do.
        message: String,
    },
}

impl From<AccountInfo> for AccountState {
    fn from(a: AccountInfo) -> Self {
        Self::Connected {
            email: a.email,
            name: a.name,
            used: a.used,
            limit: a.limit,
        }
    }
}

impl Drivesync {
    /// The account's state: asks Drive for the quota, so a revoked access shows at once.
    /// Errors that say nothing about the account (Drive unreachable) are returned as such.
    pub async fn account_state(&self) -> Result<AccountState, Error> {
        match self.whoami().await {
            Ok(info) => Ok(info.into()),
            Err(Error::NotSignedIn) => Ok(AccountState::Disconnected),
            Err(e) if e.needs_login() => Ok(AccountState::Reconnect {
                email: account::load(&self.config.data_dir)?,
                message: format!("Google access stopped working ({e}). Connect again."),
            }),
            Err(e) => Err(e),
        }
    }
}
