//! Resumable uploads: a session per upload (saved through [`crate::UploadSessions`]), chunks
//! of a multiple of 256 KiB read from disk one at a time (smaller under a low upload limit),
//! the server's `Range` as the truth after any failure (status query `bytes */N`), and a new
//! session when the old one is gone.

use drivesync_auth::AccessTokenSource;
use drivesync_model::{Md5, Sensitive};
use reqwest::header::{HeaderMap, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, LOCATION, RANGE};
use reqwest::StatusCode;

use super::body::{file_body, FileRange, Hashing, Md5Pipe};
use super::transport::{parse_json, Auth, Ctx, Failed};
use super::upload::Target;
use super::{GoogleDrive, CHUNK_UNIT};
use crate::fields;
use crate::model::File;
use crate::retry::Backoff;
use crate::sessions::ResumableSession;
use crate::store::UploadSource;
use crate::DriveError;

/// New sessions started per upload call after the saved or current one was gone.
const MAX_RESTARTS: u32 = 2;

/// Why a session could not finish.
enum SessionEnd {
    /// Drive forgot the session (404/410): start a new one.
    Gone,
    /// Any other failure.
    Failed(DriveError),
}

impl From<DriveError> for SessionEnd {
    fn from(e: DriveError) -> Self {
        SessionEnd::Failed(e)
    }
}

/// What a status query learnt.
enum Status {
    /// Drive has the first `n` bytes.
    At(u64),
    /// The upload is complete.
    Complete(Box<File>),
}

/// `Range: bytes=0-K` of a 308 answer: K + 1 bytes stored (none without the header).
fn stored(headers: &HeaderMap) -> u64 {
    headers
        .get(RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("bytes=")?.split_once('-'))
        .and_then(|(_, end)| end.trim().parse::<u64>().ok())
        .map_or(0, |end| end + 1)
}

/// Whether a session URL is at the same origin (scheme, host, port) as the upload request
/// that started it: only then may it carry the bearer token. A `Location` elsewhere (a
/// hostile or broken server, a tampered state database) is refused before any request.
fn same_origin(uri: &str, upload: &url::Url) -> bool {
    url::Url::parse(uri).is_ok_and(|u| {
        u.scheme() == upload.scheme()
            && u.host_str() == upload.host_str()
            && u.port_or_known_default() == upload.port_or_known_default()
    })
}

fn gone(f: &Failed) -> bool {
    matches!(f.status, Some(404 | 410))
}

fn accept(s: StatusCode) -> bool {
    matches!(s.as_u16(), 200 | 201 | 308)
}

impl<T: AccessTokenSource> GoogleDrive<T> {
    /// Uploads `len` bytes of `source` resumably, resuming `saved` if given. Returns the file
    /// and the MD5 of the bytes read.
    pub(super) async fn resumable(
        &self,
        target: &Target,
        source: &UploadSource,
        len: u64,
        mut saved: Option<ResumableSession>,
    ) -> Result<(File, Md5), DriveError> {
        let key = source.resume_key.as_ref();
        let mut restarts = 0;
        loop {
            let (uri, fresh) = match saved.take() {
                Some(s) => (s.uri, false),
                None => {
                    let uri = self.start_session(target, source, len).await?;
                    if let Some(k) = key {
                        self.sessions.save(
                            k,
                            &ResumableSession {
                                uri: uri.clone(),
                                size: len,
                                file_id: target.id.clone(),
                            },
                        );
                    }
                    (uri, true)
                }
            };
            if !same_origin(uri.expose(), &target.url) {
                key.inspect(|k| self.sessions.clear(k));
                let origin = target.url.origin().ascii_serialization();
                return Err(DriveError::protocol(
                    format!(
                        "the resumable upload session is not at the upload server {origin}: \
                         refused, and nothing was sent to it"
                    ),
                    Some(target.file.clone()),
                ));
            }
            match self.send_chunks(target, source, &uri, fresh, len).await {
                Ok(done) => {
                    key.inspect(|k| self.sessions.clear(k));
                    return Ok(done);
                }
                Err(SessionEnd::Gone) if restarts < MAX_RESTARTS => {
                    tracing::debug!(file = %target.file, "upload session gone: starting a new one");
                    key.inspect(|k| self.sessions.clear(k));
                    restarts += 1;
                }
                Err(SessionEnd::Gone) => {
                    key.inspect(|k| self.sessions.clear(k));
                    return Err(DriveError::Transient {
                        status: Some(404),
                        reason: Some("notFound".into()),
                        detail: "the upload session kept disappearing".into(),
                        file: Some(target.file.clone()),
                    });
                }
                Err(SessionEnd::Failed(e)) => {
                    if !e.is_transient() {
                        key.inspect(|k| self.sessions.clear(k));
                    }
                    return Err(e);
                }
            }
        }
    }

    /// Starts a session: metadata in, session URI (`Location`) out.
    async fn start_session(
        &self,
        target: &Target,
        source: &UploadSource,
        len: u64,
    ) -> Result<Sensitive<String>, DriveError> {
        let ctx = Ctx::new("upload (start session)", Some(target.file.clone()));
        let mime = source
            .mime_type
            .as_deref()
            .unwrap_or("application/octet-stream");
        let reply = self
            .transport
            .call(
                &ctx,
                || {
                    Ok(self
                        .transport
                        .http()
                        .request(target.method.clone(), target.url.clone())
                        .query(&[("uploadType", "resumable"), ("fields", fields::FILE)])
                        .header("X-Upload-Content-Type", mime)
                        .header("X-Upload-Content-Length", len)
                        .header(CONTENT_TYPE, "application/json; charset=UTF-8")
                        .body(target.meta.to_string()))
                },
                &|s| s.is_success(),
            )
            .await?;
        reply
            .headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(|v| Sensitive::new(v.to_owned()))
            .ok_or_else(|| {
                DriveError::protocol(
                    "a resumable upload started without a Location",
                    Some(target.file.clone()),
                )
            })
    }

    /// Asks Drive how much of the session it has (`Content-Range: bytes */N`).
    async fn query_status(
        &self,
        ctx: &Ctx,
        uri: &Sensitive<String>,
        len: u64,
        auth: &mut Auth,
        backoff: &mut Backoff,
    ) -> Result<Status, SessionEnd> {
        loop {
            let rb = self
                .transport
                .http()
                .put(uri.expose())
                .header(CONTENT_RANGE, format!("bytes */{len}"))
                .header(CONTENT_LENGTH, 0);
            let failed = match self.transport.try_once(rb, auth, &accept).await {
                Ok(s) if s.resp.status() == StatusCode::PERMANENT_REDIRECT => {
                    return Ok(Status::At(stored(s.resp.headers())))
                }
                Ok(s) => match s.resp.bytes().await {
                    Ok(body) => return Ok(Status::Complete(Box::new(parse_json(ctx, &body)?))),
                    Err(e) => Failed::network(e.without_url().to_string()),
                },
                Err(f) if gone(&f) => return Err(SessionEnd::Gone),
                Err(f) => f,
            };
            self.transport.recover(ctx, failed, backoff, auth).await?;
        }
    }

    /// Sends the bytes Drive lacks, chunk by chunk, each read from disk as it is sent.
    /// `fresh`: the session was just started (nothing stored yet), else ask Drive first.
    async fn send_chunks(
        &self,
        target: &Target,
        source: &UploadSource,
        uri: &Sensitive<String>,
        fresh: bool,
        len: u64,
    ) -> Result<(File, Md5), SessionEnd> {
        let ctx = Ctx::new("upload (resumable)", Some(target.file.clone()));
        let mut auth = self.transport.auth().await?;
        let mut backoff = self.transport.backoff();
        // The MD5 of the file's prefix, fed by the chunk bodies as they read.
        let hashing = Hashing::new(Md5Pipe::threaded());
        let finish = |f: File| async {
            hashing.catch_up(&source.path, len).await?;
            Ok::<_, DriveError>((f, hashing.digest().await))
        };
        let mut offset = 0u64;
        let mut need_status = !fresh;
        loop {
            if need_status {
                need_status = false;
                match self
                    .query_status(&ctx, uri, len, &mut auth, &mut backoff)
                    .await?
                {
                    Status::At(n) => offset = n.min(len),
                    Status::Complete(f) => return Ok(finish(*f).await?),
                }
            }
            if hashing.progress().hashed < offset {
                // Resuming: the bytes Drive already has still count towards the MD5.
                hashing.catch_up(&source.path, offset).await?;
            }
            // Sized afresh for each chunk: the upload limit may have changed.
            let n = chunk_within(self.config.chunk(), self.upload_budget()).min(len - offset);
            let end = offset + n;
            let range = FileRange {
                path: source.path.clone(),
                start: offset,
                len: n,
                head: None,
                tail: None,
            };
            self.transport.count_bytes_sent(n);
            let rb = self
                .transport
                .http()
                .put(uri.expose())
                .header(CONTENT_RANGE, format!("bytes {offset}-{}/{len}", end - 1))
                .header(CONTENT_LENGTH, n)
                .body(file_body(range, hashing.clone(), &self.bandwidth));
            let failed = match self.transport.try_once(rb, &auth, &accept).await {
                Ok(s) if s.resp.status() == StatusCode::PERMANENT_REDIRECT => {
                    let now = stored(s.resp.headers()).min(len);
                    if now > offset {
                        backoff.reset();
                        auth.progressed();
                        offset = now;
                        if let Some(p) = &source.progress {
                            p(offset, len);
                        }
                        continue;
                    }
                    Failed::network(format!("Drive stored nothing of the chunk at {offset}"))
                }
                Ok(s) => match s.resp.bytes().await {
                    Ok(body) => {
                        let f: File = parse_json(&ctx, &body)?;
                        if let Some(p) = &source.progress {
                            p(len, len);
                        }
                        return Ok(finish(f).await?);
                    }
                    Err(e) => Failed::network(e.without_url().to_string()),
                },
                Err(f) if gone(&f) => return Err(SessionEnd::Gone),
                Err(f) => f,
            };
            if let Some(e) = hashing.progress().error.take() {
                return Err(DriveError::local(Some(source.path.clone()), e).into());
            }
            self.transport
                .recover(&ctx, failed, &mut backoff, &mut auth)
                .await?;
            need_status = true;
        }
    }
}

/// `chunk` (a multiple of 256 KiB), or less to stay within `budget` bytes; at least 256 KiB.
fn chunk_within(chunk: u64, budget: u64) -> u64 {
    chunk.min((budget / CHUNK_UNIT).max(1) * CHUNK_UNIT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_shrink_to_the_budget_in_whole_units() {
        assert_eq!(chunk_within(8 << 20, u64::MAX), 8 << 20);
        assert_eq!(chunk_within(8 << 20, (1 << 20) + 5), 1 << 20);
        assert_eq!(chunk_within(8 << 20, 1), CHUNK_UNIT);
    }

    #[test]
    fn range_header_gives_the_stored_length() {
        let mut h = HeaderMap::new();
        assert_eq!(stored(&h), 0);
        h.insert(RANGE, "bytes=0-262143".parse().unwrap());
        assert_eq!(stored(&h), 262_144);
    }

    #[test]
    fn a_session_url_is_used_only_at_the_upload_servers_origin() {
        let up = url::Url::parse("https://www.googleapis.com/upload/drive/v3/files").unwrap();
        let ok = "https://www.googleapis.com/upload/drive/v3/files?upload_id=x";
        assert!(same_origin(ok, &up));
        assert!(same_origin("https://www.googleapis.com:443/upload/x", &up));
        for bad in [
            "https://evil.example/upload?upload_id=x",
            "http://www.googleapis.com/upload/x",
            "https://www.googleapis.com:8443/upload/x",
            "https://www.googleapis.com.evil.example/upload/x",
            "https://user@evil.example/x",
            "/relative/upload",
            "not a url",
        ] {
            assert!(!same_origin(bad, &up), "{bad}");
        }
    }
}
