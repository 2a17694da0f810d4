//! [`FaultyRemote`]: wraps any [`RemoteStore`] and makes chosen calls fail, before the call
//! (nothing happened) or after it (it happened but the answer was lost), by operation and
//! count, or at random from a seed (reproducible).

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use drivesync_model::{DriveId, Md5};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::AsyncWrite;

use crate::error::FileRef;
use crate::model::{About, ChangeList, ChangeToken, File, FileList, PageToken};
use crate::store::{Downloaded, NewFile, Relocation, RemoteStore, UploadSource};
use crate::DriveError;

/// A [`RemoteStore`] operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// [`RemoteStore::get`]
    Get,
    /// [`RemoteStore::list_page`] (each page)
    List,
    /// [`RemoteStore::create_folder`]
    CreateFolder,
    /// [`RemoteStore::create_file`]
    CreateFile,
    /// [`RemoteStore::update_content`]
    UpdateContent,
    /// [`RemoteStore::relocate`]
    Relocate,
    /// [`RemoteStore::trash`]
    Trash,
    /// [`RemoteStore::untrash`]
    Untrash,
    /// [`RemoteStore::download`]
    Download,
    /// [`RemoteStore::export`]
    Export,
    /// [`RemoteStore::start_page_token`]
    StartPageToken,
    /// [`RemoteStore::changes_page`] (each page)
    Changes,
    /// [`RemoteStore::about`]
    About,
    /// [`RemoteStore::generate_ids`]
    GenerateIds,
}

/// The error to inject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// [`DriveError::Transient`] (a 503 that outlasted the retries).
    Transient,
    /// [`DriveError::RateLimited`].
    RateLimited,
    /// [`DriveError::NotFound`].
    NotFound,
    /// [`DriveError::Unauthorized`].
    Unauthorized,
    /// [`DriveError::QuotaExceeded`].
    QuotaExceeded,
    /// [`DriveError::ChecksumMismatch`] (the transfer's bytes were wrong).
    ChecksumMismatch,
    /// [`DriveError::Api`] with this status and reason.
    Api(u16, String),
}

impl Fault {
    fn error(&self, file: Option<FileRef>) -> DriveError {
        let injected = "injected fault".to_owned();
        match self {
            Fault::Transient => DriveError::Transient {
                status: Some(503),
                reason: Some("backendError".into()),
                detail: injected,
                file,
            },
            Fault::RateLimited => DriveError::RateLimited {
                retry_after: Some(Duration::from_secs(1)),
                status: 429,
                reason: "rateLimitExceeded".into(),
                file,
            },
            Fault::NotFound => DriveError::NotFound {
                file,
                message: injected,
            },
            Fault::Unauthorized => DriveError::Unauthorized { message: injected },
            Fault::QuotaExceeded => DriveError::QuotaExceeded {
                status: 403,
                reason: "storageQuotaExceeded".into(),
                message: injected,
                file,
            },
            Fault::ChecksumMismatch => DriveError::ChecksumMismatch {
                file: file.unwrap_or(FileRef::Name("?".into())),
                expected: Md5([0; 16]),
                actual: Md5([0xff; 16]),
            },
            Fault::Api(status, reason) => DriveError::Api {
                status: *status,
                reason: reason.clone(),
                message: injected,
                file,
            },
        }
    }
}

/// When an injected fault strikes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Instead of the call: nothing happens.
    Before,
    /// After the call succeeded: it happened, but the caller sees the error.
    After,
}

#[derive(Debug)]
struct Rule {
    op: Option<Op>,
    fault: Fault,
    when: When,
    remaining: u32,
}

#[derive(Debug, Default)]
struct Plan {
    rules: Vec<Rule>,
    random: Option<(StdRng, f64)>,
    injected: u64,
}

/// Any [`RemoteStore`] with injected failures.
#[derive(Debug)]
pub struct FaultyRemote<R> {
    inner: R,
    plan: Mutex<Plan>,
}

impl<R: RemoteStore> FaultyRemote<R> {
    /// `inner` with no faults planned.
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            plan: Mutex::new(Plan::default()),
        }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &R {
        &self.inner
    }

    fn plan(&self) -> std::sync::MutexGuard<'_, Plan> {
        self.plan.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next `count` calls of `op` (any operation for `None`) fail with `fault` at `when`.
    pub fn inject(&self, op: Option<Op>, count: u32, fault: Fault, when: When) {
        self.plan().rules.push(Rule {
            op,
            fault,
            when,
            remaining: count,
        });
    }

    /// The next `count` calls of `op` fail with `fault` without doing anything.
    pub fn fail_next(&self, op: Op, count: u32, fault: Fault) {
        self.inject(Some(op), count, fault, When::Before);
    }

    /// Every call fails with probability `p` (transient faults or throttling, before or after
    /// the call), drawn from a generator seeded with `seed`: the same seed and calls give the
    /// same faults.
    pub fn random(&self, seed: u64, p: f64) {
        self.plan().random = Some((StdRng::seed_from_u64(seed), p.clamp(0.0, 1.0)));
    }

    /// Stops injecting.
    pub fn clear(&self) {
        let mut plan = self.plan();
        plan.rules.clear();
        plan.random = None;
    }

    /// Faults injected so far.
    pub fn injected(&self) -> u64 {
        self.plan().injected
    }

    fn pick(&self, op: Op) -> Option<(Fault, When)> {
        let mut plan = self.plan();
        if let Some(i) = plan
            .rules
            .iter()
            .position(|r| r.remaining > 0 && r.op.is_none_or(|o| o == op))
        {
            let r = &mut plan.rules[i];
            r.remaining -= 1;
            let hit = (r.fault.clone(), r.when);
            if r.remaining == 0 {
                plan.rules.remove(i);
            }
            plan.injected += 1;
            return Some(hit);
        }
        let (rng, p) = plan.random.as_mut()?;
        if !rng.random_bool(*p) {
            return None;
        }
        let fault = if rng.random_bool(0.5) {
            Fault::Transient
        } else {
            Fault::RateLimited
        };
        let when = if rng.random_bool(0.5) {
            When::Before
        } else {
            When::After
        };
        plan.injected += 1;
        Some((fault, when))
    }

    /// Runs `call` under the plan for `op`.
    async fn run<T: Send>(
        &self,
        op: Op,
        file: Option<FileRef>,
        call: impl std::future::Future<Output = Result<T, DriveError>> + Send,
    ) -> Result<T, DriveError> {
        match self.pick(op) {
            None => call.await,
            Some((fault, When::Before)) => Err(fault.error(file)),
            Some((fault, When::After)) => {
                let done = call.await?;
                drop(done);
                Err(fault.error(file))
            }
        }
    }
}

fn id_ref(id: &DriveId) -> Option<FileRef> {
    Some(FileRef::Id(id.clone()))
}

#[async_trait]
impl<R: RemoteStore> RemoteStore for FaultyRemote<R> {
    async fn get(&self, id: &DriveId) -> Result<File, DriveError> {
        self.run(Op::Get, id_ref(id), self.inner.get(id)).await
    }

    async fn list_page(
        &self,
        parents: &[DriveId],
        page: Option<&PageToken>,
    ) -> Result<FileList, DriveError> {
        self.run(
            Op::List,
            parents.first().and_then(id_ref),
            self.inner.list_page(parents, page),
        )
        .await
    }

    async fn create_folder(&self, new: &NewFile) -> Result<File, DriveError> {
        let f = Some(FileRef::Name(new.name.clone()));
        self.run(Op::CreateFolder, f, self.inner.create_folder(new))
            .await
    }

    async fn create_file(&self, new: &NewFile, source: &UploadSource) -> Result<File, DriveError> {
        let f = Some(FileRef::Name(new.name.clone()));
        self.run(Op::CreateFile, f, self.inner.create_file(new, source))
            .await
    }

    async fn update_content(
        &self,
        id: &DriveId,
        source: &UploadSource,
    ) -> Result<File, DriveError> {
        self.run(
            Op::UpdateContent,
            id_ref(id),
            self.inner.update_content(id, source),
        )
        .await
    }

    async fn relocate(&self, id: &DriveId, to: &Relocation) -> Result<File, DriveError> {
        self.run(Op::Relocate, id_ref(id), self.inner.relocate(id, to))
            .await
    }

    async fn trash(&self, id: &DriveId) -> Result<File, DriveError> {
        self.run(Op::Trash, id_ref(id), self.inner.trash(id)).await
    }

    async fn untrash(&self, id: &DriveId) -> Result<File, DriveError> {
        self.run(Op::Untrash, id_ref(id), self.inner.untrash(id))
            .await
    }

    async fn download(
        &self,
        id: &DriveId,
        expect: Option<&Md5>,
        to: &mut (dyn AsyncWrite + Send + Unpin),
    ) -> Result<Downloaded, DriveError> {
        self.run(
            Op::Download,
            id_ref(id),
            self.inner.download(id, expect, to),
        )
        .await
    }

    async fn export(
        &self,
        id: &DriveId,
        mime_type: &str,
        to: &mut (dyn AsyncWrite + Send + Unpin),
    ) -> Result<u64, DriveError> {
        self.run(Op::Export, id_ref(id), self.inner.export(id, mime_type, to))
            .await
    }

    async fn start_page_token(&self) -> Result<ChangeToken, DriveError> {
        self.run(Op::StartPageToken, None, self.inner.start_page_token())
            .await
    }

    async fn changes_page(&self, token: &ChangeToken) -> Result<ChangeList, DriveError> {
        self.run(Op::Changes, None, self.inner.changes_page(token))
            .await
    }

    async fn about(&self) -> Result<About, DriveError> {
        self.run(Op::About, None, self.inner.about()).await
    }

    async fn generate_ids(&self, count: u32) -> Result<Vec<DriveId>, DriveError> {
        self.run(Op::GenerateIds, None, self.inner.generate_ids(count))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::MemRemote;

    #[tokio::test]
    async fn faults_strike_by_operation_count_and_timing() {
        let r = FaultyRemote::new(MemRemote::new());
        let root = r.inner().root_id();
        r.fail_next(Op::CreateFolder, 1, Fault::Transient);
        let new = NewFile::new(root.clone(), "a");
        assert!(r.create_folder(&new).await.unwrap_err().is_transient());
        assert!(r.inner().files().is_empty());
        r.inject(Some(Op::CreateFolder), 1, Fault::Transient, When::After);
        assert!(r.create_folder(&new).await.is_err());
        assert_eq!(
            r.inner().files().len(),
            1,
            "the call happened, its answer was lost"
        );
        r.create_folder(&NewFile::new(root.clone(), "b"))
            .await
            .unwrap();
        assert_eq!(r.injected(), 2);
    }

    #[tokio::test]
    async fn random_faults_are_reproducible() {
        async fn outcomes(seed: u64) -> Vec<bool> {
            let r = FaultyRemote::new(MemRemote::new());
            r.random(seed, 0.3);
            let mut out = Vec::new();
            for _ in 0..50 {
                out.push(r.about().await.is_ok());
            }
            out
        }
        let a = outcomes(7).await;
        assert_eq!(a, outcomes(7).await);
        assert!(a.iter().any(|ok| !ok) && a.iter().any(|ok| *ok));
    }
}
