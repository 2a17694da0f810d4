//! The loopback sign-in against drive-emulator, with a headless browser: success, a wrong
//! `state`, `access_denied`, timeout, and stray requests.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use drivesync_auth::{login, AccessTokenSource, AuthError, Clock, LoginOptions, TokenStore};
use reqwest::StatusCode;

async fn run(env: &Env, options: LoginOptions) -> Result<drivesync_auth::SignedIn, AuthError> {
    login(
        &env.config,
        options,
        env.store.as_ref(),
        env.clock.clone() as Arc<dyn Clock>,
    )
    .await
}

#[tokio::test]
async fn full_login_saves_the_refresh_token_and_gives_a_working_session() {
    let env = env().await;
    let (options, page) = approving_browser();
    let signed = run(&env, options).await.expect("login succeeds");

    assert_eq!(signed.account.email, EMAIL);
    assert_eq!(signed.session.account(), EMAIL);
    let (loopback, status, body) = page.await.unwrap();
    assert_eq!(loopback.host_str(), Some("127.0.0.1"));
    assert_eq!(loopback.path(), "/");
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Signed in"), "{body}");

    let saved = env.store.load(EMAIL).await.unwrap().expect("token saved");
    assert!(!saved.expose().is_empty());
    assert_eq!(env.store.accounts(), vec![EMAIL.to_string()]);

    let token = signed.session.access_token().await.unwrap();
    let (status, about) = about(&env, &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(about["user"]["emailAddress"], EMAIL);

    // One answer only: the listener is closed now.
    assert!(browser_client().get(loopback).send().await.is_err());
}

#[tokio::test]
async fn consent_url_carries_pkce_offline_access_and_the_drive_file_scope() {
    let mut env = env().await;
    env.config = env
        .config
        .clone()
        .with_scope(drivesync_auth::DriveScope::DriveFile);
    let (options, seen) = scripted(|auth_url| async move {
        let http = browser_client();
        let loopback = consent(&http, &auth_url).await;
        get(&http, &loopback).await;
        auth_url
    });
    run(&env, options).await.expect("login succeeds");
    let url = seen.await.unwrap();
    assert_eq!(
        param(&url, "scope").as_deref(),
        Some("https://www.googleapis.com/auth/drive.file")
    );
    assert_eq!(
        param(&url, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(param(&url, "access_type").as_deref(), Some("offline"));
    assert_eq!(param(&url, "prompt").as_deref(), Some("consent"));
    assert!(param(&url, "state").is_some_and(|s| s.len() >= 16));
    assert!(param(&url, "redirect_uri").is_some_and(|r| r.starts_with("http://127.0.0.1:")));
}

/// Documented behaviour: an answer with a wrong `state` gets a 400 page and is ignored; the
/// real answer that follows still signs in.
#[tokio::test]
async fn a_wrong_state_is_refused_and_ignored() {
    let env = env().await;
    let (options, pages) = scripted(|auth_url| async move {
        let http = browser_client();
        let loopback = consent(&http, &auth_url).await;
        let forged = with_param(&loopback, "state", "not-the-state");
        let wrong = get(&http, &forged).await;
        let real = get(&http, &loopback).await;
        (wrong, real)
    });
    let signed = run(&env, options)
        .await
        .expect("the real answer still signs in");
    assert_eq!(signed.account.email, EMAIL);
    let ((wrong_status, wrong_body), (real_status, _)) = pages.await.unwrap();
    assert_eq!(wrong_status, StatusCode::BAD_REQUEST);
    assert!(wrong_body.contains("does not match"), "{wrong_body}");
    assert_eq!(real_status, StatusCode::OK);
}

#[tokio::test]
async fn only_a_wrong_state_ends_in_a_timeout_that_says_so() {
    let env = env().await;
    let (options, _pages) = scripted(|auth_url| async move {
        let http = browser_client();
        let loopback = consent(&http, &auth_url).await;
        get(&http, &with_param(&loopback, "state", "forged")).await
    });
    let err = run(&env, options.with_timeout(Duration::from_millis(1500)))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        AuthError::Timeout {
            seconds: 2,
            ignored: 1
        }
    );
    assert!(err
        .to_string()
        .contains("1 answer with a wrong state was ignored"));
    assert!(env.store.accounts().is_empty());
}

#[tokio::test]
async fn access_denied_is_a_typed_error_with_a_page_saying_what_to_do() {
    let env = env().await;
    env.emu.set_consent(false);
    let (options, page) = approving_browser();
    let err = run(&env, options).await.unwrap_err();
    assert_eq!(err, AuthError::AccessDenied);
    let (loopback, status, body) = page.await.unwrap();
    assert_eq!(param(&loopback, "error").as_deref(), Some("access_denied"));
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("access_denied") && body.contains("drivesync login"),
        "{body}"
    );
    assert!(env.store.accounts().is_empty());
}

#[tokio::test]
async fn no_browser_answer_times_out_with_a_clear_error() {
    let env = env().await;
    let shown = Arc::new(std::sync::Mutex::new(None));
    let seen = shown.clone();
    let options = LoginOptions::no_browser(move |url| *seen.lock().unwrap() = Some(url.clone()))
        .with_timeout(Duration::from_millis(300));
    let started = std::time::Instant::now();
    let err = run(&env, options).await.unwrap_err();
    assert_eq!(
        err,
        AuthError::Timeout {
            seconds: 1,
            ignored: 0
        }
    );
    assert!(err
        .to_string()
        .starts_with("no answer from the browser within 1 s:"));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(shown.lock().unwrap().is_some(), "the URL was handed out");
}

#[tokio::test]
async fn stray_requests_are_ignored_and_login_still_succeeds() {
    let env = env().await;
    let (options, pages) = scripted(|auth_url| async move {
        let http = browser_client();
        let redirect = url::Url::parse(&param(&auth_url, "redirect_uri").unwrap()).unwrap();
        let favicon = get(&http, &redirect.join("/favicon.ico").unwrap()).await;
        let bare = get(&http, &redirect).await;
        let loopback = consent(&http, &auth_url).await;
        let real = get(&http, &loopback).await;
        (favicon.0, bare.0, real.0)
    });
    let signed = run(&env, options).await.expect("login succeeds");
    assert_eq!(signed.account.email, EMAIL);
    assert_eq!(
        pages.await.unwrap(),
        (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND, StatusCode::OK)
    );
}
