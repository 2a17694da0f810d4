//! Shared by the integration tests: an emulator per test, a config pointing at it, and a
//! headless "browser" (reqwest with redirects off) that plays the user's part.
#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use drive_emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use drivesync_auth::{
    login, AuthConfig, Clock, LoginOptions, ManualClock, MemTokenStore, Sensitive, SignedIn,
};
use drivesync_model::GoogleEndpoints;
use reqwest::StatusCode;
use tokio::sync::oneshot;
use url::Url;

/// The emulator's account.
pub const EMAIL: &str = "user@example.com";

/// One test's world.
pub struct Env {
    pub emu: EmulatorHandle,
    pub config: AuthConfig,
    pub store: Arc<MemTokenStore>,
    pub clock: Arc<ManualClock>,
    pub http: reqwest::Client,
}

pub async fn env() -> Env {
    let emu = Emulator::start(EmulatorConfig::default())
        .await
        .expect("emulator starts");
    let base = Url::parse(&emu.base_url()).unwrap();
    let config = AuthConfig::new(
        drive_emulator::DEFAULT_CLIENT_ID,
        drive_emulator::DEFAULT_CLIENT_SECRET,
    )
    .with_endpoints(GoogleEndpoints::at(&base));
    Env {
        emu,
        config,
        store: Arc::new(MemTokenStore::new()),
        clock: Arc::new(ManualClock::new(SystemTime::now())),
        http: browser_client(),
    }
}

/// A client that never follows redirects (the browser steps are explicit).
pub fn browser_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// The user approves on the consent page: `GET` the auth URL, return its 302 `Location` (the
/// loopback redirect carrying the code or error).
pub async fn consent(http: &reqwest::Client, auth_url: &Url) -> Url {
    let resp = http.get(auth_url.clone()).send().await.expect("GET /auth");
    assert_eq!(resp.status(), StatusCode::FOUND, "/auth answers 302");
    let loc = resp.headers()["location"].to_str().unwrap();
    Url::parse(loc).expect("absolute Location")
}

/// `GET url`: status and body.
pub async fn get(http: &reqwest::Client, url: &Url) -> (StatusCode, String) {
    let resp = http.get(url.clone()).send().await.expect("GET");
    let status = resp.status();
    (status, resp.text().await.unwrap_or_default())
}

/// The query parameter `name` of `url`.
pub fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// `url` with the query parameter `name` set to `value`.
pub fn with_param(url: &Url, name: &str, value: &str) -> Url {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .into_owned()
        .map(|(k, v)| {
            if k == name {
                (k, value.to_owned())
            } else {
                (k, v)
            }
        })
        .collect();
    let mut u = url.clone();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    u
}

/// Login options whose "browser" runs `script(auth_url)` in a task; its result comes back
/// on the receiver.
pub fn scripted<F, Fut>(script: F) -> (LoginOptions, oneshot::Receiver<Fut::Output>)
where
    F: FnOnce(Url) -> Fut + Send + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    let options = LoginOptions::no_browser(move |url: &Url| {
        let url = url.clone();
        tokio::spawn(async move {
            let _ = tx.send(script(url).await);
        });
    })
    .with_timeout(Duration::from_secs(20));
    (options, rx)
}

/// The plain browser: consent, then follow the redirect to the loopback listener. Returns the
/// loopback URL it followed (it holds the code) and the page it got.
pub fn approving_browser() -> (LoginOptions, oneshot::Receiver<(Url, StatusCode, String)>) {
    scripted(|auth_url| async move {
        let http = browser_client();
        let loopback = consent(&http, &auth_url).await;
        let (status, body) = get(&http, &loopback).await;
        (loopback, status, body)
    })
}

/// A successful sign-in with the plain browser.
pub async fn sign_in(env: &Env) -> SignedIn {
    let (options, _page) = approving_browser();
    login(
        &env.config,
        options,
        env.store.as_ref(),
        env.clock.clone() as Arc<dyn Clock>,
    )
    .await
    .expect("login succeeds")
}

/// `GET /drive/v3/about?fields=user` with `token`: status and body.
pub async fn about(env: &Env, token: &Sensitive<String>) -> (StatusCode, serde_json::Value) {
    let resp = env
        .http
        .get(format!("{}/drive/v3/about?fields=user", env.emu.base_url()))
        .bearer_auth(token.expose())
        .send()
        .await
        .expect("about.get sent");
    let status = resp.status();
    (status, resp.json().await.unwrap_or_default())
}
