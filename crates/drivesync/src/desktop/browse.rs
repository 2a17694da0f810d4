//! Browsing Drive's folders to pick the Drive side of a new pair.

use drivesync_drive::{File, NewFile, RemoteStore, FOLDER_MIME};
use drivesync_model::DriveId;
use serde::Serialize;

use crate::{Drivesync, Error};

/// A Drive folder the user can pick.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DriveFolder {
    /// Its Drive id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its path from My Drive, like `/Work/Reports` (`/` is My Drive).
    pub path: String,
}

/// Parents followed at most when naming a folder's path (Drive allows deep trees; a cycle
/// cannot happen, but a broken chain must not loop).
const MAX_DEPTH: usize = 64;

/// The path of folder `id` from My Drive: `/` for My Drive itself; a folder outside My Drive
/// (shared with the user) is shown from its highest reachable parent.
pub(crate) async fn folder_path(remote: &dyn RemoteStore, id: &DriveId) -> Result<String, Error> {
    let root = remote.get(&DriveId::new("root")).await?.id;
    let mut names = Vec::new();
    let mut current = if id.to_string() == "root" {
        root.clone()
    } else {
        id.clone()
    };
    for _ in 0..MAX_DEPTH {
        if current == root {
            break;
        }
        let f = remote.get(&current).await?;
        names.push(f.name);
        match f.parents.first() {
            Some(p) => current = p.clone(),
            None => break,
        }
    }
    names.reverse();
    Ok(format!("/{}", names.join("/")))
}

fn join(parent: &str, name: &str) -> String {
    if parent == "/" {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

fn folder(f: File, parent_path: &str) -> DriveFolder {
    DriveFolder {
        path: join(parent_path, &f.name),
        id: f.id.to_string(),
        name: f.name,
    }
}

impl Drivesync {
    /// The folders in Drive folder `parent` (`None`: My Drive), sorted by name; trashed ones
    /// are left out.
    pub async fn drive_folders(&self, parent: Option<&str>) -> Result<Vec<DriveFolder>, Error> {
        let remote = self.remote().await?;
        let parent = DriveId::new(parent.unwrap_or("root"));
        let parent_path = folder_path(remote.as_ref(), &parent).await?;
        let mut out: Vec<DriveFolder> = remote
            .list_children(&parent)
            .await?
            .into_iter()
            .filter(|f| f.mime_type == FOLDER_MIME && !f.trashed)
            .map(|f| folder(f, &parent_path))
            .collect();
        out.sort_by_key(|f| f.name.to_lowercase());
        Ok(out)
    }

    /// Creates folder `name` in Drive folder `parent` (`None`: My Drive).
    pub async fn drive_create_folder(
        &self,
        parent: Option<&str>,
        name: &str,
    ) -> Result<DriveFolder, Error> {
        let name = name.trim();
        if name.is_empty() || name == "." || name == ".." {
            return Err(Error::Invalid(format!(
                "{name:?} cannot be a folder name: type another name"
            )));
        }
        let remote = self.remote().await?;
        let parent = DriveId::new(parent.unwrap_or("root"));
        let parent_path = folder_path(remote.as_ref(), &parent).await?;
        let made = remote
            .create_folder(&NewFile::new(parent.clone(), name))
            .await?;
        Ok(folder(made, &parent_path))
    }
}

/// `path` from the UI as a path inside a pair (it can never leave the pair's folder).
pub fn checked_rel(path: &str) -> Result<drivesync_model::RelPath, Error> {
    drivesync_model::RelPath::new(path)
        .map_err(|e| Error::Invalid(format!("{path:?} is not a path inside the pair: {e}")))
}

impl Drivesync {
    /// The Drive web page of `path` in pair `pair` (`None`: the pair's Drive folder), on the
    /// emulator when one is configured (the demo). A path not synced yet gets its pair's
    /// folder.
    pub fn drive_link(&self, pair: i64, path: Option<&str>) -> Result<String, Error> {
        let p = self.pair_by_id(pair)?;
        let entry = match path {
            Some(path) => self.state()?.base_entry(p.id, &checked_rel(path)?)?,
            None => None,
        };
        let web = self.config().drive_web();
        Ok(match entry {
            Some(e) if e.kind == drivesync_model::Kind::Folder => {
                format!("{web}/drive/folders/{}", e.id)
            }
            Some(e) => format!("{web}/file/d/{}/view", e.id),
            None => format!("{web}/drive/folders/{}", p.remote_root),
        })
    }
}
