//! Is the folder at the pair's path still the folder that was synced? An unmounted disk
//! leaves an empty mount point, a repointed link another folder: read as a scan, either says
//! "everything was deleted", and a sync would trash the pair on Drive. So every sync first
//! compares the folder with what was recorded of it ([`RootId`], and the
//! [`drivesync_localfs::PAIR_MARKER`] file holding the pair's id), and after the scan
//! refuses a local tree that is empty while the synced tree holds files. A sync forced by the user (`force_deletes`) takes the folder as
//! it is and records it again.

use drivesync_localfs::{FsError, LocalFs};
use drivesync_model::{BaseEntry, Kind, LocalEntry, PairId, RootId, Tree};
use drivesync_state::{Pair, StateDb};

use crate::EngineError;

/// The first line of the marker, followed by the pair's id.
const MARKER_HEAD: &str = "drivesync pair ";

/// Why the folder at the pair's path is not taken for the pair's folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderProblem {
    /// Another folder is at the path: another disk (an empty mount point) or another folder
    /// (a link repointed, the folder replaced).
    Replaced,
    /// Drivesync's marker file is missing or names another pair.
    NoMarker,
    /// The folder is empty while the synced tree holds files.
    Emptied,
}

impl FolderProblem {
    /// What the user reads about it.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Replaced => {
                "another folder or disk is at its path (a disk not mounted, a link that \
                 points elsewhere now?)"
            }
            Self::NoMarker => "drivesync's marker file .drivesync-pair is missing from it",
            Self::Emptied => "it is empty while its synced copy on Drive holds files",
        }
    }
}

/// The marker's text for `pair`.
fn marker_text(pair: &Pair) -> String {
    format!(
        "{MARKER_HEAD}{}\nThis file tells drivesync that this folder is the local side of its \
         sync pair {:?}.\nKeep it: without it drivesync takes the folder for a disk that is not \
         mounted and pauses the pair.\n",
        pair.id, pair.name
    )
}

/// The pair id a marker names.
fn marker_pair(text: &str) -> Option<PairId> {
    let first = text.lines().next()?;
    Some(PairId(
        first.strip_prefix(MARKER_HEAD)?.trim().parse().ok()?,
    ))
}

/// What [`before_scan`] found, for [`after_scan`].
#[derive(Debug)]
pub(crate) struct Seen {
    /// The folder's identity now: every local write of this sync checks it is still there.
    pub(crate) now: RootId,
    /// It was recorded with this identity and holds this pair's marker.
    anchored: bool,
}

/// Checks the folder before anything is read: missing ([`FsError::RootMissing`]), another
/// folder than the recorded one, or without its marker while the pair has synced entries,
/// unless `force`.
pub(crate) async fn before_scan(
    fs: &dyn LocalFs,
    db: &StateDb,
    pair: &Pair,
    base: &Tree<BaseEntry>,
    force: bool,
) -> Result<Seen, EngineError> {
    let Some(now) = fs.root_id().await? else {
        return Err(FsError::RootMissing {
            root: fs.root().to_path_buf(),
        }
        .into());
    };
    let recorded = db.root_id(pair.id)?;
    let marked = fs.read_marker().await?.as_deref().and_then(marker_pair) == Some(pair.id);
    let problem = match recorded {
        Some(r) if r != now => Some(FolderProblem::Replaced),
        // A pair from before identities were recorded has none yet: the check after the scan
        // stands for it until it is recorded.
        Some(_) if !marked && !base.is_empty() => Some(FolderProblem::NoMarker),
        _ => None,
    };
    match problem {
        Some(problem) if !force => Err(not_the_folder(fs, problem)),
        _ => Ok(Seen {
            now,
            anchored: recorded == Some(now) && marked,
        }),
    }
}

/// Checks the scanned tree (empty while the synced tree holds files, unless `force`), then,
/// unless `dry_run`, records the folder as the pair's if it is not yet.
pub(crate) async fn after_scan(
    fs: &dyn LocalFs,
    db: &StateDb,
    pair: &Pair,
    seen: Seen,
    (base, local): (&Tree<BaseEntry>, &Tree<LocalEntry>),
    (force, dry_run): (bool, bool),
) -> Result<(), EngineError> {
    let holds_files = || base.values().any(|b| b.kind != Kind::Folder);
    if !force && local.is_empty() && holds_files() {
        return Err(not_the_folder(fs, FolderProblem::Emptied));
    }
    if !seen.anchored && !dry_run {
        record(fs, db, pair, seen.now).await?;
    }
    Ok(())
}

/// Whether the folder at `pair`'s path is the one recorded for it, marker included: only
/// then may anything but a sync (housekeeping) touch it.
pub async fn is_pair_folder(fs: &dyn LocalFs, db: &StateDb, pair: &Pair) -> bool {
    let (Ok(Some(now)), Ok(Some(recorded))) = (fs.root_id().await, db.root_id(pair.id)) else {
        return false;
    };
    let marked = fs.read_marker().await.ok().flatten();
    now == recorded && marked.as_deref().and_then(marker_pair) == Some(pair.id)
}

/// Records the folder now at `pair`'s path as the pair's: its identity, and the marker.
/// Front ends call it when a pair is added; a sync calls it for a pair that has none yet.
pub async fn anchor(fs: &dyn LocalFs, db: &StateDb, pair: &Pair) -> Result<(), EngineError> {
    let now = fs.root_id().await?.ok_or_else(|| FsError::RootMissing {
        root: fs.root().to_path_buf(),
    })?;
    record(fs, db, pair, now).await
}

async fn record(
    fs: &dyn LocalFs,
    db: &StateDb,
    pair: &Pair,
    now: RootId,
) -> Result<(), EngineError> {
    fs.write_marker(&marker_text(pair)).await?;
    db.set_root_id(pair.id, Some(now))?;
    tracing::info!(pair = %pair.id, root = %fs.root().display(), ?now, "pair folder recorded");
    Ok(())
}

fn not_the_folder(fs: &dyn LocalFs, problem: FolderProblem) -> EngineError {
    tracing::warn!(root = %fs.root().display(), ?problem, "not the pair's folder");
    EngineError::NotThePairFolder {
        root: fs.root().to_path_buf(),
        problem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_names_its_pair_on_its_first_line() {
        let db = StateDb::open_in_memory().unwrap();
        let pair = db
            .add_pair(
                &drivesync_state::NewPair {
                    name: "odd \"name\"\nsecond line".into(),
                    local_root: "/p".into(),
                    remote_root: drivesync_model::DriveId::new("r"),
                    remote_path: "/r".into(),
                    settings: Default::default(),
                },
                chrono::Utc::now(),
            )
            .unwrap();
        let text = marker_text(&pair);
        assert_eq!(marker_pair(&text), Some(pair.id));
        assert_eq!(text.lines().count(), 3, "the name cannot add lines: {text}");
        assert_eq!(marker_pair("drivesync pair x"), None);
        assert_eq!(marker_pair(""), None);
        assert_eq!(marker_pair("something else\ndrivesync pair 1"), None);
        assert_eq!(drivesync_localfs::PAIR_MARKER, ".drivesync-pair");
    }
}
