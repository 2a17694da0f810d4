//! [`StdStaged`]: a temporary `.drivesync-partial-*` file on disk, committed by an atomic
//! rename.

use std::fs;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};

use chrono::{DateTime, Utc};
use drivesync_model::RelPath;
use filetime::FileTime;
use tempfile::TempPath;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::{blocking, ops};
use crate::{Expect, FsError, Meta, Staged};

/// A staged file of [`super::StdFs`]. Field order matters: the file is closed before the
/// temporary path is removed on drop.
pub(crate) struct StdStaged {
    file: Option<tokio::fs::File>,
    temp: Option<TempPath>,
    root: PathBuf,
}

impl StdStaged {
    pub(crate) fn new(root: PathBuf, file: tokio::fs::File, temp: TempPath) -> Self {
        Self {
            file: Some(file),
            temp: Some(temp),
            root,
        }
    }

    fn file(&mut self) -> io::Result<&mut tokio::fs::File> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("staged file already committed"))
    }
}

impl AsyncWrite for StdStaged {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.file() {
            Ok(f) => Pin::new(f).poll_write(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.file() {
            Ok(f) => Pin::new(f).poll_flush(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.file() {
            Ok(f) => Pin::new(f).poll_shutdown(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

#[async_trait::async_trait]
impl Staged for StdStaged {
    async fn commit(
        mut self: Box<Self>,
        to: &RelPath,
        expect: Expect,
        mtime: Option<DateTime<Utc>>,
    ) -> Result<Meta, FsError> {
        let op = "write";
        let abs = to.to_path(&self.root);
        let (Some(mut file), Some(temp)) = (self.file.take(), self.temp.take()) else {
            return Err(FsError::Io {
                op,
                path: abs,
                source: io::Error::other("staged file already committed"),
            });
        };
        // From here on `temp` is removed on every early return (its Drop).
        file.flush()
            .await
            .map_err(|e| FsError::from_io(op, &abs, e))?;
        let file = file.into_std().await;
        let (root, to) = (self.root.clone(), to.clone());
        blocking(op, abs, move || {
            commit_blocking(file, temp, &root, &to, expect, mtime)
        })
        .await
    }
}

fn commit_blocking(
    file: fs::File,
    mut temp: TempPath,
    root: &std::path::Path,
    to: &RelPath,
    expect: Expect,
    mtime: Option<DateTime<Utc>>,
) -> Result<Meta, FsError> {
    let op = "write";
    let abs = to.to_path(root);
    let dir = to.parent().ok_or_else(|| FsError::NotAFile {
        op,
        path: abs.clone(),
    })?;
    if let Some(t) = mtime {
        let ft = FileTime::from_unix_time(t.timestamp(), t.timestamp_subsec_nanos());
        filetime::set_file_handle_times(&file, None, Some(ft))
            .map_err(|e| FsError::from_io(op, &abs, e))?;
    }
    file.sync_all().map_err(|e| FsError::from_io(op, &abs, e))?;
    drop(file);
    ops::check_dirs(root, &dir, op)?;
    let current = ops::lstat(&abs, op)?;
    if !expect.matches(current.as_ref()) {
        tracing::info!(path = %abs.display(), ?expect, ?current, "target changed; not written");
        return Err(FsError::Changed { path: abs });
    }
    match expect {
        Expect::Absent => ops::rename_noreplace(&temp, &abs).map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => FsError::Changed { path: abs.clone() },
            _ => FsError::from_io(op, &abs, e),
        })?,
        Expect::Stamp(_) | Expect::Any => {
            // Keep the replaced file's permissions (an executable stays executable).
            if let Ok(md) = fs::metadata(&abs) {
                let _ = fs::set_permissions(&temp, md.permissions());
            }
            // Re-check as late as possible: the window until the rename is microseconds.
            if !expect.matches(ops::lstat(&abs, op)?.as_ref()) {
                return Err(FsError::Changed { path: abs });
            }
            fs::rename(&temp, &abs).map_err(|e| FsError::from_io(op, &abs, e))?
        }
    }
    temp.disable_cleanup(true);
    ops::fsync_dir(&dir.to_path(root));
    tracing::debug!(path = %abs.display(), "committed");
    ops::lstat(&abs, op)?.ok_or(FsError::Changed { path: abs })
}
