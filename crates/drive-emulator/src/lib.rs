//! drive-emulator: a local Google Drive v3 and OAuth 2.0 server, faithful enough that unmodified
//! Google clients work against it. drivesync's tests and its demo run against it; nothing in
//! the project talks to Google in a test.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let emu = drive_emulator::Emulator::start(drive_emulator::EmulatorConfig::default()).await?;
//! println!("Drive at {}", emu.base_url());
//! let tokens = emu.mint_tokens(None)?;
//! # let _ = tokens;
//! emu.shutdown().await;
//! # Ok(()) }
//! ```

pub mod api;
pub mod blobs;
pub mod control;
pub mod discovery;
pub mod error;
pub mod faults;
pub mod fields;
pub mod journal;
pub mod meta;
pub mod model;
pub mod multipart;
pub mod oauth;
pub mod ops;
pub mod query;
pub mod state;
#[cfg(test)]
mod state_props;
pub mod web;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

pub use control::{Snapshot, SnapshotFile};
pub use faults::FaultSpec;
pub use oauth::TokenResponse;

/// The OAuth client registered by default.
pub const DEFAULT_CLIENT_ID: &str = "drivesync-emulator.apps.googleusercontent.com";
/// Its secret (a desktop client secret is not secret, as Google documents).
pub const DEFAULT_CLIENT_SECRET: &str = "emulator-secret";

/// How to run an emulator.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// TCP port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Where state and content persist across restarts; `None` uses a temporary folder.
    pub data_dir: Option<PathBuf>,
    /// Delay added to every Drive and OAuth request.
    pub latency: Duration,
    /// Lifetime of access tokens.
    pub token_ttl: Duration,
    /// Lifetime of resumable upload sessions.
    pub session_ttl: Duration,
    /// Registered OAuth clients `(id, secret)`.
    pub clients: Vec<(String, String)>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            port: 0,
            data_dir: None,
            latency: Duration::ZERO,
            token_ttl: Duration::from_secs(3599),
            session_ttl: Duration::from_secs(7 * 24 * 3600),
            clients: vec![(DEFAULT_CLIENT_ID.into(), DEFAULT_CLIENT_SECRET.into())],
        }
    }
}

/// Why the emulator could not start or act.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// The port could not be bound.
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind {
        /// The port asked for.
        port: u16,
        /// The cause.
        source: std::io::Error,
    },
    /// The data folder could not be read or written.
    #[error("data folder {path}: {source}")]
    Data {
        /// The folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Query parameters, in order, duplicates kept.
#[derive(Debug, Clone, Default)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses an `a=b&c=d` string (a query or a form body).
pub fn params(q: Option<&str>) -> Params {
    Params(
        url::form_urlencoded::parse(q.unwrap_or("").as_bytes())
            .into_owned()
            .collect(),
    )
}

/// Everything the request handlers share.
#[derive(Debug)]
pub struct Shared {
    /// The Drive.
    pub state: Mutex<state::State>,
    /// Content on disk.
    pub blobs: blobs::Blobs,
    /// Startup configuration.
    pub config: EmulatorConfig,
    /// Pending injected faults.
    pub faults: Mutex<Vec<faults::FaultRule>>,
    /// Current added latency in milliseconds.
    pub latency_ms: AtomicU64,
    /// `/auth` answers `access_denied` when set.
    pub consent_deny: AtomicBool,
    /// Running MD5 of each upload session's received bytes `(bytes hashed, state)`.
    pub hashers: Mutex<HashMap<String, (u64, md5::Md5)>>,
    /// One lock per upload session: its requests run one at a time, so a chunk cut by a
    /// client that died cannot rewind the session under the client that resumed it.
    pub session_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    _temp: Option<tempfile::TempDir>,
}

/// The handlers' state.
pub type AppState = Arc<Shared>;

impl Shared {
    /// Locks the Drive state (a poisoned lock is recovered: the state is always consistent
    /// between statements that commit).
    pub fn lock(&self) -> MutexGuard<'_, state::State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The running MD5 of each upload session (a poisoned lock is recovered: entries are only
    /// a cache, checked against the session's offset before use).
    pub fn hashers(&self) -> MutexGuard<'_, HashMap<String, (u64, md5::Md5)>> {
        self.hashers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The lock of upload session `id` (see [`Shared::session_locks`]).
    pub fn session_lock(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.session_locks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(id.to_owned())
            .or_default()
            .clone()
    }

    /// Changes the OAuth grants and journals them.
    pub fn with_grants<T>(&self, f: impl FnOnce(&mut oauth::Grants) -> T) -> std::io::Result<T> {
        oauth::commit_grants(&mut self.lock(), f)
    }
}

/// Starts emulators.
#[derive(Debug)]
pub struct Emulator;

/// A running emulator. Dropping it stops the server (call [`EmulatorHandle::shutdown`] to wait).
#[derive(Debug)]
pub struct EmulatorHandle {
    addr: SocketAddr,
    shared: AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Emulator {
    /// Opens (or creates) the data folder, binds 127.0.0.1 and serves until shut down.
    pub async fn start(config: EmulatorConfig) -> Result<EmulatorHandle, EmulatorError> {
        let (root, temp) = match &config.data_dir {
            Some(d) => (d.clone(), None),
            None => {
                let t = tempfile::Builder::new()
                    .prefix("drive-emulator-")
                    .tempdir()
                    .map_err(|source| EmulatorError::Data {
                        path: std::env::temp_dir(),
                        source,
                    })?;
                (t.path().to_owned(), Some(t))
            }
        };
        let data_err = |source| EmulatorError::Data {
            path: root.clone(),
            source,
        };
        std::fs::create_dir_all(&root).map_err(data_err)?;
        let blobs = blobs::Blobs::open(&root).map_err(data_err)?;
        let journal_path = config.data_dir.as_ref().map(|d| d.join("journal.jsonl"));
        let ops = match &journal_path {
            Some(p) => journal::Journal::read(p).map_err(data_err)?,
            None => Vec::new(),
        };
        let state = state::State::new(ops, journal_path.as_deref(), chrono::Utc::now())
            .map_err(data_err)?;
        blobs.collect_garbage(
            &state.live_blobs(),
            &state.sessions.keys().cloned().collect(),
        );
        blobs.ensure_empty_blob().map_err(data_err)?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port))
            .await
            .map_err(|source| EmulatorError::Bind {
                port: config.port,
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| EmulatorError::Bind {
                port: config.port,
                source,
            })?;
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            blobs,
            latency_ms: AtomicU64::new(config.latency.as_millis() as u64),
            config,
            faults: Mutex::new(Vec::new()),
            consent_deny: AtomicBool::new(false),
            hashers: Mutex::new(HashMap::new()),
            session_locks: Mutex::new(HashMap::new()),
            _temp: temp,
        });
        let app = api::router(shared.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = rx.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(%e, "emulator server stopped");
            }
        });
        tracing::info!(%addr, "drive-emulator listening");
        Ok(EmulatorHandle {
            addr,
            shared,
            stop: Some(tx),
            task: Some(task),
        })
    }
}

impl EmulatorHandle {
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The shared state (for control calls).
    pub fn shared(&self) -> &AppState {
        &self.shared
    }

    /// Stops the server (open connections are dropped) and waits for it.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.abort();
            let _ = t.await;
        }
    }

    /// Waits until the server stops (it runs until the process ends or `shutdown`).
    pub async fn wait(mut self) {
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}
