//! The calls to Google's OAuth endpoints (through the `oauth2` crate) and the one Drive call
//! sign-in needs (`about.get` for the account's email). Errors are mapped to [`AuthError`]
//! without ever quoting a response body (it may hold a token).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use drivesync_model::Sensitive;
use oauth2::basic::{BasicClient, BasicErrorResponse, BasicErrorResponseType};
use oauth2::{
    AsyncHttpClient, AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EndpointNotSet, EndpointSet, HttpClientError, HttpRequest, HttpResponse, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use url::Url;

use crate::{AuthConfig, AuthError};

/// Lifetime assumed when the token endpoint does not say (`expires_in` missing).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;
type HttpError = HttpClientError<reqwest::Error>;
type TokenError = RequestTokenError<HttpError, BasicErrorResponse>;

/// Tokens from the token endpoint.
#[derive(Debug, Clone)]
pub(crate) struct Tokens {
    pub access: Sensitive<String>,
    pub lifetime: Duration,
    /// Present on the code exchange (Google does not rotate it on refresh).
    pub refresh: Option<Sensitive<String>>,
}

/// The Google account behind a sign-in, from `about.get`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Account {
    /// The email address: the account's key in the keychain and in drivesync's config.
    #[serde(rename = "emailAddress")]
    pub email: String,
    /// The name Google shows for it.
    #[serde(rename = "displayName", default)]
    pub name: String,
}

/// An HTTP transport for `oauth2` that turns 5xx and 429 answers into transport errors, so
/// they surface as [`AuthError::Network`] (retry later) rather than a refusal.
#[derive(Debug, Clone)]
struct Transport(reqwest::Client);

impl<'c> AsyncHttpClient<'c> for Transport {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + Sync + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        let inner = self.0.call(request);
        Box::pin(async move {
            let resp = inner.await?;
            let status = resp.status();
            if status.is_server_error() || status.as_u16() == 429 {
                return Err(HttpClientError::Other(format!(
                    "the server answered {status}"
                )));
            }
            Ok(resp)
        })
    }
}

/// Google's sign-in endpoints, configured once.
#[derive(Debug, Clone)]
pub(crate) struct Google {
    client: Client,
    http: Transport,
    config: AuthConfig,
}

impl Google {
    /// Builds the clients; fails only on an endpoint URL the `oauth2` crate refuses.
    pub fn new(config: &AuthConfig) -> Result<Self, AuthError> {
        let e = &config.endpoints;
        let client = BasicClient::new(ClientId::new(config.client_id.clone()))
            .set_client_secret(ClientSecret::new(config.client_secret.expose().clone()))
            .set_auth_uri(AuthUrl::from_url(e.auth_url.clone()))
            .set_token_uri(TokenUrl::from_url(e.token_url.clone()))
            .set_auth_type(AuthType::RequestBody);
        let http = reqwest::Client::builder()
            // Following redirects from the token endpoint could leak the request (RFC 6749).
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| AuthError::Network(describe(&e)))?;
        Ok(Self {
            client,
            http: Transport(http),
            config: config.clone(),
        })
    }

    /// The consent URL for a loopback redirect, with a fresh random `state` and PKCE S256
    /// challenge; returns the URL, the state to expect and the verifier for the exchange.
    pub fn authorize_url(&self, redirect: &Url) -> (Url, CsrfToken, PkceCodeVerifier) {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = self
            .client
            .clone()
            .set_redirect_uri(RedirectUrl::from_url(redirect.clone()))
            .authorize_url(CsrfToken::new_random)
            .add_scope(Scope::new(self.config.scope.as_str().to_owned()))
            .set_pkce_challenge(challenge)
            .add_extra_param("access_type", "offline")
            .add_extra_param("prompt", "consent")
            .url();
        (url, state, verifier)
    }

    /// Exchanges an authorization code (with its PKCE verifier and the same redirect URI).
    pub async fn exchange_code(
        &self,
        code: Sensitive<String>,
        verifier: PkceCodeVerifier,
        redirect: &Url,
    ) -> Result<Tokens, AuthError> {
        let resp = self
            .client
            .clone()
            .set_redirect_uri(RedirectUrl::from_url(redirect.clone()))
            .exchange_code(AuthorizationCode::new(code.into_inner()))
            .set_pkce_verifier(verifier)
            .request_async(&self.http)
            .await
            .map_err(|e| token_error(e, None))?;
        Ok(tokens(&resp))
    }

    /// A new access token from a refresh token; `invalid_grant` gives
    /// [`AuthError::Reconnect`] for `account`.
    pub async fn refresh(
        &self,
        refresh: &Sensitive<String>,
        account: &str,
    ) -> Result<Tokens, AuthError> {
        let rt = RefreshToken::new(refresh.expose().clone());
        let resp = self
            .client
            .exchange_refresh_token(&rt)
            .request_async(&self.http)
            .await
            .map_err(|e| token_error(e, Some(account)))?;
        Ok(tokens(&resp))
    }

    /// Revokes a token (and with it the whole grant). A token Google no longer knows
    /// (`invalid_token`: already revoked or expired) counts as revoked.
    ///
    /// Sent by hand: `oauth2` refuses a revocation URL that is not https (the emulator's).
    pub async fn revoke(&self, token: &Sensitive<String>) -> Result<(), AuthError> {
        let resp = self
            .http
            .0
            .post(self.config.endpoints.revoke_url.clone())
            .form(&[("token", token.expose().as_str())])
            .send()
            .await
            .map_err(|e| AuthError::Network(describe(&e)))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        if status.is_server_error() || status.as_u16() == 429 {
            return Err(AuthError::Network(format!(
                "the revocation endpoint answered {status}"
            )));
        }
        let body: serde_json::Value = resp.json().await.unwrap_or_default();
        let error = body["error"].as_str().unwrap_or("unknown").to_owned();
        if error == "invalid_token" {
            tracing::info!("the token was already revoked or expired");
            return Ok(());
        }
        Err(AuthError::Refused {
            error,
            description: body["error_description"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        })
    }

    /// The account the access token belongs to (`about.get?fields=user(...)`).
    pub async fn account(&self, access: &Sensitive<String>) -> Result<Account, AuthError> {
        let url = self
            .config
            .endpoints
            .api_root
            .join("drive/v3/about")
            .map_err(|e| AuthError::Protocol(format!("bad API root: {e}")))?;
        let resp = self
            .http
            .0
            .get(url)
            .query(&[("fields", "user(emailAddress,displayName)")])
            .bearer_auth(access.expose())
            .send()
            .await
            .map_err(|e| AuthError::Network(describe(&e)))?;
        let status = resp.status();
        if status.is_server_error() || status.as_u16() == 429 {
            return Err(AuthError::Network(format!("about.get answered {status}")));
        }
        if !status.is_success() {
            return Err(AuthError::Protocol(format!(
                "about.get answered {status} right after sign-in"
            )));
        }
        #[derive(serde::Deserialize)]
        struct About {
            user: Account,
        }
        let about: About = resp
            .json()
            .await
            .map_err(|e| AuthError::Protocol(format!("about.get: {}", describe(&e))))?;
        if about.user.email.is_empty() {
            return Err(AuthError::Protocol(
                "about.get gave no email address".into(),
            ));
        }
        Ok(about.user)
    }
}

fn tokens(resp: &oauth2::basic::BasicTokenResponse) -> Tokens {
    Tokens {
        access: Sensitive::new(resp.access_token().secret().clone()),
        lifetime: resp.expires_in().unwrap_or(DEFAULT_LIFETIME),
        refresh: resp
            .refresh_token()
            .map(|r| Sensitive::new(r.secret().clone())),
    }
}

/// Maps a token endpoint failure. `refreshing_for` is the account when refreshing (then
/// `invalid_grant` means the grant is gone); `None` for a code exchange.
fn token_error(e: TokenError, refreshing_for: Option<&str>) -> AuthError {
    match e {
        RequestTokenError::ServerResponse(r) => match (r.error(), refreshing_for) {
            (BasicErrorResponseType::InvalidGrant, Some(account)) => AuthError::Reconnect {
                account: account.to_owned(),
            },
            (kind, _) => AuthError::Refused {
                error: kind.as_ref().to_owned(),
                description: r.error_description().cloned().unwrap_or_default(),
            },
        },
        RequestTokenError::Request(HttpClientError::Reqwest(e)) => AuthError::Network(describe(&e)),
        RequestTokenError::Request(e) => AuthError::Network(describe(&e)),
        // The body is never quoted: it may hold a token.
        RequestTokenError::Parse(..) => {
            AuthError::Protocol("the token endpoint's answer could not be read".into())
        }
        RequestTokenError::Other(s) => AuthError::Protocol(s),
    }
}

/// An error and its causes on one line ("error sending request: connection refused").
pub(crate) fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let c_str = c.to_string();
        if !s.contains(&c_str) {
            s.push_str(": ");
            s.push_str(&c_str);
        }
        cause = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use drivesync_model::GoogleEndpoints;

    fn google() -> Google {
        let base = Url::parse("http://127.0.0.1:9/").unwrap();
        Google::new(&AuthConfig::new("cid", "csecret").with_endpoints(GoogleEndpoints::at(&base)))
            .unwrap()
    }

    #[test]
    fn consent_url_has_pkce_state_offline_and_scope() {
        let redirect = Url::parse("http://127.0.0.1:4444/").unwrap();
        let (url, state, _verifier) = google().authorize_url(&redirect);
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], "cid");
        assert_eq!(q["redirect_uri"], "http://127.0.0.1:4444/");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["code_challenge"].len(), 43);
        assert_eq!(q["access_type"], "offline");
        assert_eq!(q["prompt"], "consent");
        assert_eq!(q["scope"], "https://www.googleapis.com/auth/drive");
        assert_eq!(&q["state"], state.secret());
        assert!(state.secret().len() >= 16);
        assert!(!url.as_str().contains("csecret"));
    }

    #[test]
    fn invalid_grant_means_reconnect_only_when_refreshing() {
        let body = br#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#;
        let parse = || -> BasicErrorResponse { serde_json::from_slice(body).unwrap() };
        assert_eq!(
            token_error(RequestTokenError::ServerResponse(parse()), Some("a@b.c")),
            AuthError::Reconnect {
                account: "a@b.c".into()
            }
        );
        assert!(matches!(
            token_error(RequestTokenError::ServerResponse(parse()), None),
            AuthError::Refused { error, .. } if error == "invalid_grant"
        ));
    }
}
