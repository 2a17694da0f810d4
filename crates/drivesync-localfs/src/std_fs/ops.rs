//! Blocking building blocks of [`super::StdFs`]: metadata, folder checks, hashing, the
//! no-replace rename. Run them on a blocking thread.

use std::fs;
use std::io::{self, Read};
use std::path::Path;
use std::time::UNIX_EPOCH;

use drivesync_model::{LocalStamp, Md5, RelPath, RootId};
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

/// The identity of the folder at `abs`, following links (the user's path may go through
/// one): `None` when it is missing, not a folder, or cannot be looked at.
pub(crate) fn root_id(abs: &Path) -> Option<RootId> {
    if !fs::metadata(abs).ok()?.is_dir() {
        return None;
    }
    Some(match file_id::get_file_id(abs).ok()? {
        file_id::FileId::Inode {
            device_id,
            inode_number,
        } => RootId {
            device: device_id,
            file_id: inode_number,
        },
        file_id::FileId::LowRes {
            volume_serial_number,
            file_index,
        } => RootId {
            device: volume_serial_number.into(),
            file_id: file_index,
        },
        file_id::FileId::HighRes {
            volume_serial_number,
            file_id,
        } => RootId {
            device: volume_serial_number,
            // Both halves count: ReFS ids differ only in the high one.
            file_id: (file_id as u64) ^ ((file_id >> 64) as u64),
        },
    })
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

/// Opens the regular file at `abs` for reading and returns it with its metadata (of the
/// open file). A symbolic link is not followed and anything but a regular file is
/// `NotAFile`; where the OS allows it the open itself refuses a link and does not block on
/// a FIFO, which saves a look-up of the path before it.
fn open_file(abs: &Path, op: &'static str) -> Result<(fs::File, Meta), FsError> {
    let not_a_file = || FsError::NotAFile {
        op,
        path: abs.to_path_buf(),
    };
    let not_found = || FsError::NotFound {
        op,
        path: abs.to_path_buf(),
    };
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios"
    ))]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK;
        options.custom_flags(flags.bits() as i32);
    }
    #[cfg(not(any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios"
    )))]
    match lstat(abs, op)? {
        Some(m) if m.kind == FsKind::File => {}
        Some(_) => return Err(not_a_file()),
        None => return Err(not_found()),
    }
    let file = match options.open(abs) {
        Ok(f) => f,
        #[cfg(any(
            target_os = "linux",
            target_os = "android",
            target_os = "macos",
            target_os = "ios"
        ))]
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
            return Err(not_a_file())
        }
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            return Err(not_found())
        }
        Err(e) => return Err(FsError::from_io(op, abs, e)),
    };
    let meta = file
        .metadata()
        .map(|md| meta_from(&md))
        .map_err(|e| FsError::from_io(op, abs, e))?;
    if meta.kind != FsKind::File {
        return Err(not_a_file());
    }
    Ok((file, meta))
}

/// Reads `file` (`meta` as opened) to its size, by calls of `read` (given the file and the
/// bytes read so far), and checks it did not change meanwhile ([`FsError::Changed`]): same
/// metadata after the read, and exactly its size read. A file that grew shows in its
/// metadata, so nothing past its size needs reading.
fn read_unchanged(
    abs: &Path,
    mut file: fs::File,
    meta: Meta,
    mut read: impl FnMut(&mut fs::File, usize) -> io::Result<usize>,
) -> Result<(), FsError> {
    let op = "read";
    let size = meta.stamp.size;
    let mut total = 0u64;
    while total < size {
        match read(&mut file, total as usize) {
            Ok(0) => break,
            Ok(n) => total += n as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FsError::from_io(op, abs, e)),
        }
    }
    let after = file
        .metadata()
        .map(|md| meta_from(&md))
        .map_err(|e| FsError::from_io(op, abs, e))?;
    if after != meta || total != size {
        return Err(FsError::Changed {
            path: abs.to_path_buf(),
        });
    }
    Ok(())
}

/// Streams the file at `abs` through MD5; [`FsError::Changed`] if it changed meanwhile.
pub(crate) fn hash_file(abs: &Path) -> Result<Hashed, FsError> {
    let (file, meta) = open_file(abs, "read")?;
    let mut hasher = md5::Md5::new();
    // Sized to the file up to HASH_BUF: a small file does not pay for zeroing, or mapping,
    // a large buffer.
    let mut buf = vec![0u8; HASH_BUF.min(meta.stamp.size as usize).max(1)];
    read_unchanged(abs, file, meta, |f, _| {
        let n = f.read(&mut buf)?;
        hasher.update(&buf[..n]);
        Ok(n)
    })?;
    Ok(Hashed {
        md5: Md5(hasher.finalize().into()),
        meta,
    })
}

/// `abs`'s content to upload: the file opened (so an unreadable one fails now, not in the
/// middle of an upload) and, when it has at most [`SMALL_FILE`] bytes, read whole; a file
/// that changed while read is `Changed`.
pub(crate) fn read_for_upload(abs: &Path) -> Result<UploadFile, FsError> {
    let (file, meta) = open_file(abs, "read")?;
    if meta.stamp.size > SMALL_FILE {
        return Ok(UploadFile {
            path: abs.to_path_buf(),
            stamp: meta.stamp,
            content: None,
            _keep: None,
        });
    }
    let mut content = vec![0u8; meta.stamp.size as usize];
    read_unchanged(abs, file, meta, |f, at| f.read(&mut content[at..]))?;
    Ok(UploadFile {
        path: abs.to_path_buf(),
        stamp: meta.stamp,
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
