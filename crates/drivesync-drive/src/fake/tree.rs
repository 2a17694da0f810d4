//! The in-memory Drive behind [`super::MemRemote`]: files with parents, an explicit trash flag
//! inherited by descendants, one version counter, and a change feed that lists each file once
//! at its latest change (as `drive-emulator` does).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use drivesync_model::{DriveId, Md5};

use crate::error::FileRef;
use crate::model::{File, RevisionId, FOLDER_MIME};
use crate::DriveError;

/// One stored file.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    /// Metadata; `trashed` is recomputed on every read.
    pub file: File,
    /// Creation order (the listing order).
    pub seq: u64,
    /// Trashed by a request on this file itself.
    pub explicitly_trashed: bool,
    /// Binary content.
    pub content: Option<Arc<Vec<u8>>>,
}

/// An entry of the change feed.
#[derive(Debug, Clone)]
pub(super) struct Logged {
    pub id: DriveId,
    pub removed: bool,
    pub time: DateTime<Utc>,
}

/// The whole Drive.
#[derive(Debug)]
pub(super) struct Tree {
    pub files: HashMap<DriveId, Entry>,
    pub root: DriveId,
    pub reserved: HashSet<DriveId>,
    next_seq: u64,
    next_id: u64,
    version: u64,
    /// Change seq -> change.
    log: BTreeMap<u64, Logged>,
    latest: HashMap<DriveId, u64>,
    next_change: u64,
    pub quota_limit: Option<u64>,
}

pub(super) fn not_found(id: &DriveId) -> DriveError {
    DriveError::NotFound {
        file: Some(FileRef::Id(id.clone())),
        message: format!("File not found: {id}."),
    }
}

pub(super) fn api(
    status: u16,
    reason: &str,
    message: impl Into<String>,
    id: &DriveId,
) -> DriveError {
    DriveError::Api {
        status,
        reason: reason.into(),
        message: message.into(),
        file: Some(FileRef::Id(id.clone())),
    }
}

impl Tree {
    pub fn new() -> Self {
        let root = DriveId::new("mem-root");
        let mut t = Self {
            files: HashMap::new(),
            root: root.clone(),
            reserved: HashSet::new(),
            next_seq: 0,
            next_id: 1,
            version: 1,
            log: BTreeMap::new(),
            latest: HashMap::new(),
            next_change: 1,
            quota_limit: None,
        };
        let file = t.blank(root.clone(), "My Drive", FOLDER_MIME, vec![]);
        t.insert(file, None);
        t
    }

    /// `root` is an alias of the root folder.
    pub fn resolve(&self, id: &DriveId) -> DriveId {
        if id.as_str() == "root" {
            self.root.clone()
        } else {
            id.clone()
        }
    }

    pub fn fresh_id(&mut self) -> DriveId {
        self.next_id += 1;
        DriveId::new(format!("mem{:06}", self.next_id))
    }

    pub fn blank(&mut self, id: DriveId, name: &str, mime: &str, parents: Vec<DriveId>) -> File {
        File {
            id,
            name: name.into(),
            mime_type: mime.into(),
            parents,
            trashed: false,
            size: None,
            md5_checksum: None,
            version: None,
            head_revision_id: None,
            modified_time: Some(Utc::now()),
            shortcut_details: None,
        }
    }

    pub fn insert(&mut self, mut file: File, content: Option<Arc<Vec<u8>>>) -> File {
        self.next_seq += 1;
        let id = file.id.clone();
        if let Some(c) = &content {
            set_content(&mut file, c, &id, self.next_seq);
        }
        self.files.insert(
            id.clone(),
            Entry {
                file,
                seq: self.next_seq,
                explicitly_trashed: false,
                content,
            },
        );
        self.touch(&id);
        self.view(&id).expect("just inserted")
    }

    /// Records a change of `id`: a new version and an entry in the change feed.
    pub fn touch(&mut self, id: &DriveId) {
        self.version += 1;
        let v = self.version;
        if let Some(e) = self.files.get_mut(id) {
            e.file.version = Some(v);
        }
        self.log_change(id, false);
    }

    fn log_change(&mut self, id: &DriveId, removed: bool) {
        if let Some(old) = self.latest.remove(id) {
            self.log.remove(&old);
        }
        let seq = self.next_change;
        self.next_change += 1;
        self.log.insert(
            seq,
            Logged {
                id: id.clone(),
                removed,
                time: Utc::now(),
            },
        );
        self.latest.insert(id.clone(), seq);
    }

    /// Trashed explicitly or through an ancestor.
    pub fn is_trashed(&self, id: &DriveId) -> bool {
        let mut cur = self.files.get(id);
        while let Some(e) = cur {
            if e.explicitly_trashed {
                return true;
            }
            cur = e.file.parents.first().and_then(|p| self.files.get(p));
        }
        false
    }

    /// The file as a client sees it.
    pub fn view(&self, id: &DriveId) -> Option<File> {
        let e = self.files.get(id)?;
        let mut f = e.file.clone();
        f.trashed = self.is_trashed(id);
        Some(f)
    }

    pub fn get(&self, id: &DriveId) -> Result<File, DriveError> {
        self.view(&self.resolve(id)).ok_or_else(|| not_found(id))
    }

    /// `id` itself or one of its ancestors is `ancestor`.
    pub fn is_within(&self, id: &DriveId, ancestor: &DriveId) -> bool {
        let mut cur = Some(id.clone());
        while let Some(c) = cur {
            if &c == ancestor {
                return true;
            }
            cur = self
                .files
                .get(&c)
                .and_then(|e| e.file.parents.first().cloned());
        }
        false
    }

    /// Every file below `id` (not `id` itself).
    pub fn descendants(&self, id: &DriveId) -> Vec<DriveId> {
        let mut out = Vec::new();
        let mut stack = vec![id.clone()];
        while let Some(p) = stack.pop() {
            for (cid, e) in &self.files {
                if e.file.parents.first() == Some(&p) {
                    out.push(cid.clone());
                    stack.push(cid.clone());
                }
            }
        }
        out
    }

    /// A folder that files can be created in.
    pub fn check_parent(&self, id: &DriveId) -> Result<DriveId, DriveError> {
        let id = self.resolve(id);
        let e = self.files.get(&id).ok_or_else(|| not_found(&id))?;
        if !e.file.is_folder() {
            return Err(api(
                400,
                "invalid",
                format!("The specified parent is not a folder: {id}."),
                &id,
            ));
        }
        Ok(id)
    }

    /// Sets the explicit trash flag; logs a change for every file whose trashed state flips.
    pub fn set_trashed(&mut self, id: &DriveId, trashed: bool) -> Result<File, DriveError> {
        let id = self.resolve(id);
        if id == self.root {
            return Err(api(
                403,
                "insufficientFilePermissions",
                "The root cannot be trashed.",
                &id,
            ));
        }
        let mut affected = vec![id.clone()];
        affected.extend(self.descendants(&id));
        let before: Vec<bool> = affected.iter().map(|a| self.is_trashed(a)).collect();
        self.files
            .get_mut(&id)
            .ok_or_else(|| not_found(&id))?
            .explicitly_trashed = trashed;
        for (a, was) in affected.iter().zip(before) {
            if a == &id || self.is_trashed(a) != was {
                self.touch(a);
            }
        }
        self.get(&id)
    }

    /// Deletes `id` and everything below it for good; logs `removed` for each.
    pub fn delete(&mut self, id: &DriveId) -> Result<(), DriveError> {
        let id = self.resolve(id);
        if !self.files.contains_key(&id) || id == self.root {
            return Err(not_found(&id));
        }
        let mut gone = vec![id.clone()];
        gone.extend(self.descendants(&id));
        for g in gone {
            self.files.remove(&g);
            self.log_change(&g, true);
        }
        Ok(())
    }

    /// The current feed position.
    pub fn start_token(&self) -> u64 {
        self.next_change
    }

    /// Up to `n` changes from `from`; the next position if there are more.
    pub fn changes(&self, from: u64, n: usize) -> (Vec<Logged>, Option<u64>) {
        let mut it = self.log.range(from..);
        let page: Vec<_> = it.by_ref().take(n).map(|(_, c)| c.clone()).collect();
        (page, it.next().map(|(s, _)| *s))
    }

    /// Bytes of content stored.
    pub fn usage(&self) -> u64 {
        self.files
            .values()
            .filter_map(|e| e.content.as_ref())
            .map(|c| c.len() as u64)
            .sum()
    }
}

/// Size, MD5 and a new head revision for `content`.
pub(super) fn set_content(file: &mut File, content: &[u8], id: &DriveId, rev: u64) {
    use md5::Digest;
    file.size = Some(content.len() as u64);
    file.md5_checksum = Some(Md5(md5::Md5::digest(content).into()));
    file.head_revision_id = Some(RevisionId::new(format!("{id}-r{rev}")));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trash_is_inherited_and_logged_once_per_file() {
        let mut t = Tree::new();
        let root = t.root.clone();
        let d = t.fresh_id();
        let f = t.blank(d.clone(), "d", FOLDER_MIME, vec![root.clone()]);
        t.insert(f, None);
        let c = t.fresh_id();
        let f = t.blank(c.clone(), "c", "text/plain", vec![d.clone()]);
        t.insert(f, Some(Arc::new(b"hi".to_vec())));
        let start = t.start_token();
        let v0 = t.get(&c).unwrap().version;
        t.set_trashed(&d, true).unwrap();
        assert!(t.get(&c).unwrap().trashed);
        assert!(t.get(&c).unwrap().version > v0);
        let (page, next) = t.changes(start, 10);
        assert_eq!(page.len(), 2);
        assert_eq!(next, None);
        t.delete(&d).unwrap();
        let (page, _) = t.changes(start, 10);
        assert!(page.iter().all(|c| c.removed));
        assert!(t.get(&c).is_err());
    }
}
