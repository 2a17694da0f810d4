//! The real OS keychain (on Linux: the Secret Service over D-Bus), not a mock: a sign-in's
//! refresh token must survive into a NEW process, and logout must remove it.
//!
//! Gated: runs when `DRIVESYNC_KEYRING_TESTS=1` (set by `tests/with-keyring.sh`, which also
//! starts a private D-Bus session and an unlocked GNOME Keyring) and then FAILS if the
//! keychain is unreachable. The new process is this test binary run again with
//! `KEYRING_CHILD` set: it runs only `child_process`.

mod common;

use std::process::Command;
use std::sync::Arc;

use common::*;
use drivesync_auth::{
    login, logout, open_token_store, AccessTokenSource, AuthError, Clock, KeyringStore, Session,
    TokenStore,
};
use reqwest::StatusCode;

/// A service name of its own, clear of a developer's real `drivesync` entries.
const SERVICE: &str = "drivesync-test";
const GATE: &str = "DRIVESYNC_KEYRING_TESTS";
const CHILD: &str = "KEYRING_CHILD";
const CHILD_EMULATOR: &str = "KEYRING_CHILD_EMULATOR";
const CHILD_OK: &str = "keyring child: ok";

fn gated() -> bool {
    if std::env::var(GATE).as_deref() == Ok("1") {
        return true;
    }
    eprintln!("skipped: set {GATE}=1 (tests/with-keyring.sh does, with a keychain)");
    false
}

/// Runs `child_process` in a new process with `mode`; panics unless it passed.
fn run_child(mode: &str, extra_env: &[(&str, &str)]) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "child_process",
        "--exact",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD, mode);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("the test binary runs again");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains(CHILD_OK),
        "child {mode} failed:\n{stdout}\n{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_in_token_survives_into_a_new_process_and_logout_removes_it() {
    if !gated() {
        return;
    }
    let store = KeyringStore::with_service(SERVICE);
    store
        .probe()
        .await
        .expect("the keychain must be reachable when DRIVESYNC_KEYRING_TESTS=1");
    store.delete(EMAIL).await.unwrap();
    let env = env().await;

    let (options, _page) = approving_browser();
    let signed = login(
        &env.config,
        options,
        &store,
        env.clock.clone() as Arc<dyn Clock>,
    )
    .await
    .expect("login with the real keychain");
    assert_eq!(signed.account.email, EMAIL);
    assert!(store.load(EMAIL).await.unwrap().is_some());

    // A new process reads the token from the keychain and makes an API call with it.
    // (Off the async threads: the emulator must keep serving while we wait.)
    let base = env.emu.base_url();
    tokio::task::spawn_blocking(move || run_child("restore", &[(CHILD_EMULATOR, base.as_str())]))
        .await
        .unwrap();

    logout(&env.config, &store, EMAIL, false).await.unwrap();
    assert_eq!(store.load(EMAIL).await.unwrap(), None);
    run_child("absent", &[]);
}

#[tokio::test]
async fn the_production_store_is_the_keychain_when_one_answers() {
    if !gated() {
        return;
    }
    let store = open_token_store(None).await.expect("keychain reachable");
    let account = format!("probe-{}@example.com", std::process::id());
    // The production service name: leave nothing behind.
    let token = drivesync_auth::Sensitive::new(format!("rt-{}", std::process::id()));
    store.save(&account, &token).await.unwrap();
    assert_eq!(store.load(&account).await.unwrap(), Some(token));
    store.delete(&account).await.unwrap();
    assert_eq!(store.load(&account).await.unwrap(), None);
}

/// Without D-Bus the keychain is unreachable: a clear `NoKeychain`, and plaintext only when
/// opted in. Runs in a child process whose D-Bus address points nowhere.
#[cfg(target_os = "linux")]
#[test]
fn no_keychain_is_a_clear_error_and_plaintext_needs_opting_in() {
    if std::env::var(CHILD).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tokens.json");
    let file = file.to_str().unwrap();
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "child_process",
        "--exact",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD, "no-keychain")
    .env("KEYRING_CHILD_FILE", file)
    .env(
        "DBUS_SESSION_BUS_ADDRESS",
        "unix:path=/nonexistent/drivesync-test-bus",
    )
    .env_remove("DISPLAY")
    .env_remove("WAYLAND_DISPLAY");
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(CHILD_OK),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The other side of the tests above; does nothing unless started by them.
#[tokio::test]
async fn child_process() {
    let Ok(mode) = std::env::var(CHILD) else {
        return;
    };
    let store = KeyringStore::with_service(SERVICE);
    match mode.as_str() {
        "restore" => {
            let base = url::Url::parse(&std::env::var(CHILD_EMULATOR).unwrap()).unwrap();
            let config = drivesync_auth::AuthConfig::new(
                drive_emulator::DEFAULT_CLIENT_ID,
                drive_emulator::DEFAULT_CLIENT_SECRET,
            )
            .with_endpoints(drivesync_model::GoogleEndpoints::at(&base));
            let clock: Arc<dyn Clock> = Arc::new(drivesync_auth::SystemClock);
            let session = Session::restore(&config, &store, EMAIL, clock)
                .await
                .expect("the token is in the keychain for a new process");
            let token = session.access_token().await.unwrap();
            let resp = browser_client()
                .get(base.join("drive/v3/about?fields=user").unwrap())
                .bearer_auth(token.expose())
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
        }
        "absent" => assert_eq!(store.load(EMAIL).await.unwrap(), None),
        "no-keychain" => {
            let e = store.probe().await.unwrap_err();
            assert!(matches!(e, AuthError::NoKeychain(_)), "{e}");
            assert!(e.to_string().contains("Secret Service"), "{e}");
            let e = open_token_store(None).await.unwrap_err();
            assert!(matches!(e, AuthError::NoKeychain(_)), "{e}");
            let file = std::path::PathBuf::from(std::env::var("KEYRING_CHILD_FILE").unwrap());
            let plain = open_token_store(Some(&file)).await.expect("opted in");
            let t = drivesync_auth::Sensitive::new("rt-plain".to_string());
            plain.save(EMAIL, &t).await.unwrap();
            assert_eq!(plain.load(EMAIL).await.unwrap(), Some(t));
            assert!(file.exists());
        }
        other => panic!("unknown child mode {other}"),
    }
    println!("{CHILD_OK}");
}
