//! Sign-in for drivesync: loopback OAuth 2.0 with PKCE, refresh tokens in the OS keychain,
//! access tokens in memory, refreshed before they expire.

mod error;
mod source;

pub use error::AuthError;
pub use source::{AccessTokenSource, StaticToken};
