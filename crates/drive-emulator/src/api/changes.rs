//! The change feed (`changes.getStartPageToken`, `changes.list`), `about.get` and the discovery
//! document.

use axum::extract::RawQuery;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Value};

use super::{
    base_url, bool_param, fields_mask, file_json, int_param, no_shared_drive, user_json, App,
    Authed,
};
use crate::error::{ApiError, ApiResult};
use crate::model::{export_formats, rfc3339};
use crate::params;

/// `GET /drive/v3/changes/startPageToken`.
pub async fn start_page_token(
    app: App,
    _: Authed,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Value>> {
    let p = params(q.as_deref());
    no_shared_drive(&p)?;
    let mask = fields_mask(&p, "kind,startPageToken", "StartPageToken")?;
    let token = app.0.lock().start_page_token();
    Ok(Json(mask.apply(
        json!({"kind": "drive#startPageToken", "startPageToken": token.to_string()}),
    )))
}

/// `GET /drive/v3/changes`: each file once, at its latest change, oldest first; the last page
/// carries `newStartPageToken`.
pub async fn list(
    app: App,
    _: Authed,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let p = params(q.as_deref());
    no_shared_drive(&p)?;
    let raw = p.get("pageToken").ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "required",
            "Required parameter: pageToken",
        )
        .at_param("pageToken")
    })?;
    let from: u64 = raw
        .parse()
        .map_err(|_| ApiError::invalid_param("pageToken", "Invalid Value"))?;
    let page_size = int_param(&p, "pageSize", 100, 1, 1000)? as usize;
    let include_removed = bool_param(&p, "includeRemoved")?.unwrap_or(true);
    bool_param(&p, "restrictToMyDrive")?;
    let mask = fields_mask(
        &p,
        "kind,nextPageToken,newStartPageToken,changes",
        "ChangeList",
    )?;
    let change_mask = mask.child("changes").cloned();
    let file_mask = change_mask.as_ref().and_then(|m| match m {
        crate::fields::FieldMask::All => {
            Some(crate::fields::FieldMask::parse(super::FILE_DEFAULT_FIELDS).expect("valid"))
        }
        m => m.child("file").cloned(),
    });
    let base = base_url(&headers);
    let s = app.0.lock();
    let feed = s
        .changes_since(from)
        .ok_or_else(|| ApiError::invalid_param("pageToken", "Invalid Value"))?;
    let mut changes = Vec::new();
    let mut next = None;
    for c in feed.filter(|c| include_removed || !c.removed) {
        if changes.len() == page_size {
            next = Some(c.seq);
            break;
        }
        let mut v = json!({"kind": "drive#change", "changeType": "file", "type": "file", "time": rfc3339(c.time), "removed": c.removed, "fileId": c.file_id});
        if !c.removed {
            if let (Some(f), Some(fm)) = (s.file(&c.file_id), &file_mask) {
                v["file"] = file_json(f, fm, &base);
            }
        }
        changes.push(v);
    }
    let mut out = json!({"kind": "drive#changeList", "changes": changes});
    match next {
        Some(n) => out["nextPageToken"] = json!(n.to_string()),
        None => out["newStartPageToken"] = json!(s.start_page_token().to_string()),
    }
    Ok(Json(mask.apply(out)))
}

/// `GET /drive/v3/about` (`fields` is required, as on Drive).
pub async fn about(app: App, _: Authed, RawQuery(q): RawQuery) -> ApiResult<Json<Value>> {
    let p = params(q.as_deref());
    if p.get("fields").is_none() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "required",
            "The 'fields' parameter is required for this method.",
        )
        .at_param("fields"));
    }
    let mask = fields_mask(&p, "", "About")?;
    let s = app.0.lock();
    let usage = s.usage();
    let exports: serde_json::Map<String, Value> = [
        "application/vnd.google-apps.document",
        "application/vnd.google-apps.spreadsheet",
        "application/vnd.google-apps.presentation",
        "application/vnd.google-apps.drawing",
    ]
    .iter()
    .map(|m| ((*m).to_owned(), json!(export_formats(m))))
    .collect();
    let about = json!({
        "kind": "drive#about",
        "user": user_json(),
        "storageQuota": {
            "limit": s.quota_limit.to_string(),
            "usage": usage.to_string(),
            "usageInDrive": usage.to_string(),
            "usageInDriveTrash": s.usage_in_trash().to_string(),
        },
        "importFormats": {},
        "exportFormats": exports,
        "maxImportSizes": {},
        "maxUploadSize": "5497558138880",
        "appInstalled": true,
        "folderColorPalette": ["#ac725e", "#4986e7"],
        "canCreateDrives": false,
        "canCreateTeamDrives": false,
        "driveThemes": [],
    });
    Ok(Json(mask.apply(about)))
}

/// `GET /discovery/v1/apis/drive/v3/rest`, with the root URLs pointing here.
pub async fn discovery(headers: HeaderMap) -> Json<Value> {
    Json(crate::discovery::rewritten(&base_url(&headers)))
}
