//! Which folders can be a pair's: never one inside drivesync's own folders, never one that
//! equals, contains or lies inside another pair's (locally or on Drive). Two pairs over the
//! same files would sync each other's changes back and forth, and a pair over drivesync's
//! state would upload (or trash) the database while it is written. A folder that contains
//! drivesync's folders (a home folder) is fine: they are left out of it.
//!
//! The rules are pure, over canonical paths and Drive ancestor chains, so every front end
//! gets the same answer.

use std::path::{Path, PathBuf};

use drivesync_drive::{DriveError, RemoteStore};
use drivesync_model::{DriveId, RelPath};
use drivesync_state::Pair;

/// Parents followed at most up a Drive folder's chain (a broken chain must not loop).
const MAX_DEPTH: usize = 64;

/// How a candidate folder clashes with another pair's, or with drivesync's own folders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clash {
    /// It lies inside drivesync's data or config folder.
    InsideOwn(PathBuf),
    /// It is the other pair's folder.
    Same(String),
    /// It lies inside the other pair's folder.
    Inside(String),
    /// It contains the other pair's folder.
    Contains(String),
}

impl Clash {
    /// What the user reads: which folders clash and what to do. `what` names the candidate.
    pub fn message(&self, what: &str) -> String {
        match self {
            Clash::InsideOwn(own) => format!(
                "{what} lies inside drivesync's own folder {}, which drivesync writes all the \
                 time: choose a folder outside it",
                own.display()
            ),
            Clash::Same(p) => format!(
                "{what} is already synced by the pair \"{p}\": a folder can belong to one pair \
                 only"
            ),
            Clash::Inside(p) => format!(
                "{what} lies inside the folder of the pair \"{p}\", which already syncs it: \
                 choose a folder outside it, or remove that pair first"
            ),
            Clash::Contains(p) => format!(
                "{what} contains the folder of the pair \"{p}\", whose files would then be \
                 synced twice: choose another folder, or remove that pair first"
            ),
        }
    }
}

/// How the local folder `candidate` (canonical) clashes with drivesync's `own` folders or the
/// folders of `pairs` (the pair `except` aside: itself, when re-checking a stored pair).
pub fn local_clash(
    candidate: &Path,
    own: &[PathBuf],
    pairs: &[Pair],
    except: Option<&Pair>,
) -> Option<Clash> {
    if let Some(o) = own.iter().find(|o| candidate.starts_with(o)) {
        return Some(Clash::InsideOwn(o.clone()));
    }
    pairs
        .iter()
        .filter(|p| except.is_none_or(|e| e.id != p.id))
        .find_map(|p| {
            let other = p.local_root.as_path();
            let name = || p.name.clone();
            if candidate == other {
                Some(Clash::Same(name()))
            } else if candidate.starts_with(other) {
                Some(Clash::Inside(name()))
            } else if other.starts_with(candidate) {
                Some(Clash::Contains(name()))
            } else {
                None
            }
        })
}

/// drivesync's `own` folders inside the pair folder `root`, as paths in the pair: left out
/// of its sync.
pub fn left_out(root: &Path, own: &[PathBuf]) -> Vec<RelPath> {
    own.iter()
        .filter_map(|o| o.strip_prefix(root).ok())
        .filter_map(|rel| rel.to_str())
        .filter_map(|rel| RelPath::new(rel.replace('\\', "/")).ok())
        .filter(|rel| !rel.is_root())
        .collect()
}

/// How the Drive folder whose chain is `candidate` (itself first, then its parents up to My
/// Drive) clashes with the Drive folders of `others` (each with its own chain).
pub fn drive_clash(candidate: &[DriveId], others: &[(&Pair, Vec<DriveId>)]) -> Option<Clash> {
    let me = candidate.first()?;
    others.iter().find_map(|(p, chain)| {
        let name = || p.name.clone();
        if p.remote_root == *me {
            Some(Clash::Same(name()))
        } else if candidate.contains(&p.remote_root) {
            Some(Clash::Inside(name()))
        } else if chain.contains(me) {
            Some(Clash::Contains(name()))
        } else {
            None
        }
    })
}

/// Drive folder `id` and its parents, up to My Drive (or the highest folder reachable).
pub async fn drive_chain(
    remote: &dyn RemoteStore,
    id: &DriveId,
) -> Result<Vec<DriveId>, DriveError> {
    let mut chain = Vec::new();
    let mut current = id.clone();
    for _ in 0..MAX_DEPTH {
        let f = remote.get(&current).await?;
        chain.push(f.id);
        match f.parents.first() {
            Some(p) => current = p.clone(),
            None => break,
        }
    }
    Ok(chain)
}

/// `p` as the OS names it (links resolved), or as given when it does not exist yet (its
/// folder resolved when that exists), so paths compare as the pairs' canonical roots do.
pub fn canonical(p: &Path) -> PathBuf {
    if let Ok(c) = p.canonicalize() {
        return c;
    }
    match (
        p.parent().and_then(|d| d.canonicalize().ok()),
        p.file_name(),
    ) {
        (Some(dir), Some(name)) => dir.join(name),
        _ => p.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use drivesync_model::{PairId, PairSettings};

    fn pair(id: i64, name: &str, local: &str, remote: &str) -> Pair {
        Pair {
            id: PairId(id),
            name: name.into(),
            local_root: local.into(),
            remote_root: DriveId::new(remote),
            remote_path: format!("/{remote}"),
            settings: PairSettings::default(),
            created: chrono::Utc::now(),
            last_sync: None,
        }
    }

    #[test]
    fn a_local_folder_may_not_equal_contain_or_lie_inside_another_pairs() {
        let pairs = [pair(1, "photos", "/home/u/Photos", "p")];
        let own = [PathBuf::from("/home/u/.local/share/drivesync")];
        let clash = |c: &str| local_clash(Path::new(c), &own, &pairs, None);
        assert_eq!(clash("/home/u/Photos"), Some(Clash::Same("photos".into())));
        assert_eq!(
            clash("/home/u/Photos/2024"),
            Some(Clash::Inside("photos".into()))
        );
        assert_eq!(clash("/home/u"), Some(Clash::Contains("photos".into())));
        assert_eq!(
            clash("/home/u/Photos2"),
            None,
            "by component, not by prefix"
        );
        assert_eq!(clash("/home/u/Music"), None);
        assert_eq!(
            clash("/home/u/.local/share/drivesync/x"),
            Some(Clash::InsideOwn(own[0].clone()))
        );
        assert_eq!(
            local_clash(Path::new("/home/u/Photos"), &own, &pairs, Some(&pairs[0])),
            None,
            "a pair does not clash with itself"
        );
        let msg = Clash::Contains("photos".into()).message("/home/u");
        assert!(
            msg.contains("/home/u") && msg.contains("\"photos\""),
            "{msg}"
        );
    }

    #[test]
    fn drivesyncs_own_folders_inside_a_pair_are_left_out() {
        let own = [
            PathBuf::from("/home/u/.local/share/drivesync"),
            PathBuf::from("/home/u/.config/drivesync"),
            PathBuf::from("/etc/drivesync"),
        ];
        let out = left_out(Path::new("/home/u"), &own);
        let want: Vec<RelPath> = [".local/share/drivesync", ".config/drivesync"]
            .iter()
            .map(|p| RelPath::new(*p).unwrap())
            .collect();
        assert_eq!(out, want);
        assert!(left_out(Path::new("/home/u/Photos"), &own).is_empty());
    }

    #[test]
    fn a_drive_folder_may_not_equal_contain_or_lie_inside_another_pairs() {
        let work = pair(1, "work", "/w", "work");
        // My Drive > Work > Reports: chains from the folder up.
        let others = [(&work, vec![DriveId::new("work"), DriveId::new("root")])];
        let chain = |ids: &[&str]| ids.iter().map(|i| DriveId::new(*i)).collect::<Vec<_>>();
        assert_eq!(
            drive_clash(&chain(&["work", "root"]), &others),
            Some(Clash::Same("work".into()))
        );
        assert_eq!(
            drive_clash(&chain(&["reports", "work", "root"]), &others),
            Some(Clash::Inside("work".into()))
        );
        assert_eq!(
            drive_clash(&chain(&["root"]), &others),
            Some(Clash::Contains("work".into()))
        );
        assert_eq!(drive_clash(&chain(&["music", "root"]), &others), None);
    }
}
