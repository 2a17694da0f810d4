//! Content in: `uploadType=media`, `multipart` (streamed parser, LF or CRLF, chunked bodies) and
//! `resumable` (sessions with an absolute `Location`, chunks by PUT or POST with or without
//! `Authorization`, 308 + `Range`, status queries, 256 KiB chunk rule, expiry).

use axum::body::Body;
use axum::extract::{Path, RawQuery, Request};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use chrono::Utc;
use futures_util::StreamExt;
use md5::{Digest, Md5};
use serde_json::Value;

use super::files::id_list;
use super::{base_url, fields_mask, App, Authed, FILE_DEFAULT_FIELDS};
use crate::blobs::{hex, random_id, Blobs, HashingWriter};
use crate::error::{ApiError, ApiResult};
use crate::meta::{FileMeta, MetaFor};
use crate::multipart::{self, Event};
use crate::ops::{self, NewContent};
use crate::state::{Op, SessionTarget, UploadSession};
use crate::{params, AppState, Params};

/// Chunk granularity of resumable uploads.
pub const CHUNK_UNIT: u64 = 256 * 1024;
const MAX_METADATA_BYTES: usize = 1 << 20;

/// Upload routes under `prefix` (`/upload` or `/resumable/upload`).
pub fn routes(prefix: &str) -> Router<AppState> {
    Router::new()
        .route(
            &format!("{prefix}/drive/v3/files"),
            post(on_collection).put(on_collection),
        )
        .route(
            &format!("{prefix}/drive/v3/files/{{id}}"),
            post(on_file).put(on_file).patch(on_file),
        )
}

fn upload_id(p: &Params) -> Option<String> {
    p.get("upload_id").map(str::to_owned)
}

async fn authed(
    app: &AppState,
    req: Request,
) -> Result<(axum::http::request::Parts, Body), ApiError> {
    let (mut parts, body) = req.into_parts();
    <Authed as axum::extract::FromRequestParts<AppState>>::from_request_parts(&mut parts, app)
        .await?;
    Ok((parts, body))
}

async fn on_collection(app: App, RawQuery(q): RawQuery, req: Request) -> Response {
    dispatch(app.0, None, params(q.as_deref()), req).await
}

async fn on_file(
    app: App,
    Path(file_id): Path<String>,
    RawQuery(q): RawQuery,
    req: Request,
) -> Response {
    dispatch(app.0, Some(file_id), params(q.as_deref()), req).await
}

/// A request with `upload_id` is a chunk or status query, whatever its method (rclone POSTs,
/// most clients PUT). Without one, `POST` on the collection starts a create and `PATCH` on a
/// file starts an update.
async fn dispatch(app: AppState, file_id: Option<String>, p: Params, req: Request) -> Response {
    let result = if let Some(id) = upload_id(&p) {
        let lock = app.session_lock(&id);
        let _one_at_a_time = lock.lock().await;
        chunk(&app, &id, req).await
    } else {
        let starts = if file_id.is_some() {
            axum::http::Method::PATCH
        } else {
            axum::http::Method::POST
        };
        if req.method() == starts {
            start(&app, file_id, p, req).await
        } else {
            Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "notFound",
                "Upload session not found.",
            ))
        }
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn start(
    app: &AppState,
    file_id: Option<String>,
    p: Params,
    req: Request,
) -> ApiResult<Response> {
    let (parts, body) = authed(app, req).await?;
    fields_mask(&p, FILE_DEFAULT_FIELDS, "File")?;
    let purpose = if file_id.is_some() {
        MetaFor::Update
    } else {
        MetaFor::Create
    };
    match p.get("uploadType") {
        Some("media") => {
            let mime = header_str(&parts.headers, "content-type");
            let content = receive(&app.blobs, body.into_data_stream(), mime).await?;
            finish(
                app,
                file_id.as_deref(),
                FileMeta::default(),
                Some(content),
                &p,
                &parts.headers,
            )
            .await
        }
        Some("multipart") | Some("related") => {
            let (meta, content) =
                receive_multipart(&app.blobs, &parts.headers, body, purpose).await?;
            finish(app, file_id.as_deref(), meta, content, &p, &parts.headers).await
        }
        Some("resumable") => start_session(app, file_id, p, &parts.headers, body, purpose).await,
        _ => Err(ApiError::invalid_param("uploadType", "Invalid Value")),
    }
}

fn header_str(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// Streams a body into a new blob, with its MD5.
async fn receive<S, E>(blobs: &Blobs, mut body: S, mime: Option<String>) -> ApiResult<NewContent>
where
    S: futures_util::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let (path, file) = blobs.temp().await?;
    let mut w = HashingWriter::new(file, Md5::new(), 0);
    let result: ApiResult<()> = async {
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| {
                ApiError::bad_request(format!("The request body was cut short: {e}"))
            })?;
            w.write(chunk).await?;
        }
        Ok(())
    }
    .await;
    let finished = match result {
        Ok(()) => w.finish().await.map_err(ApiError::from),
        Err(e) => Err(e),
    };
    let (md5, size) = match finished {
        Ok(x) => x,
        Err(e) => {
            let _ = tokio::fs::remove_file(&path).await;
            return Err(e);
        }
    };
    let blob = blobs.commit(&path).await?;
    Ok(NewContent {
        blob,
        size,
        md5: hex(&md5.finalize()),
        mime,
    })
}

/// Reads a `multipart/related` body: JSON metadata, then the media streamed into a blob.
async fn receive_multipart(
    blobs: &Blobs,
    headers: &HeaderMap,
    body: Body,
    purpose: MetaFor,
) -> ApiResult<(FileMeta, Option<NewContent>)> {
    let ct = header_str(headers, "content-type").unwrap_or_default();
    let boundary = multipart::boundary(&ct).ok_or_else(|| {
        ApiError::bad_request(
            "Multipart upload needs Content-Type multipart/related with a boundary.",
        )
    })?;
    let mut parser = multipart::Parser::new(&boundary);
    let mut stream = body.into_data_stream();
    let mut part = 0usize;
    let mut metadata = Vec::new();
    let mut media_mime = None;
    let (tmp, file) = blobs.temp().await?;
    let mut writer = Some(HashingWriter::new(file, Md5::new(), 0));
    let result: ApiResult<()> = async {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                ApiError::bad_request(format!("The request body was cut short: {e}"))
            })?;
            for ev in parser
                .feed(&chunk)
                .map_err(|e| ApiError::bad_request(e.to_string()))?
            {
                match ev {
                    Event::Headers(h) => {
                        part += 1;
                        if part == 2 {
                            media_mime = h
                                .iter()
                                .find(|(k, _)| k == "content-type")
                                .map(|(_, v)| v.clone());
                        }
                        if part > 2 {
                            return Err(ApiError::bad_request(
                                "Multipart upload has more than two parts.",
                            ));
                        }
                    }
                    Event::Data(d) if part == 1 => {
                        metadata.extend_from_slice(&d);
                        if metadata.len() > MAX_METADATA_BYTES {
                            return Err(ApiError::bad_request("Metadata part too large."));
                        }
                    }
                    Event::Data(d) => {
                        writer
                            .as_mut()
                            .expect("open until the end")
                            .write(d)
                            .await?
                    }
                    Event::PartEnd | Event::End => {}
                }
            }
        }
        parser
            .finish()
            .map_err(|e| ApiError::bad_request(e.to_string()))
    }
    .await;
    let outcome = match result {
        Ok(()) => FileMeta::parse(&metadata, purpose),
        Err(e) => Err(e),
    };
    let meta = match outcome {
        Ok(m) => m,
        Err(e) => {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e);
        }
    };
    let (md5, size) = writer.take().expect("still open").finish().await?;
    if part < 2 {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Ok((meta, None));
    }
    let blob = blobs.commit(&tmp).await?;
    Ok((
        meta,
        Some(NewContent {
            blob,
            size,
            md5: hex(&md5.finalize()),
            mime: media_mime,
        }),
    ))
}

/// Stores received content as a create or an update and answers with the file.
async fn finish(
    app: &AppState,
    file_id: Option<&str>,
    meta: FileMeta,
    content: Option<NewContent>,
    p: &Params,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let id = store(app, file_id, meta, content, p)?;
    Ok(super::respond_file(app, &id, p, headers)
        .await?
        .into_response())
}

/// Stores received content as a create or an update; returns the file id. On failure the
/// content blob is deleted.
fn store(
    app: &AppState,
    file_id: Option<&str>,
    meta: FileMeta,
    content: Option<NewContent>,
    p: &Params,
) -> ApiResult<String> {
    let blob = content.as_ref().map(|c| c.blob.clone());
    let now = Utc::now();
    let result = {
        let mut s = app.lock();
        match file_id {
            Some(id) => ops::update(
                &mut s,
                id,
                meta,
                &id_list(p, "addParents"),
                &id_list(p, "removeParents"),
                content,
                now,
            ),
            None => ops::create(&mut s, meta, content, now),
        }
    };
    match result {
        Ok((rec, retired)) => {
            retired.iter().for_each(|b| app.blobs.remove(b));
            Ok(rec.id)
        }
        Err(e) => {
            blob.iter().for_each(|b| app.blobs.remove(b));
            Err(e)
        }
    }
}

async fn start_session(
    app: &AppState,
    file_id: Option<String>,
    p: Params,
    headers: &HeaderMap,
    body: Body,
    purpose: MetaFor,
) -> ApiResult<Response> {
    let raw = axum::body::to_bytes(body, MAX_METADATA_BYTES)
        .await
        .map_err(|_| ApiError::bad_request("Metadata too large."))?;
    FileMeta::parse(&raw, purpose)?;
    let metadata: Value = if raw.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        serde_json::from_slice(&raw).map_err(ApiError::parse_error)?
    };
    let total = match header_str(headers, "x-upload-content-length") {
        Some(v) => Some(v.trim().parse::<u64>().map_err(|_| {
            ApiError::bad_request("Invalid X-Upload-Content-Length.")
                .at_header("X-Upload-Content-Length")
        })?),
        None => None,
    };
    let id = random_id(64);
    {
        let mut s = app.lock();
        if let Some(fid) = &file_id {
            let f = s.file(fid).ok_or_else(|| ApiError::file_not_found(fid))?;
            if f.is_google_type() {
                return Err(ApiError::bad_request(
                    "Only files with binary content can be updated with media.",
                ));
            }
        }
        if let Some(t) = total {
            ops::check_quota(&s, t)?;
        }
        let ttl =
            chrono::Duration::from_std(app.config.session_ttl).unwrap_or(chrono::Duration::days(7));
        s.commit(Op::PutSession(UploadSession {
            id: id.clone(),
            target: file_id
                .clone()
                .map_or(SessionTarget::Create, SessionTarget::Update),
            metadata,
            params: p.0.clone(),
            content_type: header_str(headers, "x-upload-content-type"),
            total,
            received: 0,
            expires: Utc::now() + ttl,
            completed: None,
        }))?;
    }
    tokio::fs::File::create(app.blobs.upload_path(&id)).await?;
    let path = match &file_id {
        Some(f) => format!("upload/drive/v3/files/{f}"),
        None => "upload/drive/v3/files".into(),
    };
    let location = format!(
        "{}{path}?uploadType=resumable&upload_id={id}",
        base_url(headers)
    );
    let mut r = StatusCode::OK.into_response();
    r.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(&location).map_err(ApiError::backend)?,
    );
    r.headers_mut().insert(
        "x-guploader-uploadid",
        HeaderValue::from_str(&id).expect("ascii id"),
    );
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(0));
    Ok(r)
}

/// A parsed `Content-Range` of an upload request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentRange {
    /// `bytes */N` or `bytes */*`: a status query.
    Query(Option<u64>),
    /// `bytes a-b/N` or `bytes a-b/*`.
    Bytes(u64, u64, Option<u64>),
}

/// Parses `Content-Range` as upload clients send it.
pub fn parse_content_range(v: &str) -> Option<ContentRange> {
    let rest = v.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    match range.trim() {
        "*" => Some(ContentRange::Query(total)),
        r => {
            let (a, b) = r.split_once('-')?;
            let (a, b): (u64, u64) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
            if a > b || total.is_some_and(|t| b >= t) {
                return None;
            }
            Some(ContentRange::Bytes(a, b, total))
        }
    }
}

fn resume_incomplete(received: u64) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::PERMANENT_REDIRECT;
    if received > 0 {
        r.headers_mut().insert(
            header::RANGE,
            HeaderValue::from_str(&format!("bytes=0-{}", received - 1)).expect("ascii"),
        );
    }
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(0));
    r
}

fn session_gone() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "notFound",
        "Upload session not found or expired: start a new upload.",
    )
}

/// A `PUT`/`POST` to a session URI: a chunk, a status query, or the final chunk.
async fn chunk(app: &AppState, id: &str, req: Request) -> ApiResult<Response> {
    let (parts, body) = req.into_parts();
    let headers = parts.headers;
    let session = {
        let mut s = app.lock();
        let sess = s.sessions.get(id).cloned().ok_or_else(session_gone)?;
        if sess.expires <= Utc::now() {
            s.commit(Op::RemoveSession(id.to_owned()))?;
            let _ = std::fs::remove_file(app.blobs.upload_path(id));
            app.hashers().remove(id);
            return Err(session_gone());
        }
        sess
    };
    let p = Params(session.params.clone());
    if let Some(file_id) = &session.completed {
        return Ok(super::respond_file(app, file_id, &p, &headers)
            .await?
            .into_response());
    }
    let declared_len = header_str(&headers, "content-length").and_then(|v| v.parse::<u64>().ok());
    let range = match header_str(&headers, "content-range") {
        Some(v) => Some(parse_content_range(&v).ok_or_else(|| {
            ApiError::bad_request("Failed to parse Content-Range header.")
                .at_header("Content-Range")
        })?),
        None => None,
    };
    let (start, end_excl, total) = match range {
        Some(ContentRange::Query(total)) => {
            if let (Some(t), Some(known)) = (total, session.total) {
                if t != known {
                    return Err(size_mismatch(known, t));
                }
            }
            let total = total.or(session.total);
            if total == Some(session.received) {
                return complete(app, session, &headers).await;
            }
            return Ok(resume_incomplete(session.received));
        }
        Some(ContentRange::Bytes(a, b, total)) => (a, b + 1, total),
        None if declared_len.is_none() && headers.contains_key(header::TRANSFER_ENCODING) => {
            return single_streamed_request(app, session, body, &headers).await;
        }
        None => {
            // The whole content in one request (or an empty file).
            let len = declared_len.unwrap_or(0);
            if session.received != 0 && len != 0 {
                return Err(ApiError::bad_request(
                    "Content-Range is required after the first chunk.",
                )
                .at_header("Content-Range"));
            }
            (0, len, Some(len))
        }
    };
    if let (Some(t), Some(known)) = (total, session.total) {
        if t != known {
            return Err(size_mismatch(known, t));
        }
    }
    let total = total.or(session.total);
    if start > session.received {
        return Err(ApiError::bad_request(format!(
            "Invalid request. According to the Content-Range header, the upload offset is {start} byte(s), which exceeds already uploaded size of {} byte(s).",
            session.received
        )));
    }
    let len = end_excl - start;
    let is_last = total == Some(end_excl);
    if !is_last && len % CHUNK_UNIT != 0 {
        return Err(ApiError::bad_request(format!(
            "Invalid request. The number of bytes uploaded is required to be a multiple of {CHUNK_UNIT} bytes, except for the final request (it's expected to be equal to {}). There were {len} byte(s) in the request.",
            total.map_or_else(|| "the rest of the file".to_owned(), |t| (t - start).to_string())
        )));
    }
    if let Some(t) = total {
        if end_excl > t {
            return Err(size_mismatch(t, end_excl));
        }
    }
    if declared_len.is_some_and(|d| d != len) {
        return Err(ApiError::bad_request(format!(
            "Content-Length {} does not match Content-Range ({len} bytes).",
            declared_len.unwrap_or(0)
        )));
    }
    let received = write_chunk(app, &session, start, Some(end_excl), body).await?;
    let mut updated = session.clone();
    updated.received = received;
    updated.total = total;
    app.lock().commit(Op::PutSession(updated.clone()))?;
    if is_last && received == end_excl {
        return complete(app, updated, &headers).await;
    }
    Ok(resume_incomplete(received))
}

fn size_mismatch(expected: u64, got: u64) -> ApiError {
    ApiError::bad_request(format!("Invalid request. The upload's total size changed: it was {expected} byte(s), the request says {got}."))
        .at_header("Content-Range")
}

/// The MD5 state of the session's stored bytes: the running state kept after the last chunk,
/// or, after a restart or a cut chunk, the stored prefix hashed again. Takes it out of the cache.
async fn take_md5(
    app: &AppState,
    session: &UploadSession,
    path: &std::path::Path,
) -> ApiResult<Md5> {
    let cached = app.hashers().remove(&session.id);
    Ok(match cached {
        Some((n, h)) if n == session.received => h,
        _ => Blobs::md5_of(path, session.received).await?,
    })
}

/// Appends the bytes of `body` beyond `session.received` to the session file. On a cut body,
/// keeps the 256 KiB-aligned prefix received (as Drive does) and fails.
async fn write_chunk(
    app: &AppState,
    session: &UploadSession,
    start: u64,
    end_excl: Option<u64>,
    body: Body,
) -> ApiResult<u64> {
    let path = app.blobs.upload_path(&session.id);
    let file = tokio::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .await?;
    file.set_len(session.received).await?;
    let mut file = file;
    tokio::io::AsyncSeekExt::seek(&mut file, std::io::SeekFrom::Start(session.received)).await?;
    let md5 = take_md5(app, session, &path).await?;
    let mut w = HashingWriter::new(file, md5, session.received);
    let mut skip = session.received - start;
    let mut pos = start;
    let mut stream = body.into_data_stream();
    let mut cut = None;
    while let Some(next) = stream.next().await {
        match next {
            Ok(mut data) => {
                pos += data.len() as u64;
                if end_excl.is_some_and(|e| pos > e) {
                    cut = Some(ApiError::bad_request(
                        "The request body is longer than its Content-Range.",
                    ));
                    break;
                }
                let drop = (skip as usize).min(data.len());
                skip -= drop as u64;
                let _ = data.split_to(drop);
                w.write(data).await?;
            }
            Err(e) => {
                cut = Some(ApiError::bad_request(format!(
                    "The request body was cut short: {e}"
                )));
                break;
            }
        }
    }
    if cut.is_none() && end_excl.is_some_and(|e| pos < e) {
        cut = Some(ApiError::bad_request(
            "The request body is shorter than its Content-Range.",
        ));
    }
    let written = w.size();
    let (md5, _) = w.finish().await?;
    match cut {
        None => {
            app.hashers().insert(session.id.clone(), (written, md5));
            Ok(written)
        }
        Some(err) => {
            let keep = (written / CHUNK_UNIT * CHUNK_UNIT).max(session.received);
            tokio::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .await?
                .set_len(keep)
                .await?;
            let mut kept = session.clone();
            kept.received = keep;
            app.lock().commit(Op::PutSession(kept))?;
            Err(err)
        }
    }
}

/// The whole content in one request of unknown length (chunked transfer encoding, no
/// `Content-Range`): its end is the end of the content.
async fn single_streamed_request(
    app: &AppState,
    session: UploadSession,
    body: Body,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    if session.received != 0 {
        return Err(
            ApiError::bad_request("Content-Range is required after the first chunk.")
                .at_header("Content-Range"),
        );
    }
    let received = write_chunk(app, &session, 0, None, body).await?;
    let mut updated = session;
    if updated.total.is_some_and(|t| t != received) {
        let expected = updated.total.unwrap_or(0);
        tokio::fs::OpenOptions::new()
            .write(true)
            .open(app.blobs.upload_path(&updated.id))
            .await?
            .set_len(0)
            .await?;
        app.hashers().remove(&updated.id);
        app.lock().commit(Op::PutSession(updated))?;
        return Err(size_mismatch(expected, received));
    }
    updated.received = received;
    updated.total = Some(received);
    app.lock().commit(Op::PutSession(updated.clone()))?;
    complete(app, updated, headers).await
}

/// The last byte arrived: the session's content becomes a file (create or update).
async fn complete(
    app: &AppState,
    session: UploadSession,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let path = app.blobs.upload_path(&session.id);
    let md5 = take_md5(app, &session, &path).await?;
    let blob = app.blobs.commit(&path).await?;
    let content = NewContent {
        blob,
        size: session.received,
        md5: hex(&md5.finalize()),
        mime: session.content_type.clone(),
    };
    let purpose = if matches!(session.target, SessionTarget::Create) {
        MetaFor::Create
    } else {
        MetaFor::Update
    };
    let meta = FileMeta::from_json(&session.metadata, purpose)?;
    let p = Params(session.params.clone());
    let file_id = match &session.target {
        SessionTarget::Update(id) => Some(id.as_str()),
        SessionTarget::Create => None,
    };
    match store(app, file_id, meta, Some(content), &p) {
        Ok(id) => {
            let mut done = session;
            done.completed = Some(id.clone());
            app.lock().commit(Op::PutSession(done))?;
            Ok(super::respond_file(app, &id, &p, headers)
                .await?
                .into_response())
        }
        Err(e) => {
            app.lock().commit(Op::RemoveSession(session.id.clone()))?;
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_forms() {
        assert_eq!(
            parse_content_range("bytes 0-262143/1000000"),
            Some(ContentRange::Bytes(0, 262143, Some(1000000)))
        );
        assert_eq!(
            parse_content_range("bytes 0-9/*"),
            Some(ContentRange::Bytes(0, 9, None))
        );
        assert_eq!(
            parse_content_range("bytes */1000"),
            Some(ContentRange::Query(Some(1000)))
        );
        assert_eq!(
            parse_content_range("bytes */*"),
            Some(ContentRange::Query(None))
        );
        for bad in [
            "bytes 5-1/10",
            "bytes 0-10/10",
            "bytes 0-x/10",
            "0-1/2",
            "bytes 0-1",
            "",
        ] {
            assert_eq!(parse_content_range(bad), None, "{bad}");
        }
    }
}
