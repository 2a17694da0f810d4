//! What a sign-in needs to know: the OAuth client, Google's endpoints, the scope, and how to
//! reach the user (browser, timeout).

use std::time::Duration;

use drivesync_model::{GoogleEndpoints, Sensitive};
use url::Url;

/// The Drive access drivesync asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriveScope {
    /// Every file in the user's Drive (`.../auth/drive`): needed to mirror folders the user
    /// already has.
    #[default]
    Drive,
    /// Only files drivesync created or the user opened with it (`.../auth/drive.file`).
    DriveFile,
}

impl DriveScope {
    /// The OAuth scope string sent to Google.
    pub fn as_str(self) -> &'static str {
        match self {
            DriveScope::Drive => "https://www.googleapis.com/auth/drive",
            DriveScope::DriveFile => "https://www.googleapis.com/auth/drive.file",
        }
    }
}

/// The OAuth client and where Google is. A desktop client's secret is not secret (Google
/// documents this), but it is still kept out of logs.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// The OAuth client id (`....apps.googleusercontent.com`).
    pub client_id: String,
    /// The OAuth client secret, sent in the token request body.
    pub client_secret: Sensitive<String>,
    /// Every Google URL; Google's by default, an emulator's in tests and the demo.
    pub endpoints: GoogleEndpoints,
    /// The Drive access to ask for.
    pub scope: DriveScope,
}

impl AuthConfig {
    /// A configuration for `client_id`/`client_secret` against Google's endpoints with the
    /// full Drive scope.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: Sensitive::new(client_secret.into()),
            endpoints: GoogleEndpoints::default(),
            scope: DriveScope::default(),
        }
    }

    /// The same configuration pointed at other endpoints (an emulator).
    pub fn with_endpoints(mut self, endpoints: GoogleEndpoints) -> Self {
        self.endpoints = endpoints;
        self
    }

    /// The same configuration asking for `scope`.
    pub fn with_scope(mut self, scope: DriveScope) -> Self {
        self.scope = scope;
        self
    }
}

/// Receives the consent URL so the user can open it (printed by the CLI, shown by the app, or
/// followed by a test's headless browser).
pub type UrlSink = Box<dyn FnOnce(&Url) + Send>;

/// How the loopback sign-in reaches the user.
pub struct LoginOptions {
    /// Open the system browser with the consent URL (the `open` crate). When false
    /// (`--no-browser`) only [`LoginOptions::show_url`] gets it.
    pub open_browser: bool,
    /// Called once with the consent URL, after the browser was asked to open it (or instead,
    /// with `open_browser` false), so the user can open it by hand.
    pub show_url: UrlSink,
    /// How long to wait for the browser's answer before giving up with
    /// [`crate::AuthError::Timeout`].
    pub timeout: Duration,
}

impl LoginOptions {
    /// The default wait for the browser: 5 minutes.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

    /// Opens the system browser, also hands the URL to `show_url`, waits 5 minutes.
    pub fn browser(show_url: impl FnOnce(&Url) + Send + 'static) -> Self {
        Self {
            open_browser: true,
            show_url: Box::new(show_url),
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }

    /// Opens nothing: only `show_url` gets the URL (`--no-browser`); waits 5 minutes.
    pub fn no_browser(show_url: impl FnOnce(&Url) + Send + 'static) -> Self {
        Self {
            open_browser: false,
            ..Self::browser(show_url)
        }
    }

    /// The same options with another timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl std::fmt::Debug for LoginOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginOptions")
            .field("open_browser", &self.open_browser)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_and_defaults() {
        assert_eq!(
            DriveScope::default().as_str(),
            "https://www.googleapis.com/auth/drive"
        );
        assert!(DriveScope::DriveFile.as_str().ends_with("/drive.file"));
        let c = AuthConfig::new("id", "secret");
        assert_eq!(format!("{c:?}").matches("secret").count(), 1); // the field name only
        let o = LoginOptions::no_browser(|_| {});
        assert!(!o.open_browser);
        assert_eq!(o.timeout, Duration::from_secs(300));
    }
}
