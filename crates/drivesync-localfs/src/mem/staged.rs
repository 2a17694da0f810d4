//! [`MemStaged`]: a `.drivesync-partial-*` node in the [`MemFs`] tree, written through and
//! moved onto its target on commit.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use chrono::{DateTime, Utc};
use drivesync_model::RelPath;

use super::tree::Body;
use super::MemFs;
use crate::{Expect, FsError, FsKind, Meta, Staged};

/// A staged file of [`MemFs`]; removed from the tree when dropped uncommitted.
pub(crate) struct MemStaged {
    fs: MemFs,
    temp: RelPath,
    done: bool,
}

impl MemStaged {
    pub(crate) fn new(fs: MemFs, temp: RelPath) -> Self {
        Self {
            fs,
            temp,
            done: false,
        }
    }
}

impl Drop for MemStaged {
    fn drop(&mut self) {
        if !self.done {
            let mut s = self.fs.lock();
            s.take(&self.temp);
        }
    }
}

impl tokio::io::AsyncWrite for MemStaged {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut s = self.fs.lock();
        if s.disk_full {
            return Poll::Ready(Err(io::ErrorKind::StorageFull.into()));
        }
        Poll::Ready(match s.get_mut(&self.temp).map(|n| &mut n.body) {
            Some(Body::File(b)) => {
                b.extend_from_slice(buf);
                Ok(buf.len())
            }
            _ => Err(io::Error::new(
                io::ErrorKind::NotFound,
                "the staged file was removed",
            )),
        })
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[async_trait::async_trait]
impl Staged for MemStaged {
    async fn commit(
        mut self: Box<Self>,
        to: &RelPath,
        expect: Expect,
        mtime: Option<DateTime<Utc>>,
    ) -> Result<Meta, FsError> {
        let op = "write";
        let fs = self.fs.clone();
        let mut s = fs.lock();
        // On any early return the temp node is removed by Drop (after this guard is gone).
        let result = (|| {
            let abs = s.abs(to);
            let dir = to.parent().ok_or_else(|| FsError::NotAFile {
                op,
                path: abs.clone(),
            })?;
            if s.get(&self.temp).is_none() {
                return Err(FsError::NotFound {
                    op,
                    path: s.abs(&self.temp),
                });
            }
            s.check_dir(&dir, op)?;
            let current = s.get(to).map(|n| n.meta());
            if !expect.matches(current.as_ref()) {
                tracing::info!(path = %abs.display(), ?expect, ?current, "target changed; not written");
                return Err(FsError::Changed { path: abs });
            }
            if current.is_some_and(|m| m.kind == FsKind::Folder) {
                return Err(FsError::NotAFile { op, path: abs });
            }
            let now = s.tick();
            let mut node = s.take(&self.temp).expect("checked above");
            node.mtime_ns = mtime.map_or(now, mtime_ns);
            s.take(to);
            s.put(to, node);
            Ok(s.get(to).expect("just written").meta())
        })();
        drop(s);
        self.done = result.is_ok();
        result
    }
}

/// Nanoseconds since the Unix epoch for an mtime (saturating outside ±292 years).
pub(crate) fn mtime_ns(t: DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt().unwrap_or(if t.timestamp() < 0 {
        i64::MIN
    } else {
        i64::MAX
    })
}
