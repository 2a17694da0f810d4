//! Helpers shared by the integration tests: an emulator per test, an authed HTTP client, and
//! small Drive operations over real HTTP.
#![allow(dead_code)]

use drive_emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use md5::{Digest, Md5};
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{json, Value};

/// The folder MIME type.
pub const FOLDER: &str = "application/vnd.google-apps.folder";
/// The Google Doc MIME type.
pub const DOC: &str = "application/vnd.google-apps.document";
/// MD5 of no bytes.
pub const EMPTY_MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";
/// Resumable chunk granularity.
pub const KIB256: usize = 256 * 1024;

/// A running emulator plus a client holding a live access token.
pub struct Env {
    /// The emulator.
    pub emu: EmulatorHandle,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// A live access token.
    pub token: String,
    /// A client that never follows redirects.
    pub http: reqwest::Client,
}

/// A client that does not follow redirects (OAuth 302s, upload 308s stay visible).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// MD5 as lower-case hex.
pub fn md5_hex(data: &[u8]) -> String {
    Md5::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Deterministic test content of `len` bytes.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

/// `error.errors[0].reason` of a Google error body.
pub fn reason(v: &Value) -> &str {
    v["error"]["errors"][0]["reason"].as_str().unwrap_or("")
}

/// Sends and returns status, headers and the body as JSON (`Null` when empty or not JSON).
pub async fn send(rb: RequestBuilder) -> (StatusCode, HeaderMap, Value) {
    let resp = rb.send().await.expect("request sent");
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.expect("body read");
    let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, headers, v)
}

/// Asserts a Google error with `status` and `reason`, and the documented shape.
pub fn assert_error(status: StatusCode, body: &Value, want: u16, want_reason: &str) {
    assert_eq!(status.as_u16(), want, "unexpected status, body {body}");
    assert_eq!(body["error"]["code"], want, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    assert_eq!(body["error"]["errors"][0]["domain"], "global", "{body}");
    assert_eq!(reason(body), want_reason, "{body}");
}

impl Env {
    /// An emulator with the default configuration.
    pub async fn start() -> Env {
        Self::start_with(EmulatorConfig::default()).await
    }

    /// An emulator with `config` (port 0 forced).
    pub async fn start_with(mut config: EmulatorConfig) -> Env {
        config.port = 0;
        let emu = Emulator::start(config).await.expect("emulator starts");
        let token = emu.mint_tokens(None).expect("tokens").access_token;
        Env {
            base: emu.base_url(),
            emu,
            token,
            http: client(),
        }
    }

    /// Absolute URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// An authed request.
    pub fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(&self.token)
    }

    /// An authed GET.
    pub fn get(&self, path: &str) -> RequestBuilder {
        self.req(Method::GET, path)
    }

    /// Sends an authed request with a JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut rb = self.req(method, path);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let (s, _, v) = send(rb).await;
        (s, v)
    }

    /// GET returning status and JSON.
    pub async fn get_json(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    /// Metadata-only create; panics unless 200. `fields=*`.
    pub async fn create(&self, meta: Value) -> Value {
        let (s, v) = self
            .call(Method::POST, "/drive/v3/files?fields=*", Some(meta))
            .await;
        assert_eq!(s, StatusCode::OK, "create failed: {v}");
        v
    }

    /// Creates a folder under `parent` (root if `None`); returns its id.
    pub async fn folder(&self, name: &str, parent: Option<&str>) -> String {
        let mut meta = json!({"name": name, "mimeType": FOLDER});
        if let Some(p) = parent {
            meta["parents"] = json!([p]);
        }
        self.create(meta).await["id"]
            .as_str()
            .expect("id")
            .to_owned()
    }

    /// Uploads a binary file by multipart (CRLF); returns the file JSON (`fields=*`).
    pub async fn upload(&self, name: &str, parent: Option<&str>, content: &[u8]) -> Value {
        let mut meta = json!({"name": name});
        if let Some(p) = parent {
            meta["parents"] = json!([p]);
        }
        let (s, v) = self.multipart(&meta, content, "\r\n").await;
        assert_eq!(s, StatusCode::OK, "upload failed: {v}");
        v
    }

    /// A multipart upload with line ends `nl`; returns status and body.
    pub async fn multipart(&self, meta: &Value, content: &[u8], nl: &str) -> (StatusCode, Value) {
        let body = multipart_body(meta, content, nl);
        let rb = self
            .req(
                Method::POST,
                "/upload/drive/v3/files?uploadType=multipart&fields=*",
            )
            .header(
                "content-type",
                format!("multipart/related; boundary={BOUNDARY}"),
            )
            .body(body);
        let (s, _, v) = send(rb).await;
        (s, v)
    }

    /// PATCH metadata with `query` (e.g. `addParents=..`); returns status and body (`fields=*`).
    pub async fn patch(&self, id: &str, query: &str, body: Value) -> (StatusCode, Value) {
        let path = format!("/drive/v3/files/{id}?fields=*&{query}");
        self.call(Method::PATCH, &path, Some(body)).await
    }

    /// The file with `fields=*`; panics unless 200.
    pub async fn file(&self, id: &str) -> Value {
        let (s, v) = self
            .get_json(&format!("/drive/v3/files/{id}?fields=*"))
            .await;
        assert_eq!(s, StatusCode::OK, "get {id}: {v}");
        v
    }

    /// Every file matching `q` (all pages), `fields=nextPageToken,files(*)`.
    pub async fn list(&self, q: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut rb = self.get("/drive/v3/files").query(&[
                ("q", q),
                ("pageSize", "1000"),
                ("fields", "nextPageToken,files(*)"),
            ]);
            if let Some(t) = &token {
                rb = rb.query(&[("pageToken", t)]);
            }
            let (s, _, v) = send(rb).await;
            assert_eq!(s, StatusCode::OK, "list {q}: {v}");
            out.extend(v["files"].as_array().expect("files").iter().cloned());
            match v["nextPageToken"].as_str() {
                Some(t) => token = Some(t.to_owned()),
                None => return out,
            }
        }
    }

    /// Names of the files matching `q`, sorted.
    pub async fn names(&self, q: &str) -> Vec<String> {
        let mut n: Vec<String> = self
            .list(q)
            .await
            .iter()
            .map(|f| f["name"].as_str().expect("name").to_owned())
            .collect();
        n.sort();
        n
    }

    /// Downloads content; returns status, headers and bytes.
    pub async fn download(
        &self,
        id: &str,
        range: Option<&str>,
    ) -> (StatusCode, HeaderMap, Vec<u8>) {
        let mut rb = self.get(&format!("/drive/v3/files/{id}?alt=media"));
        if let Some(r) = range {
            rb = rb.header("range", r);
        }
        let resp = rb.send().await.expect("download sent");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("download body").to_vec();
        (status, headers, bytes)
    }

    /// Starts a resumable create session; returns the absolute session URI.
    pub async fn resumable_start(&self, meta: &Value, total: Option<u64>) -> String {
        let mut rb = self
            .req(
                Method::POST,
                "/upload/drive/v3/files?uploadType=resumable&fields=*",
            )
            .json(meta);
        if let Some(t) = total {
            rb = rb.header("x-upload-content-length", t);
        }
        let (s, h, v) = send(rb).await;
        assert_eq!(s, StatusCode::OK, "resumable init: {v}");
        location(&h)
    }
}

/// The `Location` header.
pub fn location(h: &HeaderMap) -> String {
    h.get("location")
        .expect("Location header")
        .to_str()
        .expect("ascii")
        .to_owned()
}

/// A `Range`/`Content-Range` header value as a string.
pub fn header(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name).map(|v| v.to_str().expect("ascii").to_owned())
}

/// The multipart boundary the helpers use.
pub const BOUNDARY: &str = "emu_test_boundary_7f3a";

/// A `multipart/related` body: JSON metadata then the media, with line ends `nl`.
pub fn multipart_body(meta: &Value, content: &[u8], nl: &str) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(
        format!(
            "--{BOUNDARY}{nl}Content-Type: application/json; charset=UTF-8{nl}{nl}{meta}{nl}--{BOUNDARY}{nl}Content-Type: application/octet-stream{nl}{nl}"
        )
        .as_bytes(),
    );
    b.extend_from_slice(content);
    b.extend_from_slice(format!("{nl}--{BOUNDARY}--{nl}").as_bytes());
    b
}
