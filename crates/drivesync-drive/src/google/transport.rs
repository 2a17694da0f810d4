//! One HTTP try and the loop around it: limits, bearer token, Google's error body, the retry
//! decision of [`crate::retry::classify`], backoff, and one token refresh on 401.

use std::time::Duration;

use bytes::Bytes;
use drivesync_auth::AccessTokenSource;
use drivesync_model::Sensitive;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use tokio::sync::OwnedSemaphorePermit;

use super::{Counters, DriveConfig};
use crate::error::FileRef;
use crate::limits::Limits;
use crate::retry::{classify, Backoff, Failure, GiveUp, RetryPolicy, Verdict, RATE_LIMIT_REASONS};
use crate::DriveError;

/// Google's reasons for a full Drive.
const QUOTA_REASONS: [&str; 3] = [
    "storageQuotaExceeded",
    "quotaExceeded",
    "teamDriveFileLimitExceeded",
];

/// What an operation is about, for errors and logs.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub op: &'static str,
    pub file: Option<FileRef>,
}

impl Ctx {
    pub fn new(op: &'static str, file: Option<FileRef>) -> Self {
        Self { op, file }
    }
}

/// A response whose body was read within the try.
#[derive(Debug)]
pub(crate) struct Reply {
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A response whose body is still to be streamed; the permit keeps its request slot.
#[derive(Debug)]
pub(crate) struct Streaming {
    pub resp: Response,
    pub _permit: OwnedSemaphorePermit,
}

/// A failed try: no answer, or an error status with Google's reason and message.
#[derive(Debug, Clone)]
pub(crate) struct Failed {
    pub status: Option<u16>,
    pub reason: Option<String>,
    pub message: String,
    pub retry_after: Option<Duration>,
}

impl Failed {
    /// The connection failed or dropped (`what` says how; never a URL, which may carry an
    /// upload session id).
    pub fn network(what: impl Into<String>) -> Self {
        Self {
            status: None,
            reason: None,
            message: what.into(),
            retry_after: None,
        }
    }

    fn from_reqwest(e: reqwest::Error) -> Self {
        let e = e.without_url();
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            src = s.source();
        }
        Self::network(msg)
    }

    /// Reads Google's error body (`{"error":{"message":..,"errors":[{"reason":..}]}}`).
    pub fn from_response(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Self {
        let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let err = &v["error"];
        let reason = err["errors"][0]["reason"]
            .as_str()
            .or_else(|| err["status"].as_str())
            .map(str::to_owned);
        let message = err["message"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| {
                let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
                if text.trim().is_empty() {
                    status.canonical_reason().unwrap_or("error").to_owned()
                } else {
                    text
                }
            });
        Self {
            status: Some(status.as_u16()),
            reason,
            message,
            retry_after: retry_after(headers),
        }
    }

    pub fn failure(&self) -> Failure<'_> {
        match self.status {
            None => Failure::Network,
            Some(status) => Failure::Status {
                status,
                reason: self.reason.as_deref(),
                retry_after: self.retry_after,
            },
        }
    }

    fn is_rate_limit(&self) -> bool {
        self.status == Some(429)
            || self.status == Some(403)
                && self
                    .reason
                    .as_deref()
                    .is_some_and(|r| RATE_LIMIT_REASONS.contains(&r))
    }

    /// The error this failure is when no more tries are made.
    pub fn into_error(self, ctx: &Ctx, give_up: Option<GiveUp>) -> DriveError {
        let file = ctx.file.clone();
        let Some(status) = self.status else {
            return DriveError::Transient {
                status: None,
                reason: None,
                detail: format!("{}: {}", ctx.op, self.message),
                file,
            };
        };
        if self.is_rate_limit() {
            return DriveError::RateLimited {
                retry_after: match give_up {
                    Some(GiveUp::WaitTooLong(d)) => Some(d),
                    _ => self.retry_after,
                },
                status,
                reason: self.reason.unwrap_or_else(|| "rateLimitExceeded".into()),
                file,
            };
        }
        let reason = self.reason.unwrap_or_default();
        match status {
            401 => DriveError::Unauthorized {
                message: self.message,
            },
            404 => DriveError::NotFound {
                file,
                message: self.message,
            },
            403 if QUOTA_REASONS.contains(&reason.as_str()) => DriveError::QuotaExceeded {
                status,
                reason,
                message: self.message,
                file,
            },
            s if s >= 500 || s == 408 => DriveError::Transient {
                status: Some(s),
                reason: Some(reason),
                detail: format!("{}: {}", ctx.op, self.message),
                file,
            },
            _ => DriveError::Api {
                status,
                reason,
                message: self.message,
                file,
            },
        }
    }
}

/// `Retry-After` as seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(s) = v.parse::<u64>() {
        return Some(Duration::from_secs(s));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
        .to_std()
        .ok()
}

/// The token a request sends, and whether it was refreshed already.
#[derive(Debug)]
pub(crate) struct Auth {
    pub token: Sensitive<String>,
    refreshed: bool,
}

impl Auth {
    /// A long transfer made progress: a later 401 (the token expired again) may refresh
    /// once more.
    pub fn progressed(&mut self) {
        self.refreshed = false;
    }
}

/// The HTTP client with its limits, retry policy and token source.
pub(crate) struct Transport<T> {
    http: reqwest::Client,
    auth: T,
    limits: Limits,
    retry: RetryPolicy,
    pub counters: Counters,
}

impl<T: AccessTokenSource> Transport<T> {
    pub fn new(auth: T, config: &DriveConfig) -> Result<Self, DriveError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .pool_max_idle_per_host(config.max_concurrent_requests.max(1))
            .tcp_nodelay(true)
            .user_agent(concat!("drivesync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                DriveError::protocol(format!("cannot build the HTTP client: {e}"), None)
            })?;
        Ok(Self {
            http,
            auth,
            limits: Limits::new(
                config.max_concurrent_requests,
                config.max_requests_per_second,
            ),
            retry: config.retry.clone(),
            counters: Counters::default(),
        })
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn backoff(&self) -> Backoff {
        Backoff::new(&self.retry)
    }

    pub fn count_bytes_sent(&self, n: u64) {
        Counters::add(&self.counters.bytes_sent, n);
    }

    pub fn count_bytes_received(&self, n: u64) {
        Counters::add(&self.counters.bytes_received, n);
    }

    /// The current access token.
    pub async fn auth(&self) -> Result<Auth, DriveError> {
        Ok(Auth {
            token: self.auth.access_token().await?,
            refreshed: false,
        })
    }

    /// One try: waits for a request slot, sends `rb` with the bearer token, and keeps the
    /// answer if `accept` takes its status; otherwise reads Google's error.
    pub async fn try_once(
        &self,
        rb: RequestBuilder,
        auth: &Auth,
        accept: &(dyn Fn(StatusCode) -> bool + Sync),
    ) -> Result<Streaming, Failed> {
        let permit = self.limits.acquire().await;
        Counters::add(&self.counters.requests, 1);
        let resp = rb
            .bearer_auth(auth.token.expose())
            .send()
            .await
            .map_err(Failed::from_reqwest)?;
        let status = resp.status();
        if accept(status) {
            return Ok(Streaming {
                resp,
                _permit: permit,
            });
        }
        let headers = resp.headers().clone();
        match resp.bytes().await {
            Ok(body) => Err(Failed::from_response(status, &headers, &body)),
            // An answer cut short is a dropped connection, whatever its status said.
            Err(e) => Err(Failed::from_reqwest(e)),
        }
    }

    /// After a failed try: refreshes the token (once per operation) or waits out a backoff
    /// and returns `Ok` to try again; or returns the final error.
    pub async fn recover(
        &self,
        ctx: &Ctx,
        failed: Failed,
        backoff: &mut Backoff,
        auth: &mut Auth,
    ) -> Result<(), DriveError> {
        match classify(&failed.failure()) {
            Verdict::RefreshToken if !auth.refreshed => {
                tracing::debug!(op = ctx.op, "access token refused: refreshing once");
                auth.token = self.auth.refresh_rejected(&auth.token).await?;
                auth.refreshed = true;
                Counters::add(&self.counters.token_refreshes, 1);
                Ok(())
            }
            Verdict::Retry { after } => match backoff.next_delay(after) {
                Ok(wait) => {
                    tracing::debug!(
                        op = ctx.op,
                        status = failed.status,
                        reason = failed.reason.as_deref(),
                        failures = backoff.failures(),
                        ?wait,
                        "retrying"
                    );
                    Counters::add(&self.counters.retries, 1);
                    tokio::time::sleep(wait).await;
                    Ok(())
                }
                Err(give_up) => Err(failed.into_error(ctx, Some(give_up))),
            },
            _ => Err(failed.into_error(ctx, None)),
        }
    }

    /// Tries `build()` until an accepted answer, and returns it unread.
    pub async fn call_stream(
        &self,
        ctx: &Ctx,
        mut build: impl FnMut() -> Result<RequestBuilder, DriveError> + Send,
        accept: &(dyn Fn(StatusCode) -> bool + Sync),
    ) -> Result<Streaming, DriveError> {
        let mut auth = self.auth().await?;
        let mut backoff = self.backoff();
        loop {
            match self.try_once(build()?, &auth, accept).await {
                Ok(s) => return Ok(s),
                Err(f) => self.recover(ctx, f, &mut backoff, &mut auth).await?,
            }
        }
    }

    /// Tries `build()` until an accepted answer whose body arrived whole (a body cut short is
    /// a failed try too).
    pub async fn call(
        &self,
        ctx: &Ctx,
        mut build: impl FnMut() -> Result<RequestBuilder, DriveError> + Send,
        accept: &(dyn Fn(StatusCode) -> bool + Sync),
    ) -> Result<Reply, DriveError> {
        let mut auth = self.auth().await?;
        let mut backoff = self.backoff();
        loop {
            let tried = match self.try_once(build()?, &auth, accept).await {
                Ok(s) => {
                    let headers = s.resp.headers().clone();
                    match s.resp.bytes().await {
                        Ok(body) => return Ok(Reply { headers, body }),
                        Err(e) => Failed::from_reqwest(e),
                    }
                }
                Err(f) => f,
            };
            self.recover(ctx, tried, &mut backoff, &mut auth).await?;
        }
    }

    /// [`Transport::call`] for a 2xx JSON answer.
    pub async fn call_json<D: DeserializeOwned>(
        &self,
        ctx: &Ctx,
        build: impl FnMut() -> Result<RequestBuilder, DriveError> + Send,
    ) -> Result<D, DriveError> {
        let reply = self.call(ctx, build, &|s| s.is_success()).await?;
        parse_json(ctx, &reply.body)
    }
}

/// Parses a JSON answer; garbage is a protocol error.
pub(crate) fn parse_json<D: DeserializeOwned>(ctx: &Ctx, body: &[u8]) -> Result<D, DriveError> {
    serde_json::from_slice(body).map_err(|e| {
        DriveError::protocol(
            format!("{}: unreadable answer: {e}", ctx.op),
            ctx.file.clone(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(status: u16, body: &str, headers: &[(&str, &str)]) -> Failed {
        let mut h = HeaderMap::new();
        for (k, v) in headers {
            h.insert(
                reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        Failed::from_response(StatusCode::from_u16(status).unwrap(), &h, body.as_bytes())
    }

    #[test]
    fn google_error_bodies_become_typed_errors() {
        let ctx = Ctx::new("files.get", Some(FileRef::Name("x".into())));
        let body = r#"{"error":{"code":404,"message":"File not found: x.","errors":[{"domain":"global","reason":"notFound","message":"File not found: x."}]}}"#;
        let e = failed(404, body, &[]).into_error(&ctx, None);
        assert!(
            matches!(&e, DriveError::NotFound { message, .. } if message == "File not found: x.")
        );
        let rate = r#"{"error":{"code":403,"message":"Rate","errors":[{"reason":"userRateLimitExceeded"}]}}"#;
        let f = failed(403, rate, &[("retry-after", "7")]);
        assert_eq!(f.retry_after, Some(Duration::from_secs(7)));
        assert!(matches!(
            f.into_error(&ctx, Some(GiveUp::Exhausted)),
            DriveError::RateLimited {
                status: 403,
                retry_after: Some(_),
                ..
            }
        ));
        let quota = r#"{"error":{"code":403,"message":"full","errors":[{"reason":"storageQuotaExceeded"}]}}"#;
        assert!(matches!(
            failed(403, quota, &[]).into_error(&ctx, None),
            DriveError::QuotaExceeded { .. }
        ));
        let e = failed(400, "not json", &[]).into_error(&ctx, None);
        assert!(
            matches!(&e, DriveError::Api { status: 400, message, .. } if message == "not json")
        );
        let e = failed(503, "", &[]).into_error(&ctx, None);
        assert!(matches!(
            e,
            DriveError::Transient {
                status: Some(503),
                ..
            }
        ));
        let e = Failed::network("reset").into_error(&ctx, None);
        assert!(
            e.is_transient() && e.to_string().contains("files.get: reset"),
            "{e}"
        );
    }

    #[test]
    fn retry_after_as_a_date() {
        let when = (chrono::Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
        let f = failed(429, "", &[("retry-after", &when)]);
        let d = f.retry_after.unwrap();
        assert!(
            d > Duration::from_secs(25) && d <= Duration::from_secs(30),
            "{d:?}"
        );
    }
}
