//! Trashing on the real disk: the OS trash (the `trash` crate), else
//! `<root>/.drivesync-trash/<YYYYmmdd-HHMMSS>/<path>`. Never a permanent delete.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use drivesync_model::RelPath;

use super::ops;
use crate::api::numbered;
use crate::{Expect, FsError, Trashed, TRASH_DIR};

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
    if os_trash {
        match ::trash::delete(&abs) {
            Ok(()) => {
                tracing::info!(path = %abs.display(), "moved to the OS trash");
                return Ok(Trashed::Os);
            }
            Err(e) if ops::lstat(&abs, OP)?.is_none() => {
                tracing::warn!(path = %abs.display(), %e, "the OS trash reported an error, but the entry was moved");
                return Ok(Trashed::Os);
            }
            Err(e) => {
                tracing::warn!(path = %abs.display(), %e, "no usable OS trash; using {TRASH_DIR}");
            }
        }
    }
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S").to_string();
    let dest = fallback(root, &stamp, path)?;
    tracing::info!(path = %abs.display(), to = %dest.display(), "moved to {TRASH_DIR}");
    Ok(Trashed::Fallback(dest))
}

/// Moves `path` to `<root>/.drivesync-trash/<stamp>/<path>`, adding ` (2)`, ` (3)`... to the
/// name when something is already there.
fn fallback(root: &Path, stamp: &str, path: &RelPath) -> Result<PathBuf, FsError> {
    let abs = path.to_path(root);
    let dest_dir = path
        .parent()
        .unwrap_or_else(RelPath::root)
        .to_path(&root.join(TRASH_DIR).join(stamp));
    fs::create_dir_all(&dest_dir).map_err(|e| FsError::from_io(OP, &dest_dir, e))?;
    for n in 1..=10_000u32 {
        let dest = dest_dir.join(numbered(path.name(), n));
        match ops::rename_noreplace(&abs, &dest) {
            Ok(()) => {
                ops::fsync_dir(&dest_dir);
                return Ok(dest);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(FsError::from_io(OP, &abs, e)),
        }
    }
    Err(FsError::AlreadyExists {
        op: OP,
        path: dest_dir.join(path.name()),
    })
}
