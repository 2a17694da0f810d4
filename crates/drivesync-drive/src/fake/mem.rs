//! [`MemRemote`]: a [`RemoteStore`] in memory with Drive's semantics (ids, one parent, an
//! inherited trash flag, versions that grow, MD5s, a change feed), for engine tests without a
//! server. The shared contract tests run against it and against `drive-emulator`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::Utc;
use drivesync_model::{DriveId, Md5};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::tree::{api, not_found, set_content, Tree};
use crate::error::FileRef;
use crate::model::{
    About, Change, ChangeList, ChangeToken, File, FileList, PageToken, StorageQuota, User,
    FOLDER_MIME, GOOGLE_APPS_PREFIX,
};
use crate::store::{Downloaded, NewFile, Relocation, RemoteStore, UploadSource};
use crate::DriveError;

/// An in-memory Drive.
#[derive(Debug)]
pub struct MemRemote {
    tree: Mutex<Tree>,
    page_size: usize,
    calls: AtomicU64,
}

impl Default for MemRemote {
    fn default() -> Self {
        Self::new()
    }
}

impl MemRemote {
    /// An empty Drive; listings and change pages hold up to 100 entries.
    pub fn new() -> Self {
        Self::with_page_size(100)
    }

    /// An empty Drive with `n` entries per listing or change page (at least 1).
    pub fn with_page_size(n: usize) -> Self {
        Self {
            tree: Mutex::new(Tree::new()),
            page_size: n.max(1),
            calls: AtomicU64::new(0),
        }
    }

    fn tree(&self) -> MutexGuard<'_, Tree> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.tree.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The root folder's id (`root` works too).
    pub fn root_id(&self) -> DriveId {
        self.tree().root.clone()
    }

    /// [`RemoteStore`] calls made so far (each page counts).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Every file but the root, trashed ones included, in creation order.
    pub fn files(&self) -> Vec<File> {
        let t = self.tree();
        let mut all: Vec<_> = t.files.values().filter(|e| e.file.id != t.root).collect();
        all.sort_by_key(|e| e.seq);
        all.iter().filter_map(|e| t.view(&e.file.id)).collect()
    }

    /// The content of `id`.
    pub fn content(&self, id: &DriveId) -> Option<Vec<u8>> {
        let t = self.tree();
        t.files
            .get(&t.resolve(id))?
            .content
            .as_ref()
            .map(|c| c.to_vec())
    }

    /// Adds a file with `content` directly (someone else's edit, seen in the change feed).
    pub fn put_file(
        &self,
        parent: &DriveId,
        name: &str,
        content: &[u8],
    ) -> Result<File, DriveError> {
        let mut t = self.tree();
        let parent = t.check_parent(parent)?;
        let id = t.fresh_id();
        let f = t.blank(id, name, "application/octet-stream", vec![parent]);
        Ok(t.insert(f, Some(Arc::new(content.to_vec()))))
    }

    /// Adds a Google Workspace file of `mime` (no content; export only).
    pub fn put_google_file(
        &self,
        parent: &DriveId,
        name: &str,
        mime: &str,
    ) -> Result<File, DriveError> {
        let mut t = self.tree();
        let parent = t.check_parent(parent)?;
        let id = t.fresh_id();
        let f = t.blank(id, name, mime, vec![parent]);
        Ok(t.insert(f, None))
    }

    /// Replaces content directly (someone else's edit).
    pub fn put_content(&self, id: &DriveId, content: &[u8]) -> Result<File, DriveError> {
        self.store_content(id, Arc::new(content.to_vec()), None)
    }

    /// Deletes `id` (and what is below it) for good, as emptying the trash does.
    pub fn delete_permanently(&self, id: &DriveId) -> Result<(), DriveError> {
        self.tree().delete(id)
    }

    /// Sets the storage limit (uploads beyond it fail with `QuotaExceeded`).
    pub fn set_quota(&self, limit: Option<u64>) {
        self.tree().quota_limit = limit;
    }

    fn check_quota(t: &Tree, extra: u64, file: FileRef) -> Result<(), DriveError> {
        match t.quota_limit {
            Some(limit) if t.usage() + extra > limit => Err(DriveError::QuotaExceeded {
                status: 403,
                reason: "storageQuotaExceeded".into(),
                message: "The user's Drive storage quota has been exceeded.".into(),
                file: Some(file),
            }),
            _ => Ok(()),
        }
    }

    fn store_content(
        &self,
        id: &DriveId,
        content: Arc<Vec<u8>>,
        modified: Option<chrono::DateTime<Utc>>,
    ) -> Result<File, DriveError> {
        let mut t = self.tree();
        let id = t.resolve(id);
        let e = t.files.get(&id).ok_or_else(|| not_found(&id))?;
        if e.file.mime_type.starts_with(GOOGLE_APPS_PREFIX) {
            return Err(api(
                400,
                "badRequest",
                "Only files with binary content can be updated with media.",
                &id,
            ));
        }
        let old = e.content.as_ref().map_or(0, |c| c.len() as u64);
        Self::check_quota(
            &t,
            (content.len() as u64).saturating_sub(old),
            FileRef::Id(id.clone()),
        )?;
        let rev = t.start_token();
        let e = t.files.get_mut(&id).expect("checked");
        set_content(&mut e.file, &content, &id, rev);
        e.file.modified_time = Some(modified.unwrap_or_else(Utc::now));
        e.content = Some(content);
        t.touch(&id);
        t.get(&id)
    }

    /// Creates `new` (a folder when `content` is `None` and `mime` is the folder type). A
    /// create with an id that exists returns that file if it matches, as a replay would.
    fn create(
        &self,
        new: &NewFile,
        mime: &str,
        content: Option<Arc<Vec<u8>>>,
        modified: Option<chrono::DateTime<Utc>>,
    ) -> Result<File, DriveError> {
        let mut t = self.tree();
        let parent = t.check_parent(&new.parent)?;
        let id = match &new.id {
            Some(id) if t.files.contains_key(id) => {
                let f = t.get(id)?;
                let md5 = content.as_deref().map(|c| md5_of(c));
                let same = f.name == new.name && f.parents == [parent.clone()] && !f.trashed;
                if same && f.mime_type == mime && f.md5_checksum == md5 {
                    return Ok(f);
                }
                return Err(api(
                    409,
                    "fileIdInUse",
                    "A file already exists with the provided ID.",
                    id,
                ));
            }
            Some(id) if !t.reserved.contains(id) => {
                return Err(api(
                    400,
                    "fileIdNotUsable",
                    "The provided file ID is not usable.",
                    id,
                ));
            }
            Some(id) => id.clone(),
            None => t.fresh_id(),
        };
        let size = content.as_ref().map_or(0, |c| c.len() as u64);
        Self::check_quota(&t, size, FileRef::Name(new.name.clone()))?;
        // A generated id is used up by a create that succeeds, not by one that fails.
        t.reserved.remove(&id);
        let mut f = t.blank(id, &new.name, mime, vec![parent]);
        if let Some(m) = modified {
            f.modified_time = Some(m);
        }
        Ok(t.insert(f, content))
    }
}

fn md5_of(data: &[u8]) -> Md5 {
    use md5::Digest;
    Md5(md5::Md5::digest(data).into())
}

async fn read_source(source: &UploadSource) -> Result<Arc<Vec<u8>>, DriveError> {
    let data = match &source.content {
        Some(c) => c.to_vec(),
        None => tokio::fs::read(&source.path)
            .await
            .map_err(|e| DriveError::local(Some(source.path.clone()), e))?,
    };
    if let Some(p) = &source.progress {
        p(data.len() as u64, data.len() as u64);
    }
    Ok(Arc::new(data))
}

fn bad_token(what: &str) -> DriveError {
    DriveError::Api {
        status: 400,
        reason: "invalid".into(),
        message: format!("Invalid Value: {what}"),
        file: None,
    }
}

#[async_trait]
impl RemoteStore for MemRemote {
    async fn get(&self, id: &DriveId) -> Result<File, DriveError> {
        self.tree().get(id)
    }

    async fn list_page(
        &self,
        parents: &[DriveId],
        page: Option<&PageToken>,
    ) -> Result<FileList, DriveError> {
        let t = self.tree();
        let parents: Vec<DriveId> = parents.iter().map(|p| t.resolve(p)).collect();
        let query = parents
            .iter()
            .map(DriveId::as_str)
            .collect::<Vec<_>>()
            .join(",");
        let offset = match page {
            None => 0,
            Some(tok) => tok
                .as_str()
                .split_once('@')
                .filter(|(_, q)| *q == query)
                .and_then(|(o, _)| o.parse::<usize>().ok())
                .ok_or_else(|| bad_token("pageToken"))?,
        };
        let mut hits: Vec<_> = t
            .files
            .values()
            .filter(|e| e.file.parents.first().is_some_and(|p| parents.contains(p)))
            .filter(|e| !t.is_trashed(&e.file.id))
            .collect();
        hits.sort_by_key(|e| e.seq);
        let end = (offset + self.page_size).min(hits.len());
        let files = hits[offset.min(end)..end]
            .iter()
            .filter_map(|e| t.view(&e.file.id))
            .collect();
        let next_page_token = (end < hits.len()).then(|| PageToken::new(format!("{end}@{query}")));
        Ok(FileList {
            files,
            next_page_token,
        })
    }

    async fn create_folder(&self, new: &NewFile) -> Result<File, DriveError> {
        self.create(new, FOLDER_MIME, None, None)
    }

    async fn create_file(&self, new: &NewFile, source: &UploadSource) -> Result<File, DriveError> {
        let data = read_source(source).await?;
        let mime = source
            .mime_type
            .as_deref()
            .unwrap_or("application/octet-stream");
        self.create(new, mime, Some(data), source.modified_time)
    }

    async fn update_content(
        &self,
        id: &DriveId,
        source: &UploadSource,
    ) -> Result<File, DriveError> {
        let data = read_source(source).await?;
        self.store_content(id, data, source.modified_time)
    }

    async fn relocate(&self, id: &DriveId, to: &Relocation) -> Result<File, DriveError> {
        let mut t = self.tree();
        let id = t.resolve(id);
        let e = t.files.get(&id).ok_or_else(|| not_found(&id))?;
        let mut parents = e.file.parents.clone();
        if let Some(p) = &to.parent {
            let (from, dest) = (t.resolve(&p.from), t.check_parent(&p.to)?);
            if t.is_within(&dest, &id) {
                return Err(api(
                    400,
                    "invalid",
                    "A folder cannot be moved into itself or one of its descendants.",
                    &id,
                ));
            }
            parents.retain(|x| *x != from);
            if !parents.contains(&dest) {
                parents.push(dest);
            }
            if parents.len() != 1 {
                return Err(api(
                    403,
                    "cannotAddParent",
                    "Increasing the number of parents is not allowed.",
                    &id,
                ));
            }
        }
        let e = t.files.get_mut(&id).expect("checked");
        e.file.parents = parents;
        if let Some(n) = &to.name {
            e.file.name = n.clone();
        }
        t.touch(&id);
        t.get(&id)
    }

    async fn trash(&self, id: &DriveId) -> Result<File, DriveError> {
        self.tree().set_trashed(id, true)
    }

    async fn untrash(&self, id: &DriveId) -> Result<File, DriveError> {
        self.tree().set_trashed(id, false)
    }

    async fn download(
        &self,
        id: &DriveId,
        expect: Option<&Md5>,
        to: &mut (dyn AsyncWrite + Send + Unpin),
    ) -> Result<Downloaded, DriveError> {
        let (data, md5) = {
            let t = self.tree();
            let rid = t.resolve(id);
            let e = t.files.get(&rid).ok_or_else(|| not_found(id))?;
            let data = e.content.clone().ok_or_else(|| {
                api(403, "fileNotDownloadable", "Only files with binary content can be downloaded. Use Export with Docs Editors files.", id)
            })?;
            (data, e.file.md5_checksum)
        };
        let local = |e| DriveError::local(None, e);
        to.write_all(&data).await.map_err(local)?;
        to.flush().await.map_err(local)?;
        let actual = md5_of(&data);
        let expected = expect.copied().or(md5).unwrap_or(actual);
        if actual != expected {
            return Err(DriveError::ChecksumMismatch {
                file: FileRef::Id(id.clone()),
                expected,
                actual,
            });
        }
        Ok(Downloaded {
            size: data.len() as u64,
            md5: actual,
        })
    }

    async fn export(
        &self,
        id: &DriveId,
        mime_type: &str,
        to: &mut (dyn AsyncWrite + Send + Unpin),
    ) -> Result<u64, DriveError> {
        let f = self.tree().get(id)?;
        if !f.is_google_type() || f.is_folder() {
            return Err(api(
                403,
                "fileNotExportable",
                "Export only supports Docs Editors files.",
                id,
            ));
        }
        let body = format!("MemRemote export of {} as {mime_type}\n", f.name);
        to.write_all(body.as_bytes())
            .await
            .map_err(|e| DriveError::local(None, e))?;
        Ok(body.len() as u64)
    }

    async fn start_page_token(&self) -> Result<ChangeToken, DriveError> {
        Ok(ChangeToken::new(self.tree().start_token().to_string()))
    }

    async fn changes_page(&self, token: &ChangeToken) -> Result<ChangeList, DriveError> {
        let t = self.tree();
        let from: u64 = token
            .as_str()
            .parse()
            .ok()
            .filter(|n| *n >= 1 && *n <= t.start_token())
            .ok_or_else(|| bad_token("pageToken"))?;
        let (page, next) = t.changes(from, self.page_size);
        let changes = page
            .into_iter()
            .map(|c| Change {
                change_type: Some("file".into()),
                removed: c.removed,
                file: if c.removed { None } else { t.view(&c.id) },
                file_id: Some(c.id),
                time: Some(c.time),
            })
            .collect();
        Ok(match next {
            Some(n) => ChangeList {
                changes,
                next_page_token: Some(ChangeToken::new(n.to_string())),
                new_start_page_token: None,
            },
            None => ChangeList {
                changes,
                next_page_token: None,
                new_start_page_token: Some(ChangeToken::new(t.start_token().to_string())),
            },
        })
    }

    async fn about(&self) -> Result<About, DriveError> {
        let t = self.tree();
        let usage = t.usage();
        Ok(About {
            user: User {
                display_name: "Mem User".into(),
                email_address: "user@example.com".into(),
            },
            storage_quota: StorageQuota {
                limit: t.quota_limit,
                usage: Some(usage),
                usage_in_drive: Some(usage),
                usage_in_drive_trash: Some(0),
            },
        })
    }

    async fn generate_ids(&self, count: u32) -> Result<Vec<DriveId>, DriveError> {
        let mut t = self.tree();
        let ids: Vec<DriveId> = (0..count.clamp(1, 1000)).map(|_| t.fresh_id()).collect();
        t.reserved.extend(ids.iter().cloned());
        Ok(ids)
    }
}
