//! [`RemoteStore`]: the Drive operations the sync engine needs, each with its contract. The
//! engine is generic over it; [`crate::GoogleDrive`] is the real one, `MemRemote` and
//! `FaultyRemote` (feature `fake`) are for tests.

use std::collections::VecDeque;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use drivesync_model::{DriveId, Md5};
use futures_util::stream::BoxStream;
use tokio::io::AsyncWrite;

use crate::model::{About, Change, ChangeList, ChangeToken, Changes, File, FileList, PageToken};
use crate::sessions::UploadKey;
use crate::DriveError;

/// Folders listed per `files.list` query by [`RemoteStore::list_tree`].
pub const TREE_BATCH: usize = 50;

/// A file or folder to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFile {
    /// The folder to create it in.
    pub parent: DriveId,
    /// Its name.
    pub name: String,
    /// A pre-generated id ([`RemoteStore::generate_ids`]) to make the create idempotent across
    /// crashes: store it before creating, and after a restart the file either exists with this
    /// id or not at all. `None` lets the store pick one.
    pub id: Option<DriveId>,
}

impl NewFile {
    /// `name` in `parent`, with an id chosen by the store.
    pub fn new(parent: DriveId, name: impl Into<String>) -> Self {
        Self {
            parent,
            name: name.into(),
            id: None,
        }
    }

    /// With a pre-generated id.
    pub fn with_id(mut self, id: DriveId) -> Self {
        self.id = Some(id);
        self
    }
}

/// Called with `(bytes done, bytes in total)` as a transfer advances.
pub type Progress = Arc<dyn Fn(u64, u64) + Send + Sync>;

/// Local content to upload: read from `path` while sending, never loaded whole, unless the
/// caller already holds a small file's whole content (`content`).
#[derive(Clone)]
pub struct UploadSource {
    /// The local file.
    pub path: PathBuf,
    /// The whole content, already read by the caller (a small file, read in the same disk
    /// access that checked it): sent from memory, and `path` is only named in messages. An
    /// upload too large for one multipart request streams `path` instead.
    pub content: Option<Bytes>,
    /// The content type Drive records (`application/octet-stream` when `None`).
    pub mime_type: Option<String>,
    /// The modification time to set on Drive (Drive's "now" when `None`).
    pub modified_time: Option<DateTime<Utc>>,
    /// Where a resumable upload session is saved, so the upload can resume after a crash.
    pub resume_key: Option<UploadKey>,
    /// Told about each chunk that Drive has stored.
    pub progress: Option<Progress>,
}

impl UploadSource {
    /// The file at `path`, nothing else set.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            content: None,
            mime_type: None,
            modified_time: None,
            resume_key: None,
            progress: None,
        }
    }

    /// With the whole content in memory (see [`UploadSource::content`]).
    pub fn content(mut self, content: impl Into<Bytes>) -> Self {
        self.content = Some(content.into());
        self
    }

    /// With a content type.
    pub fn mime_type(mut self, mime: impl Into<String>) -> Self {
        self.mime_type = Some(mime.into());
        self
    }

    /// With a modification time.
    pub fn modified_time(mut self, t: DateTime<Utc>) -> Self {
        self.modified_time = Some(t);
        self
    }

    /// With a key for saving the resumable session.
    pub fn resume_key(mut self, key: UploadKey) -> Self {
        self.resume_key = Some(key);
        self
    }

    /// With a progress callback.
    pub fn progress(mut self, f: Progress) -> Self {
        self.progress = Some(f);
        self
    }
}

impl fmt::Debug for UploadSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UploadSource")
            .field("path", &self.path)
            .field("content", &self.content.as_ref().map(Bytes::len))
            .field("mime_type", &self.mime_type)
            .field("modified_time", &self.modified_time)
            .field("resume_key", &self.resume_key)
            .finish_non_exhaustive()
    }
}

/// A move between folders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reparent {
    /// The current parent.
    pub from: DriveId,
    /// The new parent.
    pub to: DriveId,
}

/// A rename, a move, or both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Relocation {
    /// The new name.
    pub name: Option<String>,
    /// The new parent.
    pub parent: Option<Reparent>,
}

/// What a download wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Downloaded {
    /// Bytes written.
    pub size: u64,
    /// Their MD5 (equal to Drive's `md5Checksum`: a mismatch is an error).
    pub md5: Md5,
}

/// The Drive operations the sync engine needs.
///
/// Every method either does what it says or returns a [`DriveError`]; transient failures
/// (network, 5xx, throttling) are retried inside with bounded backoff, so an error is final
/// for this call. Ids name files; the alias `root` names My Drive's root folder.
#[async_trait]
pub trait RemoteStore: Send + Sync {
    /// The file's metadata, trashed or not.
    ///
    /// Idempotent. Errors: `NotFound` when it does not exist (or was deleted permanently).
    async fn get(&self, id: &DriveId) -> Result<File, DriveError>;

    /// One page of the files (not trashed) whose parent is any of `parents` (1 to
    /// [`TREE_BATCH`] folders), in the store's stable order. Pass the returned
    /// `next_page_token` to read the next page.
    ///
    /// Idempotent. Errors: `Api` 400 for a page token from another query.
    async fn list_page(
        &self,
        parents: &[DriveId],
        page: Option<&PageToken>,
    ) -> Result<FileList, DriveError>;

    /// Creates a folder.
    ///
    /// Idempotent with `new.id` set (or with the store's own id, across its retries): a create
    /// whose earlier attempt succeeded returns that folder. Errors: `NotFound` for a missing
    /// parent; `Api` 409 `fileIdInUse` when the id names a different file.
    async fn create_folder(&self, new: &NewFile) -> Result<File, DriveError>;

    /// Creates a file with the content of `source`: small files in one request, larger ones
    /// as a resumable upload saved under `source.resume_key`. The returned file has id, size,
    /// md5, version and headRevisionId.
    ///
    /// Idempotent as [`RemoteStore::create_folder`]; a resumed upload sends only the bytes
    /// Drive lacks. Errors: `ChecksumMismatch` when Drive's MD5 differs from the MD5 of the
    /// bytes read (the file stays on Drive, its id in the error); `Local` for read errors;
    /// `QuotaExceeded`; `NotFound` for a missing parent.
    async fn create_file(&self, new: &NewFile, source: &UploadSource) -> Result<File, DriveError>;

    /// Replaces the content of file `id` (a new revision; `version` grows). Same upload rules
    /// and errors as [`RemoteStore::create_file`].
    ///
    /// Idempotent in effect (a repeat stores the same content again).
    async fn update_content(&self, id: &DriveId, source: &UploadSource)
        -> Result<File, DriveError>;

    /// Renames and/or moves a file. Moving into a folder inside itself is refused.
    ///
    /// Idempotent. Errors: `NotFound`; `Api` 400 for a cycle, 403 `cannotAddParent` when
    /// `from` is not the current parent.
    async fn relocate(&self, id: &DriveId, to: &Relocation) -> Result<File, DriveError>;

    /// Moves a file (and a folder's content) to the trash. Never deletes permanently.
    ///
    /// Idempotent. Errors: `NotFound`.
    async fn trash(&self, id: &DriveId) -> Result<File, DriveError>;

    /// Restores a file from the trash. Idempotent. Errors: `NotFound`.
    async fn untrash(&self, id: &DriveId) -> Result<File, DriveError>;

    /// Streams the binary content of `id` into `to`, resuming after a dropped connection
    /// where it stopped. The MD5 of the bytes is checked against `expect` (or Drive's
    /// `md5Checksum` when `None`).
    ///
    /// Not idempotent for the writer (it is appended to): give a fresh one per call. Errors:
    /// `ChecksumMismatch` (the bytes written are wrong; discard them); `Api` 403
    /// `fileNotDownloadable` for Google Docs (use [`RemoteStore::export`]); `Local`.
    async fn download(
        &self,
        id: &DriveId,
        expect: Option<&Md5>,
        to: &mut (dyn AsyncWrite + Send + Unpin),
    ) -> Result<Downloaded, DriveError>;

    /// Streams a Google Doc converted to `mime_type` into `to`; returns the bytes written.
    /// A dropped connection is an error (exports cannot resume): call again with a fresh
    /// writer. Errors: `Api` 403 `fileNotExportable`, 400 for an unsupported conversion.
    async fn export(
        &self,
        id: &DriveId,
        mime_type: &str,
        to: &mut (dyn AsyncWrite + Send + Unpin),
    ) -> Result<u64, DriveError>;

    /// The current position of the change feed: take it *before* a full listing, then
    /// [`RemoteStore::list_changes`] from it returns everything that changed since.
    async fn start_page_token(&self) -> Result<ChangeToken, DriveError>;

    /// One page of changes from `token`. Each file appears at most once, at its latest state;
    /// a permanently deleted file is `removed` without `file`; trashing is a change with
    /// `file.trashed`.
    ///
    /// Idempotent. Errors: `Api` 400 for an invalid token.
    async fn changes_page(&self, token: &ChangeToken) -> Result<ChangeList, DriveError>;

    /// The account and its storage quota. Idempotent.
    async fn about(&self) -> Result<About, DriveError>;

    /// `count` (1 to 1000) fresh ids for [`NewFile::id`]. Idempotent (unused ids expire).
    async fn generate_ids(&self, count: u32) -> Result<Vec<DriveId>, DriveError>;

    /// Every file (not trashed) directly in `folder`, all pages read.
    async fn list_children(&self, folder: &DriveId) -> Result<Vec<File>, DriveError> {
        let mut out = Vec::new();
        let mut page: Option<PageToken> = None;
        loop {
            let list = self
                .list_page(std::slice::from_ref(folder), page.as_ref())
                .await?;
            out.extend(list.files);
            match list.next_page_token {
                Some(t) => page = Some(t),
                None => return Ok(out),
            }
        }
    }

    /// The files directly in `folder` as a stream, pages fetched as it is read.
    fn children<'a>(&'a self, folder: &'a DriveId) -> BoxStream<'a, Result<File, DriveError>> {
        use futures_util::StreamExt;
        enum Next {
            Page(Option<PageToken>),
            Done,
        }
        futures_util::stream::unfold(Next::Page(None), move |state| async move {
            let Next::Page(token) = state else {
                return None;
            };
            match self
                .list_page(std::slice::from_ref(folder), token.as_ref())
                .await
            {
                Ok(list) => {
                    let next = list
                        .next_page_token
                        .map_or(Next::Done, |t| Next::Page(Some(t)));
                    let items: Vec<Result<File, DriveError>> =
                        list.files.into_iter().map(Ok).collect();
                    Some((futures_util::stream::iter(items), next))
                }
                Err(e) => Some((futures_util::stream::iter(vec![Err(e)]), Next::Done)),
            }
        })
        .flatten()
        .boxed()
    }

    /// Every file and folder (not trashed) below `root`, at any depth; `root` itself is not
    /// included. Folders are listed [`TREE_BATCH`] at a time.
    async fn list_tree(&self, root: &DriveId) -> Result<Vec<File>, DriveError> {
        let mut out = Vec::new();
        let mut pending: VecDeque<DriveId> = VecDeque::from([root.clone()]);
        while !pending.is_empty() {
            let n = pending.len().min(TREE_BATCH);
            let batch: Vec<DriveId> = pending.drain(..n).collect();
            let mut page: Option<PageToken> = None;
            loop {
                let list = self.list_page(&batch, page.as_ref()).await?;
                for f in list.files {
                    if f.is_folder() {
                        pending.push_back(f.id.clone());
                    }
                    out.push(f);
                }
                match list.next_page_token {
                    Some(t) => page = Some(t),
                    None => break,
                }
            }
        }
        Ok(out)
    }

    /// Every change since `token`, all pages read, and the token for the next poll.
    async fn list_changes(&self, token: &ChangeToken) -> Result<Changes, DriveError> {
        self.list_changes_kept(token, &|_| true).await
    }

    /// [`RemoteStore::list_changes`], keeping only the changes `keep` accepts, page by page:
    /// a long feed of changes the caller does not need is never held at once.
    async fn list_changes_kept(
        &self,
        token: &ChangeToken,
        keep: &(dyn for<'c> Fn(&'c Change) -> bool + Sync),
    ) -> Result<Changes, DriveError> {
        let mut changes = Vec::new();
        let mut token = token.clone();
        loop {
            let page = self.changes_page(&token).await?;
            for c in page.changes {
                if keep(&c) {
                    changes.push(c);
                }
            }
            match (page.next_page_token, page.new_start_page_token) {
                (Some(next), _) => token = next,
                (None, Some(new_start_page_token)) => {
                    return Ok(Changes {
                        changes,
                        new_start_page_token,
                    })
                }
                (None, None) => {
                    return Err(DriveError::protocol(
                        "a changes page without nextPageToken or newStartPageToken",
                        None,
                    ))
                }
            }
        }
    }

    /// Downloads `id` into a new file at `path` (the caller's temp file beside the target),
    /// flushed to disk before returning; see [`RemoteStore::download`]. On error the partial
    /// file is left for the caller to remove.
    async fn download_to_path(
        &self,
        id: &DriveId,
        expect: Option<&Md5>,
        path: &Path,
    ) -> Result<Downloaded, DriveError> {
        let local = |e| DriveError::local(Some(path.to_owned()), e);
        let mut file = tokio::fs::File::create(path).await.map_err(local)?;
        let done = self.download(id, expect, &mut file).await?;
        file.sync_all().await.map_err(local)?;
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The engine can hold any store as `dyn RemoteStore`.
    #[test]
    fn the_trait_is_object_safe() {
        fn takes(_: Option<&dyn RemoteStore>) {}
        takes(None);
    }
}
