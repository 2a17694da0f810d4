//! Observing Drive: the remote tree of a pair, from a full listing on the first sync or from
//! the synced tree plus the change feed afterwards.

use std::collections::{HashMap, HashSet};

use drivesync_drive::{File, RemoteStore, FOLDER_MIME, GOOGLE_APPS_PREFIX};
use drivesync_model::{BaseEntry, Cursor, DriveId, Kind, RelPath, RemoteEntry, Tree};
use drivesync_reconcile::{google_suffix, place_claimed, NameRules, Placed};

use crate::EngineError;

/// A Drive file as the planner sees it (`None` for files outside any folder).
pub fn entry_of(f: &File) -> Option<RemoteEntry> {
    let kind = if f.mime_type == FOLDER_MIME {
        Kind::Folder
    } else if f.mime_type.starts_with(GOOGLE_APPS_PREFIX) {
        Kind::Link
    } else {
        Kind::File
    };
    Some(RemoteEntry {
        id: f.id.clone(),
        parent: f.parents.first()?.clone(),
        name: f.name.clone(),
        kind,
        mime_type: f.mime_type.clone(),
        md5: f.md5_checksum,
        size: f.size.unwrap_or(0),
        version: f.version.unwrap_or(0),
        modified: f.modified_time,
    })
}

/// What Drive has for a pair now.
pub struct Observed {
    /// The placed remote tree.
    pub placed: Placed,
    /// The cursor to store once the plan made from it has fully run.
    pub cursor: Cursor,
    /// Nothing in the pair changed on Drive since the synced tree was recorded: Drive's tree
    /// is the synced tree (see [`remote_of`]) and `placed` is left empty.
    pub unchanged: bool,
    /// The folders listed whole because they moved into the pair (or were still to be
    /// listed again): what to store as [`StateDb::relist`] until a sync stores its cursor.
    ///
    /// [`StateDb::relist`]: drivesync_state::StateDb::relist
    pub listed: Vec<DriveId>,
}

/// The synced tree as Drive entries (what Drive had at the last sync).
fn from_base(base: &Tree<BaseEntry>) -> HashMap<DriveId, RemoteEntry> {
    base.values()
        .map(|b| (b.id.clone(), b.synced_remote()))
        .collect()
}

/// Whether a change concerns the pair: it is about a synced entry (unless it is the state
/// already synced: drivesync's own writes come back through the feed) or lands in a synced
/// folder (a folder moving in brings its content along).
fn concerns_pair(
    ch: &drivesync_drive::Change,
    known: &HashMap<&DriveId, &BaseEntry>,
    root: &DriveId,
) -> bool {
    if is_echo(ch, known) {
        return false;
    }
    let id = ch.file_id.as_ref().or(ch.file.as_ref().map(|f| &f.id));
    id.is_some_and(|id| known.contains_key(id))
        || id.is_some_and(|id| id == root)
        || ch
            .file
            .as_ref()
            .is_some_and(|f| f.parents.iter().any(|p| p == root || known.contains_key(p)))
}

/// Whether Drive's entry `e` is exactly what the synced entry `b` recorded.
fn is_synced_state(e: &RemoteEntry, b: &BaseEntry) -> bool {
    e.parent == b.parent
        && e.name == b.remote_name
        && e.kind == b.kind
        && e.version == b.version
        && (e.kind != Kind::File || e.md5 == b.md5)
}

/// Whether placing the synced tree again would put every entry where it is: true unless a
/// Google file's local suffix changed with the pair's Docs setting.
fn places_as_recorded(base: &Tree<BaseEntry>, rules: &NameRules) -> bool {
    base.iter().all(|(p, b)| {
        b.kind != Kind::Link || p.name().ends_with(google_suffix(&b.mime_type, rules))
    })
}

/// Whether a change only reports a synced entry exactly as the synced tree has it.
fn is_echo(ch: &drivesync_drive::Change, known: &HashMap<&DriveId, &BaseEntry>) -> bool {
    let id = ch.file_id.as_ref().or(ch.file.as_ref().map(|f| &f.id));
    let live = ch.file.as_ref().filter(|f| !ch.removed && !f.trashed);
    match (id.and_then(|id| known.get(id)), live.and_then(entry_of)) {
        (Some(b), Some(e)) => is_synced_state(&e, b),
        _ => false,
    }
}

/// Reads Drive's side of the pair rooted at `root`. `claimed` are the pending creates (id ->
/// path; see [`place_claimed`]).
///
/// First sync (`cursor` is `None`): the change-feed position is taken *before* the full
/// listing, so nothing changed during the listing is missed. Later: the synced tree plus
/// every change since `cursor`; a folder that moved into the pair is listed whole (its
/// content does not show up in the feed), and so is each of `relist` still in the pair (a
/// folder an earlier sync listed, when that sync did not finish: recorded since, it no longer
/// looks new, and what it failed to bring in would never be seen again).
pub async fn observe(
    remote: &dyn RemoteStore,
    root: &DriveId,
    base: &Tree<BaseEntry>,
    cursor: Option<&Cursor>,
    claimed: &HashMap<DriveId, RelPath>,
    rules: &NameRules,
    relist: &[DriveId],
) -> Result<Observed, EngineError> {
    let (files, cursor, listed) = match cursor {
        None => {
            let token = remote.start_page_token().await?;
            let listed = remote.list_tree(root).await?;
            let files: HashMap<DriveId, RemoteEntry> = listed
                .iter()
                .filter_map(entry_of)
                .map(|e| (e.id.clone(), e))
                .collect();
            (files, Cursor(token.as_str().to_owned()), Vec::new())
        }
        Some(c) => {
            let token = drivesync_drive::ChangeToken::new(c.0.clone());
            // Page by page, the echo of the synced tree (drivesync's own writes, exactly as
            // recorded) is dropped: after a big sync the feed holds one change per file
            // written, and holding them all at once would be the daemon's peak memory.
            // The synced entries by id, built only when the feed has something.
            let known = std::sync::OnceLock::<HashMap<&DriveId, &BaseEntry>>::new();
            let known_ids = || known.get_or_init(|| base.values().map(|b| (&b.id, b)).collect());
            let feed = remote
                .list_changes_kept(&token, &|ch| !is_echo(ch, known_ids()))
                .await?;
            let cursor = Cursor(feed.new_start_page_token.as_str().to_owned());
            let changes = feed.changes;
            let quiet_feed = !changes
                .iter()
                .any(|ch| concerns_pair(ch, known_ids(), root));
            drop(known);
            if quiet_feed && relist.is_empty() && places_as_recorded(base, rules) {
                return Ok(Observed {
                    placed: Placed::default(),
                    cursor,
                    unchanged: true,
                    listed: Vec::new(),
                });
            }
            let mut files = from_base(base);
            let known: HashSet<DriveId> = files.keys().cloned().collect();
            let mut new_folders = relist.to_vec();
            for ch in changes {
                let Some(id) = ch
                    .file_id
                    .clone()
                    .or_else(|| ch.file.as_ref().map(|f| f.id.clone()))
                else {
                    continue;
                };
                match ch.file.as_ref().filter(|f| !ch.removed && !f.trashed) {
                    Some(f) => {
                        if let Some(e) = entry_of(f) {
                            if e.kind == Kind::Folder
                                && !known.contains(&e.id)
                                && !new_folders.contains(&e.id)
                            {
                                new_folders.push(e.id.clone());
                            }
                            files.insert(id, e);
                        } else {
                            files.remove(&id);
                        }
                    }
                    None => {
                        files.remove(&id);
                    }
                }
            }
            // A folder new to this pair may have come in with content (moved in from
            // elsewhere in Drive): list what is below it if it is inside the pair.
            let inside = place_claimed(root, files.values().cloned(), base, claimed, rules);
            let placed_ids: HashSet<&DriveId> = inside.tree.values().map(|e| &e.id).collect();
            let moved_in: Vec<DriveId> = new_folders
                .into_iter()
                .filter(|id| placed_ids.contains(id))
                .collect();
            if moved_in.is_empty() {
                return Ok(Observed {
                    placed: inside,
                    cursor,
                    unchanged: false,
                    listed: Vec::new(),
                });
            }
            for folder in &moved_in {
                for f in remote.list_tree(folder).await? {
                    if let Some(e) = entry_of(&f) {
                        files.entry(e.id.clone()).or_insert(e);
                    }
                }
            }
            (files, cursor, moved_in)
        }
    };
    let placed = place_claimed(root, files.into_values(), base, claimed, rules);
    Ok(Observed {
        placed,
        cursor,
        unchanged: false,
        listed,
    })
}
