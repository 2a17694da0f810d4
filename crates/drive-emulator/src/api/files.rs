//! `files.list`, `files.get` (metadata), `files.create` (metadata only), `files.update`
//! (metadata), `files.delete`, `files.copy`, `files.emptyTrash`, `files.generateIds`.

use std::cmp::Ordering;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use chrono::Utc;
use serde_json::{json, Value};

use super::{
    base_url, ensure_digests, fields_mask, file_json, int_param, no_shared_drive, respond_file,
    App, Authed,
};
use crate::error::{ApiError, ApiResult};
use crate::meta::{FileMeta, MetaFor};
use crate::model::FileRecord;
use crate::{ops, params, query, state::Op};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SortKey {
    Created,
    Folder,
    ModifiedByMe,
    Modified,
    Name,
    Quota,
    Starred,
}

fn parse_order(raw: &str) -> ApiResult<Vec<(SortKey, bool)>> {
    raw.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|item| {
            let mut words = item.split_whitespace();
            let key = match words.next().unwrap_or("") {
                "createdTime" => SortKey::Created,
                "folder" => SortKey::Folder,
                "modifiedByMeTime" | "viewedByMeTime" => SortKey::ModifiedByMe,
                "modifiedTime" | "recency" => SortKey::Modified,
                "name" | "name_natural" => SortKey::Name,
                "quotaBytesUsed" => SortKey::Quota,
                "starred" | "sharedWithMeTime" => SortKey::Starred,
                other => {
                    return Err(ApiError::invalid_param(
                        "orderBy",
                        format!("Invalid sort key: {other}"),
                    ))
                }
            };
            let desc = match words.next() {
                None => false,
                Some(d) if d.eq_ignore_ascii_case("desc") => true,
                Some(d) if d.eq_ignore_ascii_case("asc") => false,
                Some(_) => return Err(ApiError::invalid_param("orderBy", "Invalid Value")),
            };
            if words.next().is_some() {
                return Err(ApiError::invalid_param("orderBy", "Invalid Value"));
            }
            Ok((key, desc))
        })
        .collect()
}

fn compare(a: &FileRecord, b: &FileRecord, keys: &[(SortKey, bool)]) -> Ordering {
    for &(k, desc) in keys {
        let o = match k {
            SortKey::Created => a.created_time.cmp(&b.created_time),
            SortKey::Folder => b.is_folder().cmp(&a.is_folder()),
            SortKey::ModifiedByMe => a.modified_by_me_time.cmp(&b.modified_by_me_time),
            SortKey::Modified => a.modified_time.cmp(&b.modified_time),
            SortKey::Name => a
                .name
                .to_lowercase()
                .cmp(&b.name.to_lowercase())
                .then_with(|| a.name.cmp(&b.name)),
            SortKey::Quota => a
                .content
                .as_ref()
                .map(|c| c.size)
                .cmp(&b.content.as_ref().map(|c| c.size)),
            SortKey::Starred => b.starred.cmp(&a.starred),
        };
        let o = if desc { o.reverse() } else { o };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.seq.cmp(&b.seq)
}

fn listing_hash(parts: &[Option<&str>]) -> u64 {
    // FNV-1a: page tokens only need to notice a different listing, not resist forgery.
    let mut h: u64 = 0xcbf29ce484222325;
    for p in parts {
        for b in p.unwrap_or("\u{0}").bytes().chain([0xff]) {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    h
}

fn encode_page(offset: usize, hash: u64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{offset}.{hash:x}"))
}

fn decode_page(token: &str, hash: u64) -> ApiResult<usize> {
    let bad = || ApiError::invalid_param("pageToken", "Invalid Value");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (off, h) = text.split_once('.').ok_or_else(bad)?;
    if u64::from_str_radix(h, 16).ok() != Some(hash) {
        return Err(bad());
    }
    off.parse().map_err(|_| bad())
}

/// `GET /drive/v3/files`.
pub async fn list(
    app: App,
    _: Authed,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let app = app.0;
    let p = params(q.as_deref());
    no_shared_drive(&p)?;
    let page_size = int_param(&p, "pageSize", 100, 1, 1000)? as usize;
    let query = match p.get("q").filter(|s| !s.trim().is_empty()) {
        Some(raw) => Some(query::parse(raw).map_err(|e| {
            tracing::debug!(%e, "refusing q");
            ApiError::invalid_param("q", "Invalid Value")
        })?),
        None => None,
    };
    let order = parse_order(p.get("orderBy").unwrap_or(""))?;
    match p.get("corpora").unwrap_or("user") {
        "user" | "domain" | "allDrives" => {}
        "drive" => {
            return Err(ApiError::invalid_param(
                "driveId",
                "The driveId parameter must be specified if and only if corpora is set to drive.",
            ))
        }
        _ => return Err(ApiError::invalid_param("corpora", "Invalid Value")),
    }
    let mut in_drive = false;
    for space in p.get("spaces").unwrap_or("drive").split(',').map(str::trim) {
        match space {
            "drive" => in_drive = true,
            "appDataFolder" | "photos" => {}
            _ => return Err(ApiError::invalid_param("spaces", "Invalid Value")),
        }
    }
    let mask = fields_mask(
        &p,
        "kind,incompleteSearch,nextPageToken,files(kind,id,name,mimeType)",
        "FileList",
    )?;
    let hash = listing_hash(&[
        p.get("q"),
        p.get("orderBy"),
        p.get("spaces"),
        p.get("corpora"),
    ]);
    let offset = match p.get("pageToken") {
        Some(t) => decode_page(t, hash)?,
        None => 0,
    };
    let (ids, next) = {
        let s = app.lock();
        let mut matches: Vec<&FileRecord> = if !in_drive {
            Vec::new()
        } else {
            let candidates: Box<dyn Iterator<Item = &FileRecord>> =
                match query.as_ref().and_then(|q| q.required_parent()) {
                    Some(parent) => Box::new(s.children(s.resolve(parent))),
                    None => Box::new(s.all_files()),
                };
            candidates
                .filter(|f| {
                    f.id != s.root_id && query.as_ref().is_none_or(|q| q.matches(f, &s.root_id))
                })
                .collect()
        };
        matches.sort_by(|a, b| compare(a, b, &order));
        let end = (offset + page_size).min(matches.len());
        let ids: Vec<String> = matches
            .get(offset.min(end)..end)
            .unwrap_or(&[])
            .iter()
            .map(|f| f.id.clone())
            .collect();
        let next = (end < matches.len()).then(|| encode_page(end, hash));
        (ids, next)
    };
    let file_mask = mask.child("files").cloned();
    if let Some(fm) = &file_mask {
        ensure_digests(&app, &ids, fm).await?;
    }
    let base = base_url(&headers);
    let s = app.lock();
    let files: Vec<Value> = match &file_mask {
        Some(fm) => ids
            .iter()
            .filter_map(|id| s.file(id))
            .map(|f| file_json(f, fm, &base))
            .collect(),
        None => Vec::new(),
    };
    let mut out = json!({"kind": "drive#fileList", "incompleteSearch": false, "files": files});
    if let Some(n) = next {
        out["nextPageToken"] = json!(n);
    }
    Ok(Json(mask.apply(out)))
}

/// `GET /drive/v3/files/{id}`: metadata, or content with `alt=media`.
pub async fn get(
    app: App,
    a: Authed,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let p = params(q.as_deref());
    if p.get("alt") == Some("media") {
        return super::media::download(app, a, Path(id), headers).await;
    }
    if !matches!(p.get("alt"), None | Some("json")) {
        return Err(ApiError::invalid_param("alt", "Invalid Value"));
    }
    Ok(respond_file(&app.0, &id, &p, &headers)
        .await?
        .into_response())
}

/// `POST /drive/v3/files`: a metadata-only create (folders, Docs, shortcuts, empty files).
pub async fn create(
    app: App,
    _: Authed,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let p = params(q.as_deref());
    let meta = FileMeta::parse(&body, MetaFor::Create)?;
    super::fields_mask(&p, super::FILE_DEFAULT_FIELDS, "File")?;
    let (rec, _) = ops::create(&mut app.0.lock(), meta, None, Utc::now())?;
    respond_file(&app.0, &rec.id, &p, &headers).await
}

/// Splits a comma-separated id list parameter.
pub fn id_list(p: &crate::Params, name: &str) -> Vec<String> {
    p.get(name)
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// `PATCH /drive/v3/files/{id}`: metadata, moves (`addParents`/`removeParents`), trash.
pub async fn update(
    app: App,
    _: Authed,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let p = params(q.as_deref());
    let meta = FileMeta::parse(&body, MetaFor::Update)?;
    super::fields_mask(&p, super::FILE_DEFAULT_FIELDS, "File")?;
    let (rec, retired) = ops::update(
        &mut app.0.lock(),
        &id,
        meta,
        &id_list(&p, "addParents"),
        &id_list(&p, "removeParents"),
        None,
        Utc::now(),
    )?;
    retired.iter().for_each(|b| app.0.blobs.remove(b));
    respond_file(&app.0, &rec.id, &p, &headers).await
}

/// `DELETE /drive/v3/files/{id}`: permanent, subtree included.
pub async fn delete(app: App, _: Authed, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let retired = ops::delete(&mut app.0.lock(), &id, Utc::now())?;
    retired.iter().for_each(|b| app.0.blobs.remove(b));
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /drive/v3/files/trash`.
pub async fn empty_trash(app: App, _: Authed) -> ApiResult<StatusCode> {
    let retired = ops::empty_trash(&mut app.0.lock(), Utc::now())?;
    retired.iter().for_each(|b| app.0.blobs.remove(b));
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /drive/v3/files/{id}/copy`.
pub async fn copy(
    app: App,
    _: Authed,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let p = params(q.as_deref());
    let overrides = FileMeta::parse(&body, MetaFor::Copy)?;
    super::fields_mask(&p, super::FILE_DEFAULT_FIELDS, "File")?;
    let (meta, src_content) = {
        let s = app.0.lock();
        let src = s.file(&id).ok_or_else(|| ApiError::file_not_found(&id))?;
        (ops::copy_meta(src, overrides)?, src.content.clone())
    };
    let content = match src_content {
        Some(c) => Some(ops::NewContent {
            blob: app.0.blobs.duplicate(&c.blob).await?,
            size: c.size,
            md5: c.md5,
            mime: None,
        }),
        None => None,
    };
    let blob = content.as_ref().map(|c| c.blob.clone());
    let result = ops::create(&mut app.0.lock(), meta, content, Utc::now());
    let rec = match result {
        Ok((rec, _)) => rec,
        Err(e) => {
            blob.iter().for_each(|b| app.0.blobs.remove(b));
            return Err(e);
        }
    };
    respond_file(&app.0, &rec.id, &p, &headers).await
}

/// `GET /drive/v3/files/generateIds`.
pub async fn generate_ids(app: App, _: Authed, RawQuery(q): RawQuery) -> ApiResult<Json<Value>> {
    let p = params(q.as_deref());
    let count = int_param(&p, "count", 10, 1, 1000)? as usize;
    let space = p.get("space").unwrap_or("drive").to_owned();
    if space != "drive" && space != "appDataFolder" {
        return Err(ApiError::invalid_param("space", "Invalid Value"));
    }
    if !matches!(p.get("type"), None | Some("files") | Some("shortcuts")) {
        return Err(ApiError::invalid_param("type", "Invalid Value"));
    }
    let ids: Vec<String> = (0..count).map(|_| crate::blobs::random_id(33)).collect();
    app.0.lock().commit(Op::ReserveIds(ids.clone()))?;
    Ok(Json(
        json!({"kind": "drive#generatedIds", "space": space, "ids": ids}),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_are_tied_to_their_listing() {
        let h = listing_hash(&[Some("a"), None]);
        assert_eq!(decode_page(&encode_page(42, h), h).unwrap(), 42);
        assert!(decode_page(&encode_page(42, h), listing_hash(&[Some("b"), None])).is_err());
        assert!(decode_page("garbage!", h).is_err());
    }

    #[test]
    fn order_by_parses_keys_and_directions() {
        assert_eq!(
            parse_order("folder,name desc").unwrap(),
            [(SortKey::Folder, false), (SortKey::Name, true)]
        );
        assert!(parse_order("size").is_err());
        assert!(parse_order("name sideways").is_err());
    }
}
