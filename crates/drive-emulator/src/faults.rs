//! Injected faults and latency: a middleware in front of every Drive, upload and OAuth route.
//! A fault matches a method and a path glob and fires on the next `count` matching requests.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State as AxState};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::AppState;

/// What a test asks for (`POST /__emulator/faults` takes the same JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultSpec {
    /// HTTP method to match, or `*` (the default).
    pub method: Option<String>,
    /// Path glob (`*` matches any characters), e.g. `/upload/*`; default `*`.
    pub path: Option<String>,
    /// Only requests whose raw query contains this.
    pub query_contains: Option<String>,
    /// How many matching requests get the fault (default 1).
    pub count: Option<u32>,
    /// Answer with this status and a Google error body...
    pub status: Option<u16>,
    /// ...with this `reason` (default from the status: `backendError`, `rateLimitExceeded`...).
    pub reason: Option<String>,
    /// ...and this message.
    pub message: Option<String>,
    /// ...and a `Retry-After` header of this many seconds.
    pub retry_after: Option<u64>,
    /// Cut the connection after this many body bytes: of the request if it has a body (an
    /// upload chunk keeps its 256 KiB-aligned received prefix), else of the response.
    pub reset_after_bytes: Option<u64>,
    /// Wait this long first.
    pub delay_ms: Option<u64>,
}

/// A pending fault.
#[derive(Debug, Clone)]
pub struct FaultRule {
    /// The request.
    pub spec: FaultSpec,
    /// Requests it still applies to.
    pub remaining: u32,
}

/// `*`-glob match.
pub fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first)
        || !text[first.len()..].ends_with(last)
        || text.len() < first.len() + last.len()
    {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

fn default_reason(status: u16) -> &'static str {
    match status {
        400 => "badRequest",
        401 => "authError",
        403 => "rateLimitExceeded",
        404 => "notFound",
        429 => "rateLimitExceeded",
        503 => "backendError",
        _ => "backendError",
    }
}

fn take(app: &AppState, method: &str, path: &str, query: &str) -> Option<FaultSpec> {
    let mut faults = app.faults.lock().unwrap_or_else(|e| e.into_inner());
    let i = faults.iter().position(|f| {
        f.remaining > 0
            && f.spec
                .method
                .as_deref()
                .is_none_or(|m| m == "*" || m.eq_ignore_ascii_case(method))
            && glob(f.spec.path.as_deref().unwrap_or("*"), path)
            && f.spec
                .query_contains
                .as_deref()
                .is_none_or(|q| query.contains(q))
    })?;
    faults[i].remaining -= 1;
    let spec = faults[i].spec.clone();
    if faults[i].remaining == 0 {
        faults.remove(i);
    }
    Some(spec)
}

/// A body that yields up to `limit` bytes of `inner` and then fails like a reset connection.
/// A body shorter than `limit` passes untouched. With `deliver_first`, the server gets a moment
/// to flush what was yielded (headers included) before the failure, so the peer really
/// receives `limit` bytes; without it nothing buffered goes out.
fn cut_after(inner: Body, limit: u64, deliver_first: bool) -> Body {
    let stream = futures_util::stream::unfold(
        (inner.into_data_stream(), limit, false),
        move |(mut s, left, done)| async move {
            if done {
                return None;
            }
            if left == 0 {
                if deliver_first {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                return Some((Err(reset()), (s, 0, true)));
            }
            match s.next().await {
                Some(Ok(chunk)) if chunk.len() as u64 <= left => {
                    Some((Ok(chunk.clone()), (s, left - chunk.len() as u64, false)))
                }
                Some(Ok(chunk)) => Some((Ok(chunk.slice(..left as usize)), (s, 0, false))),
                Some(Err(e)) => Some((Err(std::io::Error::other(e.to_string())), (s, left, true))),
                None => None,
            }
        },
    );
    Body::from_stream(stream)
}

fn reset() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::ConnectionReset,
        "connection reset (injected fault)",
    )
}

/// The middleware: latency, then any matching fault, then the handler.
pub async fn middleware(AxState(app): AxState<AppState>, req: Request, next: Next) -> Response {
    let latency = app.latency_ms.load(std::sync::atomic::Ordering::Relaxed);
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let Some(spec) = take(&app, req.method().as_str(), &path, &query) else {
        return next.run(req).await;
    };
    tracing::info!(?spec, %path, "injecting fault");
    if let Some(ms) = spec.delay_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if let Some(status) = spec.status {
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let reason = spec.reason.as_deref().unwrap_or(default_reason(status));
        let message = spec.message.clone().unwrap_or_else(|| match reason {
            "rateLimitExceeded" => "Rate Limit Exceeded".into(),
            "userRateLimitExceeded" => "User Rate Limit Exceeded".into(),
            "authError" => "Invalid Credentials".into(),
            _ => code.canonical_reason().unwrap_or("Error").into(),
        });
        let mut err = ApiError::new(code, reason, message);
        err.retry_after = spec.retry_after;
        // Read the request to its end first, as Google does: a client still sending an upload
        // chunk must see the error, not a broken pipe.
        let mut body = req.into_body().into_data_stream();
        while let Some(Ok(_)) = body.next().await {}
        return err.into_response();
    }
    if let Some(limit) = spec.reset_after_bytes {
        let has_body = req
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v != "0")
            || req.headers().contains_key("transfer-encoding");
        if has_body {
            let (parts, body) = req.into_parts();
            let resp = next
                .run(Request::from_parts(parts, cut_after(body, limit, false)))
                .await;
            let (parts, _) = resp.into_parts();
            return Response::from_parts(parts, cut_after(Body::empty(), 0, false));
        }
        let resp = next.run(req).await;
        let (parts, body) = resp.into_parts();
        return Response::from_parts(parts, cut_after(body, limit, true));
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches() {
        assert!(glob("*", "/x"));
        assert!(glob("/upload/*", "/upload/drive/v3/files"));
        assert!(glob("/drive/v3/files/*", "/drive/v3/files/abc"));
        assert!(!glob("/drive/v3/files/*", "/drive/v3/files"));
        assert!(glob("*/files*", "/drive/v3/files"));
        assert!(glob("/a*b*c", "/aXbYc"));
        assert!(!glob("/a*b*c", "/aXcYb"));
        assert!(glob("/drive/v3/about", "/drive/v3/about"));
    }
}
