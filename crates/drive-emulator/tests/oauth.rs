//! OAuth 2.0 for installed apps over real HTTP: `/auth` with PKCE, `/token` (code exchange with
//! the secret in the body or HTTP Basic, refresh), `/revoke`, and the API's 401s.

mod common;

use std::time::Duration;

use base64::Engine;
use common::*;
use drive_emulator::{EmulatorConfig, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

const REDIRECT: &str = "http://127.0.0.1:1/";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-emulator-test";

fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// `GET /auth` with PKCE S256; returns the response (never followed).
async fn authorize(env: &Env, client_id: &str, state: &str) -> reqwest::Response {
    let ch = challenge(VERIFIER);
    env.http
        .get(env.url("/auth"))
        .query(&[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", REDIRECT),
            ("scope", "https://www.googleapis.com/auth/drive"),
            ("state", state),
            ("code_challenge", ch.as_str()),
            ("code_challenge_method", "S256"),
            ("access_type", "offline"),
            ("prompt", "consent"),
        ])
        .send()
        .await
        .expect("auth sent")
}

/// The query pairs of the redirect a `/auth` response points to.
fn redirect_params(resp: &reqwest::Response) -> Vec<(String, String)> {
    assert_eq!(resp.status(), StatusCode::FOUND);
    let loc = url::Url::parse(&location(resp.headers())).expect("absolute Location");
    assert_eq!(
        format!("{}://{}", loc.scheme(), loc.host_str().unwrap()),
        "http://127.0.0.1"
    );
    assert_eq!(loc.port(), Some(1));
    loc.query_pairs().into_owned().collect()
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A fresh authorization code for the default client.
async fn code(env: &Env) -> String {
    let resp = authorize(env, DEFAULT_CLIENT_ID, "st").await;
    let p = redirect_params(&resp);
    param(&p, "code").expect("code").to_owned()
}

/// `POST /token` with a form body and optional HTTP Basic credentials.
async fn token(
    env: &Env,
    pairs: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> (StatusCode, Value) {
    let mut rb = env
        .http
        .post(env.url("/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(pairs));
    if let Some((id, secret)) = basic {
        rb = rb.basic_auth(id, Some(secret));
    }
    let (s, _, v) = send(rb).await;
    (s, v)
}

async fn exchange(env: &Env, code: &str, verifier: &str, redirect: &str) -> (StatusCode, Value) {
    token(
        env,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("code_verifier", verifier),
            ("redirect_uri", redirect),
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", DEFAULT_CLIENT_SECRET),
        ],
        None,
    )
    .await
}

async fn refresh(env: &Env, rt: &str) -> (StatusCode, Value) {
    token(
        env,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", DEFAULT_CLIENT_SECRET),
        ],
        None,
    )
    .await
}

/// Status of an API call made with `token`.
async fn api_status(env: &Env, token: Option<&str>) -> (StatusCode, Value) {
    let mut rb = env.http.get(env.url("/drive/v3/files/root?fields=id"));
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    let (s, _, v) = send(rb).await;
    (s, v)
}

fn assert_tokens(v: &Value, with_refresh: bool) {
    assert!(
        v["access_token"].as_str().is_some_and(|t| !t.is_empty()),
        "{v}"
    );
    assert!(v["expires_in"].as_i64().is_some_and(|n| n > 0), "{v}");
    assert_eq!(v["token_type"], "Bearer", "{v}");
    assert!(v["scope"].is_string(), "{v}");
    assert_eq!(v.get("refresh_token").is_some(), with_refresh, "{v}");
}

#[tokio::test(flavor = "multi_thread")]
async fn code_flow_with_pkce_and_secret_in_body() {
    let env = Env::start().await;
    let resp = authorize(&env, DEFAULT_CLIENT_ID, "state-123").await;
    let p = redirect_params(&resp);
    assert_eq!(param(&p, "state"), Some("state-123"));
    let code = param(&p, "code").expect("code").to_owned();
    let (s, v) = exchange(&env, &code, VERIFIER, REDIRECT).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_tokens(&v, true);
    assert_eq!(v["expires_in"], 3599);
    let (s, _) = api_status(&env, v["access_token"].as_str()).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = exchange(&env, &code, VERIFIER, REDIRECT).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"], "invalid_grant", "reused code: {v}");
}

#[tokio::test(flavor = "multi_thread")]
async fn auth_redirect_is_302_found_not_303() {
    let env = Env::start().await;
    let resp = authorize(&env, DEFAULT_CLIENT_ID, "s").await;
    assert_eq!(
        resp.status(),
        StatusCode::FOUND,
        "Google answers /auth with 302"
    );
    env.emu.set_consent(false);
    let resp = authorize(&env, DEFAULT_CLIENT_ID, "s").await;
    assert_eq!(
        resp.status(),
        StatusCode::FOUND,
        "denials redirect with 302 too"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn code_flow_with_http_basic_client_credentials() {
    let env = Env::start().await;
    let code = code(&env).await;
    let basic = Some((DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET));
    let (s, v) = token(
        &env,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", VERIFIER),
            ("redirect_uri", REDIRECT),
        ],
        basic,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_tokens(&v, true);
    let rt = v["refresh_token"].as_str().unwrap();
    let (s, r) = token(
        &env,
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
        basic,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_tokens(&r, false);
    let (s, v) = token(
        &env,
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
        Some((DEFAULT_CLIENT_ID, "wrong-secret")),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(v["error"], "invalid_client");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_verifier_or_redirect_uri_is_invalid_grant() {
    let env = Env::start().await;
    let c = code(&env).await;
    let (s, v) = exchange(
        &env,
        &c,
        "a-completely-different-verifier-of-enough-length",
        REDIRECT,
    )
    .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "{v}"
    );
    let c = code(&env).await;
    let (s, v) = exchange(&env, &c, VERIFIER, "http://127.0.0.1:2/").await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "{v}"
    );
    let (s, v) = exchange(&env, "4/0never-issued", VERIFIER, REDIRECT).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_client_is_refused_at_token_and_auth() {
    let env = Env::start().await;
    let (s, v) = token(
        &env,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "x"),
            ("client_id", "nobody.apps.googleusercontent.com"),
            ("client_secret", "s"),
        ],
        None,
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(v["error"], "invalid_client");
    let resp = authorize(&env, "nobody.apps.googleusercontent.com", "s").await;
    assert!(!resp.status().is_redirection(), "{}", resp.status());
    assert!(resp.status().is_client_error());
    assert!(resp.headers().get("location").is_none());
    let page = resp.text().await.unwrap();
    assert!(page.contains("invalid_client"), "{page}");
}

#[tokio::test(flavor = "multi_thread")]
async fn denied_consent_redirects_with_access_denied_and_state() {
    let env = Env::start().await;
    env.emu.set_consent(false);
    let resp = authorize(&env, DEFAULT_CLIENT_ID, "keep-me").await;
    let p = redirect_params(&resp);
    assert_eq!(param(&p, "error"), Some("access_denied"));
    assert_eq!(param(&p, "state"), Some("keep-me"));
    assert_eq!(param(&p, "code"), None);
    env.emu.set_consent(true);
    let resp = authorize(&env, DEFAULT_CLIENT_ID, "s").await;
    assert!(param(&redirect_params(&resp), "code").is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_issues_new_access_token_without_rotating_refresh_token() {
    let env = Env::start().await;
    let (_, v) = exchange(&env, &code(&env).await, VERIFIER, REDIRECT).await;
    let rt = v["refresh_token"].as_str().unwrap();
    let (s, r) = refresh(&env, rt).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_tokens(&r, false);
    assert_ne!(r["access_token"], v["access_token"]);
    let (s, _) = api_status(&env, r["access_token"].as_str()).await;
    assert_eq!(s, StatusCode::OK);
    let (s, r2) = refresh(&env, rt).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "the same refresh token keeps working: {r2}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn revoked_refresh_token_is_expired_or_revoked() {
    let env = Env::start().await;
    let (_, v) = exchange(&env, &code(&env).await, VERIFIER, REDIRECT).await;
    let rt = v["refresh_token"].as_str().unwrap().to_owned();
    let resp = env
        .http
        .post(env.url("/revoke"))
        .query(&[("token", rt.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let (s, r) = refresh(&env, &rt).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{r}");
    assert_eq!(r["error"], "invalid_grant");
    assert_eq!(r["error_description"], "Token has been expired or revoked.");
    let (s, _) = api_status(&env, v["access_token"].as_str()).await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "a revoked grant's access token dies too"
    );

    let (s, r) = refresh(&env, "1//never-issued").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{r}");
    assert_eq!(r["error_description"], "Token has been expired or revoked.");

    let minted = env.emu.mint_tokens(None).unwrap();
    env.emu.revoke_refresh_tokens().unwrap();
    let (s, r) = refresh(&env, minted.refresh_token.as_deref().unwrap()).await;
    assert_eq!(
        (s, r["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn api_without_or_with_bad_or_expired_token_is_auth_error() {
    let env = Env::start().await;
    let (s, v) = api_status(&env, None).await;
    assert_error(s, &v, 401, "authError");
    let (s, v) = api_status(&env, Some("garbage-token")).await;
    assert_error(s, &v, 401, "authError");
    let minted = env.emu.mint_tokens(None).unwrap();
    let (s, _) = api_status(&env, Some(&minted.access_token)).await;
    assert_eq!(s, StatusCode::OK);
    env.emu.expire_access_tokens().unwrap();
    let (s, v) = api_status(&env, Some(&minted.access_token)).await;
    assert_error(s, &v, 401, "authError");
    let (s, r) = refresh(&env, minted.refresh_token.as_deref().unwrap()).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let (s, _) = api_status(&env, r["access_token"].as_str()).await;
    assert_eq!(s, StatusCode::OK, "refreshing recovers from expiry");
}

#[tokio::test(flavor = "multi_thread")]
async fn access_tokens_expire_after_the_configured_ttl() {
    let env = Env::start_with(EmulatorConfig {
        token_ttl: Duration::from_secs(1),
        ..EmulatorConfig::default()
    })
    .await;
    let (s, _) = api_status(&env, Some(&env.token)).await;
    assert_eq!(s, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (s, v) = api_status(&env, Some(&env.token)).await;
    assert_error(s, &v, 401, "authError");
}

#[tokio::test(flavor = "multi_thread")]
async fn minting_tokens_for_an_unregistered_client_is_refused() {
    let env = Env::start().await;
    let resp = env
        .http
        .post(format!("{}/__emulator/tokens", env.base))
        .json(&serde_json::json!({"client_id": "nobody.apps.googleusercontent.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(env
        .emu
        .mint_tokens(Some("nobody.apps.googleusercontent.com"))
        .is_err());
    assert!(env.emu.mint_tokens(Some(DEFAULT_CLIENT_ID)).is_ok());
}
