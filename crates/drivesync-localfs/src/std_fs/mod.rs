//! [`StdFs`]: [`LocalFs`] on the real disk. Every blocking call runs on tokio's blocking pool.

pub(crate) mod ops;
mod staged;
mod trash;

pub use trash::prune_fallback_trash;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use drivesync_model::{RelPath, RootId};

use crate::{
    Expect, FsError, FsKind, Hashed, Kept, Listing, LocalFs, Meta, Skipped, Staged, Trashed,
};
use crate::{UploadFile, PARTIAL_PREFIX};

/// The real file system under one pair root.
#[derive(Debug, Clone)]
pub struct StdFs {
    root: PathBuf,
    os_trash: bool,
}

impl StdFs {
    /// The pair rooted at `root` (absolute; it need not exist yet). Trash goes to the OS
    /// trash.
    pub fn new(root: PathBuf) -> Self {
        Self {
            root,
            os_trash: true,
        }
    }

    /// With `false`, [`LocalFs::trash`] always uses `<root>/.drivesync-trash` (tests use this
    /// so they never fill the real trash).
    pub fn with_os_trash(mut self, on: bool) -> Self {
        self.os_trash = on;
        self
    }
}

/// Runs `f` on the blocking pool; a panic in it is resumed here.
async fn blocking<T: Send + 'static>(
    op: &'static str,
    path: PathBuf,
    f: impl FnOnce() -> Result<T, FsError> + Send + 'static,
) -> Result<T, FsError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(FsError::Io {
            op,
            path,
            source: io::Error::other(e),
        }),
    }
}

/// `f` of each of `paths` (under `root`), all in one blocking call: for small files the
/// hand-off to another thread costs more than the work. If that call cannot run (the
/// runtime is shutting down), every path gets the error.
async fn each_blocking<T: Send + 'static>(
    root: &Path,
    paths: &[RelPath],
    op: &'static str,
    f: fn(&Path) -> Result<T, FsError>,
) -> Vec<Result<T, FsError>> {
    let abs: Vec<PathBuf> = paths.iter().map(|p| p.to_path(root)).collect();
    let first = abs.first().cloned().unwrap_or_else(|| root.to_path_buf());
    let all = abs.clone();
    match blocking(op, first, move || Ok(all.iter().map(|a| f(a)).collect())).await {
        Ok(each) => each,
        Err(e) => abs
            .into_iter()
            .map(|path| FsError::Io {
                op,
                path,
                source: io::Error::other(e.to_string()),
            })
            .map(Err)
            .collect(),
    }
}

fn no_root(op: &'static str, root: &Path) -> FsError {
    FsError::Io {
        op,
        path: root.to_path_buf(),
        source: io::Error::other("not allowed on the pair root itself"),
    }
}

#[async_trait::async_trait]
impl LocalFs for StdFs {
    fn root(&self) -> &Path {
        &self.root
    }

    async fn root_id(&self) -> Result<Option<RootId>, FsError> {
        let abs = self.root.clone();
        blocking("look at", abs.clone(), move || Ok(ops::root_id(&abs))).await
    }

    async fn stat(&self, path: &RelPath) -> Result<Option<Meta>, FsError> {
        let abs = path.to_path(&self.root);
        let is_root = path.is_root();
        blocking("look at", abs.clone(), move || {
            if !is_root {
                return ops::lstat(&abs, "look at");
            }
            match fs::metadata(&abs) {
                Ok(md) => Ok(Some(ops::meta_from(&md))),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(FsError::from_io("look at", &abs, e)),
            }
        })
        .await
    }

    async fn list_dir(&self, path: &RelPath) -> Result<Listing, FsError> {
        let op = "list";
        let abs = path.to_path(&self.root);
        let is_root = path.is_root();
        blocking(op, abs.clone(), move || {
            let md = if is_root {
                fs::metadata(&abs)
            } else {
                fs::symlink_metadata(&abs)
            };
            let md = md.map_err(|e| FsError::from_io(op, &abs, e))?;
            if !md.is_dir() {
                return Err(FsError::NotAFolder { op, path: abs });
            }
            let mut out = Listing::default();
            for entry in fs::read_dir(&abs).map_err(|e| FsError::from_io(op, &abs, e))? {
                let entry = entry.map_err(|e| FsError::from_io(op, &abs, e))?;
                let name = match entry.file_name().into_string() {
                    Ok(n) => n,
                    Err(raw) => {
                        out.skipped.push(Skipped {
                            name: raw.to_string_lossy().into_owned(),
                            reason: "its name is not valid UTF-8; rename it to sync it".into(),
                        });
                        continue;
                    }
                };
                // Relative to the open folder (no walk of the whole path), not following a
                // link.
                match entry.metadata() {
                    Ok(md) => out.entries.push((name, ops::meta_from(&md))),
                    // Removed since the folder was read: it is simply not there.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => out.skipped.push(Skipped {
                        reason: FsError::from_io("look at", entry.path(), e).to_string(),
                        name,
                    }),
                }
            }
            out.entries.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(out)
        })
        .await
    }

    async fn hash(&self, path: &RelPath) -> Result<Hashed, FsError> {
        let abs = path.to_path(&self.root);
        blocking("read", abs.clone(), move || ops::hash_file(&abs)).await
    }

    async fn hash_many(&self, paths: &[RelPath]) -> Vec<Result<Hashed, FsError>> {
        each_blocking(&self.root, paths, "read", ops::hash_file).await
    }

    async fn create_dir(&self, path: &RelPath) -> Result<Meta, FsError> {
        let op = "create the folder";
        let root = self.root.clone();
        let abs = path.to_path(&root);
        let Some(parent) = path.parent() else {
            return self.stat(path).await?.ok_or(FsError::RootMissing { root });
        };
        blocking(op, abs.clone(), move || {
            ops::check_dirs(&root, &parent, op)?;
            match fs::create_dir(&abs) {
                Ok(()) => ops::fsync_dir(&parent.to_path(&root)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(FsError::from_io(op, &abs, e)),
            }
            match ops::lstat(&abs, op)? {
                Some(m) if m.kind == FsKind::Folder => Ok(m),
                Some(_) => Err(FsError::AlreadyExists { op, path: abs }),
                None => Err(FsError::Changed { path: abs }),
            }
        })
        .await
    }

    async fn rename(&self, from: &RelPath, to: &RelPath, expect: Expect) -> Result<Meta, FsError> {
        let op = "rename";
        let root = self.root.clone();
        let (from, to) = (from.clone(), to.clone());
        let (Some(from_dir), Some(to_dir)) = (from.parent(), to.parent()) else {
            return Err(no_root(op, &root));
        };
        blocking(op, from.to_path(&root), move || {
            let (af, at) = (from.to_path(&root), to.to_path(&root));
            ops::check_dirs(&root, &from_dir, op)?;
            ops::check_dirs(&root, &to_dir, op)?;
            let cur = ops::lstat(&af, op)?.ok_or(FsError::NotFound {
                op,
                path: af.clone(),
            })?;
            if !expect.matches(Some(&cur)) {
                return Err(FsError::Changed { path: af });
            }
            if from == to {
                return Ok(cur);
            }
            match ops::lstat(&at, op)? {
                // The same entry under another case: a case-insensitive file system.
                Some(t) if from.fold_key() == to.fold_key() && t.stamp == cur.stamp => {
                    fs::rename(&af, &at).map_err(|e| FsError::from_io(op, &af, e))?
                }
                Some(_) => return Err(FsError::AlreadyExists { op, path: at }),
                None => ops::rename_noreplace(&af, &at).map_err(|e| match e.kind() {
                    io::ErrorKind::AlreadyExists => FsError::AlreadyExists {
                        op,
                        path: at.clone(),
                    },
                    _ => FsError::from_io(op, &af, e),
                })?,
            }
            ops::fsync_dir(&to_dir.to_path(&root));
            if from_dir != to_dir {
                ops::fsync_dir(&from_dir.to_path(&root));
            }
            tracing::debug!(%from, %to, "renamed");
            ops::lstat(&at, op)?.ok_or(FsError::Changed { path: at })
        })
        .await
    }

    async fn trash(&self, path: &RelPath, expect: Expect) -> Result<Trashed, FsError> {
        let (root, path, os) = (self.root.clone(), path.clone(), self.os_trash);
        if path.is_root() {
            return Err(no_root("move to the trash", &root));
        }
        blocking("move to the trash", path.to_path(&root), move || {
            trash::trash(&root, os, &path, expect)
        })
        .await
    }

    async fn keep(&self, path: &RelPath) -> Result<Option<Kept>, FsError> {
        let (root, path) = (self.root.clone(), path.clone());
        blocking("keep the old version of", path.to_path(&root), move || {
            trash::keep(&root, &path)
        })
        .await
    }

    async fn trash_kept(&self, kept: &Kept) -> Result<Trashed, FsError> {
        let (root, kept, os) = (self.root.clone(), kept.clone(), self.os_trash);
        blocking("move to the trash", kept.at.to_path(&root), move || {
            trash::trash_kept(&root, os, &kept)
        })
        .await
    }

    async fn drop_kept(&self, kept: &Kept) -> Result<(), FsError> {
        let (root, kept) = (self.root.clone(), kept.clone());
        blocking(
            "delete the kept old version",
            kept.at.to_path(&root),
            move || trash::drop_kept(&root, &kept),
        )
        .await
    }

    async fn stage(&self, dir: &RelPath) -> Result<Box<dyn Staged>, FsError> {
        let op = "create a file in";
        let (root, dir) = (self.root.clone(), dir.clone());
        let abs_dir = dir.to_path(&root);
        let (file, temp) = blocking(op, abs_dir.clone(), move || {
            ops::check_dirs(&root, &dir, op)?;
            let mut b = tempfile::Builder::new();
            b.prefix(PARTIAL_PREFIX).rand_bytes(12);
            // The umask applies, as for any new file (tempfile's default is 0600).
            #[cfg(unix)]
            b.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
            let named = b
                .tempfile_in(&abs_dir)
                .map_err(|e| FsError::from_io(op, &abs_dir, e))?;
            Ok(named.into_parts())
        })
        .await?;
        Ok(Box::new(staged::StdStaged::new(
            self.root.clone(),
            tokio::fs::File::from_std(file),
            temp,
        )))
    }

    async fn remove_partial(&self, path: &RelPath) -> Result<(), FsError> {
        let op = "remove a partial download";
        let abs = path.to_path(&self.root);
        if !path.name().starts_with(PARTIAL_PREFIX) {
            return Err(FsError::Io {
                op,
                path: abs,
                source: io::Error::other("not a partial download"),
            });
        }
        blocking(op, abs.clone(), move || match fs::remove_file(&abs) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(FsError::from_io(op, &abs, e)),
            _ => Ok(()),
        })
        .await
    }

    async fn upload_path(&self, path: &RelPath) -> Result<UploadFile, FsError> {
        let abs = path.to_path(&self.root);
        blocking("read", abs.clone(), move || ops::read_for_upload(&abs)).await
    }

    async fn upload_many(&self, paths: &[RelPath]) -> Vec<Result<UploadFile, FsError>> {
        each_blocking(&self.root, paths, "read", ops::read_for_upload).await
    }
}
