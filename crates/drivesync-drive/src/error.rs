//! [`DriveError`]: what can go wrong talking to Drive, with the HTTP status, Google's `reason`
//! and the file in question kept, and messages that say what to do.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use drivesync_auth::AuthError;
use drivesync_model::{DriveId, Md5};

/// The file an error is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileRef {
    /// A Drive file, by id.
    Id(DriveId),
    /// A Drive file not created yet, by name.
    Name(String),
}

impl fmt::Display for FileRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileRef::Id(id) => write!(f, "file {id}"),
            FileRef::Name(n) => write!(f, "{n:?}"),
        }
    }
}

impl From<&DriveId> for FileRef {
    fn from(id: &DriveId) -> Self {
        FileRef::Id(id.clone())
    }
}

/// ` (file X)` or nothing.
struct About<'a>(&'a Option<FileRef>);

impl fmt::Display for About<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(r) => write!(f, " ({r})"),
            None => Ok(()),
        }
    }
}

struct After<'a>(&'a Option<Duration>);

impl fmt::Display for After<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(d) => write!(f, " in {} s", d.as_secs().max(1)),
            None => f.write_str(" later"),
        }
    }
}

/// A failed Drive operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DriveError {
    /// The file does not exist, was deleted permanently, or this account cannot see it.
    #[error(
        "not found on Google Drive{}: it was deleted, or this account cannot see it ({message})",
        About(file)
    )]
    NotFound {
        /// The file.
        file: Option<FileRef>,
        /// Google's message.
        message: String,
    },
    /// Drive is throttling requests (429, or 403 `rateLimitExceeded`/`userRateLimitExceeded`)
    /// and the retries allowed ran out, or Drive asked for a longer wait than allowed.
    #[error(
        "Google Drive is limiting drivesync's requests{}: try again{}",
        About(file),
        After(retry_after)
    )]
    RateLimited {
        /// Drive's `Retry-After`, if it sent one.
        retry_after: Option<Duration>,
        /// HTTP status (429 or 403).
        status: u16,
        /// Google's reason.
        reason: String,
        /// The file.
        file: Option<FileRef>,
    },
    /// The access token was refused even after a refresh.
    #[error(
        "Google Drive refused drivesync's access ({message}): sign in again with `drivesync login`"
    )]
    Unauthorized {
        /// Google's message.
        message: String,
    },
    /// Getting an access token failed (see [`AuthError`] for what to do).
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// A network failure or a server error (5xx) that outlasted the retries.
    #[error("Google Drive failed or could not be reached{} after retrying: {detail}; check the connection, drivesync will try again later", About(file))]
    Transient {
        /// HTTP status, when Drive answered.
        status: Option<u16>,
        /// Google's reason, when Drive answered with one.
        reason: Option<String>,
        /// What happened.
        detail: String,
        /// The file.
        file: Option<FileRef>,
    },
    /// The account's storage is full.
    #[error(
        "Google Drive storage is full{}: free space on Drive or buy more storage ({message})",
        About(file)
    )]
    QuotaExceeded {
        /// HTTP status (403).
        status: u16,
        /// Google's reason (`storageQuotaExceeded`...).
        reason: String,
        /// Google's message.
        message: String,
        /// The file.
        file: Option<FileRef>,
    },
    /// The MD5 Drive reports differs from the MD5 of the bytes sent or received: the transfer
    /// did not produce the intended content and must not be treated as done.
    #[error("checksum mismatch for {file}: expected MD5 {expected}, got {actual}; the transfer was not accepted and will be retried")]
    ChecksumMismatch {
        /// The file (on Drive).
        file: FileRef,
        /// What should have arrived (the local bytes for uploads, Drive's MD5 for downloads).
        expected: Md5,
        /// What did.
        actual: Md5,
    },
    /// Any other refusal (4xx) with Google's message.
    #[error(
        "Google Drive refused the request{}: {status} {reason}: {message}",
        About(file)
    )]
    Api {
        /// HTTP status.
        status: u16,
        /// Google's reason (`invalid`, `fileIdInUse`...).
        reason: String,
        /// Google's message.
        message: String,
        /// The file.
        file: Option<FileRef>,
    },
    /// Reading or writing the local side of a transfer failed.
    #[error("local file{}: {source}", path.as_ref().map(|p| format!(" {}", p.display())).unwrap_or_default())]
    Local {
        /// The local file, when known.
        path: Option<PathBuf>,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Drive answered something drivesync cannot read (a bug or an API change).
    #[error("unexpected answer from Google Drive{}: {detail}", About(file))]
    Protocol {
        /// What was wrong.
        detail: String,
        /// The file.
        file: Option<FileRef>,
    },
}

impl DriveError {
    /// The HTTP status Drive answered with, if it did.
    pub fn status(&self) -> Option<u16> {
        match self {
            DriveError::NotFound { .. } => Some(404),
            DriveError::RateLimited { status, .. }
            | DriveError::QuotaExceeded { status, .. }
            | DriveError::Api { status, .. } => Some(*status),
            DriveError::Unauthorized { .. } => Some(401),
            DriveError::Transient { status, .. } => *status,
            _ => None,
        }
    }

    /// Google's `reason`, if Drive gave one.
    pub fn reason(&self) -> Option<&str> {
        match self {
            DriveError::RateLimited { reason, .. }
            | DriveError::QuotaExceeded { reason, .. }
            | DriveError::Api { reason, .. } => Some(reason),
            DriveError::Transient { reason, .. } => reason.as_deref(),
            DriveError::NotFound { .. } => Some("notFound"),
            _ => None,
        }
    }

    /// The file the error is about, if known.
    pub fn file(&self) -> Option<&FileRef> {
        match self {
            DriveError::NotFound { file, .. }
            | DriveError::RateLimited { file, .. }
            | DriveError::Transient { file, .. }
            | DriveError::QuotaExceeded { file, .. }
            | DriveError::Api { file, .. }
            | DriveError::Protocol { file, .. } => file.as_ref(),
            DriveError::ChecksumMismatch { file, .. } => Some(file),
            _ => None,
        }
    }

    /// Worth trying again later (network, server errors, throttling): the operation itself
    /// was fine.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            DriveError::Transient { .. }
                | DriveError::RateLimited { .. }
                | DriveError::ChecksumMismatch { .. }
                | DriveError::Auth(AuthError::Network(_))
        )
    }

    /// The account must sign in again: the engine pauses instead of retrying.
    pub fn needs_sign_in(&self) -> bool {
        matches!(
            self,
            DriveError::Unauthorized { .. } | DriveError::Auth(AuthError::Reconnect { .. })
        )
    }

    /// Attaches `file` when the error does not name one yet.
    pub fn about(mut self, r: FileRef) -> Self {
        match &mut self {
            DriveError::NotFound { file, .. }
            | DriveError::RateLimited { file, .. }
            | DriveError::Transient { file, .. }
            | DriveError::QuotaExceeded { file, .. }
            | DriveError::Api { file, .. }
            | DriveError::Protocol { file, .. } => {
                file.get_or_insert(r);
            }
            _ => {}
        }
        self
    }

    pub(crate) fn local(path: Option<PathBuf>, source: std::io::Error) -> Self {
        DriveError::Local { path, source }
    }

    pub(crate) fn protocol(detail: impl Into<String>, file: Option<FileRef>) -> Self {
        DriveError::Protocol {
            detail: detail.into(),
            file,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_file_and_say_what_to_do() {
        let e = DriveError::NotFound {
            file: Some(FileRef::Id(DriveId::new("abc"))),
            message: "File not found: abc.".into(),
        };
        assert_eq!(
            e.to_string(),
            "not found on Google Drive (file abc): it was deleted, or this account cannot see it (File not found: abc.)"
        );
        assert_eq!((e.status(), e.reason()), (Some(404), Some("notFound")));
        let e = DriveError::RateLimited {
            retry_after: Some(Duration::from_secs(30)),
            status: 429,
            reason: "rateLimitExceeded".into(),
            file: None,
        };
        assert!(e.to_string().ends_with("try again in 30 s"), "{e}");
        assert!(e.is_transient());
        let e = DriveError::Api {
            status: 400,
            reason: "invalid".into(),
            message: "Bad name".into(),
            file: None,
        }
        .about(FileRef::Name("a.txt".into()));
        assert_eq!(e.file(), Some(&FileRef::Name("a.txt".into())));
        assert!(!e.is_transient());
        assert!(DriveError::Unauthorized {
            message: "x".into()
        }
        .needs_sign_in());
    }
}
