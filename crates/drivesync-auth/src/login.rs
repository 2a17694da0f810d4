//! Signing in (the loopback flow for installed apps) and signing out.

use std::sync::Arc;

use drivesync_model::Sensitive;

use crate::google::{Account, Google};
use crate::loopback::{Answer, Listener};
use crate::{AuthConfig, AuthError, Clock, LoginOptions, Session, TokenStore};

/// A finished sign-in: who signed in, and a session ready for API calls.
#[derive(Debug)]
pub struct SignedIn {
    /// The Google account (from `about.get`).
    pub account: Account,
    /// The session: its refresh token is already saved in the store.
    pub session: Session,
}

/// Signs a Google account in with the loopback flow for installed apps, and saves its refresh
/// token in `store` under the account's email.
///
/// Steps: listen on `127.0.0.1:<random port>`; build the consent URL (PKCE S256, a random
/// `state`, `access_type=offline`, `prompt=consent`, the configured scope); open the browser
/// and/or hand the URL to `options.show_url`; wait for the one trusted redirect (see
/// [the listener's rules](crate#the-loopback-listener)); exchange the code; ask `about.get`
/// who signed in; save the refresh token.
///
/// Errors: [`AuthError::AccessDenied`] when the user refuses consent;
/// [`AuthError::Timeout`] when no trusted answer comes within `options.timeout`;
/// [`AuthError::Refused`] for other OAuth errors; [`AuthError::Network`]; the store's errors
/// (then the new grant is revoked, so no unreachable grant is left behind).
pub async fn login(
    config: &AuthConfig,
    options: LoginOptions,
    store: &dyn TokenStore,
    clock: Arc<dyn Clock>,
) -> Result<SignedIn, AuthError> {
    let google = Google::new(config)?;
    let listener = Listener::bind().await?;
    let redirect = listener.redirect_uri().clone();
    let (url, state, verifier) = google.authorize_url(&redirect);
    tracing::info!(redirect_uri = %redirect, "waiting for Google's answer on the loopback address");
    if options.open_browser {
        if let Err(e) = open::that_detached(url.as_str()) {
            tracing::warn!(error = %e, "could not open a browser: open the sign-in link by hand");
        }
    }
    (options.show_url)(&url);
    let answer = listener
        .wait(Sensitive::new(state.into_secret()), options.timeout)
        .await?;
    let code = match answer {
        Answer::Code(code) => code,
        Answer::Error { error, .. } if error == "access_denied" => {
            return Err(AuthError::AccessDenied)
        }
        Answer::Error { error, description } => {
            return Err(AuthError::Refused { error, description })
        }
    };
    let issued = clock.now();
    let tokens = google.exchange_code(code, verifier, &redirect).await?;
    let refresh = tokens.refresh.clone().ok_or_else(|| {
        AuthError::Protocol(
            "the token endpoint gave no refresh token; remove drivesync at \
             https://myaccount.google.com/permissions and sign in again"
                .into(),
        )
    })?;
    let account = match google.account(&tokens.access).await {
        Ok(a) => a,
        Err(e) => {
            revoke_orphan(&google, &refresh).await;
            return Err(e);
        }
    };
    if let Err(e) = store.save(&account.email, &refresh).await {
        revoke_orphan(&google, &refresh).await;
        return Err(e);
    }
    tracing::info!(account = %account.email, "signed in");
    let session =
        Session::with_google(google, account.email.clone(), refresh, clock).seed(&tokens, issued);
    Ok(SignedIn { account, session })
}

/// Revokes a grant that could not be kept (best effort: the error at hand matters more).
async fn revoke_orphan(google: &Google, refresh: &Sensitive<String>) {
    if let Err(e) = google.revoke(refresh).await {
        tracing::warn!(error = %e, "could not revoke the grant that was not saved");
    }
}

/// Signs `account` out: revokes its refresh token at Google's revocation endpoint (which
/// ends the whole grant, access tokens included), then deletes its keychain entry. The token
/// is kept when the revoke fails, so the user can try again, unless `force` (the user
/// confirmed): then it is deleted anyway.
///
/// Errors: [`AuthError::RevokeFailed`] (nothing deleted), or [`AuthError::LogoutIncomplete`]
/// naming the step(s) that failed when forced. An account with no saved token has nothing to
/// revoke; that is not an error.
pub async fn logout(
    config: &AuthConfig,
    store: &dyn TokenStore,
    account: &str,
    force: bool,
) -> Result<(), AuthError> {
    let mut problems = Vec::new();
    match store.load(account).await {
        Ok(Some(token)) => {
            let revoked = match Google::new(config) {
                Ok(google) => google.revoke(&token).await,
                Err(e) => Err(e),
            };
            match revoked {
                Ok(()) => {}
                Err(e) if !force => {
                    return Err(AuthError::RevokeFailed {
                        account: account.to_owned(),
                        why: e.to_string(),
                    })
                }
                Err(e) => problems.push(format!("revoking the token failed ({e})")),
            }
        }
        Ok(None) => tracing::info!(account, "no saved token to revoke"),
        Err(e) => problems.push(format!("reading the token to revoke it failed ({e})")),
    }
    if let Err(e) = store.delete(account).await {
        problems.push(format!("deleting the keychain entry failed ({e})"));
    }
    if problems.is_empty() {
        tracing::info!(account, "signed out");
        Ok(())
    } else {
        Err(AuthError::LogoutIncomplete {
            account: account.to_owned(),
            problems: problems.join("; "),
        })
    }
}
