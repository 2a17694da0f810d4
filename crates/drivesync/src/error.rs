//! The facade's one error type: what went wrong, and what to do.

use std::path::PathBuf;

/// A failed command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No account is signed in.
    #[error("not signed in: run `drivesync login` first")]
    NotSignedIn,
    /// No OAuth client is configured.
    #[error("no Google OAuth client configured: set google.client_id and google.client_secret in {config}, or DRIVESYNC_CLIENT_ID and DRIVESYNC_CLIENT_SECRET")]
    NoClient {
        /// The config file looked at.
        config: PathBuf,
    },
    /// The config file is unreadable or invalid.
    #[error("configuration {path}: {why}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// No Drive entry at this path.
    #[error("no such file or folder on Drive: {0}")]
    NoSuchPath(String),
    /// Sign-in failed or must be redone.
    #[error(transparent)]
    Auth(#[from] drivesync_auth::AuthError),
    /// Drive refused or could not be reached.
    #[error(transparent)]
    Drive(#[from] drivesync_drive::DriveError),
    /// The state database failed.
    #[error(transparent)]
    State(#[from] drivesync_state::StateError),
    /// A whole sync of a pair could not run.
    #[error(transparent)]
    Sync(#[from] drivesync_engine::EngineError),
    /// No pair with this name or id.
    #[error("no sync pair named {0:?}: see `drivesync pair list`")]
    NoSuchPair(String),
    /// No pairs to sync.
    #[error("no sync pairs yet: add one with `drivesync pair add LOCAL_FOLDER DRIVE_PATH`")]
    NoPairs,
}

impl Error {
    /// True when the user must sign in (again) before anything else works.
    pub fn needs_login(&self) -> bool {
        match self {
            Error::NotSignedIn => true,
            Error::Auth(e) => matches!(
                e,
                drivesync_auth::AuthError::Reconnect { .. }
                    | drivesync_auth::AuthError::NotSignedIn { .. }
            ),
            Error::Drive(e) => e.needs_sign_in(),
            Error::Sync(e) => e.needs_sign_in(),
            _ => false,
        }
    }
}
