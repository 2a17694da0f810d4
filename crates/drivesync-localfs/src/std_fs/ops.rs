//! Blocking building blocks of [`super::StdFs`]: metadata, folder checks, hashing, the
//! no-replace rename. Run them on a blocking thread.

use std::fs;
use std::io::{self, Read};
use std::path::Path;
use std::time::UNIX_EPOCH;

use drivesync_model::{LocalStamp, Md5, RelPath};
use md5::Digest;

use crate::{FsError, FsKind, Hashed, Meta, UploadFile, SMALL_FILE};

/// Read buffer for hashing.
const HASH_BUF: usize = 256 * 1024;

/// The [`Meta`] of `md` (from `symlink_metadata` or an open file).
pub(crate) fn meta_from(md: &fs::Metadata) -> Meta {
    let ft = md.file_type();
    let kind = if ft.is_symlink() {
        FsKind::Symlink
    } else if ft.is_dir() {
        FsKind::Folder
    } else if ft.is_file() {
        FsKind::File
    } else {
        FsKind::Other
    };
    let mtime_ns = match md.modified() {
        Ok(t) => match t.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
            Err(before) => i64::try_from(before.duration().as_nanos()).map_or(i64::MIN, |n| -n),
        },
        Err(_) => 0,
    };
    Meta {
        kind,
        stamp: LocalStamp {
            size: if kind == FsKind::Folder { 0 } else { md.len() },
            mtime_ns,
            file_id: file_id(md),
        },
    }
}

#[cfg(unix)]
fn file_id(md: &fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(md)
}

#[cfg(not(unix))]
fn file_id(_md: &fs::Metadata) -> u64 {
    0
}

/// `lstat`: `None` when nothing is there (or a parent is not a folder).
pub(crate) fn lstat(abs: &Path, op: &'static str) -> Result<Option<Meta>, FsError> {
    match fs::symlink_metadata(abs) {
        Ok(md) => Ok(Some(meta_from(&md))),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(FsError::from_io(op, abs, e)),
    }
}

/// Checks that `dir` and every folder above it (below the root) are real folders, not links
/// or files, so a mutation under `dir` cannot leave the pair root. The root itself may be a
/// link (the user chose it).
pub(crate) fn check_dirs(root: &Path, dir: &RelPath, op: &'static str) -> Result<(), FsError> {
    let mut abs = root.to_path_buf();
    for c in dir.components() {
        abs.push(c);
        match lstat(&abs, op)? {
            Some(m) if m.kind == FsKind::Folder => {}
            Some(_) => return Err(FsError::NotAFolder { op, path: abs }),
            None => return Err(FsError::NotFound { op, path: abs }),
        }
    }
    Ok(())
}

/// Streams the file at `abs` through MD5; [`FsError::Changed`] if it changed meanwhile.
pub(crate) fn hash_file(abs: &Path) -> Result<Hashed, FsError> {
    let op = "read";
    let before = lstat(abs, op)?.ok_or_else(|| FsError::NotFound {
        op,
        path: abs.to_path_buf(),
    })?;
    if before.kind != FsKind::File {
        return Err(FsError::NotAFile {
            op,
            path: abs.to_path_buf(),
        });
    }
    let mut file = fs::File::open(abs).map_err(|e| FsError::from_io(op, abs, e))?;
    let opened = file.metadata().map_err(|e| FsError::from_io(op, abs, e))?;
    if meta_from(&opened) != before {
        return Err(FsError::Changed {
            path: abs.to_path_buf(),
        });
    }
    let mut hasher = md5::Md5::new();
    // Sized to the file (one read and the end) up to HASH_BUF: a small file does not pay
    // for zeroing, or mapping, a large buffer.
    let mut buf = vec![0u8; HASH_BUF.min(before.stamp.size as usize + 1)];
    let mut total = 0u64;
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buf[..n]);
                total += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FsError::from_io(op, abs, e)),
        }
    }
    let after = lstat(abs, op)?;
    if after != Some(before) || total != before.stamp.size {
        return Err(FsError::Changed {
            path: abs.to_path_buf(),
        });
    }
    Ok(Hashed {
        md5: Md5(hasher.finalize().into()),
        meta: before,
    })
}

/// `abs`'s content to upload: the file opened (so an unreadable one fails now, not in the
/// middle of an upload) and, when it has at most [`SMALL_FILE`] bytes, read whole, with the
/// open file's stamp taken after the read.
pub(crate) fn read_for_upload(abs: &Path) -> Result<UploadFile, FsError> {
    let op = "read";
    let stamp = match lstat(abs, op)? {
        Some(m) if m.kind == FsKind::File => m.stamp,
        Some(_) => {
            return Err(FsError::NotAFile {
                op,
                path: abs.to_path_buf(),
            })
        }
        None => {
            return Err(FsError::NotFound {
                op,
                path: abs.to_path_buf(),
            })
        }
    };
    let mut f = fs::File::open(abs).map_err(|e| FsError::from_io(op, abs, e))?;
    if stamp.size > SMALL_FILE {
        return Ok(UploadFile {
            path: abs.to_path_buf(),
            stamp,
            content: None,
            _keep: None,
        });
    }
    let mut content = Vec::with_capacity(stamp.size as usize + 1);
    f.read_to_end(&mut content)
        .map_err(|e| FsError::from_io(op, abs, e))?;
    // A change made since the lstat (or a different file put in its place) makes this
    // stamp differ from the plan's.
    let md = f.metadata().map_err(|e| FsError::from_io(op, abs, e))?;
    Ok(UploadFile {
        path: abs.to_path_buf(),
        stamp: meta_from(&md).stamp,
        content: Some(content),
        _keep: None,
    })
}

/// Renames `from` to `to` unless something is at `to` (`AlreadyExists`). Atomic with
/// `renameat2(RENAME_NOREPLACE)` / `renamex_np(RENAME_EXCL)`; where the file system lacks
/// them, a hard link (files) or a check right before the rename (a small window).
pub(crate) fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios"
    ))]
    {
        use rustix::fs::{renameat_with, RenameFlags, CWD};
        use rustix::io::Errno;
        match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
            Ok(()) => return Ok(()),
            Err(e)
                if [Errno::INVAL, Errno::NOSYS, Errno::NOTSUP, Errno::OPNOTSUPP].contains(&e) =>
            {
                tracing::debug!(?e, "no atomic no-replace rename here; falling back");
            }
            Err(e) => return Err(e.into()),
        }
    }
    if fs::symlink_metadata(from)?.is_file() {
        match fs::hard_link(from, to) {
            Ok(()) => {
                if let Err(e) = fs::remove_file(from) {
                    let _ = fs::remove_file(to);
                    return Err(e);
                }
                return Ok(());
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(e),
            Err(_) => {}
        }
    }
    if fs::symlink_metadata(to).is_ok() {
        return Err(io::ErrorKind::AlreadyExists.into());
    }
    fs::rename(from, to)
}

/// Makes a rename or creation in `dir` durable (best effort; a no-op off Unix).
pub(crate) fn fsync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Err(e) = fs::File::open(dir).and_then(|d| d.sync_all()) {
        tracing::debug!(dir = %dir.display(), %e, "cannot fsync folder");
    }
    #[cfg(not(unix))]
    let _ = dir;
}
