//! Uploads and downloads of one op, with the version a download replaces kept aside until
//! Drive is seen to still have the file.

use chrono::{DateTime, Utc};
use drivesync_drive::{DriveError, NewFile, UploadKey, UploadSource};
use drivesync_localfs::{Expect, FsError, IssueKind, MTIME_RESOLUTION_NS};
use drivesync_model::{DriveId, LocalStamp, RelPath, RemoteEntry};
use drivesync_reconcile::base_of;
use drivesync_state::{ActivityKind, BaseChange};

use super::{done, stamp_of, Done, Exec};
use crate::events::Event;
use crate::report::describe_issue;
use crate::OpError;

impl Exec<'_> {
    /// Uploads the local file at `path` as `name`: a new Drive file, or a new version of
    /// `replace`. The file must still have the stamp `expect` the plan saw (`unread`: the
    /// scan left it unread, so its MD5 is first known here).
    pub(super) async fn upload(
        &self,
        path: &RelPath,
        name: &str,
        replace: Option<&DriveId>,
        expect: &LocalStamp,
        unread: bool,
    ) -> Result<Done, OpError> {
        // One trip to the disk (shared by a group of small files): the stamp of the file
        // opened for the upload is the re-check.
        let read = if expect.size <= crate::readahead::SMALL {
            self.ahead.take(self.fs, path).await
        } else {
            self.fs.upload_path(path).await
        };
        let mut file = match read {
            Ok(f) => f,
            Err(FsError::NotFound { .. }) => return Err(self.vanished(path)),
            Err(FsError::NotAFile { .. } | FsError::Changed { .. }) => {
                return Err(self.changed(path))
            }
            // The scan left it unread (see `hash_deferred`): not being able to read it is
            // what the scan would have found, an issue rather than a failed op.
            Err(e @ (FsError::PermissionDenied { .. } | FsError::Io { .. })) if unread => {
                let issue = IssueKind::Unreadable(e.to_string());
                return Ok(done(
                    ActivityKind::Skipped,
                    describe_issue(&issue),
                    Vec::new(),
                ));
            }
            Err(e) => return Err(OpError::fs(path, e)),
        };
        if file.stamp != *expect {
            return Err(self.changed(path));
        }
        let target = match replace {
            Some(id) => format!("update:{id}"),
            None => format!("create:{}/{path}", self.pair),
        };
        let key = UploadKey::new(format!(
            "{target}|{}|{}|{}",
            expect.size, expect.mtime_ns, expect.file_id
        ));
        let mtime = DateTime::<Utc>::from_timestamp_nanos(expect.mtime_ns);
        let progress_path = path.clone();
        let events = self.events.clone();
        let mut source = UploadSource::new(file.path.clone());
        if let Some(content) = file.content.take() {
            source = source.content(content);
        }
        let source = source
            .modified_time(mtime)
            .resume_key(key)
            .progress(std::sync::Arc::new(move |done, total| {
                events.send(Event::Progress {
                    path: progress_path.clone(),
                    done,
                    total,
                    upload: true,
                });
            }));
        let synced = self.base_at(path);
        if let (Some(id), Some(b)) = (replace, &synced) {
            self.check_remote_content(path, id, b.md5).await?;
        }
        let (f, place) = match replace {
            Some(id) => {
                let f = self
                    .remote
                    .update_content(id, &source)
                    .await
                    .map_err(|e| OpError::drive(path, e))?;
                (f, synced.map(|b| (b.parent, b.remote_name)))
            }
            None => {
                let parent = self.parent_id(path)?;
                let id = self.create_id(path).await?;
                let new = NewFile::new(parent.clone(), name).with_id(id);
                let f = self
                    .remote
                    .create_file(&new, &source)
                    .await
                    .map_err(|e| self.create_failed(path, e))?;
                (f, Some((parent, name.to_owned())))
            }
        };
        let e = place
            .and_then(|(parent, name)| self.learn(&f, &parent, &name))
            .ok_or_else(|| OpError::new(path, "Drive returned it without a parent"))?;
        let entry = base_of(&e, *expect, f.md5_checksum);
        Ok(Done {
            kind: ActivityKind::Uploaded,
            message: format!("uploaded ({} bytes)", f.size.unwrap_or(0)),
            changes: vec![BaseChange::Put(path.clone(), entry)],
            bytes: f.size.unwrap_or(0),
        })
    }

    /// Downloads Drive file `remote` to `path` through a staged file committed only if
    /// `path` still is what the plan saw (`expect`: the stamp, or absent); a version it
    /// replaces is kept aside until Drive is seen to still have the file.
    pub(super) async fn download(
        &self,
        path: &RelPath,
        remote: &RemoteEntry,
        expect: Option<LocalStamp>,
    ) -> Result<Done, OpError> {
        let dir = path.parent().unwrap_or_else(RelPath::root);
        let mut staged = self
            .fs
            .stage(&dir)
            .await
            .map_err(|e| OpError::fs(path, e))?;
        let got = self
            .remote
            .download(&remote.id, remote.md5.as_ref(), &mut staged)
            .await
            .map_err(|e| OpError::drive(path, e))?;
        // A download takes long: the disk may have gone meanwhile.
        self.same_root(path).await?;
        if let Some(stamp) = expect {
            self.unchanged_if_racy(path, stamp).await?;
        }
        // The synced version being replaced stays until Drive is seen to still have the file.
        let kept = match expect {
            Some(_) => self.keep(path).await,
            None => None,
        };
        let expect = expect.map_or(Expect::Absent, Expect::Stamp);
        let committed = staged.commit(path, expect, remote.modified).await;
        let mut message = format!("downloaded ({} bytes)", got.size);
        match (&committed, kept) {
            (_, None) => {}
            (Err(_), Some(k)) => self.drop_kept(&k).await,
            (Ok(_), Some(k)) => {
                if let Some(note) = self.settle_kept(&remote.id, k).await {
                    message = format!("{message}; {note}");
                }
            }
        }
        let meta = committed.map_err(|e| OpError::fs(path, e))?;
        self.events.send(Event::Progress {
            path: path.clone(),
            done: got.size,
            total: got.size,
            upload: false,
        });
        let entry = base_of(&self.fresh(remote), stamp_of(&meta), Some(got.md5));
        Ok(Done {
            kind: ActivityKind::Downloaded,
            message,
            changes: vec![BaseChange::Put(path.clone(), entry)],
            bytes: got.size,
        })
    }

    /// Keeps the local file at `path` aside ([`LocalFs::keep`]); `None` when it cannot be
    /// (the download then replaces it as before, or fails its own re-check).
    /// On a disk with a coarse clock, an edit within the clock's tick keeps the file's stamp,
    /// so the commit's re-check of the stamp cannot see it. A file that recent (modified at or
    /// after the sync's start, less the coarsest resolution) is read again: it must still hold
    /// its synced content, else the download is not committed.
    async fn unchanged_if_racy(&self, path: &RelPath, stamp: LocalStamp) -> Result<(), OpError> {
        let racy_from = self
            .now
            .timestamp_nanos_opt()
            .map(|t| t - MTIME_RESOLUTION_NS);
        if racy_from.is_none_or(|t| stamp.mtime_ns < t) {
            return Ok(());
        }
        let Some(want) = self.base_at(path).and_then(|b| b.md5) else {
            return Ok(());
        };
        match self.fs.hash(path).await {
            Ok(h) if h.md5 == want && h.meta.stamp == stamp => Ok(()),
            Ok(_) => Err(self.changed(path)),
            Err(e) => Err(OpError::fs(path, e)),
        }
    }

    async fn keep(&self, path: &RelPath) -> Option<drivesync_localfs::Kept> {
        match self.fs.keep(path).await {
            Ok(kept) => kept,
            Err(e) => {
                tracing::debug!(%path, "cannot keep the version a download replaces: {e}");
                None
            }
        }
    }

    async fn drop_kept(&self, kept: &drivesync_localfs::Kept) {
        if let Err(e) = self.fs.drop_kept(kept).await {
            tracing::warn!(path = %kept.path, "cannot remove the kept old version: {e}");
        }
    }

    /// After a download replaced `kept.path`: if Drive still has the file `id`, the old
    /// version is in its history and the kept copy goes. If Drive lost it (another device
    /// deleted it for good during the download), or cannot say, the old version exists
    /// nowhere else: it goes to the trash, as the file would have at the next sync had the
    /// download not happened. Returns what to tell the user then.
    async fn settle_kept(&self, id: &DriveId, kept: drivesync_localfs::Kept) -> Option<String> {
        let why = match self.remote.get(id).await {
            Ok(_) => {
                self.drop_kept(&kept).await;
                return None;
            }
            Err(DriveError::NotFound { .. }) => "Drive no longer has this file".to_owned(),
            Err(e) => format!("Drive could not confirm it still has this file ({e})"),
        };
        match self.fs.trash_kept(&kept).await {
            Ok(_) => Some(format!(
                "{why}, so the version it replaced was moved to the trash"
            )),
            Err(e) => {
                tracing::warn!(path = %kept.path, "cannot trash the kept old version: {e}");
                Some(format!(
                    "{why}; the version it replaced is kept at {} (moving it to the trash failed: {e})",
                    kept.at
                ))
            }
        }
    }
}
