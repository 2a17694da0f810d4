//! [`FsError`]: what went wrong on the local disk, to which path, and what to do about it.

use std::io;
use std::path::{Path, PathBuf};

/// A failed local file system operation. Every message names the absolute path and says
/// what the user (or drivesync) can do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FsError {
    /// The pair's root folder is missing or is not a folder. The engine must not read this
    /// as "everything was deleted".
    #[error("the folder {} is missing (unmounted?): drivesync will not sync it until it is back; reconnect its drive or choose the folder again", root.display())]
    RootMissing {
        /// The pair root.
        root: PathBuf,
    },
    /// The path (or one of its folders) does not exist.
    #[error("cannot {op} {}: it does not exist (moved or deleted meanwhile?); it will be looked at again on the next sync", path.display())]
    NotFound {
        /// What was being done ("read", "rename"...).
        op: &'static str,
        /// The absolute path.
        path: PathBuf,
    },
    /// The OS refused access.
    #[error("cannot {op} {}: permission denied; fix its permissions or add it to .drivesyncignore", path.display())]
    PermissionDenied {
        /// What was being done.
        op: &'static str,
        /// The absolute path.
        path: PathBuf,
    },
    /// The disk (or the user's quota) is full.
    #[error("cannot {op} {}: the disk is full; free some space, drivesync will try again", path.display())]
    DiskFull {
        /// What was being done.
        op: &'static str,
        /// The absolute path.
        path: PathBuf,
    },
    /// Something is already at the path, and drivesync never replaces it.
    #[error("cannot {op} {}: something else is already there and drivesync never replaces it; rename or move one of them", path.display())]
    AlreadyExists {
        /// What was being done.
        op: &'static str,
        /// The absolute path.
        path: PathBuf,
    },
    /// The path is not what the operation expected (it was edited, replaced, created or
    /// deleted since it was looked at), so nothing was done to it.
    #[error("{} changed while drivesync was working on it, so it was left as it is; it will be synced again", path.display())]
    Changed {
        /// The absolute path.
        path: PathBuf,
    },
    /// A file, link or special file is where a folder is needed (links are never followed).
    #[error("cannot {op} {}: it is not a folder (drivesync does not follow links); move it away or add it to .drivesyncignore", path.display())]
    NotAFolder {
        /// What was being done.
        op: &'static str,
        /// The absolute path.
        path: PathBuf,
    },
    /// A folder, link or special file is where a regular file is needed.
    #[error("cannot {op} {}: it is not a regular file (a folder, a link or a special file)", path.display())]
    NotAFile {
        /// What was being done.
        op: &'static str,
        /// The absolute path.
        path: PathBuf,
    },
    /// Any other failure reported by the OS.
    #[error("cannot {op} {}: {source}; check the disk, drivesync will try again", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// The absolute path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

impl FsError {
    /// Classifies an OS error about `path` (absolute) met while doing `op`.
    pub fn from_io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        use io::ErrorKind as K;
        let path = path.into();
        match source.kind() {
            K::NotFound => Self::NotFound { op, path },
            K::PermissionDenied => Self::PermissionDenied { op, path },
            K::AlreadyExists | K::DirectoryNotEmpty => Self::AlreadyExists { op, path },
            K::StorageFull | K::QuotaExceeded => Self::DiskFull { op, path },
            K::NotADirectory => Self::NotAFolder { op, path },
            K::IsADirectory => Self::NotAFile { op, path },
            _ => Self::Io { op, path, source },
        }
    }

    /// The path does not exist (a caller removing or moving it may treat that as done).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }

    /// The disk or quota is full: stop writing, tell the user, retry later.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, Self::DiskFull { .. })
    }

    /// The path was not as expected: nothing was done, re-plan.
    pub fn is_changed(&self) -> bool {
        matches!(self, Self::Changed { .. })
    }

    /// Access was refused.
    pub fn is_permission_denied(&self) -> bool {
        matches!(self, Self::PermissionDenied { .. })
    }

    /// Something is already where the operation would have put its result.
    pub fn is_already_exists(&self) -> bool {
        matches!(self, Self::AlreadyExists { .. })
    }

    /// The absolute path the error is about.
    pub fn path(&self) -> &Path {
        match self {
            Self::RootMissing { root } => root,
            Self::NotFound { path, .. }
            | Self::PermissionDenied { path, .. }
            | Self::DiskFull { path, .. }
            | Self::AlreadyExists { path, .. }
            | Self::Changed { path }
            | Self::NotAFolder { path, .. }
            | Self::NotAFile { path, .. }
            | Self::Io { path, .. } => path,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_where_and_what_to_do() {
        let e = FsError::from_io(
            "read",
            "/x/y",
            io::Error::from(io::ErrorKind::PermissionDenied),
        );
        assert_eq!(
            e.to_string(),
            "cannot read /x/y: permission denied; fix its permissions or add it to .drivesyncignore"
        );
        let full = FsError::from_io("write", "/x", io::Error::from(io::ErrorKind::StorageFull));
        assert!(full.is_disk_full());
        #[cfg(unix)]
        assert!(FsError::from_io("write", "/x", io::Error::from_raw_os_error(28)).is_disk_full());
        assert!(FsError::from_io("read", "/x", io::ErrorKind::NotFound.into()).is_not_found());
        assert_eq!(full.path(), Path::new("/x"));
    }
}
