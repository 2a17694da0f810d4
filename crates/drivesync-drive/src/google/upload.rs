//! Uploads: small files as one multipart request streamed from disk, larger ones as resumable
//! sessions (see [`super::resumable`]); under an upload limit, requests are kept small enough
//! to be sent within the read timeout. Every upload checks Drive's MD5 against the MD5 of
//! the bytes read; creates carry a pre-generated id so that a replayed create never makes a
//! second file.

use std::path::Path;
use std::sync::Mutex;

use bytes::Bytes;
use drivesync_auth::AccessTokenSource;
use drivesync_model::{DriveId, Md5};
use md5::Digest;
use reqwest::header::CONTENT_TYPE;
use reqwest::Method;
use serde_json::{json, Value};
use url::Url;

use super::body::{file_body, md5_of_file, FileRange, Hashing, Md5Pipe, SharedHashing};
use super::transport::{parse_json, Ctx};
use super::GoogleDrive;
use crate::bandwidth::Direction;
use crate::error::FileRef;
use crate::fields;
use crate::model::File;
use crate::store::{NewFile, UploadSource};
use crate::DriveError;

/// Where an upload goes and the metadata it carries.
#[derive(Debug)]
pub(super) struct Target {
    pub method: Method,
    pub url: Url,
    pub meta: Value,
    pub file: FileRef,
    /// The pre-generated id of a create.
    pub id: Option<DriveId>,
}

impl<T> GoogleDrive<T> {
    /// Body bytes one upload request may carry: unlimited without an upload limit; under one,
    /// what the limit lets through in a third of `read_timeout`, because reqwest counts a
    /// request's whole send time against that timeout (a slower body would time out and be
    /// retried forever).
    pub(super) fn upload_budget(&self) -> u64 {
        match self.bandwidth.rate(Direction::Up) {
            None => u64::MAX,
            Some(rate) => (rate as f64 * self.config.read_timeout.as_secs_f64() / 3.0) as u64,
        }
    }

    /// Whether `len` bytes go up in one multipart request (else resumably, in chunks).
    fn multipart_fits(&self, len: u64) -> bool {
        len <= self.config.multipart_max && len <= self.upload_budget()
    }
}

impl<T: AccessTokenSource> GoogleDrive<T> {
    pub(super) async fn create_file_impl(
        &self,
        new: &NewFile,
        source: &UploadSource,
    ) -> Result<File, DriveError> {
        let len = source_len(source).await?;
        let multipart = self.multipart_fits(len);
        let mut saved = match &source.resume_key {
            Some(k) if !multipart => self
                .sessions
                .load(k)
                .filter(|s| s.size == len && (new.id.is_none() || s.file_id == new.id)),
            _ => None,
        };
        let mut retried = false;
        loop {
            let id = match (&new.id, saved.as_ref().and_then(|s| s.file_id.as_ref())) {
                (Some(id), _) | (None, Some(id)) => Some(id.clone()),
                (None, None) => self.take_id().await?,
            };
            let mut meta = json!({"name": new.name, "parents": [new.parent]});
            if let Some(id) = &id {
                meta["id"] = json!(id);
            }
            add_source_meta(&mut meta, source);
            let target = Target {
                method: Method::POST,
                url: self.upload_url.clone(),
                meta,
                file: FileRef::Name(new.name.clone()),
                id: id.clone(),
            };
            return match self
                .upload(&target, source, len, multipart, saved.take())
                .await
            {
                Err(e) if !retried && self.stale_pooled_id(&e, new.id.is_none()) => {
                    retried = true;
                    continue;
                }
                Err(e @ DriveError::Api { status: 409, .. }) if id.is_some() => {
                    let local = match &source.content {
                        Some(c) => Md5(md5::Md5::digest(c).into()),
                        None => md5_of_file(&source.path, len).await?,
                    };
                    let id = id.expect("checked");
                    self.adopt(&id, new, e, |f| f.md5_checksum == Some(local))
                        .await
                }
                r => r,
            };
        }
    }

    pub(super) async fn update_content_impl(
        &self,
        id: &DriveId,
        source: &UploadSource,
    ) -> Result<File, DriveError> {
        let len = source_len(source).await?;
        let multipart = self.multipart_fits(len);
        let saved = match &source.resume_key {
            Some(k) if !multipart => self.sessions.load(k).filter(|s| s.size == len),
            _ => None,
        };
        let mut meta = json!({});
        add_source_meta(&mut meta, source);
        meta.as_object_mut().map(|m| m.remove("mimeType"));
        let mut url = self.upload_url.clone();
        url.path_segments_mut().expect("http URL").push(id.as_str());
        let target = Target {
            method: Method::PATCH,
            url,
            meta,
            file: FileRef::from(id),
            id: None,
        };
        self.upload(&target, source, len, multipart, saved).await
    }

    /// Sends `source` to `target` (`multipart`, else resumable) and checks the MD5.
    async fn upload(
        &self,
        target: &Target,
        source: &UploadSource,
        len: u64,
        multipart: bool,
        saved: Option<crate::sessions::ResumableSession>,
    ) -> Result<File, DriveError> {
        let (file, local) = if multipart {
            self.multipart(target, source, len).await?
        } else {
            self.resumable(target, source, len, saved).await?
        };
        check_md5(file, local)
    }

    /// One `uploadType=multipart` request, the content streamed from disk.
    async fn multipart(
        &self,
        target: &Target,
        source: &UploadSource,
        len: u64,
    ) -> Result<(File, Md5), DriveError> {
        let boundary = format!("drivesync_{:032x}", rand::random::<u128>());
        let mime = source
            .mime_type
            .as_deref()
            .unwrap_or("application/octet-stream");
        let head = Bytes::from(format!(
            "--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{}\r\n--{boundary}\r\nContent-Type: {mime}\r\n\r\n",
            target.meta
        ));
        let tail = Bytes::from(format!("\r\n--{boundary}--\r\n"));
        let ctx = Ctx::new("upload (multipart)", Some(target.file.clone()));
        if let Some(content) = &source.content {
            return self
                .multipart_from_memory(target, source, content, (head, tail), &ctx, boundary)
                .await;
        }
        // The hash state of the latest try (each try reads the file afresh).
        let last: Mutex<Option<SharedHashing>> = Mutex::new(None);
        let local_error = |last: &Mutex<Option<SharedHashing>>| {
            let prev = last.lock().unwrap_or_else(|p| p.into_inner()).clone()?;
            let e = prev.progress().error.take()?;
            Some(DriveError::local(Some(source.path.clone()), e))
        };
        let result = self
            .transport
            .call(
                &ctx,
                || {
                    if let Some(e) = local_error(&last) {
                        return Err(e);
                    }
                    let state = Hashing::new(Md5Pipe::inline());
                    *last.lock().unwrap_or_else(|p| p.into_inner()) = Some(state.clone());
                    let range = FileRange {
                        path: source.path.clone(),
                        start: 0,
                        len,
                        head: Some(head.clone()),
                        tail: Some(tail.clone()),
                    };
                    Ok(self.multipart_request(
                        target,
                        &boundary,
                        file_body(range, state, &self.bandwidth),
                    ))
                },
                &|s| s.is_success(),
            )
            .await;
        let reply = match result {
            Ok(r) => r,
            Err(e) => return Err(local_error(&last).unwrap_or(e)),
        };
        let file: File = parse_json(&ctx, &reply.body)?;
        let state = last
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .expect("a request was built");
        if !state.progress().done {
            return Err(DriveError::protocol(
                "Drive answered before the whole upload was sent",
                Some(target.file.clone()),
            ));
        }
        self.transport.count_bytes_sent(len);
        if let Some(p) = &source.progress {
            p(len, len);
        }
        Ok((file, state.digest().await))
    }
}

impl<T: AccessTokenSource> GoogleDrive<T> {
    /// One `uploadType=multipart` request to `target` carrying `body`.
    fn multipart_request(
        &self,
        target: &Target,
        boundary: &str,
        body: reqwest::Body,
    ) -> reqwest::RequestBuilder {
        self.transport
            .http()
            .request(target.method.clone(), target.url.clone())
            .query(&[("uploadType", "multipart"), ("fields", fields::FILE)])
            .header(
                CONTENT_TYPE,
                format!("multipart/related; boundary={boundary}"),
            )
            .body(body)
    }

    /// [`GoogleDrive::multipart`] for content already in memory: one body with a known
    /// length (no disk access), hashed here as it is sent.
    async fn multipart_from_memory(
        &self,
        target: &Target,
        source: &UploadSource,
        content: &Bytes,
        (head, tail): (Bytes, Bytes),
        ctx: &Ctx,
        boundary: String,
    ) -> Result<(File, Md5), DriveError> {
        let local = Md5(md5::Md5::digest(content).into());
        let mut body = bytes::BytesMut::with_capacity(head.len() + content.len() + tail.len());
        body.extend_from_slice(&head);
        body.extend_from_slice(content);
        body.extend_from_slice(&tail);
        let body = body.freeze();
        let limited = self.bandwidth.rate(Direction::Up).is_some();
        let reply = self
            .transport
            .call(
                ctx,
                || {
                    let body = if limited {
                        let once =
                            futures_util::stream::once(std::future::ready(
                                Ok::<_, std::io::Error>(body.clone()),
                            ));
                        reqwest::Body::wrap_stream(self.bandwidth.throttle(Direction::Up, once))
                    } else {
                        reqwest::Body::from(body.clone())
                    };
                    Ok(self.multipart_request(target, &boundary, body))
                },
                &|s| s.is_success(),
            )
            .await?;
        let file: File = parse_json(ctx, &reply.body)?;
        let len = content.len() as u64;
        self.transport.count_bytes_sent(len);
        if let Some(p) = &source.progress {
            p(len, len);
        }
        Ok((file, local))
    }
}

/// The upload's length: the content's in memory, else the file's on disk.
async fn source_len(source: &UploadSource) -> Result<u64, DriveError> {
    match &source.content {
        Some(c) => Ok(c.len() as u64),
        None => local_len(&source.path).await,
    }
}

/// `mimeType` and `modifiedTime` from the source.
fn add_source_meta(meta: &mut Value, source: &UploadSource) {
    if let Some(m) = &source.mime_type {
        meta["mimeType"] = json!(m);
    }
    if let Some(t) = &source.modified_time {
        meta["modifiedTime"] = json!(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    }
}

async fn local_len(path: &Path) -> Result<u64, DriveError> {
    tokio::fs::metadata(path)
        .await
        .map(|m| m.len())
        .map_err(|e| DriveError::local(Some(path.to_owned()), e))
}

/// Drive's MD5 must be the MD5 of what was read.
pub(super) fn check_md5(file: File, local: Md5) -> Result<File, DriveError> {
    match file.md5_checksum {
        Some(m) if m == local => Ok(file),
        Some(actual) => Err(DriveError::ChecksumMismatch {
            file: FileRef::Id(file.id),
            expected: local,
            actual,
        }),
        None => Err(DriveError::protocol(
            "the uploaded file has no md5Checksum",
            Some(FileRef::Id(file.id)),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_mismatch_is_an_error() {
        let f: File =
            serde_json::from_str(r#"{"id":"x","md5Checksum":"d41d8cd98f00b204e9800998ecf8427e"}"#)
                .unwrap();
        let empty: Md5 = "d41d8cd98f00b204e9800998ecf8427e".parse().unwrap();
        assert!(check_md5(f.clone(), empty).is_ok());
        let other = Md5([1; 16]);
        assert!(matches!(
            check_md5(f, other),
            Err(DriveError::ChecksumMismatch { .. })
        ));
    }
}
