//! Request bodies read from disk as they are sent (never a whole file or chunk in memory),
//! hashing the bytes that pass into the upload's running MD5, and paced by the client's
//! upload limit as they are polled.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::mpsc;

use bytes::{Bytes, BytesMut};
use drivesync_model::Md5;
use md5::Digest;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::bandwidth::{Bandwidth, Direction};
use crate::DriveError;

/// Read size for bodies and local hashing.
pub(super) const READ_BLOCK: usize = 256 * 1024;

/// An MD5 fed in order: inline for small transfers, or on a blocking thread through a short
/// queue for large ones, so hashing runs beside the transfer instead of between its reads
/// and writes.
pub(super) enum Md5Pipe {
    /// Hashed in the caller's task.
    Inline(Mutex<md5::Md5>),
    /// Hashed on a blocking thread.
    Threaded {
        tx: Mutex<Option<mpsc::Sender<Vec<Bytes>>>>,
        task: Mutex<Option<tokio::task::JoinHandle<md5::Md5>>>,
    },
}

impl Md5Pipe {
    /// Hashing in the caller's task.
    pub fn inline() -> Self {
        Md5Pipe::Inline(Mutex::new(md5::Md5::new()))
    }

    /// Hashing on a blocking thread (needs a tokio runtime).
    pub fn threaded() -> Self {
        let (tx, mut rx) = mpsc::channel::<Vec<Bytes>>(PIPE_DEPTH);
        let task = tokio::task::spawn_blocking(move || {
            let mut h = md5::Md5::new();
            while let Some(batch) = rx.blocking_recv() {
                batch.iter().for_each(|b| h.update(b));
            }
            h
        });
        Md5Pipe::Threaded {
            tx: Mutex::new(Some(tx)),
            task: Mutex::new(Some(task)),
        }
    }

    /// Appends `data` to the hashed bytes (waits while the queue is full).
    pub async fn feed(&self, data: Bytes) {
        self.feed_batch(vec![data]).await
    }

    /// Appends each of `batch` (one hand-over for many small blocks).
    pub async fn feed_batch(&self, data: Vec<Bytes>) {
        match self {
            Md5Pipe::Inline(h) => {
                let mut h = h.lock().unwrap_or_else(|p| p.into_inner());
                data.iter().for_each(|b| h.update(b));
            }
            Md5Pipe::Threaded { tx, .. } => {
                let tx = tx.lock().unwrap_or_else(|p| p.into_inner()).clone();
                if let Some(tx) = tx {
                    // A closed queue only happens after `finish`; nothing is hashed then.
                    let _ = tx.send(data).await;
                }
            }
        }
    }

    /// The MD5 of everything fed.
    pub async fn finish(&self) -> Md5 {
        let h = match self {
            Md5Pipe::Inline(h) => std::mem::take(&mut *h.lock().unwrap_or_else(|p| p.into_inner())),
            Md5Pipe::Threaded { tx, task } => {
                drop(tx.lock().unwrap_or_else(|p| p.into_inner()).take());
                let task = task.lock().unwrap_or_else(|p| p.into_inner()).take();
                match task {
                    Some(t) => t.await.expect("the MD5 thread does not panic"),
                    None => md5::Md5::new(),
                }
            }
        };
        digest(h)
    }
}

/// Batches queued for the MD5 thread.
const PIPE_DEPTH: usize = 8;

/// Where the bodies reading a file stand.
#[derive(Debug, Default)]
pub(super) struct Progress {
    /// Length of the file's prefix hashed so far.
    pub hashed: u64,
    /// A body read its whole range.
    pub done: bool,
    /// A body could not read the file.
    pub error: Option<io::Error>,
}

/// The MD5 of a file's prefix, fed by the bodies that read it.
pub(super) struct Hashing {
    progress: Mutex<Progress>,
    pipe: Md5Pipe,
}

impl Hashing {
    /// Hashing through `pipe`.
    pub fn new(pipe: Md5Pipe) -> Arc<Self> {
        Arc::new(Self {
            progress: Mutex::default(),
            pipe,
        })
    }

    /// The bodies' progress.
    pub fn progress(&self) -> MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes in `data` found at file position `pos` (only bytes that extend the prefix). The
    /// prefix grows once the bytes are queued, so a body dropped midway loses nothing.
    pub async fn feed(&self, pos: u64, data: &Bytes) {
        let end = pos + data.len() as u64;
        let hashed = self.progress().hashed;
        if pos <= hashed && end > hashed {
            self.pipe.feed(data.slice((hashed - pos) as usize..)).await;
            self.progress().hashed = end;
        }
    }

    /// Hashes the file from the prefix's end up to `len`, reading it from disk.
    pub async fn catch_up(&self, path: &Path, len: u64) -> Result<(), DriveError> {
        let start = self.progress().hashed;
        if start >= len {
            return Ok(());
        }
        let local = |e| DriveError::local(Some(path.to_owned()), e);
        let mut f = tokio::fs::File::open(path).await.map_err(local)?;
        f.seek(io::SeekFrom::Start(start)).await.map_err(local)?;
        let mut pos = start;
        while pos < len {
            let mut buf = BytesMut::with_capacity(((len - pos) as usize).min(READ_BLOCK));
            if f.read_buf(&mut buf).await.map_err(local)? == 0 {
                return Err(local(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the file got shorter while it was uploaded",
                )));
            }
            let block = buf.freeze();
            self.feed(pos, &block).await;
            pos += block.len() as u64;
        }
        Ok(())
    }

    /// The MD5 of the prefix (no more feeding after this).
    pub async fn digest(&self) -> Md5 {
        self.pipe.finish().await
    }
}

/// Shared between a body in flight and the upload that sent it.
pub(super) type SharedHashing = Arc<Hashing>;

/// The digest of a finished hash.
pub(super) fn digest(h: md5::Md5) -> Md5 {
    Md5(h.finalize().into())
}

/// The MD5 of the first `len` bytes of `path`.
pub(super) async fn md5_of_file(path: &Path, len: u64) -> Result<Md5, DriveError> {
    let h = Hashing::new(Md5Pipe::threaded());
    h.catch_up(path, len).await?;
    Ok(h.digest().await)
}

/// What a body sends: optional `head`, bytes `start..start + len` of `path`, optional `tail`.
pub(super) struct FileRange {
    pub path: PathBuf,
    pub start: u64,
    pub len: u64,
    pub head: Option<Bytes>,
    pub tail: Option<Bytes>,
}

enum Part {
    Open,
    Content(tokio::fs::File, u64, u64),
    Tail,
    End,
}

/// A streamed body for `range`, hashing into `state`, sent no faster than `bandwidth`'s
/// upload limit allows (the whole body counts: multipart framing too). A file that is
/// shorter than the range (it changed while read) fails the body with `UnexpectedEof`,
/// recorded in `state.error`.
pub(super) fn file_body(
    range: FileRange,
    state: SharedHashing,
    bandwidth: &Bandwidth,
) -> reqwest::Body {
    let range = Arc::new(range);
    let stream = futures_util::stream::unfold(Part::Open, move |part| {
        let (range, state) = (range.clone(), state.clone());
        async move {
            let fail = |e: io::Error| {
                state.progress().error = Some(io::Error::new(e.kind(), e.to_string()));
                Some((Err(e), Part::End))
            };
            let mut part = part;
            loop {
                match part {
                    Part::Open => {
                        let mut f = match tokio::fs::File::open(&range.path).await {
                            Ok(f) => f,
                            Err(e) => return fail(e),
                        };
                        if let Err(e) = f.seek(io::SeekFrom::Start(range.start)).await {
                            return fail(e);
                        }
                        part = Part::Content(f, range.start, range.len);
                        if let Some(h) = &range.head {
                            return Some((Ok(h.clone()), part));
                        }
                    }
                    Part::Content(_, _, 0) => {
                        state.progress().done = true;
                        part = Part::Tail;
                    }
                    Part::Content(mut f, pos, left) => {
                        let mut buf = BytesMut::with_capacity((left as usize).min(READ_BLOCK));
                        match f.read_buf(&mut buf).await {
                            Ok(0) => {
                                return fail(io::Error::new(
                                    io::ErrorKind::UnexpectedEof,
                                    "the file got shorter while it was uploaded",
                                ))
                            }
                            Ok(n) => {
                                let block = buf.freeze();
                                state.feed(pos, &block).await;
                                let next = Part::Content(f, pos + n as u64, left - n as u64);
                                return Some((Ok(block), next));
                            }
                            Err(e) => return fail(e),
                        }
                    }
                    Part::Tail => {
                        return range.tail.clone().map(|t| (Ok(t), Part::End));
                    }
                    Part::End => return None,
                }
            }
        }
    });
    reqwest::Body::wrap_stream(bandwidth.throttle(Direction::Up, stream))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn data() -> Vec<u8> {
        (0..600_000u32).map(|i| (i % 251) as u8).collect()
    }

    #[tokio::test]
    async fn bodies_stream_ranges_and_hash_the_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data = data();
        std::fs::write(&path, &data).unwrap();
        let state = Hashing::new(Md5Pipe::threaded());
        let whole = FileRange {
            path: path.clone(),
            start: 0,
            len: 500_000,
            head: Some(Bytes::from_static(b"H")),
            tail: Some(Bytes::from_static(b"T")),
        };
        let out = file_body(whole, state.clone(), &Bandwidth::unlimited())
            .collect()
            .await
            .unwrap()
            .to_bytes();
        assert_eq!(out.len(), 500_002);
        assert_eq!((out[0], out[500_001]), (b'H', b'T'));
        assert_eq!(&out[1..500_001], &data[..500_000]);
        {
            let s = state.progress();
            assert!(s.done && s.hashed == 500_000);
        }
        // A range that overlaps the hashed prefix only adds what is new.
        let part = FileRange {
            path: path.clone(),
            start: 400_000,
            len: 200_000,
            head: None,
            tail: None,
        };
        let out = file_body(part, state.clone(), &Bandwidth::unlimited())
            .collect()
            .await
            .unwrap()
            .to_bytes();
        assert_eq!(&out[..], &data[400_000..]);
        assert_eq!(state.progress().hashed, 600_000);
        assert_eq!(
            state.digest().await,
            md5_of_file(&path, 600_000).await.unwrap()
        );
    }

    #[tokio::test]
    async fn a_file_shorter_than_its_range_fails_the_body() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"short").unwrap();
        let state = Hashing::new(Md5Pipe::inline());
        let range = FileRange {
            path,
            start: 0,
            len: 10,
            head: None,
            tail: None,
        };
        assert!(file_body(range, state.clone(), &Bandwidth::unlimited())
            .collect()
            .await
            .is_err());
        assert_eq!(
            state.progress().error.as_ref().map(io::Error::kind),
            Some(io::ErrorKind::UnexpectedEof)
        );
    }
}
