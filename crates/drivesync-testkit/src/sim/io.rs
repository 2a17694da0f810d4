//! The wrappers between the engine and the fakes: they count the engine's calls, run the
//! changes and crashes chosen for them, and keep the test's records.

use super::*;

/// Records what drivesync really did on Drive (inside `FaultyRemote`, so an answer lost to
/// an "after" fault still counts).
pub(super) struct Recorder {
    pub(super) drive: Arc<MemRemote>,
    pub(super) sh: Arc<Shared>,
}

#[async_trait]
impl RemoteStore for Recorder {
    async fn get(&self, id: &DriveId) -> Result<File, DriveError> {
        {
            let mut st = self.sh.st();
            st.tick += 1;
            let t = st.tick;
            st.engine_read.insert(id.clone(), t);
        }
        self.drive.get(id).await
    }

    async fn list_page(
        &self,
        parents: &[DriveId],
        page: Option<&PageToken>,
    ) -> Result<FileList, DriveError> {
        self.drive.list_page(parents, page).await
    }

    async fn create_folder(&self, new: &NewFile) -> Result<File, DriveError> {
        let r = self.drive.create_folder(new).await;
        if let Ok(f) = &r {
            self.sh.st().engine_named.insert(f.id.clone());
        }
        r
    }

    async fn create_file(&self, new: &NewFile, source: &UploadSource) -> Result<File, DriveError> {
        let r = self.drive.create_file(new, source).await;
        if let Ok(f) = &r {
            self.sh.st().engine_named.insert(f.id.clone());
        }
        r
    }

    async fn update_content(
        &self,
        id: &DriveId,
        source: &UploadSource,
    ) -> Result<File, DriveError> {
        let old = self.drive.content(id).map(|c| md5_of(&c));
        let new = std::fs::read(&source.path).ok().map(|b| md5_of(&b));
        let r = self.drive.update_content(id, source).await;
        if let (Ok(_), Some(old), Some(new)) = (&r, old, new) {
            self.sh.engine_updated(id, old, new);
        }
        r
    }

    async fn relocate(&self, id: &DriveId, to: &Relocation) -> Result<File, DriveError> {
        let was_trashed = self.drive.get(id).await.is_ok_and(|f| f.trashed);
        let r = self.drive.relocate(id, to).await;
        if let Ok(f) = &r {
            self.sh.st().engine_named.insert(id.clone());
            if f.trashed && !was_trashed {
                self.sh.moved_into_trash(id);
            }
        }
        r
    }

    async fn trash(&self, id: &DriveId) -> Result<File, DriveError> {
        self.drive.trash(id).await
    }

    async fn untrash(&self, id: &DriveId) -> Result<File, DriveError> {
        self.drive.untrash(id).await
    }

    async fn download(
        &self,
        id: &DriveId,
        expect: Option<&Md5>,
        to: &mut (dyn AsyncWrite + Send + Unpin),
    ) -> Result<Downloaded, DriveError> {
        self.drive.download(id, expect, to).await
    }

    async fn export(
        &self,
        id: &DriveId,
        mime_type: &str,
        to: &mut (dyn AsyncWrite + Send + Unpin),
    ) -> Result<u64, DriveError> {
        self.drive.export(id, mime_type, to).await
    }

    async fn start_page_token(&self) -> Result<ChangeToken, DriveError> {
        self.drive.start_page_token().await
    }

    async fn changes_page(&self, token: &ChangeToken) -> Result<ChangeList, DriveError> {
        self.drive.changes_page(token).await
    }

    async fn about(&self) -> Result<About, DriveError> {
        self.drive.about().await
    }

    async fn generate_ids(&self, count: u32) -> Result<Vec<DriveId>, DriveError> {
        self.drive.generate_ids(count).await
    }
}

/// The Drive the engine sees: the gate, then the faults, then the recorder.
pub struct SimRemote {
    pub(super) sh: Arc<Shared>,
    pub(super) faulty: FaultyRemote<Recorder>,
}

#[async_trait]
impl RemoteStore for SimRemote {
    async fn get(&self, id: &DriveId) -> Result<File, DriveError> {
        self.sh.gated(false, self.faulty.get(id)).await
    }

    async fn list_page(
        &self,
        parents: &[DriveId],
        page: Option<&PageToken>,
    ) -> Result<FileList, DriveError> {
        self.sh
            .gated(false, self.faulty.list_page(parents, page))
            .await
    }

    async fn create_folder(&self, new: &NewFile) -> Result<File, DriveError> {
        self.sh.gated(true, self.faulty.create_folder(new)).await
    }

    async fn create_file(&self, new: &NewFile, source: &UploadSource) -> Result<File, DriveError> {
        self.sh
            .gated(true, self.faulty.create_file(new, source))
            .await
    }

    async fn update_content(
        &self,
        id: &DriveId,
        source: &UploadSource,
    ) -> Result<File, DriveError> {
        self.sh
            .gated(true, self.faulty.update_content(id, source))
            .await
    }

    async fn relocate(&self, id: &DriveId, to: &Relocation) -> Result<File, DriveError> {
        self.sh.gated(true, self.faulty.relocate(id, to)).await
    }

    async fn trash(&self, id: &DriveId) -> Result<File, DriveError> {
        self.sh.gated(true, self.faulty.trash(id)).await
    }

    async fn untrash(&self, id: &DriveId) -> Result<File, DriveError> {
        self.sh.gated(true, self.faulty.untrash(id)).await
    }

    async fn download(
        &self,
        id: &DriveId,
        expect: Option<&Md5>,
        to: &mut (dyn AsyncWrite + Send + Unpin),
    ) -> Result<Downloaded, DriveError> {
        self.sh
            .gated(false, self.faulty.download(id, expect, to))
            .await
    }

    async fn export(
        &self,
        id: &DriveId,
        mime_type: &str,
        to: &mut (dyn AsyncWrite + Send + Unpin),
    ) -> Result<u64, DriveError> {
        self.sh
            .gated(false, self.faulty.export(id, mime_type, to))
            .await
    }

    async fn start_page_token(&self) -> Result<ChangeToken, DriveError> {
        self.sh.gated(false, self.faulty.start_page_token()).await
    }

    async fn changes_page(&self, token: &ChangeToken) -> Result<ChangeList, DriveError> {
        self.sh.gated(false, self.faulty.changes_page(token)).await
    }

    async fn about(&self) -> Result<About, DriveError> {
        self.sh.gated(false, self.faulty.about()).await
    }

    async fn generate_ids(&self, count: u32) -> Result<Vec<DriveId>, DriveError> {
        self.sh.gated(true, self.faulty.generate_ids(count)).await
    }
}

// ---------------------------------------------------------------------------------------
// The local disk: reads pass through; changes go through the gate.

/// The local disk the engine sees.
pub struct SimFs {
    pub(super) sh: Arc<Shared>,
}

#[async_trait]
impl LocalFs for SimFs {
    fn root(&self) -> &Path {
        LocalFs::root(&self.sh.fs)
    }

    async fn root_id(&self) -> Result<Option<RootId>, FsError> {
        self.sh.fs.root_id().await
    }

    async fn read_marker(&self) -> Result<Option<String>, FsError> {
        self.sh.fs.read_marker().await
    }

    /// Not a user's file: written straight to the disk, outside the model's accounting.
    async fn write_marker(&self, text: &str) -> Result<(), FsError> {
        self.sh.fs.write_marker(text).await
    }

    async fn stat(&self, path: &RelPath) -> Result<Option<Meta>, FsError> {
        self.sh.fs.stat(path).await
    }

    async fn list_dir(&self, path: &RelPath) -> Result<Listing, FsError> {
        {
            let mut st = self.sh.st();
            st.tick += 1;
            let t = st.tick;
            st.listed.insert(path.clone(), t);
        }
        self.sh.fs.list_dir(path).await
    }

    async fn hash(&self, path: &RelPath) -> Result<Hashed, FsError> {
        self.sh.fs.hash(path).await
    }

    async fn create_dir(&self, path: &RelPath) -> Result<Meta, FsError> {
        self.sh.gated(true, self.sh.fs.create_dir(path)).await
    }

    async fn rename(&self, from: &RelPath, to: &RelPath, expect: Expect) -> Result<Meta, FsError> {
        self.sh
            .gated(true, self.sh.fs.rename(from, to, expect))
            .await
    }

    async fn trash(&self, path: &RelPath, expect: Expect) -> Result<Trashed, FsError> {
        let after = self.sh.enter(true).await;
        self.sh.note_window(path);
        let out = self.sh.fs.trash(path, expect).await;
        self.sh.leave(after).await;
        out
    }

    async fn keep(&self, path: &RelPath) -> Result<Option<Kept>, FsError> {
        self.sh.gated(true, self.sh.fs.keep(path)).await
    }

    async fn trash_kept(&self, kept: &Kept) -> Result<Trashed, FsError> {
        self.sh.gated(true, self.sh.fs.trash_kept(kept)).await
    }

    async fn drop_kept(&self, kept: &Kept) -> Result<(), FsError> {
        self.sh.gated(true, self.sh.fs.drop_kept(kept)).await
    }

    async fn stage(&self, dir: &RelPath) -> Result<Box<dyn Staged>, FsError> {
        let inner = self.sh.gated(true, self.sh.fs.stage(dir)).await?;
        Ok(Box::new(SimStaged {
            inner: Some(inner),
            sh: self.sh.clone(),
            dir: dir.clone(),
            bytes: Vec::new(),
            done: false,
        }))
    }

    async fn upload_path(&self, path: &RelPath) -> Result<UploadFile, FsError> {
        self.sh.fs.upload_path(path).await
    }

    async fn remove_partial(&self, path: &RelPath) -> Result<(), FsError> {
        self.sh.gated(true, self.sh.fs.remove_partial(path)).await
    }
}

/// A download being written: keeps a copy of the bytes, checks the overwrite on commit, and
/// leaves the partial file behind when a crash cuts it.
struct SimStaged {
    inner: Option<Box<dyn Staged>>,
    sh: Arc<Shared>,
    dir: RelPath,
    bytes: Vec<u8>,
    done: bool,
}

impl Drop for SimStaged {
    fn drop(&mut self) {
        if self.done || !self.sh.st().crashed {
            return;
        }
        let dir_ok = self.dir.is_root()
            || self.sh.fs.meta(self.dir.clone()).map(|m| m.kind) == Some(FsKind::Folder);
        let n = {
            let mut st = self.sh.st();
            st.partial_seq += 1;
            st.partial_seq
        };
        if let (true, Ok(p)) = (dir_ok, self.dir.join(&format!("{PARTIAL_PREFIX}crash{n}"))) {
            self.sh.fs.write(p, &self.bytes);
        }
    }
}

impl AsyncWrite for SimStaged {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(Err(std::io::Error::other("already committed")));
        };
        match Pin::new(inner).poll_write(cx, buf) {
            Poll::Ready(Ok(n)) => {
                this.bytes.extend_from_slice(&buf[..n]);
                Poll::Ready(Ok(n))
            }
            other => other,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut().inner.as_mut() {
            Some(inner) => Pin::new(inner).poll_flush(cx),
            None => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut().inner.as_mut() {
            Some(inner) => Pin::new(inner).poll_shutdown(cx),
            None => Poll::Ready(Ok(())),
        }
    }
}

#[async_trait]
impl Staged for SimStaged {
    async fn commit(
        mut self: Box<Self>,
        to: &RelPath,
        expect: Expect,
        mtime: Option<DateTime<Utc>>,
    ) -> Result<Meta, FsError> {
        let sh = self.sh.clone();
        let after = sh.enter(true).await;
        let old = sh.fs.read(to.clone()).ok().map(|b| md5_of(&b));
        let synced = sh.synced_at(to);
        let new = md5_of(&self.bytes);
        let Some(inner) = self.inner.take() else {
            return Err(FsError::NotFound {
                op: "write",
                path: to.to_path(LocalFs::root(&sh.fs)),
            });
        };
        let r = inner.commit(to, expect, mtime).await;
        self.done = true;
        if let (Ok(_), Some(old)) = (&r, old) {
            sh.engine_overwrote_local(to, old, new, synced);
        }
        sh.leave(after).await;
        r
    }
}

// ---------------------------------------------------------------------------------------
// A case.

pub(super) fn fake_op(c: RemoteCall) -> FakeOp {
    match c {
        RemoteCall::Get => FakeOp::Get,
        RemoteCall::List => FakeOp::List,
        RemoteCall::CreateFolder => FakeOp::CreateFolder,
        RemoteCall::CreateFile => FakeOp::CreateFile,
        RemoteCall::UpdateContent => FakeOp::UpdateContent,
        RemoteCall::Relocate => FakeOp::Relocate,
        RemoteCall::Trash => FakeOp::Trash,
        RemoteCall::Download => FakeOp::Download,
        RemoteCall::Changes => FakeOp::Changes,
        RemoteCall::StartPageToken => FakeOp::StartPageToken,
        RemoteCall::GenerateIds => FakeOp::GenerateIds,
    }
}

pub(super) fn fault_of(k: FaultKind) -> Fault {
    match k {
        FaultKind::ServerError | FaultKind::Reset => Fault::Transient,
        FaultKind::RateLimited => Fault::RateLimited,
        FaultKind::RateLimited403 => Fault::Api(403, "rateLimitExceeded".into()),
        FaultKind::Unauthorized => Fault::Unauthorized,
        FaultKind::ChecksumMismatch => Fault::ChecksumMismatch,
        FaultKind::QuotaExceeded => Fault::QuotaExceeded,
    }
}
