//! Observing Drive: the remote tree of a pair, from a full listing on the first sync or from
//! the synced tree plus the change feed afterwards.

use std::collections::{HashMap, HashSet};

use drivesync_drive::{File, RemoteStore, FOLDER_MIME, GOOGLE_APPS_PREFIX};
use drivesync_model::{BaseEntry, Cursor, DriveId, Kind, RemoteEntry, Tree};
use drivesync_reconcile::{place, NameRules, Placed};

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
}

/// The synced tree as Drive entries (what Drive had at the last sync).
fn from_base(base: &Tree<BaseEntry>) -> HashMap<DriveId, RemoteEntry> {
    base.values()
        .map(|b| {
            let e = RemoteEntry {
                id: b.id.clone(),
                parent: b.parent.clone(),
                name: b.remote_name.clone(),
                kind: b.kind,
                mime_type: b.mime_type.clone(),
                md5: b.md5.filter(|_| b.kind == Kind::File),
                size: b.size,
                version: b.version,
                modified: None,
            };
            (e.id.clone(), e)
        })
        .collect()
}

/// Reads Drive's side of the pair rooted at `root`.
///
/// First sync (`cursor` is `None`): the change-feed position is taken *before* the full
/// listing, so nothing changed during the listing is missed. Later: the synced tree plus
/// every change since `cursor`; a folder that moved into the pair is listed whole (its
/// content does not show up in the feed).
pub async fn observe(
    remote: &dyn RemoteStore,
    root: &DriveId,
    base: &Tree<BaseEntry>,
    cursor: Option<&Cursor>,
    rules: &NameRules,
) -> Result<Observed, EngineError> {
    let (files, cursor) = match cursor {
        None => {
            let token = remote.start_page_token().await?;
            let listed = remote.list_tree(root).await?;
            let files: HashMap<DriveId, RemoteEntry> = listed
                .iter()
                .filter_map(entry_of)
                .map(|e| (e.id.clone(), e))
                .collect();
            (files, Cursor(token.as_str().to_owned()))
        }
        Some(c) => {
            let token = drivesync_drive::ChangeToken::new(c.0.clone());
            let changes = remote.list_changes(&token).await?;
            let mut files = from_base(base);
            let known: HashSet<DriveId> = files.keys().cloned().collect();
            let mut new_folders = Vec::new();
            for ch in changes.changes {
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
                            if e.kind == Kind::Folder && !known.contains(&e.id) {
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
            let inside = place(root, files.values().cloned(), base, rules);
            let placed_ids: HashSet<&DriveId> = inside.tree.values().map(|e| &e.id).collect();
            for folder in new_folders.iter().filter(|id| placed_ids.contains(id)) {
                for f in remote.list_tree(folder).await? {
                    if let Some(e) = entry_of(&f) {
                        files.entry(e.id.clone()).or_insert(e);
                    }
                }
            }
            (
                files,
                Cursor(changes.new_start_page_token.as_str().to_owned()),
            )
        }
    };
    let placed = place(root, files.into_values(), base, rules);
    Ok(Observed { placed, cursor })
}
