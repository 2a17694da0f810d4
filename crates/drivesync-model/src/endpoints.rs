//! Every Google URL drivesync talks to, as configuration: Google's by default, an emulator's in
//! tests and the demo.

use url::Url;

/// The OAuth and Drive endpoints.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GoogleEndpoints {
    /// The consent page (`/auth`).
    pub auth_url: Url,
    /// The token endpoint.
    pub token_url: Url,
    /// The revocation endpoint.
    pub revoke_url: Url,
    /// The API root; Drive calls go to `{api_root}drive/v3/...`.
    pub api_root: Url,
    /// The upload root; uploads go to `{upload_root}upload/drive/v3/files`.
    pub upload_root: Url,
}

impl Default for GoogleEndpoints {
    fn default() -> Self {
        let u = |s: &str| Url::parse(s).expect("constant URL");
        Self {
            auth_url: u("https://accounts.google.com/o/oauth2/v2/auth"),
            token_url: u("https://oauth2.googleapis.com/token"),
            revoke_url: u("https://oauth2.googleapis.com/revoke"),
            api_root: u("https://www.googleapis.com/"),
            upload_root: u("https://www.googleapis.com/"),
        }
    }
}

impl GoogleEndpoints {
    /// Every endpoint on one server (`drive-emulator`): `{base}/auth`, `{base}/token`,
    /// `{base}/revoke`, and `{base}/` as API and upload root.
    pub fn at(base: &Url) -> Self {
        let mut root = base.clone();
        if !root.path().ends_with('/') {
            root.set_path(&format!("{}/", root.path()));
        }
        let join = |p: &str| root.join(p).expect("relative path joins");
        Self {
            auth_url: join("auth"),
            token_url: join("token"),
            revoke_url: join("revoke"),
            api_root: root.clone(),
            upload_root: root.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_base_for_everything() {
        let e = GoogleEndpoints::at(&Url::parse("http://127.0.0.1:8910").unwrap());
        assert_eq!(e.token_url.as_str(), "http://127.0.0.1:8910/token");
        assert_eq!(e.api_root.as_str(), "http://127.0.0.1:8910/");
        assert_eq!(
            GoogleEndpoints::default().api_root.as_str(),
            "https://www.googleapis.com/"
        );
    }
}
