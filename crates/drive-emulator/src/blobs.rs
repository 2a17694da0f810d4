//! File content on disk: one immutable blob per content revision, and one growing file per
//! resumable upload session. Content is always streamed, never held whole in memory.

use std::path::{Path, PathBuf};

use md5::{Digest, Md5};
use sha1::Sha1;
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The blob and upload folders.
#[derive(Debug, Clone)]
pub struct Blobs {
    blobs: PathBuf,
    uploads: PathBuf,
}

/// Size and MD5 of content written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// Bytes written.
    pub size: u64,
    /// Lower-case hex MD5.
    pub md5: String,
}

/// Lower-case hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A random id of `len` characters from Drive's id alphabet.
pub fn random_id(len: usize) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

impl Blobs {
    /// Uses (and creates) `root/blobs` and `root/uploads`.
    pub fn open(root: &Path) -> std::io::Result<Self> {
        let blobs = root.join("blobs");
        let uploads = root.join("uploads");
        std::fs::create_dir_all(&blobs)?;
        std::fs::create_dir_all(&uploads)?;
        Ok(Self { blobs, uploads })
    }

    /// Path of a committed blob.
    pub fn blob_path(&self, name: &str) -> PathBuf {
        self.blobs.join(name)
    }

    /// Path of an upload session's partial content.
    pub fn upload_path(&self, session: &str) -> PathBuf {
        self.uploads.join(session)
    }

    /// A new temporary file for content being received outside a session.
    pub async fn temp(&self) -> std::io::Result<(PathBuf, tokio::fs::File)> {
        let path = self.uploads.join(format!("tmp-{}", random_id(24)));
        let f = tokio::fs::File::create(&path).await?;
        Ok((path, f))
    }

    /// Moves finished content at `from` into the blob folder; returns the blob name.
    pub async fn commit(&self, from: &Path) -> std::io::Result<String> {
        let name = random_id(32);
        tokio::fs::rename(from, self.blob_path(&name)).await?;
        Ok(name)
    }

    /// A new blob with the same bytes as `name` (a hard link: blobs are immutable).
    pub async fn duplicate(&self, name: &str) -> std::io::Result<String> {
        if name == crate::ops::EMPTY_BLOB {
            return Ok(name.to_owned());
        }
        let new = random_id(32);
        if tokio::fs::hard_link(self.blob_path(name), self.blob_path(&new))
            .await
            .is_err()
        {
            tokio::fs::copy(self.blob_path(name), self.blob_path(&new)).await?;
        }
        Ok(new)
    }

    /// Deletes a blob; a missing one is not an error. The shared empty blob stays.
    pub fn remove(&self, name: &str) {
        if name != crate::ops::EMPTY_BLOB {
            let _ = std::fs::remove_file(self.blob_path(name));
        }
    }

    /// Creates the shared zero-byte blob that metadata-only binary files point at.
    pub fn ensure_empty_blob(&self) -> std::io::Result<()> {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.blob_path(crate::ops::EMPTY_BLOB))
            .map(|_| ())
    }

    /// Deletes every blob not in `keep`, and every leftover temporary upload file.
    pub fn collect_garbage(
        &self,
        keep: &std::collections::HashSet<String>,
        sessions: &std::collections::HashSet<String>,
    ) {
        for (dir, live) in [(&self.blobs, keep), (&self.uploads, sessions)] {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if !live.contains(&name) && name != crate::ops::EMPTY_BLOB {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }

    /// MD5 of a file's first `len` bytes, streamed.
    pub async fn md5_of(path: &Path, len: u64) -> std::io::Result<Md5> {
        let mut f = tokio::fs::File::open(path).await?.take(len);
        let mut h = Md5::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = f.read(&mut buf).await?;
            if n == 0 {
                return Ok(h);
            }
            h.update(&buf[..n]);
        }
    }

    /// SHA-1 and SHA-256 of a blob, streamed (computed on demand: most clients never ask).
    pub async fn sha_digests(&self, name: &str) -> std::io::Result<(String, String)> {
        let mut f = tokio::fs::File::open(self.blob_path(name)).await?;
        let (mut s1, mut s2) = (Sha1::new(), Sha256::new());
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = f.read(&mut buf).await?;
            if n == 0 {
                return Ok((hex(&s1.finalize()), hex(&s2.finalize())));
            }
            s1.update(&buf[..n]);
            s2.update(&buf[..n]);
        }
    }
}

/// Streams bytes into a file while a blocking thread computes their MD5, so hashing and
/// writing proceed in parallel. The channel to the hasher is bounded: memory stays bounded.
#[derive(Debug)]
pub struct HashingWriter {
    file: tokio::io::BufWriter<tokio::fs::File>,
    to_hasher: tokio::sync::mpsc::Sender<bytes::Bytes>,
    hasher: tokio::task::JoinHandle<Md5>,
    size: u64,
}

impl HashingWriter {
    /// Continues writing at the end of `file`, whose first `size` bytes hashed to `md5`.
    pub fn new(file: tokio::fs::File, mut md5: Md5, size: u64) -> Self {
        let (to_hasher, mut rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(32);
        let hasher = tokio::task::spawn_blocking(move || {
            while let Some(b) = rx.blocking_recv() {
                md5.update(&b);
            }
            md5
        });
        Self {
            file: tokio::io::BufWriter::with_capacity(1 << 20, file),
            to_hasher,
            hasher,
            size,
        }
    }

    /// Appends bytes.
    pub async fn write(&mut self, data: bytes::Bytes) -> std::io::Result<()> {
        self.size += data.len() as u64;
        self.file.write_all(&data).await?;
        self.to_hasher
            .send(data)
            .await
            .map_err(|_| std::io::Error::other("the MD5 thread stopped"))
    }

    /// Bytes written so far (including the starting size).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Flushes to the OS and returns the hash state and size.
    pub async fn finish(mut self) -> std::io::Result<(Md5, u64)> {
        self.file.flush().await?;
        drop(self.to_hasher);
        let md5 = self.hasher.await.map_err(std::io::Error::other)?;
        Ok((md5, self.size))
    }
}
