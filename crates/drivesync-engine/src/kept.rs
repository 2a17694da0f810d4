//! Versions a download kept aside ([`LocalFs::keep`]) that an interrupted sync left in
//! `.drivesync-trash/.kept-*`. A sync that ran to its end settles each one itself; after a
//! crash or a cancelled sync they are cleared when the engine next loads the pair, so they
//! neither pile up nor vanish.

use std::collections::HashSet;

use drivesync_localfs::{FsError, FsKind, Kept, LocalFs, KEPT_PREFIX, TRASH_DIR};
use drivesync_model::{LocalEntry, LocalStamp, RelPath, Tree};

/// A leftover kept version that went to the trash, or could not be cleared.
#[derive(Debug)]
pub(crate) struct Leftover {
    /// The file's name (the kept place has only the name, not its old folder).
    pub name: String,
    /// `Ok` once it is in the trash.
    pub outcome: Result<(), FsError>,
}

/// Clears the kept versions an interrupted sync left, given the local tree just scanned.
///
/// A kept version with the identity, size and mtime of a scanned file is a second link to
/// that file (the download never replaced it): it is dropped, and nothing is lost. Any other
/// is the only copy of a version a download replaced: it goes to the trash under its own
/// name, as [`LocalFs::trash_kept`] does after a finished download when Drive lost the file.
/// Call only while no sync of the pair runs. With nothing kept (the usual case) this costs
/// one listing.
pub(crate) async fn clear_leftovers(fs: &dyn LocalFs, local: &Tree<LocalEntry>) -> Vec<Leftover> {
    let trash = RelPath::new(TRASH_DIR).expect("a plain name");
    let dirs = match fs.list_dir(&trash).await {
        Ok(l) => l.entries,
        Err(e) => {
            if !e.is_not_found() {
                tracing::warn!("cannot look for kept versions in {TRASH_DIR}: {e}");
            }
            return Vec::new();
        }
    };
    let live: HashSet<LocalStamp> = local
        .values()
        .filter(|e| e.stamp.file_id != 0)
        .map(|e| e.stamp)
        .collect();
    let mut out = Vec::new();
    for (dir_name, meta) in dirs {
        if meta.kind != FsKind::Folder || !dir_name.starts_with(KEPT_PREFIX) {
            continue;
        }
        let Ok(dir) = trash.join(&dir_name) else {
            continue;
        };
        let files = match fs.list_dir(&dir).await {
            Ok(l) => l.entries,
            Err(e) => {
                tracing::warn!(%dir, "cannot list kept versions: {e}");
                continue;
            }
        };
        for (name, meta) in files {
            let (Ok(path), Ok(at)) = (RelPath::new(name.as_str()), dir.join(&name)) else {
                continue;
            };
            if meta.kind != FsKind::File {
                continue;
            }
            let kept = Kept { path, at };
            if live.contains(&meta.stamp) {
                if let Err(e) = fs.drop_kept(&kept).await {
                    tracing::warn!(at = %kept.at, "cannot remove a kept second link: {e}");
                }
            } else {
                let outcome = fs.trash_kept(&kept).await.map(|_| ());
                out.push(Leftover { name, outcome });
            }
        }
    }
    out
}
