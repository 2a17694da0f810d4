//! The loopback listener that receives Google's redirect after consent.
//!
//! It listens on `127.0.0.1` (never all interfaces) on a random port and answers every
//! request:
//! * `GET /?code=..&state=<ours>`: a success page; the code is handed to the flow.
//! * `GET /?error=..&state=<ours>`: a page with the error and what to do; the flow fails.
//! * a `code` or `error` with a missing or wrong `state`: a 400 page saying so. The answer is
//!   **ignored and the listener keeps waiting**: it cannot be trusted (an old tab, or another
//!   program forging a redirect), and letting it abort the sign-in would let anyone on the
//!   machine cancel it. The count shows up in the timeout error.
//! * anything else (`/favicon.ico`, `/` without a code): 404, ignored.
//!
//! Exactly one trusted answer is accepted; then the listener closes.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use drivesync_model::Sensitive;
use tokio::sync::oneshot;
use url::Url;

use crate::AuthError;

/// A trusted answer from the browser (its `state` matched).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    /// Consent given: the authorization code.
    Code(Sensitive<String>),
    /// Consent refused or failed: Google's `error` and `error_description`.
    Error { error: String, description: String },
}

/// What one request to the listener is.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Trusted(Answer),
    WrongState,
    Stray,
}

fn classify(method: &Method, uri: &Uri, expected_state: &str) -> Verdict {
    if method != Method::GET || uri.path() != "/" {
        return Verdict::Stray;
    }
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let (code, error) = (get("code"), get("error"));
    if code.is_none() && error.is_none() {
        return Verdict::Stray;
    }
    if get("state").as_deref() != Some(expected_state) {
        return Verdict::WrongState;
    }
    match (error, code) {
        (Some(error), _) => Verdict::Trusted(Answer::Error {
            error,
            description: get("error_description").unwrap_or_default(),
        }),
        (None, Some(code)) => Verdict::Trusted(Answer::Code(Sensitive::new(code))),
        (None, None) => Verdict::Stray,
    }
}

fn escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '&' => "&amp;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><meta charset=utf-8><title>drivesync: {title}</title>\
         <body style=\"font-family:sans-serif;max-width:40em;margin:4em auto\">\
         <h1>{title}</h1><p>{body}</p></body>"
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        html,
    )
        .into_response()
}

fn answer_page(answer: &Answer) -> Response {
    match answer {
        Answer::Code(_) => page(
            StatusCode::OK,
            "Signed in",
            "drivesync is now connected to your Google Drive. You can close this tab.",
        ),
        Answer::Error { error, .. } if error == "access_denied" => page(
            StatusCode::OK,
            "Access not granted",
            "You did not allow drivesync to use your Google Drive (access_denied), so it cannot \
             sync. To try again, run <code>drivesync login</code> and choose Allow.",
        ),
        Answer::Error { error, description } => page(
            StatusCode::OK,
            "Sign-in failed",
            &format!(
                "Google answered: {} {}. Close this tab and run <code>drivesync login</code> \
                 again.",
                escape(error),
                escape(description)
            ),
        ),
    }
}

struct Shared {
    state: Sensitive<String>,
    tx: Mutex<Option<oneshot::Sender<Answer>>>,
    ignored: AtomicU32,
}

async fn handle(State(shared): State<Arc<Shared>>, method: Method, uri: Uri) -> Response {
    match classify(&method, &uri, shared.state.expose()) {
        Verdict::Stray => {
            tracing::debug!(path = uri.path(), "loopback: ignored a stray request");
            page(StatusCode::NOT_FOUND, "Not found", "Nothing here.")
        }
        Verdict::WrongState => {
            shared.ignored.fetch_add(1, Ordering::Relaxed);
            tracing::warn!("loopback: ignored an answer whose state does not match this sign-in");
            page(
                StatusCode::BAD_REQUEST,
                "Not this sign-in",
                "This answer does not belong to the sign-in drivesync is waiting for (its \
                 state does not match; it may come from an older tab). drivesync ignored it \
                 and is still waiting: finish signing in in the tab drivesync opened, or run \
                 <code>drivesync login</code> again.",
            )
        }
        Verdict::Trusted(answer) => {
            let tx = shared.tx.lock().unwrap_or_else(|e| e.into_inner()).take();
            match tx {
                Some(tx) => {
                    let resp = answer_page(&answer);
                    let _ = tx.send(answer);
                    resp
                }
                None => page(
                    StatusCode::OK,
                    "Already done",
                    "This sign-in is already finished. You can close this tab.",
                ),
            }
        }
    }
}

/// A bound listener, not yet serving (the consent URL needs its port first).
#[derive(Debug)]
pub(crate) struct Listener {
    listener: tokio::net::TcpListener,
    redirect: Url,
}

impl Listener {
    /// Binds `127.0.0.1` on a port the OS picks.
    pub async fn bind() -> Result<Self, AuthError> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .map_err(|e| AuthError::Loopback(e.to_string()))?;
        let port = listener
            .local_addr()
            .map_err(|e| AuthError::Loopback(e.to_string()))?
            .port();
        let redirect = Url::parse(&format!("http://127.0.0.1:{port}/"))
            .map_err(|e| AuthError::Loopback(e.to_string()))?;
        Ok(Self { listener, redirect })
    }

    /// The `redirect_uri` to send to Google.
    pub fn redirect_uri(&self) -> &Url {
        &self.redirect
    }

    /// Serves until one answer with `state` arrives or `timeout` passes; then closes.
    pub async fn wait(
        self,
        state: Sensitive<String>,
        timeout: Duration,
    ) -> Result<Answer, AuthError> {
        let (tx, rx) = oneshot::channel();
        let shared = Arc::new(Shared {
            state,
            tx: Mutex::new(Some(tx)),
            ignored: AtomicU32::new(0),
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let serve = axum::serve(self.listener, app).with_graceful_shutdown(async {
                let _ = stop_rx.await;
            });
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "loopback listener stopped");
            }
        });
        let _abort = AbortOnDrop(server.abort_handle());
        let result = tokio::time::timeout(timeout, rx).await;
        // Close: let the answer page go out, then stop whatever is left.
        let _ = stop_tx.send(());
        let _ = tokio::time::timeout(Duration::from_secs(2), server).await;
        match result {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(_)) => Err(AuthError::Loopback("the listener stopped early".into())),
            Err(_) => Err(AuthError::Timeout {
                seconds: timeout.as_millis().div_ceil(1000) as u64,
                ignored: shared.ignored.load(Ordering::Relaxed),
            }),
        }
    }
}

/// Stops the listener if the sign-in future is dropped mid-way.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(method: Method, uri: &str) -> Verdict {
        classify(&method, &uri.parse().unwrap(), "s1")
    }

    #[test]
    fn classifies_requests() {
        assert_eq!(
            verdict(Method::GET, "/?code=c&state=s1&scope=x"),
            Verdict::Trusted(Answer::Code(Sensitive::new("c".into())))
        );
        assert_eq!(
            verdict(Method::GET, "/?error=access_denied&state=s1"),
            Verdict::Trusted(Answer::Error {
                error: "access_denied".into(),
                description: String::new()
            })
        );
        assert_eq!(
            verdict(Method::GET, "/?code=c&state=s2"),
            Verdict::WrongState
        );
        assert_eq!(verdict(Method::GET, "/?code=c"), Verdict::WrongState);
        assert_eq!(verdict(Method::GET, "/?error=x"), Verdict::WrongState);
        assert_eq!(verdict(Method::GET, "/favicon.ico"), Verdict::Stray);
        assert_eq!(verdict(Method::GET, "/"), Verdict::Stray);
        assert_eq!(verdict(Method::GET, "/x?code=c&state=s1"), Verdict::Stray);
        assert_eq!(verdict(Method::POST, "/?code=c&state=s1"), Verdict::Stray);
    }

    #[test]
    fn error_text_is_escaped() {
        assert_eq!(escape("<script>&'\""), "&lt;script&gt;&amp;&#39;&quot;");
    }
}
