//! Sign-in for drivesync: loopback OAuth 2.0 with PKCE, refresh tokens in the OS keychain,
//! access tokens in memory, refreshed before they expire.
//!
//! * [`login`] runs the installed-app flow and saves the refresh token in a [`TokenStore`];
//!   it returns a [`Session`], the [`AccessTokenSource`] the Drive client uses.
//! * [`Session::restore`] picks a saved account up again; [`logout`] revokes and forgets it.
//! * [`open_token_store`] gives the OS keychain ([`KeyringStore`]), or a
//!   [`PlaintextFileStore`] only when the user opted in and no keychain answers.
//!
//! # The loopback listener
//!
//! It binds `127.0.0.1` on a random port and answers every request it gets:
//! * the redirect with a `code` and our `state`: a success page; the flow goes on;
//! * an `error` with our `state`: a page with the error and what to do; the flow fails with
//!   [`AuthError::AccessDenied`] (`access_denied`) or [`AuthError::Refused`];
//! * a `code` or `error` whose `state` is missing or wrong: a 400 page saying so; the answer is
//!   **ignored and the flow keeps waiting** (it cannot be trusted, and must not be able to
//!   cancel the sign-in); if nothing trusted follows, [`AuthError::Timeout`] counts it;
//! * anything else (`/favicon.ico`, no code): 404, ignored.
//!
//! It accepts exactly one trusted answer and then closes.
//!
//! # Secrets
//!
//! Tokens, codes and the client secret are held in [`Sensitive`] (redacted `Debug`), never
//! put in a tracing field, an error message, or a URL that could be logged.

mod clock;
mod config;
mod error;
mod google;
mod login;
mod loopback;
mod session;
mod source;
mod store;

#[cfg(feature = "fake")]
pub use clock::ManualClock;
pub use clock::{Clock, SystemClock};
pub use config::{AuthConfig, DriveScope, LoginOptions, UrlSink};
pub use drivesync_model::Sensitive;
pub use error::AuthError;
pub use google::Account;
pub use login::{login, logout, SignedIn};
pub use session::{Session, REFRESH_MARGIN};
pub use source::{AccessTokenSource, StaticToken};
#[cfg(feature = "fake")]
pub use store::MemTokenStore;
pub use store::{open_token_store, KeyringStore, PlaintextFileStore, TokenStore};
