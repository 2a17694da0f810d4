//! Downloads streamed into the caller's writer, resumed with `Range: bytes=K-` after a
//! dropped connection, MD5 checked at the end; and exports of Google Docs. Both read the
//! response no faster than the client's download limit allows.

use std::pin::pin;

use drivesync_auth::AccessTokenSource;
use drivesync_model::{DriveId, Md5};
use futures_util::StreamExt;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, RANGE};
use reqwest::StatusCode;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use bytes::Bytes;

use super::body::{Md5Pipe, READ_BLOCK};
use super::transport::{Ctx, Failed};
use super::GoogleDrive;
use crate::bandwidth::Direction;
use crate::error::FileRef;
use crate::fields;
use crate::store::Downloaded;
use crate::DriveError;

/// The total size from `Content-Range: bytes a-b/N` or `bytes */N`.
fn range_total(v: &str) -> Option<u64> {
    v.rsplit_once('/')?.1.trim().parse().ok()
}

/// The first byte of `Content-Range: bytes a-b/N`.
fn range_start(v: &str) -> Option<u64> {
    v.trim()
        .strip_prefix("bytes")?
        .trim()
        .split_once('-')?
        .0
        .trim()
        .parse()
        .ok()
}

/// Received blocks gathered for the MD5 thread, handed over a few hundred KiB at a time
/// rather than per network frame.
#[derive(Default)]
struct Batch {
    blocks: Vec<Bytes>,
    len: usize,
}

impl Batch {
    async fn add(&mut self, md5: &Md5Pipe, data: Bytes) {
        self.len += data.len();
        self.blocks.push(data);
        if self.len >= READ_BLOCK {
            self.flush(md5).await;
        }
    }

    async fn flush(&mut self, md5: &Md5Pipe) {
        if !self.blocks.is_empty() {
            self.len = 0;
            md5.feed_batch(std::mem::take(&mut self.blocks)).await;
        }
    }
}

impl<T: AccessTokenSource> GoogleDrive<T> {
    pub(super) async fn download_impl(
        &self,
        id: &DriveId,
        expect: Option<&Md5>,
        to: &mut (dyn AsyncWrite + Send + Unpin),
    ) -> Result<Downloaded, DriveError> {
        let file_ref = FileRef::from(id);
        let expect = match expect {
            Some(m) => *m,
            None => self
                .get_fields(id, fields::CHECKSUM)
                .await?
                .md5_checksum
                .ok_or_else(|| DriveError::Api {
                    status: 403,
                    reason: "fileNotDownloadable".into(),
                    message: "the file has no binary content (a Google Doc?): export it".into(),
                    file: Some(file_ref.clone()),
                })?,
        };
        let ctx = Ctx::new("files.get (media)", Some(file_ref.clone()));
        let local = |e| DriveError::local(None, e);
        let url = self.file_url(id, "");
        let md5 = Md5Pipe::threaded();
        let mut batch = Batch::default();
        let mut got = 0u64;
        let mut backoff = self.transport.backoff();
        let mut auth = self.transport.auth().await?;
        loop {
            let resume = got;
            let mut rb = self
                .transport
                .http()
                .get(url.clone())
                .query(&[("alt", "media")]);
            if resume > 0 {
                rb = rb.header(RANGE, format!("bytes={resume}-"));
            }
            let accept = |s: StatusCode| matches!(s.as_u16(), 200 | 206 | 416);
            let s = match self.transport.try_once(rb, &auth, &accept).await {
                Ok(s) => s,
                Err(f) => {
                    self.transport
                        .recover(&ctx, f, &mut backoff, &mut auth)
                        .await?;
                    continue;
                }
            };
            let content_range = s
                .resp
                .headers()
                .get(CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let (mut skip, total) = match s.resp.status().as_u16() {
                416 => match content_range.as_deref().and_then(range_total) {
                    Some(n) if n == resume => break,
                    _ => {
                        return Err(DriveError::protocol(
                            format!("416 for a download from byte {resume}"),
                            Some(file_ref),
                        ))
                    }
                },
                206 => {
                    let cr = content_range.as_deref().unwrap_or("");
                    if range_start(cr) != Some(resume) {
                        return Err(DriveError::protocol(
                            format!("asked for bytes from {resume}, got {cr:?}"),
                            Some(file_ref),
                        ));
                    }
                    (0, range_total(cr))
                }
                // Drive ignored the Range: skip what was written already.
                _ => (
                    resume,
                    s.resp
                        .headers()
                        .get(CONTENT_LENGTH)
                        .and_then(|v| v.to_str().ok()?.parse().ok()),
                ),
            };
            let mut body = pin!(self
                .bandwidth
                .throttle(Direction::Down, s.resp.bytes_stream()));
            let mut cut = None;
            while let Some(next) = body.next().await {
                match next {
                    Ok(mut data) => {
                        let drop = (skip as usize).min(data.len());
                        skip -= drop as u64;
                        let data = data.split_off(drop);
                        let n = data.len() as u64;
                        to.write_all(&data).await.map_err(local)?;
                        batch.add(&md5, data).await;
                        got += n;
                        self.transport.count_bytes_received(n);
                    }
                    Err(e) => {
                        cut = Some(Failed::network(e.without_url().to_string()));
                        break;
                    }
                }
            }
            if cut.is_none() && total.is_some_and(|t| got < t) {
                cut = Some(Failed::network(format!(
                    "the download ended at byte {got} of {}",
                    total.unwrap_or(0)
                )));
            }
            batch.flush(&md5).await;
            match cut {
                None => break,
                Some(f) => {
                    if got > resume {
                        backoff.reset();
                        auth.progressed();
                    }
                    tracing::debug!(%id, got, "download cut: resuming");
                    self.transport
                        .recover(&ctx, f, &mut backoff, &mut auth)
                        .await?;
                }
            }
        }
        to.flush().await.map_err(local)?;
        let actual = md5.finish().await;
        if actual != expect {
            return Err(DriveError::ChecksumMismatch {
                file: file_ref,
                expected: expect,
                actual,
            });
        }
        Ok(Downloaded {
            size: got,
            md5: actual,
        })
    }

    pub(super) async fn export_impl(
        &self,
        id: &DriveId,
        mime_type: &str,
        to: &mut (dyn AsyncWrite + Send + Unpin),
    ) -> Result<u64, DriveError> {
        let ctx = Ctx::new("files.export", Some(FileRef::from(id)));
        let url = self.file_url(id, "/export");
        let s = self
            .transport
            .call_stream(
                &ctx,
                || {
                    Ok(self
                        .transport
                        .http()
                        .get(url.clone())
                        .query(&[("mimeType", mime_type)]))
                },
                &|s| s.is_success(),
            )
            .await?;
        let mut body = pin!(self
            .bandwidth
            .throttle(Direction::Down, s.resp.bytes_stream()));
        let mut n = 0u64;
        while let Some(next) = body.next().await {
            let data = next
                .map_err(|e| Failed::network(e.without_url().to_string()).into_error(&ctx, None))?;
            to.write_all(&data)
                .await
                .map_err(|e| DriveError::local(None, e))?;
            n += data.len() as u64;
            self.transport.count_bytes_received(data.len() as u64);
        }
        to.flush().await.map_err(|e| DriveError::local(None, e))?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_parts() {
        assert_eq!(range_total("bytes 0-9/100"), Some(100));
        assert_eq!(range_total("bytes */0"), Some(0));
        assert_eq!(range_start("bytes 10-99/100"), Some(10));
        assert_eq!(range_start("bytes */100"), None);
    }
}
