//! Content out: `files.get?alt=media` with `Range` (206, clamped ends, 416), and `files.export`
//! for Google Workspace types. Content streams from disk in 256 KiB reads.

use std::io::SeekFrom;

use axum::body::Body;
use axum::extract::{Path, RawQuery};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::{App, Authed};
use crate::error::{ApiError, ApiResult};
use crate::model::export_formats;
use crate::params;

/// A satisfiable byte range `start..=end`, or why not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeAnswer {
    /// No (usable) Range header: the whole content.
    Full,
    /// 206 with these inclusive bounds.
    Partial(u64, u64),
    /// 416.
    Unsatisfiable,
}

/// Interprets a `Range` header against a content length. Malformed headers are ignored, as
/// HTTP says; ends past EOF are clamped; a start at or past EOF is unsatisfiable.
pub fn range_for(header: Option<&str>, size: u64) -> RangeAnswer {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return RangeAnswer::Full;
    };
    let first = spec.split(',').next().unwrap_or("").trim();
    let Some((a, b)) = first.split_once('-') else {
        return RangeAnswer::Full;
    };
    let (a, b) = (a.trim(), b.trim());
    let (start, end) = match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(s), Ok(e)) if s <= e => (s, e.min(size.saturating_sub(1))),
        (Ok(s), Err(_)) if b.is_empty() => (s, size.saturating_sub(1)),
        (Err(_), Ok(n)) if a.is_empty() => {
            if n == 0 || size == 0 {
                return RangeAnswer::Unsatisfiable;
            }
            (size.saturating_sub(n), size - 1)
        }
        _ => return RangeAnswer::Full,
    };
    if size == 0 || start >= size {
        RangeAnswer::Unsatisfiable
    } else {
        RangeAnswer::Partial(start, end)
    }
}

/// `GET /drive/v3/files/{id}?alt=media`.
pub async fn download(
    app: App,
    _: Authed,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let (content, mime) = {
        let s = app.0.lock();
        let f = s.file(&id).ok_or_else(|| ApiError::file_not_found(&id))?;
        let c = f.content.clone().ok_or_else(|| {
            ApiError::new(StatusCode::FORBIDDEN, "fileNotDownloadable", "Only files with binary content can be downloaded. Use Export with Docs Editors files.")
                .at_param("alt")
        })?;
        (c, f.mime_type.clone())
    };
    let range = range_for(
        headers.get(header::RANGE).and_then(|v| v.to_str().ok()),
        content.size,
    );
    let mut resp = match range {
        RangeAnswer::Unsatisfiable => {
            let mut r = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            r.headers_mut().insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes */{}", content.size)).expect("ascii"),
            );
            return Ok(r);
        }
        RangeAnswer::Full => stream(&app.0, &content.blob, 0, content.size, StatusCode::OK).await?,
        RangeAnswer::Partial(a, b) => {
            let mut r = stream(
                &app.0,
                &content.blob,
                a,
                b - a + 1,
                StatusCode::PARTIAL_CONTENT,
            )
            .await?;
            r.headers_mut().insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes {a}-{b}/{}", content.size)).expect("ascii"),
            );
            r
        }
    };
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&mime)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    let md5 = (0..content.md5.len() / 2)
        .filter_map(|i| u8::from_str_radix(&content.md5[2 * i..2 * i + 2], 16).ok())
        .collect::<Vec<_>>();
    let goog = format!(
        "md5={}",
        base64::engine::general_purpose::STANDARD.encode(md5)
    );
    h.insert("x-goog-hash", HeaderValue::from_str(&goog).expect("ascii"));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    Ok(resp)
}

async fn stream(
    app: &crate::AppState,
    blob: &str,
    start: u64,
    len: u64,
    status: StatusCode,
) -> ApiResult<Response> {
    let mut f = tokio::fs::File::open(app.blobs.blob_path(blob)).await?;
    f.seek(SeekFrom::Start(start)).await?;
    let body = Body::from_stream(tokio_util::io::ReaderStream::with_capacity(
        f.take(len),
        256 * 1024,
    ));
    let mut r = Response::new(body);
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    Ok(r)
}

/// `GET /drive/v3/files/{id}/export?mimeType=...`: a Workspace file converted. The emulated
/// Docs have no real body, so the export is a small document naming the file.
pub async fn export(
    app: App,
    _: Authed,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let p = params(q.as_deref());
    let target = p
        .get("mimeType")
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "required",
                "Required parameter: mimeType",
            )
            .at_param("mimeType")
        })?
        .to_owned();
    let (name, mime) = {
        let s = app.0.lock();
        let f = s.file(&id).ok_or_else(|| ApiError::file_not_found(&id))?;
        (f.name.clone(), f.mime_type.clone())
    };
    let formats = export_formats(&mime);
    if formats.is_empty() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "fileNotExportable",
            "Export only supports Docs Editors files.",
        ));
    }
    if !formats.contains(&target.as_str()) {
        return Err(
            ApiError::bad_request("The requested conversion is not supported.")
                .at_param("convertTo"),
        );
    }
    let body = match target.as_str() {
        "text/plain" => format!("{name}\n").into_bytes(),
        "text/csv" => format!("\"{}\"\n", name.replace('"', "\"\"")).into_bytes(),
        "text/html" => format!(
            "<html><body><h1>{}</h1></body></html>",
            name.replace('<', "&lt;")
        )
        .into_bytes(),
        "application/pdf" => {
            format!("%PDF-1.4\n% drive-emulator export of {name}\n%%EOF\n").into_bytes()
        }
        other => format!("drive-emulator export of {name} as {other}\n").into_bytes(),
    };
    Ok(([(header::CONTENT_TYPE, target)], body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_as_drive_answers_them() {
        assert_eq!(
            range_for(Some("bytes=0-409599"), 1000),
            RangeAnswer::Partial(0, 999)
        );
        assert_eq!(
            range_for(Some("bytes=10-19"), 1000),
            RangeAnswer::Partial(10, 19)
        );
        assert_eq!(
            range_for(Some("bytes=990-"), 1000),
            RangeAnswer::Partial(990, 999)
        );
        assert_eq!(
            range_for(Some("bytes=-10"), 1000),
            RangeAnswer::Partial(990, 999)
        );
        assert_eq!(
            range_for(Some("bytes=1000-2000"), 1000),
            RangeAnswer::Unsatisfiable
        );
        assert_eq!(range_for(Some("bytes=0-0"), 0), RangeAnswer::Unsatisfiable);
        assert_eq!(range_for(Some("bytes=5-1"), 1000), RangeAnswer::Full);
        assert_eq!(range_for(Some("items=0-1"), 1000), RangeAnswer::Full);
        assert_eq!(range_for(None, 0), RangeAnswer::Full);
    }
}
