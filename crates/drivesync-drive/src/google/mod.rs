//! [`GoogleDrive`]: the [`RemoteStore`] over Drive v3 and reqwest, endpoints from
//! [`GoogleEndpoints`] so tests and the demo run it against `drive-emulator`.

mod body;
mod download;
mod metadata;
mod resumable;
mod transport;
mod upload;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use drivesync_auth::AccessTokenSource;
use drivesync_model::{DriveId, GoogleEndpoints, Md5};
use tokio::io::AsyncWrite;
use url::Url;

use crate::bandwidth::Bandwidth;
use crate::model::{About, ChangeList, ChangeToken, File, FileList, PageToken};
use crate::retry::RetryPolicy;
use crate::sessions::{MemSessions, UploadSessions};
use crate::store::{Downloaded, NewFile, Relocation, RemoteStore, UploadSource};
use crate::DriveError;

use transport::Transport;

/// The smallest unit of a resumable upload chunk.
pub const CHUNK_UNIT: u64 = 256 * 1024;

/// How [`GoogleDrive`] talks to Drive.
#[derive(Debug, Clone)]
pub struct DriveConfig {
    /// Where Drive is (Google's by default).
    pub endpoints: GoogleEndpoints,
    /// Retries of failed requests.
    pub retry: RetryPolicy,
    /// Requests in flight at once, client-wide.
    pub max_concurrent_requests: usize,
    /// Requests per second, client-wide; `None` leaves pacing to Drive (throttling answers
    /// are retried with backoff).
    pub max_requests_per_second: Option<f64>,
    /// Files up to this size are uploaded in one multipart request; larger ones resumably.
    pub multipart_max: u64,
    /// Bytes per resumable chunk: a multiple of 256 KiB (rounded down, at least 256 KiB).
    pub chunk_size: u64,
    /// `pageSize` of `files.list` (1 to 1000).
    pub list_page_size: u32,
    /// `pageSize` of `changes.list` (1 to 1000).
    pub changes_page_size: u32,
    /// Pre-generated ids fetched at once for idempotent creates (0 disables them).
    pub id_batch: u32,
    /// A connection that stays silent this long (no response, no body bytes) is dropped and
    /// the request retried.
    pub read_timeout: Duration,
    /// Connecting longer than this fails the try.
    pub connect_timeout: Duration,
}

impl Default for DriveConfig {
    fn default() -> Self {
        Self {
            endpoints: GoogleEndpoints::default(),
            retry: RetryPolicy::default(),
            max_concurrent_requests: 16,
            max_requests_per_second: None,
            multipart_max: 5 << 20,
            chunk_size: 8 << 20,
            list_page_size: 1000,
            changes_page_size: 1000,
            id_batch: 1000,
            read_timeout: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(30),
        }
    }
}

impl DriveConfig {
    /// The defaults with every endpoint at `endpoints`.
    pub fn at(endpoints: GoogleEndpoints) -> Self {
        Self {
            endpoints,
            ..Self::default()
        }
    }

    fn chunk(&self) -> u64 {
        (self.chunk_size / CHUNK_UNIT).max(1) * CHUNK_UNIT
    }
}

/// Counters of what a [`GoogleDrive`] sent, for tests and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Metrics {
    /// HTTP requests sent (every try counts).
    pub requests: u64,
    /// Tries that repeated a failed one.
    pub retries: u64,
    /// Access tokens refreshed after a 401.
    pub token_refreshes: u64,
    /// Content bytes sent (upload bodies).
    pub bytes_sent: u64,
    /// Content bytes received (download bodies).
    pub bytes_received: u64,
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    retries: AtomicU64,
    token_refreshes: AtomicU64,
    bytes_sent: AtomicU64,
    bytes_received: AtomicU64,
}

impl Counters {
    fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }

    fn snapshot(&self) -> Metrics {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Metrics {
            requests: g(&self.requests),
            retries: g(&self.retries),
            token_refreshes: g(&self.token_refreshes),
            bytes_sent: g(&self.bytes_sent),
            bytes_received: g(&self.bytes_received),
        }
    }
}

/// Drive v3 over HTTPS, with retries, limits, idempotent creates, resumable uploads and
/// resumed downloads. Share one per account (wrap it in an `Arc`).
pub struct GoogleDrive<T> {
    transport: Transport<T>,
    config: DriveConfig,
    bandwidth: Bandwidth,
    sessions: Arc<dyn UploadSessions>,
    ids: Mutex<Vec<DriveId>>,
    refill: tokio::sync::Mutex<()>,
    files_url: Url,
    upload_url: Url,
}

impl<T> std::fmt::Debug for GoogleDrive<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleDrive")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<T: AccessTokenSource> GoogleDrive<T> {
    /// A client that gets tokens from `auth`. Upload sessions are kept in memory until
    /// [`GoogleDrive::with_sessions`] says where to persist them.
    pub fn new(auth: T, config: DriveConfig) -> Result<Self, DriveError> {
        let join = |base: &Url, path: &str| {
            base.join(path)
                .map_err(|e| DriveError::protocol(format!("bad endpoint {base}{path}: {e}"), None))
        };
        let files_url = join(&config.endpoints.api_root, "drive/v3/files")?;
        let upload_url = join(&config.endpoints.upload_root, "upload/drive/v3/files")?;
        Ok(Self {
            transport: Transport::new(auth, &config)?,
            files_url,
            upload_url,
            sessions: Arc::new(MemSessions::new()),
            ids: Mutex::new(Vec::new()),
            refill: tokio::sync::Mutex::new(()),
            bandwidth: Bandwidth::unlimited(),
            config,
        })
    }

    /// Persists resumable upload sessions in `sessions`.
    pub fn with_sessions(mut self, sessions: Arc<dyn UploadSessions>) -> Self {
        self.sessions = sessions;
        self
    }

    /// The configuration in use.
    pub fn config(&self) -> &DriveConfig {
        &self.config
    }

    /// What was sent so far.
    pub fn metrics(&self) -> Metrics {
        self.transport.counters.snapshot()
    }

    /// `{api_root}drive/v3/{path}`.
    fn api(&self, path: &str) -> Url {
        let mut u = self.files_url.clone();
        u.set_path(&format!(
            "{}{path}",
            self.files_url.path().trim_end_matches("files")
        ));
        u
    }

    /// `{api_root}drive/v3/files/{id}{suffix}`.
    fn file_url(&self, id: &DriveId, suffix: &str) -> Url {
        let mut u = self.files_url.clone();
        u.path_segments_mut().expect("http URL").push(id.as_str());
        if !suffix.is_empty() {
            u.set_path(&format!("{}{suffix}", u.path()));
        }
        u
    }
}

impl<T> GoogleDrive<T> {
    /// Limits this client's transfers to `bandwidth` (unlimited until this is called): every
    /// upload body (multipart requests, resumable chunks) spends its upload tokens, every
    /// download and export its download tokens, as the bytes stream. Keep a clone of
    /// `bandwidth` to change the limits later; the change applies to transfers in flight.
    pub fn with_bandwidth(mut self, bandwidth: Bandwidth) -> Self {
        self.bandwidth = bandwidth;
        self
    }

    /// The limits this client's transfers follow (a handle: clone it to change them).
    pub fn bandwidth(&self) -> &Bandwidth {
        &self.bandwidth
    }
}

#[async_trait]
impl<T: AccessTokenSource> RemoteStore for GoogleDrive<T> {
    async fn get(&self, id: &DriveId) -> Result<File, DriveError> {
        self.get_fields(id, crate::fields::FILE).await
    }

    async fn list_page(
        &self,
        parents: &[DriveId],
        page: Option<&PageToken>,
    ) -> Result<FileList, DriveError> {
        self.list_page_impl(parents, page).await
    }

    async fn create_folder(&self, new: &NewFile) -> Result<File, DriveError> {
        self.create_folder_impl(new).await
    }

    async fn create_file(&self, new: &NewFile, source: &UploadSource) -> Result<File, DriveError> {
        self.create_file_impl(new, source).await
    }

    async fn update_content(
        &self,
        id: &DriveId,
        source: &UploadSource,
    ) -> Result<File, DriveError> {
        self.update_content_impl(id, source).await
    }

    async fn relocate(&self, id: &DriveId, to: &Relocation) -> Result<File, DriveError> {
        self.relocate_impl(id, to).await
    }

    async fn trash(&self, id: &DriveId) -> Result<File, DriveError> {
        self.set_trashed(id, true).await
    }

    async fn untrash(&self, id: &DriveId) -> Result<File, DriveError> {
        self.set_trashed(id, false).await
    }

    async fn download(
        &self,
        id: &DriveId,
        expect: Option<&Md5>,
        to: &mut (dyn AsyncWrite + Send + Unpin),
    ) -> Result<Downloaded, DriveError> {
        self.download_impl(id, expect, to).await
    }

    async fn export(
        &self,
        id: &DriveId,
        mime_type: &str,
        to: &mut (dyn AsyncWrite + Send + Unpin),
    ) -> Result<u64, DriveError> {
        self.export_impl(id, mime_type, to).await
    }

    async fn start_page_token(&self) -> Result<ChangeToken, DriveError> {
        self.start_page_token_impl().await
    }

    async fn changes_page(&self, token: &ChangeToken) -> Result<ChangeList, DriveError> {
        self.changes_page_impl(token).await
    }

    async fn about(&self) -> Result<About, DriveError> {
        self.about_impl().await
    }

    async fn generate_ids(&self, count: u32) -> Result<Vec<DriveId>, DriveError> {
        self.generate_ids_impl(count).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use drivesync_auth::StaticToken;
    use drivesync_model::Sensitive;

    #[test]
    fn urls_follow_the_endpoints() {
        let base = Url::parse("http://127.0.0.1:9/prefix/").unwrap();
        let d = GoogleDrive::new(
            StaticToken(Sensitive::new("t".into())),
            DriveConfig::at(GoogleEndpoints::at(&base)),
        )
        .unwrap();
        assert_eq!(
            d.file_url(&DriveId::new("a/b"), "/export").as_str(),
            "http://127.0.0.1:9/prefix/drive/v3/files/a%2Fb/export"
        );
        assert_eq!(
            d.api("changes").as_str(),
            "http://127.0.0.1:9/prefix/drive/v3/changes"
        );
        assert_eq!(
            d.upload_url.as_str(),
            "http://127.0.0.1:9/prefix/upload/drive/v3/files"
        );
        let mut c = DriveConfig {
            chunk_size: 1 << 20 | 5,
            ..DriveConfig::default()
        };
        assert_eq!(c.chunk(), 1 << 20);
        c.chunk_size = 5;
        assert_eq!(c.chunk(), CHUNK_UNIT);
    }
}
