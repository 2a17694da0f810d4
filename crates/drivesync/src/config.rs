//! Configuration: a TOML file in the platform config folder (or `--config FILE`), then the
//! environment, then the command line. Holds no secrets but the OAuth client secret, which
//! Google documents as not secret for desktop apps.
//!
//! ```toml
//! data_dir = "/path"                    # default: the platform data folder
//! [google]
//! client_id = "....apps.googleusercontent.com"
//! client_secret = "..."
//! scope = "drive"                       # or "drive.file"
//! endpoint = "http://127.0.0.1:8910"    # every Google URL at one server (drive-emulator)
//! [security]
//! allow_plaintext_tokens = false        # only if no keychain is reachable; file mode 0600
//! plaintext_tokens_only = false         # never use the keychain (the demo, throwaway setups)
//! [sync]
//! poll_seconds = 15                     # how often `drivesync run` reads Drive's changes
//! upload_limit_kib = 0                  # KiB/s for uploads, 0 = unlimited
//! download_limit_kib = 0                # KiB/s for downloads, 0 = unlimited
//! [app]
//! autostart = false                     # the desktop app starts at login
//! log_level = "info"                    # error, warn, info, debug or trace
//! ```

use std::path::{Path, PathBuf};

use drivesync_auth::{AuthConfig, DriveScope};
use drivesync_model::{GoogleEndpoints, Sensitive};
use url::Url;

use crate::Error;

/// What the command line overrides.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--config FILE`.
    pub config_file: Option<PathBuf>,
    /// `--endpoint URL`: every Google URL at this server.
    pub endpoint: Option<Url>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    google: GoogleSection,
    security: SecuritySection,
    sync: SyncSection,
    app: AppSection,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
struct AppSection {
    autostart: bool,
    log_level: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
struct SyncSection {
    poll_seconds: Option<u64>,
    upload_limit_kib: u64,
    download_limit_kib: u64,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
struct GoogleSection {
    client_id: Option<String>,
    client_secret: Option<Sensitive<String>>,
    scope: Option<String>,
    endpoint: Option<Url>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
struct SecuritySection {
    allow_plaintext_tokens: bool,
    plaintext_tokens_only: bool,
}

/// The configuration in effect.
#[derive(Debug, Clone)]
pub struct Config {
    /// The config file (it may not exist).
    pub path: PathBuf,
    /// Where drivesync keeps its state.
    pub data_dir: PathBuf,
    client_id: Option<String>,
    client_secret: Option<Sensitive<String>>,
    scope: DriveScope,
    endpoint: Option<Url>,
    allow_plaintext_tokens: bool,
    /// Tokens go to the plaintext file even when a keychain is there.
    pub plaintext_tokens_only: bool,
    /// How often a running drivesync reads Drive's change feed when idle.
    pub poll: std::time::Duration,
    /// Upload speed limit in bytes per second (`None`: unlimited).
    pub upload_limit: Option<u64>,
    /// Download speed limit in bytes per second (`None`: unlimited).
    pub download_limit: Option<u64>,
    /// The desktop app starts at login.
    pub autostart: bool,
    /// How much the logs say (`error` ... `trace`); `DRIVESYNC_LOG` overrides it.
    pub log_level: String,
}

impl Config {
    /// drivesync's own folders, never part of a pair: the data folder, and the config folder
    /// when it is drivesync's own (the platform's), else just the config file. Canonical, as
    /// pairs' folders are.
    pub fn own_paths(&self) -> Vec<PathBuf> {
        let platform = dirs().map(|d| d.config_dir().to_owned());
        let config = match self.path.parent() {
            Some(dir) if Some(dir) == platform.as_deref() => dir.to_owned(),
            _ => self.path.clone(),
        };
        [&self.data_dir, &config]
            .into_iter()
            .map(|p| crate::overlap::canonical(p))
            .collect()
    }
}

/// An endpoint tokens may go to: https anywhere, http only on this computer (the emulator).
fn safe_endpoint(u: &Url) -> bool {
    match (u.scheme(), u.host()) {
        ("https", Some(_)) => true,
        ("http", Some(url::Host::Ipv4(ip))) => ip.is_loopback(),
        ("http", Some(url::Host::Ipv6(ip))) => ip.is_loopback(),
        ("http", Some(url::Host::Domain(d))) => d.eq_ignore_ascii_case("localhost"),
        _ => false,
    }
}

/// A limit in KiB/s from the config (0 = unlimited) in bytes per second.
pub fn kib_limit(kib: u64) -> Option<u64> {
    (kib > 0).then(|| kib.saturating_mul(1024))
}

fn dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("org", "drivesync", "drivesync")
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Config {
    /// Reads the file (a missing file is an empty config), then `DRIVESYNC_CLIENT_ID`,
    /// `DRIVESYNC_CLIENT_SECRET`, `DRIVESYNC_ENDPOINT`, then `overrides`.
    pub fn load(overrides: &Overrides) -> Result<Self, Error> {
        let path = match &overrides.config_file {
            Some(p) => p.clone(),
            None => dirs()
                .map(|d| d.config_dir().join("config.toml"))
                .unwrap_or_else(|| PathBuf::from("drivesync.toml")),
        };
        let file = read(&path)?;
        let bad = |why: String| Error::Config {
            path: path.clone(),
            why,
        };
        let scope = match file.google.scope.as_deref() {
            None | Some("drive") | Some("https://www.googleapis.com/auth/drive") => {
                DriveScope::Drive
            }
            Some("drive.file") | Some("https://www.googleapis.com/auth/drive.file") => {
                DriveScope::DriveFile
            }
            Some(other) => {
                return Err(bad(format!(
                    "google.scope is \"drive\" or \"drive.file\", not {other:?}"
                )))
            }
        };
        let endpoint = match (&overrides.endpoint, env("DRIVESYNC_ENDPOINT")) {
            (Some(u), _) => Some(u.clone()),
            (None, Some(e)) => Some(
                Url::parse(&e).map_err(|err| bad(format!("DRIVESYNC_ENDPOINT {e:?}: {err}")))?,
            ),
            (None, None) => file.google.endpoint,
        };
        if let Some(e) = endpoint.as_ref().filter(|e| !safe_endpoint(e)) {
            return Err(bad(format!(
                "the endpoint {e} is refused: tokens are only sent over https, or over http to \
                 this computer (127.0.0.1, ::1, localhost)"
            )));
        }
        let data_dir = match file.data_dir {
            Some(d) if d.is_relative() => path.parent().unwrap_or(Path::new(".")).join(d),
            Some(d) => d,
            None => dirs()
                .map(|d| d.data_dir().to_owned())
                .ok_or_else(|| bad("no home folder: set data_dir".into()))?,
        };
        Ok(Self {
            path: path.clone(),
            data_dir,
            client_id: env("DRIVESYNC_CLIENT_ID").or(file.google.client_id),
            client_secret: env("DRIVESYNC_CLIENT_SECRET")
                .map(Sensitive::new)
                .or(file.google.client_secret),
            scope,
            endpoint,
            allow_plaintext_tokens: file.security.allow_plaintext_tokens
                || file.security.plaintext_tokens_only,
            plaintext_tokens_only: file.security.plaintext_tokens_only,
            poll: match file.sync.poll_seconds {
                Some(0) => return Err(bad("sync.poll_seconds must be at least 1".into())),
                Some(s) => std::time::Duration::from_secs(s),
                None => std::time::Duration::from_secs(15),
            },
            upload_limit: kib_limit(file.sync.upload_limit_kib),
            download_limit: kib_limit(file.sync.download_limit_kib),
            autostart: file.app.autostart,
            log_level: match file.app.log_level {
                Some(l) if crate::desktop::LOG_LEVELS.contains(&l.as_str()) => l,
                Some(l) => {
                    return Err(bad(format!(
                        "app.log_level is one of {}, not {l:?}",
                        crate::desktop::LOG_LEVELS.join(", ")
                    )))
                }
                None => "info".to_owned(),
            },
        })
    }

    /// Every Google URL: Google's, or all at the configured endpoint.
    pub fn endpoints(&self) -> GoogleEndpoints {
        self.endpoint
            .as_ref()
            .map(GoogleEndpoints::at)
            .unwrap_or_default()
    }

    /// Where Drive's web pages are (`https://drive.google.com/`), or the configured endpoint:
    /// drive-emulator serves pages at the same paths, so "Open in Drive" works in the demo.
    pub fn drive_web(&self) -> String {
        match &self.endpoint {
            Some(u) => u.as_str().trim_end_matches('/').to_owned(),
            None => "https://drive.google.com".to_owned(),
        }
    }

    /// The OAuth client configuration.
    pub fn auth(&self) -> Result<AuthConfig, Error> {
        match (&self.client_id, &self.client_secret) {
            (Some(id), Some(secret)) => Ok(AuthConfig::new(id.clone(), secret.expose().clone())
                .with_endpoints(self.endpoints())
                .with_scope(self.scope)),
            _ => Err(Error::NoClient {
                config: self.path.clone(),
            }),
        }
    }

    /// The plaintext token file, if the user allowed one (used only without a keychain).
    pub fn plaintext_token_file(&self) -> Option<PathBuf> {
        self.allow_plaintext_tokens
            .then(|| self.data_dir.join("tokens.json"))
    }
}

fn read(path: &Path) -> Result<FileConfig, Error> {
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text).map_err(|e| Error::Config {
            path: path.to_owned(),
            why: parse_error(&text, &e),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FileConfig::default()),
        Err(e) => Err(Error::Io {
            path: path.to_owned(),
            source: e,
        }),
    }
}

/// A TOML error as the line and what is wrong, never the text of the file: the file holds the
/// client secret, and error messages reach terminals and logs. Quoted values in the message
/// (a string of the wrong type, say) are left out too.
fn parse_error(text: &str, e: &toml::de::Error) -> String {
    let mut why = String::new();
    let mut quoted = false;
    for c in e.message().chars() {
        match c {
            '"' if !quoted => {
                quoted = true;
                why.push_str("\"…");
            }
            '"' => {
                quoted = false;
                why.push('"');
            }
            _ if quoted => {}
            c => why.push(c),
        }
    }
    match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {}", why.trim())
        }
        None => why.trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_config_file_is_reported_by_line_without_its_text() {
        for text in [
            "[google]\nclient_id = \"id\"\nclient_secret = \"s3cr3t-unterminated\n",
            "[google]\nclient_secret = \"s3cr3t\"\n[sync]\npoll_seconds = \"s3cr3t\"\n",
        ] {
            let e = load_text(text).unwrap_err().to_string();
            assert!(!e.contains("s3cr3t"), "{e}");
            assert!(e.contains("line 3") || e.contains("line 4"), "{e}");
        }
    }

    fn load_text(text: &str) -> Result<Config, Error> {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("c.toml");
        std::fs::write(&p, text).unwrap();
        Config::load(&Overrides {
            config_file: Some(p),
            endpoint: None,
        })
    }

    #[test]
    fn reads_the_file_and_resolves_a_relative_data_dir() {
        let c = load_text("data_dir = \"state\"\n[google]\nclient_id = \"id\"\nclient_secret = \"s\"\nscope = \"drive.file\"\nendpoint = \"http://127.0.0.1:1\"\n").unwrap();
        assert!(c.data_dir.ends_with("state") && c.data_dir.is_absolute());
        assert_eq!(c.endpoints().token_url.as_str(), "http://127.0.0.1:1/token");
        assert_eq!(c.auth().unwrap().scope, DriveScope::DriveFile);
    }

    #[test]
    fn unknown_keys_and_bad_scopes_are_errors_naming_the_file() {
        let e = load_text("[google]\nclient_idd = \"x\"\n").unwrap_err();
        assert!(e.to_string().contains("c.toml"), "{e}");
        assert!(load_text("[google]\nscope = \"everything\"\n").is_err());
    }

    #[test]
    fn an_endpoint_gets_tokens_only_over_https_or_on_this_computer() {
        for ok in [
            "http://127.0.0.1:8910",
            "http://[::1]:1",
            "http://localhost:1",
            "https://drive.example",
        ] {
            let c = load_text(&format!("[google]\nendpoint = \"{ok}\"\n"));
            assert!(c.is_ok(), "{ok}: {:?}", c.err());
        }
        for bad in [
            "http://drive.example",
            "http://10.0.0.1:80",
            "ftp://127.0.0.1",
        ] {
            let e = load_text(&format!("[google]\nendpoint = \"{bad}\"\n")).unwrap_err();
            assert!(e.to_string().contains("only sent over https"), "{bad}: {e}");
        }
    }

    #[test]
    fn without_a_client_auth_says_where_to_set_it() {
        let c = load_text("data_dir = \"/tmp/x\"\n").unwrap();
        let e = c.auth().unwrap_err().to_string();
        assert!(e.contains("client_id") && e.contains("c.toml"), "{e}");
    }
}
