//! The control API for tests: `/__emulator/...` over HTTP, and the same as methods on
//! [`EmulatorHandle`]. Faults, latency, token expiry and revocation, consent, snapshots, reset.

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::faults::{FaultRule, FaultSpec};
use crate::oauth::{TokenResponse, DEFAULT_SCOPE};
use crate::state::Op;
use crate::{AppState, EmulatorHandle, Shared};

/// One file in a [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotFile {
    /// Drive id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Slash path from My Drive (`/a/b.txt`); names containing `/` are not escaped.
    pub path: Option<String>,
    /// MIME type.
    pub mime_type: String,
    /// MD5 of binary content.
    pub md5_checksum: Option<String>,
    /// Size of binary content.
    pub size: Option<u64>,
    /// In the trash.
    pub trashed: bool,
    /// Parent ids.
    pub parents: Vec<String>,
    /// Version.
    pub version: u64,
}

/// The whole Drive, for assertions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// The root folder id.
    pub root_id: String,
    /// Every file but the root, sorted by path then id.
    pub files: Vec<SnapshotFile>,
}

impl Shared {
    /// Adds a fault for the next matching requests.
    pub fn add_fault(&self, spec: FaultSpec) {
        let remaining = spec.count.unwrap_or(1);
        self.faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(FaultRule { spec, remaining });
    }

    /// Drops every pending fault.
    pub fn clear_faults(&self) {
        self.faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Sets the latency added to every request.
    pub fn set_latency(&self, latency: Duration) {
        self.latency_ms
            .store(latency.as_millis() as u64, Ordering::Relaxed);
    }

    /// Makes `/auth` deny (`access_denied`) or approve.
    pub fn set_consent(&self, approve: bool) {
        self.consent_deny.store(!approve, Ordering::Relaxed);
    }

    /// Expires every access token now (the next API call gets 401 until the client refreshes).
    pub fn expire_access_tokens(&self) -> std::io::Result<()> {
        let past = Utc::now() - chrono::Duration::seconds(1);
        self.with_grants(|g| g.access.values_mut().for_each(|t| t.expires = past))
    }

    /// Revokes every refresh token (refresh then fails with `invalid_grant`).
    pub fn revoke_refresh_tokens(&self) -> std::io::Result<()> {
        self.with_grants(|g| g.refresh.values_mut().for_each(|r| r.revoked = true))
    }

    /// Issues tokens to a registered client without the browser dance (`InvalidInput` for an
    /// unknown client).
    pub fn mint_tokens(
        &self,
        client_id: Option<&str>,
        scope: Option<&str>,
    ) -> std::io::Result<TokenResponse> {
        let client = client_id.unwrap_or(&self.config.clients[0].0).to_owned();
        if !self.config.clients.iter().any(|(id, _)| *id == client) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("unknown OAuth client {client}"),
            ));
        }
        let ttl = chrono::Duration::from_std(self.config.token_ttl)
            .unwrap_or(chrono::Duration::seconds(3599));
        self.with_grants(|g| g.issue(&client, scope.unwrap_or(DEFAULT_SCOPE), ttl, Utc::now()))
    }

    /// Makes every open resumable upload session expire.
    pub fn expire_upload_sessions(&self) -> std::io::Result<()> {
        let mut s = self.lock();
        let past = Utc::now() - chrono::Duration::seconds(1);
        let sessions: Vec<_> = s.sessions.values().cloned().collect();
        for mut sess in sessions {
            sess.expires = past;
            s.commit(Op::PutSession(sess))?;
        }
        Ok(())
    }

    /// Sets the storage quota.
    pub fn set_quota(&self, limit: u64) {
        self.lock().quota_limit = limit;
    }

    /// Empties the Drive (new root); tokens stay valid and page tokens keep growing.
    pub fn reset(&self) -> std::io::Result<()> {
        let mut s = self.lock();
        let now = Utc::now();
        let blobs: Vec<String> = s.live_blobs().into_iter().collect();
        let root_id = crate::blobs::random_id(19).replace(['-', '_'], "A");
        let root = s.new_record(root_id, "My Drive", crate::model::FOLDER_MIME, vec![], now);
        s.commit(Op::Reset { root })?;
        s.rewrite_journal()?;
        for b in blobs {
            self.blobs.remove(&b);
        }
        self.hashers().clear();
        Ok(())
    }

    /// The whole Drive.
    pub fn snapshot(&self) -> Snapshot {
        let s = self.lock();
        let mut files: Vec<SnapshotFile> = s
            .all_files()
            .filter(|f| f.id != s.root_id)
            .map(|f| SnapshotFile {
                id: f.id.clone(),
                name: f.name.clone(),
                path: s.path_of(&f.id),
                mime_type: f.mime_type.clone(),
                md5_checksum: f.content.as_ref().map(|c| c.md5.clone()),
                size: f.content.as_ref().map(|c| c.size),
                trashed: f.trashed,
                parents: f.parents.clone(),
                version: f.version,
            })
            .collect();
        files.sort_by(|a, b| (&a.path, &a.id).cmp(&(&b.path, &b.id)));
        Snapshot {
            root_id: s.root_id.clone(),
            files,
        }
    }
}

macro_rules! delegate {
    ($($(#[$m:meta])* fn $name:ident(&self $(, $arg:ident : $ty:ty)*) -> $ret:ty;)*) => {
        impl EmulatorHandle {
            $($(#[$m])* pub fn $name(&self $(, $arg: $ty)*) -> $ret { self.shared.$name($($arg),*) })*
        }
    };
}

delegate! {
    /// See [`Shared::add_fault`].
    fn add_fault(&self, spec: FaultSpec) -> ();
    /// See [`Shared::clear_faults`].
    fn clear_faults(&self) -> ();
    /// See [`Shared::set_latency`].
    fn set_latency(&self, latency: Duration) -> ();
    /// See [`Shared::set_consent`].
    fn set_consent(&self, approve: bool) -> ();
    /// See [`Shared::expire_access_tokens`].
    fn expire_access_tokens(&self) -> std::io::Result<()>;
    /// See [`Shared::revoke_refresh_tokens`].
    fn revoke_refresh_tokens(&self) -> std::io::Result<()>;
    /// See [`Shared::expire_upload_sessions`].
    fn expire_upload_sessions(&self) -> std::io::Result<()>;
    /// See [`Shared::set_quota`].
    fn set_quota(&self, limit: u64) -> ();
    /// See [`Shared::reset`].
    fn reset(&self) -> std::io::Result<()>;
    /// See [`Shared::snapshot`].
    fn snapshot(&self) -> crate::Snapshot;
}

impl EmulatorHandle {
    /// Tokens for the default client (or `client_id`), with the full Drive scope.
    pub fn mint_tokens(&self, client_id: Option<&str>) -> std::io::Result<TokenResponse> {
        self.shared.mint_tokens(client_id, None)
    }
}

fn done(r: std::io::Result<()>) -> Response {
    match r {
        Ok(()) => Json(json!({"ok": true})).into_response(),
        Err(e) => (
            if e.kind() == std::io::ErrorKind::InvalidInput {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            },
            Json(json!({"error": e.to_string()})),
        )
            .into_response(),
    }
}

/// Body of `POST /__emulator/tokens`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MintRequest {
    client_id: Option<String>,
    scope: Option<String>,
}

/// Body of `POST /__emulator/latency`.
#[derive(Debug, Deserialize)]
pub struct LatencyRequest {
    ms: u64,
}

/// Body of `POST /__emulator/consent`.
#[derive(Debug, Deserialize)]
pub struct ConsentRequest {
    mode: String,
}

/// Body of `POST /__emulator/quota`.
#[derive(Debug, Deserialize)]
pub struct QuotaRequest {
    limit: u64,
}

fn body_or_default<T: Default + serde::de::DeserializeOwned>(
    body: &str,
) -> Result<T, Box<Response>> {
    if body.trim().is_empty() {
        return Ok(T::default());
    }
    serde_json::from_str(body).map_err(|e| {
        Box::new(
            (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": e.to_string()})),
            )
                .into_response(),
        )
    })
}

/// The `/__emulator` routes.
pub fn routes() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route(
            "/__emulator/faults",
            post(|AxState(app): AxState<AppState>, body: String| async move {
                match body_or_default::<FaultSpec>(&body) {
                    Ok(spec) => {
                        app.add_fault(spec);
                        done(Ok(()))
                    }
                    Err(r) => *r,
                }
            })
            .delete(|AxState(app): AxState<AppState>| async move {
                app.clear_faults();
                done(Ok(()))
            }),
        )
        .route(
            "/__emulator/latency",
            post(
                |AxState(app): AxState<AppState>, Json(r): Json<LatencyRequest>| async move {
                    app.set_latency(Duration::from_millis(r.ms));
                    done(Ok(()))
                },
            ),
        )
        .route(
            "/__emulator/consent",
            post(
                |AxState(app): AxState<AppState>, Json(r): Json<ConsentRequest>| async move {
                    match r.mode.as_str() {
                        "approve" | "deny" => {
                            app.set_consent(r.mode == "approve");
                            done(Ok(()))
                        }
                        _ => (
                            StatusCode::BAD_REQUEST,
                            Json(json!({"error": "mode is approve or deny"})),
                        )
                            .into_response(),
                    }
                },
            ),
        )
        .route(
            "/__emulator/quota",
            post(
                |AxState(app): AxState<AppState>, Json(r): Json<QuotaRequest>| async move {
                    app.set_quota(r.limit);
                    done(Ok(()))
                },
            ),
        )
        .route(
            "/__emulator/expire-tokens",
            post(|AxState(app): AxState<AppState>| async move { done(app.expire_access_tokens()) }),
        )
        .route(
            "/__emulator/revoke-refresh-tokens",
            post(
                |AxState(app): AxState<AppState>| async move { done(app.revoke_refresh_tokens()) },
            ),
        )
        .route(
            "/__emulator/expire-upload-sessions",
            post(
                |AxState(app): AxState<AppState>| async move { done(app.expire_upload_sessions()) },
            ),
        )
        .route(
            "/__emulator/reset",
            post(|AxState(app): AxState<AppState>| async move { done(app.reset()) }),
        )
        .route(
            "/__emulator/snapshot",
            get(|AxState(app): AxState<AppState>| async move { Json(app.snapshot()) }),
        )
        .route(
            "/__emulator/tokens",
            post(|AxState(app): AxState<AppState>, body: String| async move {
                match body_or_default::<MintRequest>(&body) {
                    Ok(r) => match app.mint_tokens(r.client_id.as_deref(), r.scope.as_deref()) {
                        Ok(t) => Json(t).into_response(),
                        Err(e) => done(Err(e)),
                    },
                    Err(r) => *r,
                }
            }),
        )
}
