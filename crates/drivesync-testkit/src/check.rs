//! The end-state checks after quiescence (no faults, syncs repeated until one plans
//! nothing): both sides identical, no duplicates on Drive that the test did not make, no
//! partial downloads left behind. The no-data-loss rules are in [`crate::model`]; the "a
//! further sync does nothing" check needs the engine and lives in [`crate::sim`].
//!
//! Sides are compared as trees of local paths: Drive's files are placed at local paths the
//! way the engine places them ([`drivesync_reconcile::place`], with the final synced tree),
//! so documented name mappings (SEMANTICS.md section 6: `a (2).txt` for duplicates, mapped
//! characters) compare equal. Google Docs and their link files are left out.

use std::collections::{BTreeMap, HashMap};

use drivesync_drive::{File, RemoteStore};
use drivesync_engine::entry_of;
use drivesync_localfs::{MemFs, PARTIAL_PREFIX};
use drivesync_model::{BaseEntry, DriveId, Kind, Md5, RelPath, Tree};
use drivesync_reconcile::{place, NameRules};

use crate::apply::md5_of;

/// One side as path -> (kind, content for files).
pub type SideTree = BTreeMap<RelPath, (Kind, Option<Md5>)>;

/// The local side of a [`MemFs`] (trash left out), and the partial downloads found in it.
pub fn mem_local_side(fs: &MemFs) -> (SideTree, Vec<RelPath>) {
    let mut tree = SideTree::new();
    let mut partials = Vec::new();
    for (p, bytes) in fs.files() {
        if p.name().starts_with(PARTIAL_PREFIX) {
            partials.push(p);
        } else {
            tree.insert(p, (Kind::File, Some(md5_of(&bytes))));
        }
    }
    for p in fs.folders() {
        tree.insert(p, (Kind::Folder, None));
    }
    (tree, partials)
}

/// Every live file and folder below `root` on Drive.
pub async fn drive_files(store: &dyn RemoteStore, root: &DriveId) -> Result<Vec<File>, String> {
    store.list_tree(root).await.map_err(|e| e.to_string())
}

/// Drive's side: `files` (from [`drive_files`]) placed at local paths as the engine places
/// them with the synced tree `base`.
pub fn remote_side(
    files: &[File],
    root: &DriveId,
    base: &Tree<BaseEntry>,
    rules: &NameRules,
) -> SideTree {
    let placed = place(root, files.iter().filter_map(entry_of), base, rules);
    placed
        .tree
        .into_iter()
        .map(|(p, e)| {
            let md5 = (e.kind == Kind::File).then_some(e.md5).flatten();
            (p, (e.kind, md5))
        })
        .collect()
}

/// The differences between the two sides, one line each (empty: identical). Google Docs on
/// Drive and the link files standing for them locally are left out.
pub fn differences(local: &SideTree, remote: &SideTree) -> Vec<String> {
    let mut out = Vec::new();
    let is_link = |p: &RelPath| remote.get(p).is_some_and(|(k, _)| *k == Kind::Link);
    for (p, l) in local {
        if is_link(p) {
            continue;
        }
        match remote.get(p) {
            None => out.push(format!("{p}: only local ({l:?})")),
            Some(r) if r != l => out.push(format!("{p}: local {l:?}, Drive {r:?}")),
            Some(_) => {}
        }
    }
    for (p, r) in remote {
        if r.0 != Kind::Link && !local.contains_key(p) {
            out.push(format!("{p}: only on Drive ({r:?})"));
        }
    }
    out
}

/// Drive ids the synced tree records at more than one path: (id, paths). A Drive file has one
/// place, so a second path is a stale entry the planner cannot see (it indexes the synced
/// tree by id) and will plan against.
pub fn shared_base_ids(base: &Tree<BaseEntry>) -> Vec<(DriveId, Vec<RelPath>)> {
    let mut at: HashMap<&DriveId, Vec<RelPath>> = HashMap::new();
    for (p, b) in base {
        at.entry(&b.id).or_default().push(p.clone());
    }
    let mut out: Vec<_> = at
        .into_iter()
        .filter(|(_, ps)| ps.len() > 1)
        .map(|(id, ps)| (id.clone(), ps))
        .collect();
    out.sort();
    out
}

/// Names held by more than one live file in one Drive folder: (folder, name, files).
pub fn duplicate_names(files: &[File], root: &DriveId) -> Vec<(DriveId, String, Vec<DriveId>)> {
    let mut by_name: HashMap<(DriveId, String), Vec<DriveId>> = HashMap::new();
    for f in files {
        let parent = f.parents.first().cloned().unwrap_or_else(|| root.clone());
        by_name
            .entry((parent, f.name.clone()))
            .or_default()
            .push(f.id.clone());
    }
    let mut out: Vec<_> = by_name
        .into_iter()
        .filter(|(_, ids)| ids.len() > 1)
        .map(|((parent, name), ids)| (parent, name, ids))
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_each_path() {
        let p = |s: &str| RelPath::new(s).unwrap();
        let mut l = SideTree::new();
        let mut r = SideTree::new();
        l.insert(p("a"), (Kind::Folder, None));
        r.insert(p("a"), (Kind::Folder, None));
        l.insert(p("a/x"), (Kind::File, Some(Md5([1; 16]))));
        r.insert(p("a/x"), (Kind::File, Some(Md5([2; 16]))));
        r.insert(p("b"), (Kind::Folder, None));
        let d = differences(&l, &r);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d[0].starts_with("a/x: local"));
        assert!(d[1].starts_with("b: only on Drive"));
    }
}
