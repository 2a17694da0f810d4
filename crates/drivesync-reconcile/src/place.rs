//! [`place`]: puts Drive files (which live in folders by id, with any names, duplicates
//! allowed) at local paths, giving the remote tree the planner compares.

use std::collections::{HashMap, HashSet, VecDeque};

use drivesync_model::{BaseEntry, DriveId, Kind, RelPath, RemoteEntry, Tree};
use serde::{Deserialize, Serialize};

use crate::names::{local_name, numbered, NameRules};

/// Why a Drive file got a local name different from its Drive name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MappingReason {
    /// The Drive name cannot exist locally (`/`, `..`, too long, reserved...).
    Impossible,
    /// Another file in the same Drive folder has the same (local) name.
    Duplicate,
}

/// A Drive file placed under a local name that differs from its Drive name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameMapping {
    /// Where it is placed.
    pub path: RelPath,
    /// Its name on Drive.
    pub drive_name: String,
    /// Why.
    pub reason: MappingReason,
}

/// The remote tree and the name mappings made to build it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Placed {
    /// Every file under the pair's root folder, by local path.
    pub tree: Tree<RemoteEntry>,
    /// The files whose local name is not their Drive name (link extensions aside).
    pub mappings: Vec<NameMapping>,
}

/// Places `files` (not trashed; any order; files outside `root`'s subtree are dropped) at
/// local paths under the pair root. Names go through [`local_name`]; duplicates in one folder
/// get ` (2)`, ` (3)`...: a file synced before keeps its local name, so the numbering is
/// stable across syncs, and new ones are numbered in id order.
pub fn place(
    root: &DriveId,
    files: impl IntoIterator<Item = RemoteEntry>,
    base: &Tree<BaseEntry>,
    rules: &NameRules,
) -> Placed {
    place_claimed(root, files, base, &HashMap::new(), rules)
}

/// [`place`], where the files in `claimed` (id -> local path) are placed like synced files at
/// those paths: they are what a create at that path made, whose answer was lost (a crash),
/// so a duplicate that appeared next to them meanwhile does not take their name.
pub fn place_claimed(
    root: &DriveId,
    files: impl IntoIterator<Item = RemoteEntry>,
    base: &Tree<BaseEntry>,
    claimed: &HashMap<DriveId, RelPath>,
    rules: &NameRules,
) -> Placed {
    let mut children: HashMap<DriveId, Vec<RemoteEntry>> = HashMap::new();
    for f in files {
        if &f.id != root {
            children.entry(f.parent.clone()).or_default().push(f);
        }
    }
    // The Drive folder and local name each synced (or claimed) file had: it keeps that name
    // in that folder, wherever the folder itself is now.
    let parent_of = |p: &RelPath| match p.parent().filter(|q| !q.is_root()) {
        None => Some(root.clone()),
        Some(q) => base.get(&q).map(|b| b.id.clone()),
    };
    let claims: Vec<(&DriveId, DriveId, &str)> = claimed
        .iter()
        .filter_map(|(id, p)| Some((id, parent_of(p)?, p.name())))
        .collect();
    let synced: HashMap<&DriveId, Synced<'_>> = claims
        .iter()
        .map(|(id, parent, name)| {
            (
                *id,
                Synced {
                    parent,
                    local: name,
                    drive: None,
                },
            )
        })
        .chain(base.iter().map(|(p, b)| {
            (
                &b.id,
                Synced {
                    parent: &b.parent,
                    local: p.name(),
                    drive: Some(b.remote_name.as_str()),
                },
            )
        }))
        .collect();
    let mut out = Placed::default();
    let mut seen: HashSet<DriveId> = HashSet::new();
    let mut queue = VecDeque::from([(root.clone(), RelPath::root())]);
    while let Some((folder, path)) = queue.pop_front() {
        let Some(mut kids) = children.remove(&folder) else {
            continue;
        };
        kids.sort_by(|a, b| a.id.cmp(&b.id));
        for (entry, name, reason) in name_folder(&folder, kids, &synced, rules) {
            if !seen.insert(entry.id.clone()) {
                continue;
            }
            let Ok(p) = path.join(&name) else {
                continue;
            };
            if let Some(reason) = reason {
                out.mappings.push(NameMapping {
                    path: p.clone(),
                    drive_name: entry.name.clone(),
                    reason,
                });
            }
            if entry.kind == Kind::Folder {
                queue.push_back((entry.id.clone(), p.clone()));
            }
            out.tree.insert(p, entry);
        }
    }
    out
}

type Named = (RemoteEntry, String, Option<MappingReason>);

/// Where a synced (or claimed) file was: its Drive folder, its local name, and its Drive name
/// then (unknown for a claimed create).
struct Synced<'a> {
    parent: &'a DriveId,
    local: &'a str,
    drive: Option<&'a str>,
}

/// Is `name` the mapped name or one of its numbered forms (`a (3).txt` for `a.txt`)?
fn is_form_of(name: &str, mapped: &str) -> bool {
    if name == mapped {
        return true;
    }
    let (stem, _) = crate::names::split_ext(name);
    let Some(open) = stem.rfind(" (") else {
        return false;
    };
    let digits = stem[open + 2..].trim_end_matches(')');
    match digits.parse::<u32>() {
        Ok(n) if n >= 2 && stem.ends_with(')') => numbered(mapped, n) == name,
        _ => false,
    }
}

/// Names the children of one folder. Files synced before keep their local name while it is
/// still a form of their mapped name, so numbering never shifts under existing files; the
/// others get the plain name if free, else the lowest free number. A file renamed on Drive
/// keeps a numbered local name only if that is its new name: renamed from `b (2)` to `b`, it
/// is named again (else a new local `b` would be uploaded next to it, a duplicate).
fn name_folder(
    folder: &DriveId,
    kids: Vec<RemoteEntry>,
    synced: &HashMap<&DriveId, Synced<'_>>,
    rules: &NameRules,
) -> Vec<Named> {
    let mapped: Vec<(RemoteEntry, String)> = kids
        .into_iter()
        .map(|e| {
            let link = (e.kind == Kind::Link).then_some(e.mime_type.as_str());
            let name = local_name(&e.name, link, rules);
            (e, name)
        })
        .collect();
    let mut taken: HashSet<String> = HashSet::new();
    let mut out = Vec::with_capacity(mapped.len());
    let mut rest = Vec::new();
    for (e, name) in mapped {
        let kept = synced
            .get(&e.id)
            .filter(|s| s.parent == folder && is_form_of(s.local, &name))
            .filter(|s| s.local == name || s.drive.is_none_or(|d| d == e.name))
            .map(|s| s.local.to_owned());
        match kept {
            Some(k) if taken.insert(rules.key(&k)) => out.push((e, k, name)),
            _ => rest.push((e, name)),
        }
    }
    let mut numbered_later = Vec::new();
    for (e, name) in rest {
        if taken.insert(rules.key(&name)) {
            out.push((e, name.clone(), name));
        } else {
            numbered_later.push((e, name));
        }
    }
    for (e, name) in numbered_later {
        let mut n = 2;
        let chosen = loop {
            let candidate = numbered(&name, n);
            if taken.insert(rules.key(&candidate)) {
                break candidate;
            }
            n += 1;
        };
        out.push((e, chosen, name));
    }
    out.into_iter()
        .map(|(e, chosen, mapped)| {
            let reason = if chosen != mapped {
                Some(MappingReason::Duplicate)
            } else if mapped != e.name && e.kind != Kind::Link {
                Some(MappingReason::Impossible)
            } else {
                None
            };
            (e, chosen, reason)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use drivesync_model::LocalStamp;

    fn file(id: &str, parent: &str, name: &str, kind: Kind) -> RemoteEntry {
        RemoteEntry {
            id: DriveId::new(id),
            parent: DriveId::new(parent),
            name: name.to_owned(),
            kind,
            mime_type: match kind {
                Kind::Folder => "application/vnd.google-apps.folder".into(),
                Kind::Link => "application/vnd.google-apps.document".into(),
                Kind::File => "text/plain".into(),
            },
            md5: None,
            size: 0,
            version: 1,
            modified: None,
        }
    }

    fn paths(p: &Placed) -> Vec<(String, String)> {
        p.tree
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.id.to_string()))
            .collect()
    }

    fn rules() -> NameRules {
        NameRules::default()
    }

    #[test]
    fn nested_folders_and_outside_files() {
        let files = vec![
            file("d", "root", "docs", Kind::Folder),
            file("f", "d", "a.txt", Kind::File),
            file("x", "elsewhere", "x.txt", Kind::File),
            file("g", "d", "Plan", Kind::Link),
        ];
        let p = place(&DriveId::new("root"), files, &Tree::new(), &rules());
        assert_eq!(
            paths(&p),
            vec![
                ("docs".into(), "d".into()),
                ("docs/Plan.gdoc".into(), "g".into()),
                ("docs/a.txt".into(), "f".into())
            ]
        );
        assert!(p.mappings.is_empty());
    }

    /// A synced file `id` in the root at local `path`, named `drive` on Drive.
    fn synced_at(id: &str, path: &str, drive: &str) -> Tree<BaseEntry> {
        let mut base = Tree::new();
        base.insert(
            RelPath::new(path).unwrap(),
            BaseEntry {
                id: DriveId::new(id),
                parent: DriveId::new("root"),
                remote_name: drive.into(),
                kind: Kind::File,
                mime_type: String::new(),
                md5: None,
                size: 0,
                version: 1,
                local: LocalStamp {
                    size: 0,
                    mtime_ns: 0,
                    file_id: 0,
                },
            },
        );
        base
    }

    #[test]
    fn duplicates_are_numbered_and_the_synced_one_keeps_its_name() {
        let files = vec![
            file("a1", "root", "a.txt", Kind::File),
            file("a2", "root", "a.txt", Kind::File),
            file("a3", "root", "a (2).txt", Kind::File),
        ];
        let p = place(&DriveId::new("root"), files.clone(), &Tree::new(), &rules());
        assert_eq!(
            paths(&p),
            vec![
                ("a (2).txt".into(), "a3".into()),
                ("a (3).txt".into(), "a2".into()),
                ("a.txt".into(), "a1".into())
            ]
        );
        let base = synced_at("a2", "a.txt", "a.txt");
        let p = place(&DriveId::new("root"), files, &base, &rules());
        assert_eq!(p.tree[&RelPath::new("a.txt").unwrap()].id.as_str(), "a2");
        assert_eq!(p.mappings.len(), 1);
    }

    #[test]
    fn a_file_renamed_on_drive_from_a_numbered_name_is_named_again() {
        let synced = |local: &str, drive: &str| synced_at("x", local, drive);
        // Drive name "b (2)", renamed to "b" on Drive: it is "b" locally too.
        let renamed = vec![file("x", "root", "b", Kind::File)];
        let p = place(
            &DriveId::new("root"),
            renamed.clone(),
            &synced("b (2)", "b (2)"),
            &rules(),
        );
        assert_eq!(paths(&p), vec![("b".into(), "x".into())]);
        // Numbered because of a duplicate, Drive name unchanged: it keeps its local name.
        let p = place(
            &DriveId::new("root"),
            renamed,
            &synced("b (2)", "b"),
            &rules(),
        );
        assert_eq!(paths(&p), vec![("b (2)".into(), "x".into())]);
    }

    #[test]
    fn a_claimed_file_keeps_the_name_its_create_was_for() {
        let files = vec![
            file("a1", "root", "a.txt", Kind::File),
            file("a2", "root", "a.txt", Kind::Folder),
        ];
        let claimed = HashMap::from([(DriveId::new("a2"), RelPath::new("a.txt").unwrap())]);
        let p = place_claimed(
            &DriveId::new("root"),
            files,
            &Tree::new(),
            &claimed,
            &rules(),
        );
        assert_eq!(
            paths(&p),
            vec![
                ("a (2).txt".into(), "a1".into()),
                ("a.txt".into(), "a2".into())
            ]
        );
    }

    #[test]
    fn case_insensitive_collisions_are_duplicates() {
        let files = vec![
            file("1", "root", "Read.me", Kind::File),
            file("2", "root", "read.me", Kind::File),
        ];
        let ci = NameRules {
            case_insensitive: true,
            ..NameRules::default()
        };
        let p = place(&DriveId::new("root"), files.clone(), &Tree::new(), &ci);
        assert_eq!(p.tree.len(), 2);
        assert!(p.tree.contains_key(&RelPath::new("read (2).me").unwrap()));
        let p = place(&DriveId::new("root"), files, &Tree::new(), &rules());
        assert!(p.mappings.is_empty());
    }

    #[test]
    fn hostile_names_never_escape() {
        let files = vec![
            file("1", "root", "..", Kind::Folder),
            file("2", "1", "../../etc/passwd", Kind::File),
        ];
        let p = place(&DriveId::new("root"), files, &Tree::new(), &rules());
        for path in p.tree.keys() {
            assert!(path.components().all(|c| c != ".." && !c.contains('/')));
        }
        assert_eq!(p.tree.len(), 2);
        assert_eq!(p.mappings.len(), 2);
    }
}
