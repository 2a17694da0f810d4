//! Sessions against drive-emulator: refresh before expiry (moved clock), refresh after a
//! 401 shared by concurrent callers, a revoked grant, restore from the store, and logout.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use drivesync_auth::{
    logout, AccessTokenSource, AuthError, Clock, Sensitive, Session, TokenStore, REFRESH_MARGIN,
};
use reqwest::StatusCode;

/// The emulator's access token lifetime (its default `expires_in`).
const TTL: Duration = Duration::from_secs(3599);

#[tokio::test]
async fn refreshes_when_the_clock_reaches_expiry_minus_the_margin() {
    let env = env().await;
    let session = sign_in(&env).await.session;
    let first = session.access_token().await.unwrap();

    env.clock
        .advance(TTL - REFRESH_MARGIN - Duration::from_secs(1));
    assert_eq!(session.access_token().await.unwrap(), first, "still fresh");

    env.clock.advance(Duration::from_secs(2));
    let second = session.access_token().await.unwrap();
    assert_ne!(second, first, "refreshed inside the margin");
    assert_eq!(about(&env, &second).await.0, StatusCode::OK);
    assert_eq!(
        session.access_token().await.unwrap(),
        second,
        "cached again"
    );
}

#[tokio::test]
async fn a_rejected_token_is_refreshed_once_for_all_concurrent_callers() {
    let env = env().await;
    let session = Arc::new(sign_in(&env).await.session);
    let old = session.access_token().await.unwrap();
    env.emu.expire_access_tokens().unwrap();
    assert_eq!(about(&env, &old).await.0, StatusCode::UNAUTHORIZED);

    let callers: Vec<_> = (0..8)
        .map(|_| {
            let (s, old) = (session.clone(), old.clone());
            tokio::spawn(async move { s.refresh_rejected(&old).await })
        })
        .collect();
    let mut fresh = Vec::new();
    for c in callers {
        fresh.push(c.await.unwrap().expect("refreshed"));
    }
    // Every refresh mints a different token: one token for all means one refresh.
    assert!(fresh.iter().all(|t| *t == fresh[0]), "one shared refresh");
    assert_ne!(fresh[0], old);
    assert_eq!(about(&env, &fresh[0]).await.0, StatusCode::OK);
    assert_eq!(session.access_token().await.unwrap(), fresh[0]);
    // A late caller with the old token gets the new one without another refresh.
    assert_eq!(session.refresh_rejected(&old).await.unwrap(), fresh[0]);
}

#[tokio::test]
async fn a_revoked_grant_asks_to_reconnect_and_stays_that_way() {
    let env = env().await;
    let session = sign_in(&env).await.session;
    let old = session.access_token().await.unwrap();
    env.emu.revoke_refresh_tokens().unwrap();
    let reconnect = AuthError::Reconnect {
        account: EMAIL.into(),
    };
    assert_eq!(session.refresh_rejected(&old).await.unwrap_err(), reconnect);
    assert_eq!(session.access_token().await.unwrap_err(), reconnect);
    assert!(reconnect.to_string().contains("drivesync login"));
}

#[tokio::test]
async fn a_saved_account_is_restored_from_the_store() {
    let env = env().await;
    sign_in(&env).await;
    let restored = Session::restore(
        &env.config,
        env.store.as_ref(),
        EMAIL,
        env.clock.clone() as Arc<dyn Clock>,
    )
    .await
    .unwrap();
    let token = restored.access_token().await.unwrap();
    assert_eq!(about(&env, &token).await.0, StatusCode::OK);

    let missing = Session::restore(
        &env.config,
        env.store.as_ref(),
        "other@example.com",
        env.clock.clone() as Arc<dyn Clock>,
    )
    .await
    .unwrap_err();
    assert_eq!(
        missing,
        AuthError::NotSignedIn {
            account: "other@example.com".into()
        }
    );
}

#[tokio::test]
async fn logout_revokes_the_grant_and_deletes_the_entry() {
    let env = env().await;
    let session = sign_in(&env).await.session;
    let access = session.access_token().await.unwrap();
    let refresh: Sensitive<String> = env.store.load(EMAIL).await.unwrap().unwrap();

    logout(&env.config, env.store.as_ref(), EMAIL, false)
        .await
        .unwrap();

    assert_eq!(env.store.load(EMAIL).await.unwrap(), None, "entry gone");
    assert_eq!(about(&env, &access).await.0, StatusCode::UNAUTHORIZED);
    let again = Session::new(
        &env.config,
        EMAIL,
        refresh,
        env.clock.clone() as Arc<dyn Clock>,
    )
    .unwrap();
    assert_eq!(
        again.access_token().await.unwrap_err(),
        AuthError::Reconnect {
            account: EMAIL.into()
        },
        "refresh gets invalid_grant after logout"
    );
    // Logging out again has nothing left to do.
    logout(&env.config, env.store.as_ref(), EMAIL, false)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_failed_revoke_keeps_the_token_until_the_user_forces_the_logout() {
    let env = env().await;
    sign_in(&env).await;
    let mut offline = env.config.clone();
    offline.endpoints.revoke_url = url::Url::parse("http://127.0.0.1:9/revoke").unwrap();
    let err = logout(&offline, env.store.as_ref(), EMAIL, false)
        .await
        .unwrap_err();
    assert!(matches!(&err, AuthError::RevokeFailed { .. }), "{err}");
    assert!(err.to_string().contains("still signed in"), "{err}");
    assert!(env.store.load(EMAIL).await.unwrap().is_some(), "token kept");

    let err = logout(&offline, env.store.as_ref(), EMAIL, true)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AuthError::LogoutIncomplete { problems, .. } if problems.contains("revoking")),
        "{err}"
    );
    assert_eq!(
        env.store.load(EMAIL).await.unwrap(),
        None,
        "forced: deleted"
    );
}
