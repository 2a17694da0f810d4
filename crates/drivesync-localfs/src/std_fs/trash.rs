//! Trashing on the real disk: the OS trash (the `trash` crate), else
//! `<root>/.drivesync-trash/<YYYYmmdd-HHMMSS>/<path>`. Never a permanent delete.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use drivesync_model::RelPath;

use super::ops;
use crate::api::numbered;
use crate::{Expect, FsError, FsKind, Kept, Trashed, KEPT_PREFIX, TRASH_DIR};

const OP: &str = "move to the trash";

/// Blocking body of [`crate::LocalFs::trash`] for [`super::StdFs`].
pub(super) fn trash(
    root: &Path,
    os_trash: bool,
    path: &RelPath,
    expect: Expect,
) -> Result<Trashed, FsError> {
    let abs = path.to_path(root);
    ops::check_dirs(root, &path.parent().unwrap_or_else(RelPath::root), OP)?;
    let Some(cur) = ops::lstat(&abs, OP)? else {
        return Err(FsError::NotFound { op: OP, path: abs });
    };
    if !expect.matches(Some(&cur)) {
        return Err(FsError::Changed { path: abs });
    }
    to_trash(root, os_trash, &abs, path)
}

/// Moves the file or folder at `abs` to the OS trash, else (no usable OS trash, or it is
/// turned off) to `.drivesync-trash/<stamp>/<as_path>`.
fn to_trash(
    root: &Path,
    os_trash: bool,
    abs: &Path,
    as_path: &RelPath,
) -> Result<Trashed, FsError> {
    if os_trash {
        match ::trash::delete(abs) {
            Ok(()) => {
                tracing::info!(path = %abs.display(), "moved to the OS trash");
                return Ok(Trashed::Os);
            }
            Err(e) if ops::lstat(abs, OP)?.is_none() => {
                tracing::warn!(path = %abs.display(), %e, "the OS trash reported an error, but the entry was moved");
                return Ok(Trashed::Os);
            }
            Err(e) => {
                tracing::warn!(path = %abs.display(), %e, "no usable OS trash; using {TRASH_DIR}");
            }
        }
    }
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S").to_string();
    let dest = fallback(root, &stamp, abs, as_path)?;
    tracing::info!(path = %abs.display(), to = %dest.display(), "moved to {TRASH_DIR}");
    Ok(Trashed::Fallback(dest))
}

/// Blocking body of [`crate::LocalFs::keep`] for [`super::StdFs`]: a hard link to the file at
/// `path` in a new `.drivesync-trash/.kept-<random>/` folder.
pub(super) fn keep(root: &Path, path: &RelPath) -> Result<Option<Kept>, FsError> {
    const KEEP: &str = "keep the old version of";
    let abs = path.to_path(root);
    ops::check_dirs(root, &path.parent().unwrap_or_else(RelPath::root), KEEP)?;
    match ops::lstat(&abs, KEEP)? {
        None => {
            return Err(FsError::NotFound {
                op: KEEP,
                path: abs,
            })
        }
        Some(m) if m.kind != FsKind::File => {
            return Err(FsError::NotAFile {
                op: KEEP,
                path: abs,
            })
        }
        Some(_) => {}
    }
    let trash_root = root.join(TRASH_DIR);
    // Another op may remove the empty trash folder in between (see `drop_kept_dir`).
    let mut attempt = 0;
    let dir = loop {
        attempt += 1;
        fs::create_dir_all(&trash_root).map_err(|e| FsError::from_io(KEEP, &trash_root, e))?;
        match tempfile::Builder::new()
            .prefix(KEPT_PREFIX)
            .rand_bytes(8)
            .tempdir_in(&trash_root)
        {
            Ok(d) => break d.keep(),
            Err(e) if e.kind() == io::ErrorKind::NotFound && attempt < 3 => continue,
            Err(e) => return Err(FsError::from_io(KEEP, &trash_root, e)),
        }
    };
    let at = dir.join(path.name());
    match fs::hard_link(&abs, &at) {
        Ok(()) => {
            let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let at = RelPath::new(format!("{TRASH_DIR}/{name}/{}", path.name()))
                .map_err(|e| FsError::from_io(KEEP, &at, io::Error::other(e.to_string())))?;
            Ok(Some(Kept {
                path: path.clone(),
                at,
            }))
        }
        Err(e) => {
            drop_kept_dir(root, &dir);
            if e.kind() == io::ErrorKind::NotFound {
                return Err(FsError::NotFound {
                    op: KEEP,
                    path: abs,
                });
            }
            // No links on this file system (FAT, some network shares): nothing is kept.
            tracing::debug!(path = %abs.display(), %e, "cannot link the old version; it is replaced without a kept copy");
            Ok(None)
        }
    }
}

/// Blocking body of [`crate::LocalFs::trash_kept`] for [`super::StdFs`].
pub(super) fn trash_kept(root: &Path, os_trash: bool, kept: &Kept) -> Result<Trashed, FsError> {
    let abs = kept.at.to_path(root);
    if ops::lstat(&abs, OP)?.is_none() {
        return Err(FsError::NotFound { op: OP, path: abs });
    }
    let out = to_trash(root, os_trash, &abs, &kept.path)?;
    if let Some(dir) = abs.parent() {
        drop_kept_dir(root, dir);
    }
    Ok(out)
}

/// Blocking body of [`crate::LocalFs::drop_kept`] for [`super::StdFs`].
pub(super) fn drop_kept(root: &Path, kept: &Kept) -> Result<(), FsError> {
    const DROP: &str = "delete the kept old version";
    let abs = kept.at.to_path(root);
    if !Kept::is_kept_place(&kept.at) {
        return Err(FsError::Io {
            op: DROP,
            path: abs,
            source: io::Error::other("not a kept version"),
        });
    }
    match fs::remove_file(&abs) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            return Err(FsError::from_io(DROP, &abs, e))
        }
        _ => {}
    }
    if let Some(dir) = abs.parent() {
        drop_kept_dir(root, dir);
    }
    Ok(())
}

/// Removes the emptied folder of a kept version, and the trash folder if nothing else is in
/// it, so a download leaves no trace in the pair. Best effort: a folder that is not empty
/// stays.
fn drop_kept_dir(root: &Path, dir: &Path) {
    if fs::remove_dir(dir).is_ok() {
        let _ = fs::remove_dir(root.join(TRASH_DIR));
    }
}

/// Moves `abs` to `<root>/.drivesync-trash/<stamp>/<path>`, adding ` (2)`, ` (3)`... to the
/// name when something is already there.
fn fallback(root: &Path, stamp: &str, abs: &Path, path: &RelPath) -> Result<PathBuf, FsError> {
    let dest_dir = path
        .parent()
        .unwrap_or_else(RelPath::root)
        .to_path(&root.join(TRASH_DIR).join(stamp));
    fs::create_dir_all(&dest_dir).map_err(|e| FsError::from_io(OP, &dest_dir, e))?;
    for n in 1..=10_000u32 {
        let dest = dest_dir.join(numbered(path.name(), n));
        match ops::rename_noreplace(abs, &dest) {
            Ok(()) => {
                ops::fsync_dir(&dest_dir);
                return Ok(dest);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(FsError::from_io(OP, abs, e)),
        }
    }
    Err(FsError::AlreadyExists {
        op: OP,
        path: dest_dir.join(path.name()),
    })
}

/// Deletes for good the folders of `<root>/.drivesync-trash` made before `before` (each is
/// named by the time it was made, `YYYYmmdd-HHMMSS`, UTC): the fallback trash keeps things for
/// a while, as an OS trash does, not for ever. Nothing else is touched: not the kept versions
/// of downloads (`.kept-*`), not other names, not links. Returns what was deleted.
pub fn prune_fallback_trash(
    root: &Path,
    before: chrono::DateTime<chrono::Utc>,
) -> io::Result<Vec<PathBuf>> {
    let dir = root.join(TRASH_DIR);
    if !fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir()) {
        return Ok(Vec::new());
    }
    let mut gone = Vec::new();
    for e in fs::read_dir(&dir)? {
        let e = e?;
        let made = e
            .file_name()
            .to_str()
            .and_then(|n| chrono::NaiveDateTime::parse_from_str(n, "%Y%m%d-%H%M%S").ok());
        let Some(made) = made.map(|t| t.and_utc()) else {
            continue;
        };
        if made < before && e.file_type()?.is_dir() {
            fs::remove_dir_all(e.path())?;
            tracing::info!(path = %e.path().display(), "old fallback trash emptied");
            gone.push(e.path());
        }
    }
    Ok(gone)
}

#[cfg(all(test, unix))]
mod prune_tests {
    use super::*;

    #[test]
    fn only_old_stamped_folders_of_the_fallback_trash_are_emptied() {
        let root = tempfile::tempdir().unwrap();
        let trash = root.path().join(TRASH_DIR);
        for d in ["20260101-000000", "20261201-120000", ".kept-abc", "notes"] {
            fs::create_dir_all(trash.join(d)).unwrap();
            fs::write(trash.join(d).join("f.txt"), d).unwrap();
        }
        let outside = root.path().join("outside");
        fs::create_dir(&outside).unwrap();
        fs::write(outside.join("keep.txt"), "k").unwrap();
        std::os::unix::fs::symlink(&outside, trash.join("20250101-000000")).unwrap();
        let before = chrono::DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
            .unwrap()
            .to_utc();
        let gone = prune_fallback_trash(root.path(), before).unwrap();
        assert_eq!(gone, vec![trash.join("20260101-000000")]);
        for kept in ["20261201-120000", ".kept-abc", "notes", "20250101-000000"] {
            assert!(fs::symlink_metadata(trash.join(kept)).is_ok(), "{kept}");
        }
        assert!(outside.join("keep.txt").exists(), "a link is not followed");
        assert!(prune_fallback_trash(&root.path().join("none"), before)
            .unwrap()
            .is_empty());
    }
}
