//! Synced entries left at a Drive file's old place.
//!
//! A Drive file has one place, and the planner finds synced entries by Drive id, so the synced
//! tree must hold each id at one path. Within a plan an id may briefly have two (a folder
//! created at its new place before the old one is trashed), but when the op that would clear
//! the old path fails, or the sync is cut short, the old entry stays. Left there it is planned
//! against forever: e.g. a trash of the file at its old path with its old version, which the
//! re-check before trashing refuses at every sync. After a plan ran, such entries are dropped;
//! before planning, those a cut sync left are marked as gone from Drive.

use std::collections::{HashMap, HashSet};

use drivesync_model::{BaseEntry, DriveId, RelPath, RemoteEntry, Tree};
use drivesync_state::BaseChange;

use crate::apply_change;

/// The changes that drop every entry of `base` (the synced tree after a plan ran) whose Drive
/// id is also recorded at another path, keeping the path where this sync's ops recorded it
/// (`recorded`), else the place Drive had it when the sync was planned (`planned`). An id
/// found at none of its paths is left alone. When a dropped folder held entries recorded
/// nowhere else, the list ends with [`BaseChange::Relist`]: the change feed will not mention
/// them again, so only a full listing finds them.
///
/// Dropping a synced entry never touches a file: what it described is, at worst, seen as new
/// on both sides and merged (identical content linked, different content kept twice).
pub(crate) fn stale_entries<'a>(
    base: &Tree<BaseEntry>,
    recorded: &HashMap<DriveId, RelPath>,
    planned: impl Fn(&DriveId) -> Option<&'a RelPath>,
) -> Vec<BaseChange> {
    let mut stale: Vec<RelPath> = Vec::new();
    for (id, paths) in shared_ids(base) {
        let keep = recorded
            .get(id)
            .or_else(|| planned(id))
            .filter(|k| paths.contains(k));
        let Some(keep) = keep else { continue };
        // Not a folder holding the kept path (its removal would take that along); a path
        // inside the kept one is fine (a folder moved into its own old place).
        stale.extend(paths.into_iter().filter(|q| !keep.starts_with(q)).cloned());
    }
    stale.sort();
    // A stale folder's removal takes its content along: keep only the outermost paths.
    stale.dedup_by(|q, outer| q.starts_with(outer));
    if stale.is_empty() {
        return Vec::new();
    }
    let mut changes: Vec<BaseChange> = stale.into_iter().map(BaseChange::Remove).collect();
    let mut after = base.clone();
    for c in &changes {
        apply_change(&mut after, c);
    }
    let left: HashSet<&DriveId> = after.values().map(|b| &b.id).collect();
    if base.values().any(|b| !left.contains(&b.id)) {
        changes.push(BaseChange::Relist);
    }
    changes
}

/// The Drive ids `base` has at more than one path, with those paths.
fn shared_ids(base: &Tree<BaseEntry>) -> HashMap<&DriveId, Vec<&RelPath>> {
    let mut at: HashMap<&DriveId, Vec<&RelPath>> = HashMap::new();
    for (p, b) in base {
        at.entry(&b.id).or_default().push(p);
    }
    at.retain(|_, paths| paths.len() > 1);
    at
}

/// Whether `base` has a Drive id at more than one path.
pub(crate) fn has_shared_ids(base: &Tree<BaseEntry>) -> bool {
    let mut seen = HashSet::with_capacity(base.len());
    base.values().any(|b| !seen.insert(&b.id))
}

/// Before planning, marks the synced entries at a place their Drive file left: when `base`
/// (the planner's copy of the synced tree) has a Drive id at several paths, as a sync cut
/// short leaves it (the file recorded at its new place, the old one not yet cleared), and
/// Drive has it at one of them (`remote`), the others get an id Drive does not have. The plan
/// then treats them as deleted on Drive there, which is what the cut sync was doing: trashed
/// locally if unchanged, kept and uploaded if changed. Returns how many were marked.
pub(crate) fn mark_left_places(base: &mut Tree<BaseEntry>, remote: &Tree<RemoteEntry>) -> usize {
    let shared: HashSet<DriveId> = shared_ids(base).into_keys().cloned().collect();
    if shared.is_empty() {
        return 0;
    }
    let placed: HashMap<&DriveId, &RelPath> = remote
        .iter()
        .filter(|(_, r)| shared.contains(&r.id))
        .map(|(p, r)| (&r.id, p))
        .collect();
    let mut marked = 0;
    for (p, b) in base.iter_mut() {
        if placed.get(&b.id).is_some_and(|q| *q != p) {
            b.id = DriveId::new(format!("left-place:{}", b.id));
            marked += 1;
        }
    }
    marked
}

#[cfg(test)]
mod tests {
    use super::*;
    use drivesync_model::{Kind, LocalStamp};

    fn remote(id: &str, kind: Kind) -> RemoteEntry {
        RemoteEntry {
            id: DriveId::new(id),
            parent: DriveId::new("root"),
            name: id.to_owned(),
            kind,
            mime_type: String::new(),
            md5: None,
            size: 0,
            version: 1,
            modified: None,
        }
    }

    fn entry(id: &str, kind: Kind) -> BaseEntry {
        let stamp = LocalStamp {
            size: 0,
            mtime_ns: 0,
            file_id: 0,
        };
        drivesync_reconcile::base_of(&remote(id, kind), stamp, None)
    }

    fn p(s: &str) -> RelPath {
        RelPath::new(s).unwrap()
    }

    #[test]
    fn the_old_place_of_a_file_recorded_elsewhere_is_dropped() {
        let base: Tree<BaseEntry> = [
            (p("old.txt"), entry("f", Kind::File)),
            (p("new/f.txt"), entry("f", Kind::File)),
            (p("new"), entry("n", Kind::Folder)),
        ]
        .into_iter()
        .collect();
        let recorded = HashMap::from([(DriveId::new("f"), p("new/f.txt"))]);
        let changes = stale_entries(&base, &recorded, |_| None);
        assert_eq!(changes, vec![BaseChange::Remove(p("old.txt"))]);
    }

    #[test]
    fn an_old_place_inside_the_new_one_is_dropped_not_an_old_place_around_it() {
        // Seed 101863: folder d moved from c/d to c (where the folder it was in had been).
        let base: Tree<BaseEntry> = [
            (p("c"), entry("d", Kind::Folder)),
            (p("c/d"), entry("d", Kind::Folder)),
        ]
        .into_iter()
        .collect();
        let recorded = HashMap::from([(DriveId::new("d"), p("c"))]);
        assert_eq!(
            stale_entries(&base, &recorded, |_| None),
            vec![BaseChange::Remove(p("c/d"))]
        );
        // Recorded inside: the outer path is left (removing it would drop the kept one).
        let recorded = HashMap::from([(DriveId::new("d"), p("c/d"))]);
        assert!(stale_entries(&base, &recorded, |_| None).is_empty());
    }

    #[test]
    fn without_a_known_place_nothing_is_dropped() {
        let base: Tree<BaseEntry> = [
            (p("a"), entry("f", Kind::File)),
            (p("b"), entry("f", Kind::File)),
        ]
        .into_iter()
        .collect();
        assert!(stale_entries(&base, &HashMap::new(), |_| None).is_empty());
        let elsewhere = p("c");
        assert!(stale_entries(&base, &HashMap::new(), |_| Some(&elsewhere)).is_empty());
        let planned = p("b");
        assert_eq!(
            stale_entries(&base, &HashMap::new(), |_| Some(&planned)),
            vec![BaseChange::Remove(p("a"))]
        );
    }

    #[test]
    fn a_stale_folder_with_entries_recorded_nowhere_else_asks_for_a_full_listing() {
        let base: Tree<BaseEntry> = [
            (p("old"), entry("d", Kind::Folder)),
            (p("old/x"), entry("x", Kind::File)),
            (p("new"), entry("d", Kind::Folder)),
        ]
        .into_iter()
        .collect();
        let recorded = HashMap::from([(DriveId::new("d"), p("new"))]);
        assert_eq!(
            stale_entries(&base, &recorded, |_| None),
            vec![BaseChange::Remove(p("old")), BaseChange::Relist]
        );
    }

    #[test]
    fn before_planning_only_the_place_drive_left_is_marked() {
        let mut base: Tree<BaseEntry> = [
            (p("old.txt"), entry("f", Kind::File)),
            (p("new.txt"), entry("f", Kind::File)),
            (p("other.txt"), entry("o", Kind::File)),
        ]
        .into_iter()
        .collect();
        let remote: Tree<RemoteEntry> = [
            (p("new.txt"), remote("f", Kind::File)),
            (p("other.txt"), remote("o", Kind::File)),
        ]
        .into_iter()
        .collect();
        assert!(has_shared_ids(&base));
        assert_eq!(mark_left_places(&mut base, &remote), 1);
        assert!(!has_shared_ids(&base));
        assert_ne!(base[&p("old.txt")].id, DriveId::new("f"));
        assert_eq!(base[&p("new.txt")].id, DriveId::new("f"));
        assert_eq!(base[&p("other.txt")].id, DriveId::new("o"));
        // Drive has it at neither: nothing to decide on.
        let mut base: Tree<BaseEntry> = [
            (p("a"), entry("f", Kind::File)),
            (p("b"), entry("f", Kind::File)),
        ]
        .into_iter()
        .collect();
        assert_eq!(mark_left_places(&mut base, &Tree::new()), 0);
    }

    #[test]
    fn entries_no_longer_duplicated_are_untouched() {
        let base: Tree<BaseEntry> = [(p("a"), entry("f", Kind::File))].into_iter().collect();
        let recorded = HashMap::from([(DriveId::new("f"), p("b"))]);
        assert!(stale_entries(&base, &recorded, |_| None).is_empty());
    }
}
