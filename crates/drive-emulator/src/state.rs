//! The emulated Drive's state: files, the change log, upload sessions and OAuth grants. Every
//! change goes through [`State::commit`], which journals an [`Op`] (with `--data-dir`) and applies
//! it; replaying the journal at start rebuilds the same state.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::journal::Journal;
use crate::model::{FileRecord, FOLDER_MIME};
use crate::oauth::Grants;

/// The account's email address.
pub const USER_EMAIL: &str = "user@example.com";
/// The account's display name.
pub const USER_NAME: &str = "Emulator User";

/// One entry of the change log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeRecord {
    /// Position in the log; page tokens are these numbers.
    pub seq: u64,
    /// The file that changed.
    pub file_id: String,
    /// When.
    pub time: DateTime<Utc>,
    /// The file was deleted permanently.
    pub removed: bool,
}

/// What a resumable upload session will do when complete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SessionTarget {
    /// `files.create` with this metadata.
    Create,
    /// `files.update` of this file.
    Update(String),
}

/// A resumable upload session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadSession {
    /// The `upload_id`.
    pub id: String,
    /// Create or update.
    pub target: SessionTarget,
    /// The metadata sent at initiation (validated then).
    pub metadata: Value,
    /// The initiating request's query parameters (`fields`, `addParents`...).
    pub params: Vec<(String, String)>,
    /// `X-Upload-Content-Type`.
    pub content_type: Option<String>,
    /// `X-Upload-Content-Length`, or the total learnt from a `Content-Range`.
    pub total: Option<u64>,
    /// Bytes stored so far.
    pub received: u64,
    /// After this the session is gone (404).
    pub expires: DateTime<Utc>,
    /// The file id once the upload completed (a status query then answers with the file).
    pub completed: Option<String>,
}

/// A state change: the unit of the journal.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Op {
    /// Insert or replace a file; `change` logs it in the change feed at that time.
    PutFile {
        /// The new record.
        file: FileRecord,
        /// Log a change (not for the root).
        change: Option<DateTime<Utc>>,
    },
    /// Delete a file permanently, logging a `removed` change.
    RemoveFile {
        /// Its id.
        id: String,
        /// When.
        time: DateTime<Utc>,
    },
    /// Insert or replace an upload session.
    PutSession(UploadSession),
    /// Forget an upload session.
    RemoveSession(String),
    /// Ids handed out by `files.generateIds`.
    ReserveIds(Vec<String>),
    /// OAuth grants changed (whole set: they are few).
    Grants(Grants),
    /// Empty the Drive and start again with a new root (tokens and counters survive).
    Reset {
        /// The new root folder.
        root: FileRecord,
    },
    /// Counters and the change log, written by compaction.
    Restore {
        /// Next change sequence number.
        next_change: u64,
        /// Next insertion sequence number.
        next_seq: u64,
        /// Next version number.
        next_version: u64,
        /// The change log.
        changes: Vec<ChangeRecord>,
    },
}

/// The whole emulated Drive.
#[derive(Debug)]
pub struct State {
    /// Id of the My Drive root folder.
    pub root_id: String,
    files: HashMap<String, FileRecord>,
    children: HashMap<String, BTreeSet<(u64, String)>>,
    changes: Vec<ChangeRecord>,
    last_change: HashMap<String, u64>,
    next_change: u64,
    next_seq: u64,
    next_version: u64,
    /// Open resumable upload sessions.
    pub sessions: HashMap<String, UploadSession>,
    reserved_ids: HashSet<String>,
    /// Bytes of content stored (trash included), kept up to date by `apply`.
    usage: u64,
    /// OAuth codes and tokens.
    pub grants: Grants,
    /// Storage quota in bytes.
    pub quota_limit: u64,
    journal: Option<Journal>,
}

impl State {
    /// An empty Drive with a new root; `journal` receives every later change.
    pub fn new(
        ops: Vec<Op>,
        journal_path: Option<&std::path::Path>,
        now: DateTime<Utc>,
    ) -> std::io::Result<Self> {
        let mut s = Self {
            root_id: String::new(),
            files: HashMap::new(),
            children: HashMap::new(),
            changes: Vec::new(),
            last_change: HashMap::new(),
            next_change: 100,
            next_seq: 1,
            next_version: 1,
            sessions: HashMap::new(),
            reserved_ids: HashSet::new(),
            usage: 0,
            grants: Grants::default(),
            quota_limit: 15 * 1024 * 1024 * 1024,
            journal: None,
        };
        for op in ops {
            s.apply(op);
        }
        if s.root_id.is_empty() {
            let root = s.new_record(
                crate::blobs::random_id(19).replace(['-', '_'], "A"),
                "My Drive",
                FOLDER_MIME,
                vec![],
                now,
            );
            s.apply(Op::Reset { root });
        }
        if let Some(path) = journal_path {
            let compact = s.compacted();
            s.journal = Some(Journal::rewrite(path, compact)?);
        }
        Ok(s)
    }

    fn compacted(&self) -> Vec<Op> {
        let mut ops = vec![Op::Reset {
            root: self.files[&self.root_id].clone(),
        }];
        let mut files: Vec<_> = self
            .files
            .values()
            .filter(|f| f.id != self.root_id)
            .cloned()
            .collect();
        files.sort_by_key(|f| f.seq);
        ops.extend(
            files
                .into_iter()
                .map(|file| Op::PutFile { file, change: None }),
        );
        ops.extend(self.sessions.values().cloned().map(Op::PutSession));
        ops.push(Op::ReserveIds(self.reserved_ids.iter().cloned().collect()));
        ops.push(Op::Grants(self.grants.clone()));
        ops.push(Op::Restore {
            next_change: self.next_change,
            next_seq: self.next_seq,
            next_version: self.next_version,
            changes: self.changes.clone(),
        });
        ops
    }

    /// Journals `op` (with a data dir) and applies it.
    pub fn commit(&mut self, op: Op) -> std::io::Result<()> {
        if let Some(j) = &mut self.journal {
            j.append(&op)?;
        }
        self.apply(op);
        Ok(())
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::PutFile { file, change } => {
                self.usage += file.content.as_ref().map_or(0, |c| c.size);
                if let Some(old) = self.files.get(&file.id) {
                    self.usage -= old.content.as_ref().map_or(0, |c| c.size);
                    for p in &old.parents {
                        if let Some(c) = self.children.get_mut(p) {
                            c.remove(&(old.seq, old.id.clone()));
                        }
                    }
                }
                for p in &file.parents {
                    self.children
                        .entry(p.clone())
                        .or_default()
                        .insert((file.seq, file.id.clone()));
                }
                self.next_seq = self.next_seq.max(file.seq + 1);
                self.next_version = self.next_version.max(file.version + 1);
                if let Some(time) = change {
                    self.log_change(&file.id, time, false);
                }
                self.reserved_ids.remove(&file.id);
                self.files.insert(file.id.clone(), file);
            }
            Op::RemoveFile { id, time } => {
                if let Some(old) = self.files.remove(&id) {
                    self.usage -= old.content.as_ref().map_or(0, |c| c.size);
                    for p in &old.parents {
                        if let Some(c) = self.children.get_mut(p) {
                            c.remove(&(old.seq, old.id.clone()));
                        }
                    }
                    self.children.remove(&id);
                    self.log_change(&id, time, true);
                }
            }
            Op::PutSession(s) => {
                self.sessions.insert(s.id.clone(), s);
            }
            Op::RemoveSession(id) => {
                self.sessions.remove(&id);
            }
            Op::ReserveIds(ids) => self.reserved_ids.extend(ids),
            Op::Grants(g) => self.grants = g,
            Op::Reset { root } => {
                self.files.clear();
                self.children.clear();
                self.changes.clear();
                self.last_change.clear();
                self.sessions.clear();
                self.reserved_ids.clear();
                self.usage = 0;
                self.root_id = root.id.clone();
                self.next_seq = self.next_seq.max(root.seq + 1);
                self.files.insert(root.id.clone(), root);
            }
            Op::Restore {
                next_change,
                next_seq,
                next_version,
                changes,
            } => {
                self.next_change = next_change;
                self.next_seq = next_seq;
                self.next_version = next_version;
                self.last_change = changes.iter().map(|c| (c.file_id.clone(), c.seq)).collect();
                self.changes = changes;
            }
        }
    }

    fn log_change(&mut self, id: &str, time: DateTime<Utc>, removed: bool) {
        let seq = self.next_change;
        self.next_change += 1;
        self.last_change.insert(id.to_owned(), seq);
        self.changes.push(ChangeRecord {
            seq,
            file_id: id.to_owned(),
            time,
            removed,
        });
    }

    /// A fresh record with the next sequence and version numbers (not yet stored).
    pub fn new_record(
        &self,
        id: String,
        name: &str,
        mime: &str,
        parents: Vec<String>,
        now: DateTime<Utc>,
    ) -> FileRecord {
        FileRecord {
            id,
            seq: self.next_seq,
            name: name.to_owned(),
            mime_type: mime.to_owned(),
            parents,
            trashed: false,
            explicitly_trashed: false,
            starred: false,
            description: None,
            created_time: now,
            modified_time: now,
            modified_by_me_time: now,
            version: self.next_version,
            content: None,
            shortcut_target: None,
            properties: Default::default(),
            app_properties: Default::default(),
            original_filename: None,
        }
    }

    /// The next version number, for a record about to be replaced.
    pub fn next_version(&self) -> u64 {
        self.next_version
    }

    /// Resolves the `root` alias.
    pub fn resolve<'a>(&'a self, id: &'a str) -> &'a str {
        if id == "root" {
            &self.root_id
        } else {
            id
        }
    }

    /// The file with id `id` (or `root`).
    pub fn file(&self, id: &str) -> Option<&FileRecord> {
        self.files.get(self.resolve(id))
    }

    /// All files, in insertion order.
    pub fn all_files(&self) -> impl Iterator<Item = &FileRecord> {
        self.files.values()
    }

    /// Children of `parent` in insertion order.
    pub fn children(&self, parent: &str) -> impl Iterator<Item = &FileRecord> {
        self.children
            .get(parent)
            .into_iter()
            .flatten()
            .filter_map(|(_, id)| self.files.get(id))
    }

    /// True if `ancestor` is `id` or one of its ancestors.
    pub fn is_within(&self, id: &str, ancestor: &str) -> bool {
        let mut cur = Some(id);
        let mut guard = 0;
        while let Some(c) = cur {
            if c == ancestor {
                return true;
            }
            cur = self
                .files
                .get(c)
                .and_then(|f| f.parents.first())
                .map(String::as_str);
            guard += 1;
            if guard > 100_000 {
                return false;
            }
        }
        false
    }

    /// `id` and every descendant, parents before children.
    pub fn subtree(&self, id: &str) -> Vec<String> {
        let mut out = vec![id.to_owned()];
        let mut i = 0;
        while i < out.len() {
            let kids: Vec<String> = self.children(&out[i]).map(|f| f.id.clone()).collect();
            out.extend(kids);
            i += 1;
        }
        out
    }

    /// True if `id` was handed out by `generateIds` and not used yet.
    pub fn is_reserved(&self, id: &str) -> bool {
        self.reserved_ids.contains(id)
    }

    /// The token a client would start the change feed from now.
    pub fn start_page_token(&self) -> u64 {
        self.next_change
    }

    /// Changes from token `from`: each file once, at its latest change; `None` if the token is
    /// not one this Drive gave out.
    pub fn changes_since(&self, from: u64) -> Option<impl Iterator<Item = &ChangeRecord>> {
        if from > self.next_change || from == 0 {
            return None;
        }
        let start = self.changes.partition_point(|c| c.seq < from);
        Some(
            self.changes[start..]
                .iter()
                .filter(|c| self.last_change.get(&c.file_id) == Some(&c.seq)),
        )
    }

    /// Bytes used by file content, trash included.
    pub fn usage(&self) -> u64 {
        self.usage
    }

    /// Bytes used by trashed content.
    pub fn usage_in_trash(&self) -> u64 {
        self.files
            .values()
            .filter(|f| f.trashed)
            .filter_map(|f| f.content.as_ref())
            .map(|c| c.size)
            .sum()
    }

    /// Names of all live blobs (for garbage collection at start).
    pub fn live_blobs(&self) -> HashSet<String> {
        self.files
            .values()
            .filter_map(|f| f.content.as_ref())
            .map(|c| c.blob.clone())
            .collect()
    }

    /// The slash path of a file from the root (`/a/b`), if its ancestry reaches the root.
    pub fn path_of(&self, id: &str) -> Option<String> {
        let mut parts = Vec::new();
        let mut cur = self.files.get(id)?;
        let mut guard = 0;
        while cur.id != self.root_id {
            parts.push(cur.name.clone());
            cur = self.files.get(cur.parents.first()?)?;
            guard += 1;
            if guard > 10_000 {
                return None;
            }
        }
        parts.reverse();
        Some(format!("/{}", parts.join("/")))
    }

    /// Truncates the journal (used by reset, after which the compacted state is written again).
    pub fn rewrite_journal(&mut self) -> std::io::Result<()> {
        let ops = self.compacted();
        if let Some(j) = &mut self.journal {
            j.truncate()?;
            for op in ops {
                j.append(&op)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_rebuilds_the_same_state() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let now = Utc::now();
        let root_id;
        {
            let mut s = State::new(vec![], Some(&path), now).unwrap();
            root_id = s.root_id.clone();
            let f = s.new_record(
                "f1".into(),
                "a.txt",
                "text/plain",
                vec![root_id.clone()],
                now,
            );
            s.commit(Op::PutFile {
                file: f,
                change: Some(now),
            })
            .unwrap();
            s.commit(Op::RemoveFile {
                id: "f1".into(),
                time: now,
            })
            .unwrap();
            let g = s.new_record("f2".into(), "b", FOLDER_MIME, vec![root_id.clone()], now);
            s.commit(Op::PutFile {
                file: g,
                change: Some(now),
            })
            .unwrap();
        }
        let s = State::new(Journal::read(&path).unwrap(), Some(&path), now).unwrap();
        assert_eq!(s.root_id, root_id);
        assert!(s.file("f1").is_none());
        assert_eq!(
            s.children(&root_id)
                .map(|f| f.id.as_str())
                .collect::<Vec<_>>(),
            ["f2"]
        );
        let changes: Vec<_> = s
            .changes_since(100)
            .unwrap()
            .map(|c| (c.file_id.clone(), c.removed))
            .collect();
        assert_eq!(
            changes,
            [("f1".to_string(), true), ("f2".to_string(), false)]
        );
        assert_eq!(s.start_page_token(), 103);
    }

    #[test]
    fn changes_list_each_file_once_at_its_latest_change() {
        let now = Utc::now();
        let mut s = State::new(vec![], None, now).unwrap();
        let root = s.root_id.clone();
        let mut f = s.new_record("a".into(), "a", "text/plain", vec![root.clone()], now);
        s.commit(Op::PutFile {
            file: f.clone(),
            change: Some(now),
        })
        .unwrap();
        let other = s.new_record("b".into(), "b", "text/plain", vec![root], now);
        s.commit(Op::PutFile {
            file: other,
            change: Some(now),
        })
        .unwrap();
        f.name = "renamed".into();
        f.version = s.next_version();
        s.commit(Op::PutFile {
            file: f,
            change: Some(now),
        })
        .unwrap();
        let ids: Vec<_> = s
            .changes_since(100)
            .unwrap()
            .map(|c| c.file_id.clone())
            .collect();
        assert_eq!(ids, ["b", "a"]);
        assert!(s.changes_since(0).is_none());
        assert!(s.changes_since(10_000).is_none());
    }
}
