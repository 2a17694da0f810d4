//! No secret in logs: a sign-in, refreshes (expiry and 401), a revoked grant and a logout run
//! with every target (ours, reqwest, hyper, oauth2, `log` records) at TRACE into a buffer; no
//! access token, refresh token, authorization code or client secret may appear in it.
//!
//! Its own test binary: the subscriber is process-wide.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use drivesync_auth::{login, logout, AccessTokenSource, AuthError, Clock, Session, TokenStore};

#[derive(Clone)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_refresh_and_logout_log_no_secret() {
    let buf = Buffer(Arc::new(Mutex::new(Vec::new())));
    let writer = buf.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .try_init()
        .expect("the only subscriber in this binary");

    let env = env().await;
    let (options, page) = approving_browser();
    let signed = login(
        &env.config,
        options,
        env.store.as_ref(),
        env.clock.clone() as Arc<dyn Clock>,
    )
    .await
    .expect("login");
    let (loopback, _, _) = page.await.unwrap();
    let code = param(&loopback, "code").expect("the code the browser carried");
    let session = signed.session;

    let a1 = session.access_token().await.unwrap();
    env.emu.expire_access_tokens().unwrap();
    let a2 = session.refresh_rejected(&a1).await.unwrap();
    env.clock.advance(Duration::from_secs(3600));
    let a3 = session.access_token().await.unwrap();
    let refresh = env.store.load(EMAIL).await.unwrap().unwrap();

    logout(&env.config, env.store.as_ref(), EMAIL, false)
        .await
        .unwrap();
    let dead = Session::new(
        &env.config,
        EMAIL,
        refresh.clone(),
        env.clock.clone() as Arc<dyn Clock>,
    )
    .unwrap();
    assert!(matches!(
        dead.access_token().await,
        Err(AuthError::Reconnect { .. })
    ));

    let logs = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("signed in"), "the capture works:\n{logs}");
    assert!(logs.contains("TRACE"), "TRACE events are captured:\n{logs}");
    let secrets = [
        ("authorization code", code),
        ("first access token", a1.expose().clone()),
        ("access token after a 401", a2.expose().clone()),
        ("access token after expiry", a3.expose().clone()),
        ("refresh token", refresh.expose().clone()),
        (
            "client secret",
            drive_emulator::DEFAULT_CLIENT_SECRET.to_string(),
        ),
    ];
    for (what, secret) in &secrets {
        assert!(secret.len() >= 10, "{what} is a real value");
        assert!(
            !logs.contains(secret.as_str()),
            "the {what} leaked into the logs:\n{logs}"
        );
    }
    eprintln!("{} bytes of logs checked", logs.len());
    if std::env::var("SHOW_LOGS").is_ok() {
        eprintln!("{logs}");
    }
}
