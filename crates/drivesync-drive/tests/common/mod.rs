//! What the integration tests share: an emulator per test with a [`GoogleDrive`] on it, a
//! token source that refreshes at the emulator's `/token`, fast retries, and test files.
#![allow(dead_code)]

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use drive_emulator::{Emulator, EmulatorConfig, EmulatorHandle, FaultSpec};
use drivesync_auth::{AccessTokenSource, AuthError};
use drivesync_drive::{DriveConfig, DriveId, GoogleDrive, Md5, RetryPolicy};
use drivesync_model::{GoogleEndpoints, Sensitive};
use md5::Digest;

/// A token source for tests: the emulator's minted access token, refreshed at its `/token`
/// with the minted refresh token.
pub struct Refreshing {
    http: reqwest::Client,
    token_url: String,
    refresh_token: String,
    current: Mutex<String>,
    /// Refreshes done.
    pub refreshes: AtomicU32,
}

#[async_trait]
impl AccessTokenSource for Refreshing {
    async fn access_token(&self) -> Result<Sensitive<String>, AuthError> {
        Ok(Sensitive::new(self.current.lock().unwrap().clone()))
    }

    async fn refresh_rejected(
        &self,
        rejected: &Sensitive<String>,
    ) -> Result<Sensitive<String>, AuthError> {
        {
            let cur = self.current.lock().unwrap();
            if *cur != *rejected.expose() {
                return Ok(Sensitive::new(cur.clone()));
            }
        }
        let resp: serde_json::Value = self
            .http
            .post(&self.token_url)
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", self.refresh_token.as_str()),
                ("client_id", drive_emulator::DEFAULT_CLIENT_ID),
                ("client_secret", drive_emulator::DEFAULT_CLIENT_SECRET),
            ])
            .send()
            .await
            .map_err(|e| AuthError::Network(e.to_string()))?
            .json()
            .await
            .map_err(|e| AuthError::Network(e.to_string()))?;
        let token = resp["access_token"].as_str().ok_or(AuthError::Reconnect {
            account: "the account".into(),
        })?;
        *self.current.lock().unwrap() = token.to_owned();
        self.refreshes.fetch_add(1, Ordering::SeqCst);
        Ok(Sensitive::new(token.to_owned()))
    }
}

/// Retries fast enough for tests.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 6,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(100),
        max_retry_after: Duration::from_secs(5),
    }
}

/// A running emulator and a client on it.
pub struct Env {
    /// The emulator.
    pub emu: EmulatorHandle,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The client.
    pub drive: GoogleDrive<Refreshing>,
    /// A raw HTTP client with a valid token, for setting things up behind the client's back.
    pub raw: reqwest::Client,
    /// The first access token minted.
    pub token: String,
}

impl Env {
    /// An emulator and a client with default settings but fast retries.
    pub async fn start() -> Env {
        Self::start_with(|_| {}).await
    }

    /// ... with the client's config adjusted by `tweak`.
    pub async fn start_with(tweak: impl FnOnce(&mut DriveConfig)) -> Env {
        let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
        let base = emu.base_url();
        let tokens = emu.mint_tokens(None).unwrap();
        let token = tokens.access_token.clone();
        let drive = client(
            &base,
            tokens.access_token,
            tokens.refresh_token.unwrap(),
            tweak,
        );
        Env {
            emu,
            base,
            drive,
            raw: reqwest::Client::new(),
            token,
        }
    }

    /// Another client on the same emulator (a restarted process).
    pub fn new_client(&self, tweak: impl FnOnce(&mut DriveConfig)) -> GoogleDrive<Refreshing> {
        let tokens = self.emu.mint_tokens(None).unwrap();
        client(
            &self.base,
            tokens.access_token,
            tokens.refresh_token.unwrap(),
            tweak,
        )
    }

    /// Injects a fault.
    pub fn fault(&self, method: &str, path: &str, count: u32, f: impl FnOnce(&mut FaultSpec)) {
        let mut spec = FaultSpec {
            method: Some(method.into()),
            path: Some(path.into()),
            count: Some(count),
            ..FaultSpec::default()
        };
        f(&mut spec);
        self.emu.add_fault(spec);
    }

    /// Deletes a file for good (not in the client's API: drivesync never does).
    pub async fn delete_forever(&self, id: &DriveId) {
        let r = self
            .raw
            .delete(format!("{}/drive/v3/files/{id}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    }

    /// Creates a Google Doc.
    pub async fn google_doc(&self, parent: &DriveId, name: &str) -> DriveId {
        let v: serde_json::Value = self
            .raw
            .post(format!("{}/drive/v3/files", self.base))
            .bearer_auth(&self.token)
            .json(&serde_json::json!({
                "name": name,
                "mimeType": "application/vnd.google-apps.document",
                "parents": [parent],
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        DriveId::new(v["id"].as_str().unwrap())
    }
}

fn client(
    base: &str,
    access: String,
    refresh: String,
    tweak: impl FnOnce(&mut DriveConfig),
) -> GoogleDrive<Refreshing> {
    let endpoints = GoogleEndpoints::at(&url::Url::parse(base).unwrap());
    let token_url = endpoints.token_url.to_string();
    let mut config = DriveConfig::at(endpoints);
    config.retry = fast_retry();
    config.read_timeout = Duration::from_secs(20);
    tweak(&mut config);
    let auth = Refreshing {
        http: reqwest::Client::new(),
        token_url,
        refresh_token: refresh,
        current: Mutex::new(access),
        refreshes: AtomicU32::new(0),
    };
    GoogleDrive::new(auth, config).unwrap()
}

/// Writes `len` bytes of a fast deterministic pattern (no two 8 KiB blocks alike) to `path`;
/// returns their MD5.
pub fn write_pattern(path: &Path, len: u64, seed: u64) -> Md5 {
    const BLOCK: usize = 1 << 20;
    let mut base = vec![0u8; BLOCK];
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for b in base.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        b.copy_from_slice(&x.to_le_bytes()[..b.len()]);
    }
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut h = md5::Md5::new();
    let mut off = 0u64;
    while off < len {
        let n = (len - off).min(BLOCK as u64) as usize;
        for (i, b) in base[..n].chunks_mut(8192).enumerate() {
            let k = b.len().min(8);
            b[..k].copy_from_slice(&(off + (i * 8192) as u64).to_le_bytes()[..k]);
        }
        h.update(&base[..n]);
        f.write_all(&base[..n]).unwrap();
        off += n as u64;
    }
    f.flush().unwrap();
    Md5(h.finalize().into())
}

/// The MD5 of `data`.
pub fn md5_of(data: &[u8]) -> Md5 {
    Md5(md5::Md5::digest(data).into())
}
