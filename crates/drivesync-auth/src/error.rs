//! What can go wrong signing in or keeping a session alive.

/// An authentication failure. Every variant says what happened and what the user can do.
///
/// No variant ever carries a token, a code or a client secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The refresh token was revoked or expired (`invalid_grant`): the account must be
    /// connected again. The engine pauses on this; it never retries in a loop.
    #[error("Google no longer accepts drivesync's access for {account}: sign in again with `drivesync login`")]
    Reconnect {
        /// The account (email) or `the account` when unknown.
        account: String,
    },
    /// A transient failure reaching the token endpoint; retrying later may work.
    #[error("could not reach Google's sign-in service: {0}")]
    Network(String),
    /// Any other refusal from the token endpoint.
    #[error("Google refused the sign-in ({error}): {description}")]
    Refused {
        /// The OAuth error code.
        error: String,
        /// Google's description.
        description: String,
    },
    /// The user pressed "Cancel" (or "Deny") on Google's consent page (`access_denied`).
    #[error("access was not granted on Google's consent page: run `drivesync login` again and choose Allow to let drivesync sync your Drive")]
    AccessDenied,
    /// No valid answer came back to the loopback listener in time.
    #[error("no answer from the browser within {seconds} s{}: run `drivesync login` again and finish signing in in the browser (with `--no-browser`, open the printed link yourself)", ignored_note(*.ignored))]
    Timeout {
        /// How long the flow waited.
        seconds: u64,
        /// Answers that were refused because their `state` did not match this sign-in.
        ignored: u32,
    },
    /// The loopback listener for Google's answer could not be opened.
    #[error("could not listen on 127.0.0.1 for Google's answer: {0}; check that loopback networking is allowed")]
    Loopback(String),
    /// Google (or the stand-in) answered in a shape drivesync does not understand.
    #[error("unexpected answer from Google: {0}; try again, and report it if it keeps happening")]
    Protocol(String),
    /// No OS keychain could be reached to keep the refresh token.
    #[error("no keychain is reachable to keep the sign-in: {0}. Start or unlock your keychain (on Linux a Secret Service such as GNOME Keyring or KWallet), or opt in to plaintext token storage in the config")]
    NoKeychain(String),
    /// The keychain (or the opted-in token file) was reached but failed to read or write.
    #[error("could not use the token store: {0}")]
    Store(String),
    /// There is no saved sign-in for this account.
    #[error("drivesync has no saved sign-in for {account}: run `drivesync login`")]
    NotSignedIn {
        /// The account (email).
        account: String,
    },
    /// Google did not confirm the revoke: nothing was deleted, the account is still signed
    /// in (its sync goes on).
    #[error("signing out {account} failed: Google did not confirm that drivesync's access is revoked ({why}). You are still signed in. Try again, or sign out anyway (`drivesync logout --force`, or Sign out anyway in the app) and remove drivesync at https://myaccount.google.com/permissions")]
    RevokeFailed {
        /// The account (email).
        account: String,
        /// Why the revoke failed.
        why: String,
    },
    /// Logging out finished only in part; the text says which step failed.
    #[error("signed out {account}, but not completely: {problems}. Remove drivesync's access at https://myaccount.google.com/permissions (and its keychain entry by hand if deleting it failed)")]
    LogoutIncomplete {
        /// The account (email).
        account: String,
        /// What failed (revoking, deleting the keychain entry, or both).
        problems: String,
    },
}

fn ignored_note(ignored: u32) -> String {
    match ignored {
        0 => String::new(),
        1 => " (1 answer with a wrong state was ignored)".into(),
        n => format!(" ({n} answers with a wrong state were ignored)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_mentions_ignored_answers() {
        let e = AuthError::Timeout {
            seconds: 300,
            ignored: 2,
        };
        let s = e.to_string();
        assert!(s.contains("300 s (2 answers with a wrong state"), "{s}");
        let s = AuthError::Timeout {
            seconds: 1,
            ignored: 0,
        }
        .to_string();
        assert!(
            s.starts_with("no answer from the browser within 1 s:"),
            "{s}"
        );
    }
}
