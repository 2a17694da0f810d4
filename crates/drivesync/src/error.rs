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
    /// Another drivesync holds this data folder.
    #[error("drivesync is already running{} for {}: use `drivesync status`, `pause`, `resume` or `sync` to talk to it, or stop it first", pid.map(|p| format!(" (pid {p})")).unwrap_or_default(), data_dir.display())]
    AlreadyRunning {
        /// Its process id, when it could be read.
        pid: Option<u32>,
        /// The data folder.
        data_dir: std::path::PathBuf,
    },
    /// No drivesync is running to take a command.
    #[error("drivesync is not running (no answer on {}): start it with `drivesync run`", socket.display())]
    NotRunning {
        /// The control socket tried.
        socket: std::path::PathBuf,
    },
    /// A value the user gave is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// A pair's folder would overlap another pair's or drivesync's own (the message names
    /// both).
    #[error("cannot add this pair: {0}")]
    Overlap(String),
    /// No unresolved conflict with this id.
    #[error("conflict {0} is not in the list any more (already settled?): refresh the list")]
    NoSuchConflict(i64),
    /// The running drivesync refused or failed a command.
    #[error("the running drivesync says: {0}")]
    Control(String),
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
