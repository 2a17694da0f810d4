//! What can go wrong signing in or keeping a session alive.

/// An authentication failure. Every variant says what happened and what the user can do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The refresh token was revoked or expired (`invalid_grant`): the account must be
    /// connected again. The engine pauses on this; it never retries in a loop.
    #[error("Google no longer accepts drivesync's access for {account}: sign in again with `drivesync login`")]
    Reconnect {
        /// The account (email) or `the account` when unknown.
        account: String,
    },
    /// A transient failure reaching the token endpoint; retrying later may work.
    #[error("could not reach Google's sign-in service: {0}")]
    Network(String),
    /// Any other refusal from the token endpoint.
    #[error("Google refused the sign-in ({error}): {description}")]
    Refused {
        /// The OAuth error code.
        error: String,
        /// Google's description.
        description: String,
    },
}
