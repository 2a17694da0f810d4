//! The HTTP surface: Drive v3 (`/drive/v3`), uploads (`/upload/drive/v3` and the `/resumable`
//! alias), discovery, OAuth, and the control API; plus what every handler shares (auth check,
//! `fields`, parameter parsing).

mod changes;
mod files;
mod media;
mod upload;

use axum::extract::{FromRequestParts, State as AxState};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::fields::FieldMask;
use crate::model::FileRecord;
use crate::state::{USER_EMAIL, USER_NAME};
use crate::{faults, oauth, AppState, Params};

/// The whole router over `app`.
pub fn router(app: AppState) -> Router {
    let drive = Router::new()
        .route("/drive/v3/files", get(files::list).post(files::create))
        .route("/drive/v3/files/generateIds", get(files::generate_ids))
        .route("/drive/v3/files/trash", delete(files::empty_trash))
        .route(
            "/drive/v3/files/{id}",
            get(files::get).patch(files::update).delete(files::delete),
        )
        .route("/drive/v3/files/{id}/copy", post(files::copy))
        .route("/drive/v3/files/{id}/export", get(media::export))
        .route("/drive/v3/changes", get(changes::list))
        .route(
            "/drive/v3/changes/startPageToken",
            get(changes::start_page_token),
        )
        .route("/drive/v3/about", get(changes::about))
        .route("/discovery/v1/apis/drive/v3/rest", get(changes::discovery))
        .route("/auth", get(oauth::authorize))
        .route("/o/oauth2/v2/auth", get(oauth::authorize))
        .route("/token", post(oauth::token))
        .route("/revoke", post(oauth::revoke))
        .merge(upload::routes("/upload"))
        .merge(upload::routes("/resumable/upload"))
        .fallback(|| async {
            ApiError::new(axum::http::StatusCode::NOT_FOUND, "notFound", "Not Found")
        })
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            faults::middleware,
        ));
    drive
        .merge(crate::control::routes())
        .merge(crate::web::routes())
        .with_state(app)
}

/// Proof that the request carried a live access token (`Authorization: Bearer`, or the
/// `access_token` query parameter).
#[derive(Debug, Clone, Copy)]
pub struct Authed;

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        let token = match header.and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        }) {
            Some(t) => Some(t.trim().to_owned()),
            None => crate::params(parts.uri.query())
                .get("access_token")
                .map(str::to_owned),
        };
        match token {
            Some(t) if app.lock().grants.check_access(&t, Utc::now()) => Ok(Authed),
            _ => Err(ApiError::auth()),
        }
    }
}

/// `http://host:port/` as the client addressed us.
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}/")
}

/// The account as a `User` resource.
pub fn user_json() -> Value {
    json!({
        "kind": "drive#user",
        "displayName": USER_NAME,
        "me": true,
        "permissionId": "emulator-user-permission",
        "emailAddress": USER_EMAIL,
    })
}

/// The `fields` mask of a request (or `default`), checked against `schema`.
pub fn fields_mask(
    p: &Params,
    default: &str,
    schema: &str,
) -> ApiResult<std::sync::Arc<FieldMask>> {
    let raw = p.get("fields").unwrap_or(default);
    let mask = FieldMask::checked(raw, schema).map_err(|e| {
        ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "invalidParameter",
            e.to_string(),
        )
        .at_param("fields")
    })?;
    Ok(mask)
}

/// Default `fields` of a single file response.
pub const FILE_DEFAULT_FIELDS: &str = "kind,id,name,mimeType";

/// A boolean parameter (`true`/`false`).
pub fn bool_param(p: &Params, name: &str) -> ApiResult<Option<bool>> {
    match p.get(name) {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(v) => Err(ApiError::invalid_param(
            name,
            format!("Invalid value '{v}'. Values must be true or false."),
        )),
    }
}

/// An integer parameter within `lo..=hi`, or `default`.
pub fn int_param(p: &Params, name: &str, default: u64, lo: u64, hi: u64) -> ApiResult<u64> {
    match p.get(name) {
        None => Ok(default),
        Some(v) => match v.parse::<u64>() {
            Ok(n) if (lo..=hi).contains(&n) => Ok(n),
            _ => Err(ApiError::invalid_param(
                name,
                format!("Invalid value '{v}'. Values must be within the range: [{lo}, {hi}]"),
            )),
        },
    }
}

/// Refuses shared-drive ids: the emulated account has none.
pub fn no_shared_drive(p: &Params) -> ApiResult<()> {
    for name in ["driveId", "teamDriveId"] {
        if let Some(d) = p.get(name) {
            return Err(ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "notFound",
                format!("Shared drive not found: {d}"),
            )
            .at_param(name));
        }
    }
    Ok(())
}

/// Fills in SHA-1/SHA-256 of `ids` if `mask` asks for them and they are not known yet.
pub async fn ensure_digests(app: &AppState, ids: &[String], mask: &FieldMask) -> ApiResult<()> {
    if !(mask.wants("sha1Checksum") || mask.wants("sha256Checksum"))
        || matches!(mask, FieldMask::All) && ids.len() > 100
    {
        return Ok(());
    }
    for id in ids {
        let blob = {
            let s = app.lock();
            match s.file(id).and_then(|f| f.content.as_ref()) {
                Some(c) if c.sha1.is_none() => c.blob.clone(),
                _ => continue,
            }
        };
        let (sha1, sha256) = app.blobs.sha_digests(&blob).await?;
        let mut s = app.lock();
        if let Some(mut f) = s.file(id).cloned() {
            if let Some(c) = f.content.as_mut().filter(|c| c.blob == blob) {
                c.sha1 = Some(sha1);
                c.sha256 = Some(sha256);
                s.commit(crate::state::Op::PutFile {
                    file: f,
                    change: None,
                })?;
            }
        }
    }
    Ok(())
}

/// A file rendered and masked.
pub fn file_json(f: &FileRecord, mask: &FieldMask, base: &str) -> Value {
    static USER: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    f.to_json(base, USER.get_or_init(user_json), mask)
}

/// A file response for `id` after a change, with the request's `fields`.
pub async fn respond_file(
    app: &AppState,
    id: &str,
    p: &Params,
    headers: &HeaderMap,
) -> ApiResult<Json<Value>> {
    let mask = fields_mask(p, FILE_DEFAULT_FIELDS, "File")?;
    ensure_digests(app, &[id.to_owned()], &mask).await?;
    let s = app.lock();
    let f = s.file(id).ok_or_else(|| ApiError::file_not_found(id))?;
    Ok(Json(file_json(f, &mask, &base_url(headers))))
}

/// Handler state extractor re-exported for the submodules.
pub type App = AxState<AppState>;
