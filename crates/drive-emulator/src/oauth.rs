//! OAuth 2.0 for installed apps, as Google's endpoints behave: `/auth` (auto-consent, or
//! `access_denied` when switched), `/token` (authorization code with PKCE, refresh without
//! rotation), `/revoke`; and the grants behind them.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use axum::extract::{RawQuery, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::blobs::random_id;
use crate::error::OAuthError;
use crate::state::Op;
use crate::{params, AppState};

/// The scope granted when a request names none.
pub const DEFAULT_SCOPE: &str = "https://www.googleapis.com/auth/drive";

/// An authorization code waiting to be exchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthCode {
    /// Client it was issued to.
    pub client_id: String,
    /// The `redirect_uri` of the authorization request.
    pub redirect_uri: String,
    /// PKCE `(method, challenge)`.
    pub challenge: Option<(String, String)>,
    /// Granted scope.
    pub scope: String,
    /// Unusable after this.
    pub expires: DateTime<Utc>,
    /// Exchanged already (codes are single-use).
    pub used: bool,
}

/// An access token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessToken {
    /// The refresh token (grant) it belongs to.
    pub grant: String,
    /// Expiry.
    pub expires: DateTime<Utc>,
}

/// A refresh token: one per grant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefreshToken {
    /// Client it was issued to.
    pub client_id: String,
    /// Granted scope.
    pub scope: String,
    /// Revoked grants refresh to `invalid_grant` and their access tokens stop working.
    pub revoked: bool,
}

/// Every code and token the emulator has issued.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Grants {
    /// Codes by value.
    pub codes: HashMap<String, AuthCode>,
    /// Access tokens by value.
    pub access: HashMap<String, AccessToken>,
    /// Refresh tokens by value.
    pub refresh: HashMap<String, RefreshToken>,
}

/// A token response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// Bearer token for API calls.
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: i64,
    /// Present on the code exchange only (Google does not rotate it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Granted scope.
    pub scope: String,
    /// Always `Bearer`.
    pub token_type: String,
}

impl Grants {
    /// Issues a new grant (refresh token) and its first access token.
    pub fn issue(
        &mut self,
        client_id: &str,
        scope: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> TokenResponse {
        let rt = format!("1//emu-{}", random_id(40));
        self.refresh.insert(
            rt.clone(),
            RefreshToken {
                client_id: client_id.into(),
                scope: scope.into(),
                revoked: false,
            },
        );
        let mut resp = self.access_for(&rt, ttl, now);
        resp.refresh_token = Some(rt);
        resp
    }

    fn access_for(&mut self, grant: &str, ttl: Duration, now: DateTime<Utc>) -> TokenResponse {
        self.access
            .retain(|_, t| t.expires > now - Duration::hours(1));
        let at = format!("emu-at-{}", random_id(48));
        self.access.insert(
            at.clone(),
            AccessToken {
                grant: grant.into(),
                expires: now + ttl,
            },
        );
        TokenResponse {
            access_token: at,
            expires_in: ttl.num_seconds(),
            refresh_token: None,
            scope: self.refresh[grant].scope.clone(),
            token_type: "Bearer".into(),
        }
    }

    /// True if `token` is a live access token of a live grant.
    pub fn check_access(&self, token: &str, now: DateTime<Utc>) -> bool {
        self.access.get(token).is_some_and(|t| {
            t.expires > now && self.refresh.get(&t.grant).is_some_and(|g| !g.revoked)
        })
    }

    /// Revokes the grant that `token` (access or refresh) belongs to; false if unknown.
    pub fn revoke(&mut self, token: &str) -> bool {
        let grant = self
            .access
            .get(token)
            .map(|t| t.grant.clone())
            .unwrap_or_else(|| token.to_owned());
        match self.refresh.get_mut(&grant) {
            Some(g) if !g.revoked => {
                g.revoked = true;
                true
            }
            _ => false,
        }
    }
}

fn error_page(status: StatusCode, title: &str, detail: &str) -> Response {
    (
        status,
        Html(format!(
            "<!doctype html><title>{title}</title><h1>{title}</h1><p>{detail}</p>"
        )),
    )
        .into_response()
}

fn is_loopback_redirect(uri: &str) -> bool {
    url::Url::parse(uri).is_ok_and(|u| {
        u.scheme() == "http"
            && matches!(
                u.host_str(),
                Some("127.0.0.1") | Some("localhost") | Some("[::1]")
            )
    })
}

/// `GET /auth`: the consent screen, answered at once with a redirect to the loopback client.
pub async fn authorize(AxState(app): AxState<AppState>, RawQuery(q): RawQuery) -> Response {
    let p = params(q.as_deref());
    let client = p.get("client_id").unwrap_or_default();
    if !app.config.clients.iter().any(|(id, _)| id == client) {
        return error_page(
            StatusCode::UNAUTHORIZED,
            "Error 401: invalid_client",
            "The OAuth client was not found.",
        );
    }
    let redirect = p.get("redirect_uri").unwrap_or_default();
    if !is_loopback_redirect(redirect) {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Error 400: redirect_uri_mismatch",
            "Desktop clients must redirect to a loopback address (http://127.0.0.1:PORT).",
        );
    }
    let state = p.get("state");
    let back = |pairs: &[(&str, &str)]| {
        let mut u = url::Url::parse(redirect).expect("checked above");
        {
            let mut qp = u.query_pairs_mut();
            for (k, v) in pairs {
                qp.append_pair(k, v);
            }
            if let Some(s) = state {
                qp.append_pair("state", s);
            }
        }
        // Google answers with 302 Found (axum's `Redirect::to` would be 303).
        (
            StatusCode::FOUND,
            [(axum::http::header::LOCATION, u.as_str().to_owned())],
        )
            .into_response()
    };
    let Some(scope) = p.get("scope").filter(|s| !s.is_empty()) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Error 400: invalid_request",
            "Missing required parameter: scope",
        );
    };
    if p.get("response_type") != Some("code") {
        return back(&[("error", "unsupported_response_type")]);
    }
    let challenge = match (
        p.get("code_challenge"),
        p.get("code_challenge_method").unwrap_or("plain"),
    ) {
        (None, _) => None,
        (Some(c), m @ ("S256" | "plain")) if (43..=128).contains(&c.len()) => {
            Some((m.to_owned(), c.to_owned()))
        }
        _ => {
            return back(&[
                ("error", "invalid_request"),
                (
                    "error_description",
                    "Invalid code_challenge or code_challenge_method",
                ),
            ])
        }
    };
    if app.consent_deny.load(Ordering::Relaxed) {
        return back(&[("error", "access_denied")]);
    }
    let code = format!("4/0emu-{}", random_id(40));
    let now = Utc::now();
    let result = app.with_grants(|g| {
        g.codes.retain(|_, c| c.expires > now);
        g.codes.insert(
            code.clone(),
            AuthCode {
                client_id: client.into(),
                redirect_uri: redirect.into(),
                challenge,
                scope: scope.into(),
                expires: now + Duration::minutes(10),
                used: false,
            },
        );
    });
    if result.is_err() {
        return error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Error 500",
            "The emulator could not store the code.",
        );
    }
    back(&[("code", &code), ("scope", scope)])
}

fn client_credentials(headers: &HeaderMap, p: &crate::Params) -> Option<(String, String)> {
    if let Some(basic) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(basic.trim())
            .ok()?;
        let (id, secret) = std::str::from_utf8(&raw).ok()?.split_once(':')?;
        let dec = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
        };
        return Some((dec(id)?, dec(secret)?));
    }
    Some((
        p.get("client_id")?.to_owned(),
        p.get("client_secret").unwrap_or_default().to_owned(),
    ))
}

fn pkce_ok(challenge: &Option<(String, String)>, verifier: Option<&str>) -> Result<(), OAuthError> {
    let Some((method, expected)) = challenge else {
        return Ok(());
    };
    let v = verifier.ok_or_else(|| OAuthError::invalid_grant("Missing code verifier."))?;
    let actual = if method == "S256" {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes()))
    } else {
        v.to_owned()
    };
    if &actual != expected {
        return Err(OAuthError::invalid_grant("Invalid code verifier."));
    }
    Ok(())
}

/// `POST /token`: the code exchange and refreshes.
pub async fn token(
    AxState(app): AxState<AppState>,
    headers: HeaderMap,
    body: String,
) -> Result<Response, OAuthError> {
    let p = params(Some(&body));
    let (client_id, secret) =
        client_credentials(&headers, &p).ok_or_else(OAuthError::invalid_client)?;
    if !app
        .config
        .clients
        .iter()
        .any(|(id, s)| *id == client_id && *s == secret)
    {
        return Err(OAuthError::invalid_client());
    }
    let now = Utc::now();
    let ttl = Duration::from_std(app.config.token_ttl).unwrap_or(Duration::seconds(3599));
    let resp = match p.get("grant_type") {
        Some("authorization_code") => {
            let code = p
                .get("code")
                .ok_or_else(|| OAuthError::invalid_request("Missing required parameter: code"))?;
            app.with_grants(|g| {
                let c = g
                    .codes
                    .get_mut(code)
                    .ok_or_else(|| OAuthError::invalid_grant("Malformed auth code."))?;
                if c.used || c.expires <= now || c.client_id != client_id {
                    return Err(OAuthError::invalid_grant("Bad Request"));
                }
                c.used = true;
                let c = c.clone();
                if p.get("redirect_uri") != Some(c.redirect_uri.as_str()) {
                    return Err(OAuthError::invalid_grant("Bad Request"));
                }
                pkce_ok(&c.challenge, p.get("code_verifier"))?;
                Ok(g.issue(&client_id, &c.scope, ttl, now))
            })
            .map_err(|_| OAuthError::invalid_request("storage failure"))??
        }
        Some("refresh_token") => {
            let rt = p.get("refresh_token").ok_or_else(|| {
                OAuthError::invalid_request("Missing required parameter: refresh_token")
            })?;
            app.with_grants(|g| match g.refresh.get(rt) {
                Some(r) if !r.revoked && r.client_id == client_id => Ok(g.access_for(rt, ttl, now)),
                Some(r) if !r.revoked => Err(OAuthError::invalid_grant("Unauthorized")),
                _ => Err(OAuthError::invalid_grant(
                    "Token has been expired or revoked.",
                )),
            })
            .map_err(|_| OAuthError::invalid_request("storage failure"))??
        }
        _ => {
            return Err(OAuthError {
                status: StatusCode::BAD_REQUEST,
                error: "unsupported_grant_type",
                description: "Invalid grant_type".into(),
            })
        }
    };
    Ok(axum::Json(resp).into_response())
}

/// `POST /revoke?token=...` (the token may also come in a form body).
pub async fn revoke(
    AxState(app): AxState<AppState>,
    RawQuery(q): RawQuery,
    body: String,
) -> Response {
    let qp = params(q.as_deref());
    let bp = params(Some(&body));
    let Some(token) = qp
        .get("token")
        .or_else(|| bp.get("token"))
        .map(str::to_owned)
    else {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "invalid_request", "error_description": "Missing required parameter: token"}))).into_response();
    };
    match app.with_grants(|g| g.revoke(&token)) {
        Ok(true) => (StatusCode::OK, axum::Json(json!({}))).into_response(),
        _ => (
            StatusCode::BAD_REQUEST,
            axum::Json(
                json!({"error": "invalid_token", "error_description": "Token expired or revoked"}),
            ),
        )
            .into_response(),
    }
}

/// Journals the grants after a change made by `f`.
pub(crate) fn commit_grants<T>(
    state: &mut crate::state::State,
    f: impl FnOnce(&mut Grants) -> T,
) -> std::io::Result<T> {
    let out = f(&mut state.grants);
    let g = state.grants.clone();
    state.commit(Op::Grants(g))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_rfc7636_example() {
        let c = Some((
            "S256".to_string(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_string(),
        ));
        assert!(pkce_ok(&c, Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")).is_ok());
        assert_eq!(
            pkce_ok(&c, Some("wrong")).unwrap_err().error,
            "invalid_grant"
        );
        assert_eq!(pkce_ok(&c, None).unwrap_err().error, "invalid_grant");
    }

    #[test]
    fn revoking_an_access_token_revokes_its_grant() {
        let mut g = Grants::default();
        let now = Utc::now();
        let t = g.issue("c", DEFAULT_SCOPE, Duration::seconds(60), now);
        assert!(g.check_access(&t.access_token, now));
        assert!(g.revoke(&t.access_token));
        assert!(!g.check_access(&t.access_token, now));
        assert!(g.refresh[t.refresh_token.as_ref().unwrap()].revoked);
        assert!(!g.revoke("unknown"));
    }

    #[test]
    fn only_loopback_redirects() {
        assert!(is_loopback_redirect("http://127.0.0.1:4567/"));
        assert!(is_loopback_redirect("http://localhost:1/cb"));
        assert!(!is_loopback_redirect("https://127.0.0.1/"));
        assert!(!is_loopback_redirect("http://evil.example/"));
    }
}
