//! The seam: [`LocalFs`] (every local file system operation the engine needs, each with its
//! contract) and [`Staged`] (a download being written next to its target).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use drivesync_model::{LocalStamp, Md5, RelPath, RootId};
use tokio::io::AsyncWriteExt;

use crate::FsError;

/// Name prefix of the temporary files [`LocalFs::stage`] creates; the scanner skips them.
pub const PARTIAL_PREFIX: &str = ".drivesync-partial-";
/// The folder under the pair root where [`LocalFs::trash`] puts things when the OS has no
/// trash; the scanner skips it.
pub const TRASH_DIR: &str = ".drivesync-trash";

/// The file at the pair root that marks the folder as the pair's: it holds the pair's id
/// ([`LocalFs::read_marker`]). A folder without it, while the pair has synced files, is not
/// the folder that was synced (an empty mount point). The scanner skips it and it is never
/// uploaded.
pub const PAIR_MARKER: &str = ".drivesync-pair";

/// The marker is never read past this many bytes (it holds a few lines).
const MARKER_MAX: usize = 4096;

/// What the file system says about one entry (symlinks are not followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Meta {
    /// File, folder, link or something else.
    pub kind: FsKind,
    /// Size (0 for folders), mtime and identity.
    pub stamp: LocalStamp,
}

/// The type of a local entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FsKind {
    /// A regular file.
    File,
    /// A folder.
    Folder,
    /// A symbolic link (never followed).
    Symlink,
    /// A FIFO, socket, device...
    Other,
}

/// What a path must still be when an operation that could destroy it runs; checked right
/// before acting, [`FsError::Changed`] if it is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Nothing is there.
    Absent,
    /// It is there with the same size, mtime_ns and file_id.
    Stamp(LocalStamp),
    /// Whatever is there (used for folders, whose content is checked one by one).
    Any,
}

impl Expect {
    /// Whether `current` (what is at the path now, `None` when absent) is as expected.
    pub fn matches(&self, current: Option<&Meta>) -> bool {
        match self {
            Expect::Absent => current.is_none(),
            Expect::Stamp(s) => current.is_some_and(|m| m.stamp == *s),
            Expect::Any => true,
        }
    }
}

/// The content of a folder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// Each entry's name and metadata, sorted by name.
    pub entries: Vec<(String, Meta)>,
    /// Entries that cannot be synced (a name that is not UTF-8, an entry that cannot be
    /// looked at), with the reason.
    pub skipped: Vec<Skipped>,
}

/// An entry [`LocalFs::list_dir`] could not return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Its name, lossily converted to UTF-8 for messages.
    pub name: String,
    /// Why it was skipped.
    pub reason: String,
}

/// The result of [`LocalFs::hash`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hashed {
    /// MD5 of the bytes read.
    pub md5: Md5,
    /// The metadata, unchanged from before the read to after it.
    pub meta: Meta,
}

/// Where [`LocalFs::trash`] put something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trashed {
    /// In the OS trash (freedesktop trash, macOS Trash, Windows Recycle Bin).
    Os,
    /// Under `<root>/.drivesync-trash/<YYYYmmdd-HHMMSS>/`, at this absolute path (the OS had
    /// no usable trash, or OS trash is turned off).
    Fallback(PathBuf),
}

/// Files of at most this many bytes are read whole by [`LocalFs::upload_path`], in the same
/// call that checks them: a small upload then needs no further disk access.
pub const SMALL_FILE: u64 = 256 * 1024;

/// A local file's content, for uploading: a real on-disk file to stream from and, for a
/// small file, the content in memory. Keep it alive while the upload runs (for
/// [`crate::MemFs`] the file is a temporary snapshot removed on drop).
pub struct UploadFile {
    /// The file to read.
    pub path: PathBuf,
    /// The local file's stamp when it was read for the upload (compare it with the plan's):
    /// the stamp of the open file after `content` was read from it.
    pub stamp: LocalStamp,
    /// The whole content, for a file of at most [`SMALL_FILE`] bytes.
    pub content: Option<Vec<u8>>,
    pub(crate) _keep: Option<tempfile::TempPath>,
}

impl std::fmt::Debug for UploadFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadFile")
            .field("path", &self.path)
            .field("stamp", &self.stamp)
            .field("content", &self.content.as_ref().map(Vec::len))
            .finish_non_exhaustive()
    }
}

/// A version of a file that a download is about to replace, kept aside by [`LocalFs::keep`]
/// until Drive is seen to still have the file. Then it is dropped ([`LocalFs::drop_kept`]:
/// the version is in the Drive file's history); if Drive lost the file meanwhile (another
/// device deleted it for good during the download), the version would exist nowhere else, so
/// it goes to the trash ([`LocalFs::trash_kept`]), as the file would have without the
/// download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// The path the version had: its name in the trash.
    pub path: RelPath,
    /// Where it is kept: `.drivesync-trash/.kept-<random>/<name>` (the scanner skips it).
    pub at: RelPath,
}

/// Name prefix of the folders under [`TRASH_DIR`] that hold [`Kept`] versions.
pub const KEPT_PREFIX: &str = ".kept-";

impl Kept {
    /// Whether `at` is a place [`LocalFs::keep`] makes: `.drivesync-trash/.kept-*/<name>`.
    /// [`LocalFs::drop_kept`] refuses to delete anything else.
    pub fn is_kept_place(at: &RelPath) -> bool {
        let parts: Vec<&str> = at.components().collect();
        matches!(parts.as_slice(), [t, k, _] if *t == TRASH_DIR && k.starts_with(KEPT_PREFIX))
    }
}

/// The local file system of one sync pair, relative to its root. Paths are [`RelPath`]s, so
/// no operation can name anything outside the root; mutating operations also refuse to go
/// through a symbolic link ([`FsError::NotAFolder`]). Errors name absolute paths.
#[async_trait::async_trait]
pub trait LocalFs: Send + Sync {
    /// Absolute location of the pair root (for messages, and for `StdFs` the real folder).
    fn root(&self) -> &Path;

    /// The identity of the pair root folder now (a link at the root is followed, as the
    /// user's path is): `Ok(None)` when nothing is there or it is not a folder. Read-only.
    async fn root_id(&self) -> Result<Option<RootId>, FsError>;

    /// The text of [`PAIR_MARKER`] at the root (at most 4 KiB, lossily UTF-8); `Ok(None)`
    /// when it is absent or not a regular file. Read-only.
    async fn read_marker(&self) -> Result<Option<String>, FsError> {
        let path = RelPath::new(PAIR_MARKER).expect("a plain name");
        match self.upload_path(&path).await {
            Ok(f) => {
                let bytes = f.content.unwrap_or_default();
                let bytes = &bytes[..bytes.len().min(MARKER_MAX)];
                Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
            }
            Err(e) if e.is_not_found() || matches!(e, FsError::NotAFile { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes `text` as [`PAIR_MARKER`] at the root, replacing the one there (atomically:
    /// staged, then renamed).
    async fn write_marker(&self, text: &str) -> Result<(), FsError> {
        let path = RelPath::new(PAIR_MARKER).expect("a plain name");
        self.write_new(&path, text.as_bytes(), Expect::Any, None)
            .await
            .map(drop)
    }

    /// What is at `path`, without following a symbolic link at `path` itself (the root is
    /// followed if it is one). `Ok(None)` when nothing is there, also when a parent is not a
    /// folder. Read-only.
    async fn stat(&self, path: &RelPath) -> Result<Option<Meta>, FsError>;

    /// The entries of the folder `path` (sorted by name), without following links. Names
    /// that are not UTF-8 go to [`Listing::skipped`]. Errors: `NotFound`, `NotAFolder`,
    /// `PermissionDenied`. Read-only.
    async fn list_dir(&self, path: &RelPath) -> Result<Listing, FsError>;

    /// Streams the regular file at `path` through MD5. Its metadata is taken before and after
    /// the read; if it changed meanwhile the result is [`FsError::Changed`] (a half-old,
    /// half-new MD5 is never returned). Errors also: `NotFound`, `NotAFile`,
    /// `PermissionDenied`. Read-only.
    async fn hash(&self, path: &RelPath) -> Result<Hashed, FsError>;

    /// [`LocalFs::hash`] of each of `paths`, one result per path in the same order. For many
    /// small files, whose hashing costs less than a hand-off to another thread, [`StdFs`]
    /// hashes them all in one blocking call.
    ///
    /// [`StdFs`]: crate::StdFs
    async fn hash_many(&self, paths: &[RelPath]) -> Vec<Result<Hashed, FsError>> {
        let mut out = Vec::with_capacity(paths.len());
        for p in paths {
            out.push(self.hash(p).await);
        }
        out
    }

    /// Creates the folder `path`; its parent must exist (`NotFound` otherwise). Idempotent:
    /// `Ok` with its meta if a folder is already there; `AlreadyExists` if anything else is.
    async fn create_dir(&self, path: &RelPath) -> Result<Meta, FsError>;

    /// Moves `from` to `to` (file or folder), keeping its identity. First checks `from`
    /// against `expect` (`NotFound` if absent, `Changed` if different). Never replaces an
    /// existing `to` (`AlreadyExists`), except for a case-only rename of the same entry on a
    /// case-insensitive file system. `to`'s parent must exist. Returns the meta at `to`.
    /// Not idempotent: a second call finds `from` gone (`NotFound`).
    async fn rename(&self, from: &RelPath, to: &RelPath, expect: Expect) -> Result<Meta, FsError>;

    /// Moves `path` (file or folder, with its content) to the OS trash, or, when there is
    /// none, to `<root>/.drivesync-trash/<YYYYmmdd-HHMMSS>/<path>` (a counter is added to
    /// the name on collision). Re-checks `expect` first (`Changed`; `NotFound` if absent).
    /// Nothing is ever deleted permanently. The check and the move are not atomic: a write
    /// in between goes to the trash with the file, so it is not lost.
    async fn trash(&self, path: &RelPath, expect: Expect) -> Result<Trashed, FsError>;

    /// Keeps the file at `path` as it is now, under `.drivesync-trash/.kept-<random>/<name>`
    /// ([`Kept`]), so a download committed over `path` does not destroy that version before
    /// drivesync knows Drive still has it. A second link to the same file where the file
    /// system has links (nothing is copied, the stamp at `path` does not change); `Ok(None)`
    /// where it has none, and the download then replaces the version as before. Errors:
    /// `NotFound`, `NotAFile`.
    async fn keep(&self, path: &RelPath) -> Result<Option<Kept>, FsError>;

    /// Moves a version kept by [`LocalFs::keep`] to the trash under its old path's name (the
    /// OS trash, else `.drivesync-trash/<YYYYmmdd-HHMMSS>/<path>`, as [`LocalFs::trash`]).
    /// Errors: `NotFound` if it is no longer kept.
    async fn trash_kept(&self, kept: &Kept) -> Result<Trashed, FsError>;

    /// Deletes a version kept by [`LocalFs::keep`] (Drive has it in the file's history).
    /// Refuses (`Io`) any path that is not a kept place ([`Kept::is_kept_place`]).
    /// Idempotent.
    async fn drop_kept(&self, kept: &Kept) -> Result<(), FsError>;

    /// Starts a new file in the folder `dir`: a temporary `.drivesync-partial-<random>` there,
    /// so committing it onto a target in the same folder is an atomic rename. Errors:
    /// `NotFound`, `NotAFolder`, `PermissionDenied`, `DiskFull`.
    async fn stage(&self, dir: &RelPath) -> Result<Box<dyn Staged>, FsError>;

    /// `path`'s content to upload: a real on-disk path to stream it from and, when it has at
    /// most [`SMALL_FILE`] bytes, the content read whole. Errors: `NotFound`, `NotAFile`, `PermissionDenied`.
    /// Read-only.
    async fn upload_path(&self, path: &RelPath) -> Result<UploadFile, FsError>;

    /// [`LocalFs::upload_path`] of each of `paths`, one result per path in the same order.
    /// For many small files [`StdFs`] reads them all in one blocking call.
    ///
    /// [`StdFs`]: crate::StdFs
    async fn upload_many(&self, paths: &[RelPath]) -> Vec<Result<UploadFile, FsError>> {
        let mut out = Vec::with_capacity(paths.len());
        for p in paths {
            out.push(self.upload_path(p).await);
        }
        out
    }

    /// Deletes a partial download left behind by an interrupted sync. Refuses (`Io`) any
    /// file whose name does not start with [`PARTIAL_PREFIX`]: nothing else is ever deleted
    /// for good. Idempotent (absent is fine).
    async fn remove_partial(&self, path: &RelPath) -> Result<(), FsError>;

    /// Writes a small file in one go (stage, write, commit), e.g. a Google Doc link file.
    /// Same contract as [`Staged::commit`].
    async fn write_new(
        &self,
        path: &RelPath,
        bytes: &[u8],
        expect: Expect,
        mtime: Option<DateTime<Utc>>,
    ) -> Result<Meta, FsError> {
        let dir = path.parent().ok_or_else(|| FsError::NotAFile {
            op: "write",
            path: self.root().to_path_buf(),
        })?;
        let mut staged = self.stage(&dir).await?;
        let abs = path.to_path(self.root());
        staged
            .write_all(bytes)
            .await
            .map_err(|e| FsError::from_io("write", &abs, e))?;
        staged
            .flush()
            .await
            .map_err(|e| FsError::from_io("write", &abs, e))?;
        staged.commit(path, expect, mtime).await
    }
}

/// A file being written by [`LocalFs::stage`]. Write the content, then [`Staged::commit`].
/// Dropping it without committing removes the temporary file.
#[async_trait::async_trait]
pub trait Staged: tokio::io::AsyncWrite + Send + Unpin {
    /// Makes the written bytes durable (fsync), sets the mtime to `mtime` when given,
    /// re-checks `to` against `expect` (`Changed` if it differs: a file that changed is never
    /// overwritten), then atomically puts the file at `to` and returns its final meta. On any
    /// error the temporary file is removed and `to` is left as it was.
    ///
    /// With [`Expect::Absent`] the placement itself refuses to replace (atomic where the OS
    /// offers it). With [`Expect::Stamp`] `to` is re-checked immediately before the atomic
    /// rename; a write to `to` in the microseconds between the two is the remaining window.
    async fn commit(
        self: Box<Self>,
        to: &RelPath,
        expect: Expect,
        mtime: Option<DateTime<Utc>>,
    ) -> Result<Meta, FsError>;
}

/// `name` for `n == 1`, else `stem (n).ext` (`.bashrc (2)`, `notes (2)`, `a.tar (2).gz`).
pub(crate) fn numbered(name: &str, n: u32) -> String {
    if n <= 1 {
        return name.to_owned();
    }
    match name.rfind('.') {
        Some(i) if i > 0 => format!("{} ({n}){}", &name[..i], &name[i..]),
        _ => format!("{name} ({n})"),
    }
}

#[cfg(test)]
mod tests {
    use super::numbered;

    #[test]
    fn numbered_names_keep_the_extension() {
        assert_eq!(numbered("a.txt", 1), "a.txt");
        assert_eq!(numbered("a.txt", 2), "a (2).txt");
        assert_eq!(numbered(".bashrc", 3), ".bashrc (3)");
        assert_eq!(numbered("notes", 2), "notes (2)");
    }
}
