//! A reference executor over in-memory trees (feature `sim`, for tests): it applies a
//! [`Plan`] the way the engine does, so property tests can check what a plan leads to
//! without disk or network. Content is identified by its MD5.

use std::collections::BTreeMap;

use drivesync_model::{
    BaseEntry, DriveId, Kind, LocalEntry, LocalStamp, Md5, RelPath, RemoteEntry, Tree,
};

use crate::merge::base_of;
use crate::{place, NameRules, Op, Plan};

/// The id of the pair's root folder in a [`World`].
pub const ROOT: &str = "root";

/// Both sides of a pair and its synced tree, in memory.
#[derive(Debug, Clone, Default)]
pub struct World {
    /// The synced tree.
    pub base: Tree<BaseEntry>,
    /// The local side.
    pub local: Tree<LocalEntry>,
    /// The Drive side, by id (placed at paths by [`World::remote_tree`]).
    pub remote: BTreeMap<DriveId, RemoteEntry>,
    /// Content that went to a trash (either side).
    pub trash: Vec<Md5>,
    /// Content replaced on Drive by a newer version (Drive keeps it in the file's version
    /// history).
    pub revisions: Vec<Md5>,
    /// Counter for inodes, mtimes, ids and versions.
    pub clock: u64,
}

/// Why a simulated op failed (the engine would log it and retry at the next sync).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, SimError> {
    Err(SimError(msg.into()))
}

fn subtree<E>(t: &Tree<E>, p: &RelPath) -> Vec<RelPath> {
    t.range(p.clone()..)
        .take_while(|(k, _)| k.starts_with(p))
        .map(|(k, _)| k.clone())
        .collect()
}

fn move_tree<E>(t: &mut Tree<E>, from: &RelPath, to: &RelPath) {
    for k in subtree(t, from) {
        if let Some(e) = t.remove(&k) {
            t.insert(k.rebase(from, to).unwrap_or(k), e);
        }
    }
}

/// The MD5 the simulated link file of Drive file `id` has.
pub fn link_md5(id: &DriveId) -> Md5 {
    let mut m = [0xEE; 16];
    for (i, b) in id.as_str().bytes().enumerate() {
        m[i % 16] ^= b;
    }
    Md5(m)
}

/// The MD5 the simulated Office export of version `version` of Google file `id` has.
pub fn export_md5(id: &DriveId, version: u64) -> Md5 {
    let mut m = link_md5(id);
    m.0[15] ^= 0x55;
    for (i, b) in version.to_le_bytes().iter().enumerate() {
        m.0[i] ^= b;
    }
    m
}

impl World {
    /// A fresh number.
    pub fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// A fresh local stamp for a written file of `size` bytes.
    pub fn stamp(&mut self, size: u64) -> LocalStamp {
        let t = self.tick();
        LocalStamp {
            size,
            mtime_ns: t as i64,
            file_id: t,
        }
    }

    /// The local tree as a scan that leaves new files unread gives it to the planner, with
    /// `remote` the remote tree it plans with: the MD5 of every file the plan does not compare
    /// ([`crate::compares_content`]) taken out.
    pub fn local_unread_new(&self, remote: &Tree<RemoteEntry>) -> Tree<LocalEntry> {
        let compared = crate::compares_content(&self.base, remote);
        let mut local = self.local.clone();
        for (path, l) in &mut local {
            if l.kind == Kind::File && !compared(path, l) {
                l.md5 = None;
            }
        }
        local
    }

    /// The remote tree as the planner sees it.
    pub fn remote_tree(&self, rules: &NameRules) -> Tree<RemoteEntry> {
        place(
            &DriveId::new(ROOT),
            self.remote.values().cloned(),
            &self.base,
            rules,
        )
        .tree
    }

    fn parent_id(&self, p: &RelPath) -> Result<DriveId, SimError> {
        match p.parent() {
            // The synced tree first; a folder both sides have but not yet recorded is found
            // on Drive (the executor does the same with the tree it planned with).
            Some(par) if !par.is_root() => match self.base.get(&par) {
                Some(b) if b.kind == Kind::Folder => Ok(b.id.clone()),
                _ => match self.remote_tree(&NameRules::default()).get(&par) {
                    Some(r) if r.kind == Kind::Folder => Ok(r.id.clone()),
                    _ => err(format!("parent of {p} is not synced")),
                },
            },
            _ => Ok(DriveId::new(ROOT)),
        }
    }

    fn local_put(&mut self, p: &RelPath, kind: Kind, md5: Option<Md5>) -> LocalStamp {
        let stamp = self.stamp(u64::from(md5.map_or(0, |m| m.0[0])));
        self.local
            .insert(p.clone(), LocalEntry { kind, md5, stamp });
        stamp
    }

    fn remote_new(
        &mut self,
        parent: DriveId,
        name: &str,
        kind: Kind,
        md5: Option<Md5>,
    ) -> RemoteEntry {
        let n = self.tick();
        let e = RemoteEntry {
            id: DriveId::new(format!("id{n}")),
            parent,
            name: name.to_owned(),
            kind,
            mime_type: String::new(),
            md5,
            size: u64::from(md5.map_or(0, |m| m.0[0])),
            version: n,
            modified: None,
        };
        self.remote.insert(e.id.clone(), e.clone());
        e
    }

    fn remote_touch(
        &mut self,
        id: &DriveId,
        f: impl FnOnce(&mut RemoteEntry),
    ) -> Result<RemoteEntry, SimError> {
        let v = self.tick();
        let Some(e) = self.remote.get_mut(id) else {
            return err(format!("{id} not on Drive"));
        };
        let old = e.md5;
        f(e);
        e.version = v;
        let e = e.clone();
        if let Some(old) = old.filter(|o| Some(*o) != e.md5) {
            self.revisions.push(old);
        }
        Ok(e)
    }

    fn remote_trash(&mut self, id: &DriveId) {
        let mut gone = vec![id.clone()];
        while let Some(id) = gone.pop() {
            if let Some(e) = self.remote.remove(&id) {
                if let Some(m) = e.md5 {
                    self.trash.push(m);
                }
            }
            gone.extend(
                self.remote
                    .values()
                    .filter(|e| e.parent == id)
                    .map(|e| e.id.clone()),
            );
        }
    }

    /// Drive's metadata for `planned` as the executor knows it by now: an op earlier in the
    /// plan (a rename, a move) may have changed its name, parent and version.
    fn fresh(&self, planned: &RemoteEntry) -> RemoteEntry {
        self.remote.get(&planned.id).unwrap_or(planned).clone()
    }

    fn check_local(&self, p: &RelPath, expect: Option<LocalStamp>) -> Result<(), SimError> {
        if self.local.get(p).map(|l| l.stamp) != expect {
            return err(format!("{p} changed since planning"));
        }
        Ok(())
    }

    /// Applies one op as the engine would, updating the synced tree.
    pub fn apply(&mut self, op: &Op) -> Result<(), SimError> {
        match op {
            Op::MoveLocal { from, to, remote } => {
                if self.local.contains_key(to) || !self.local.contains_key(from) {
                    return err(format!("cannot move {from} to {to}"));
                }
                move_tree(&mut self.local, from, to);
                move_tree(&mut self.base, from, to);
                let stamp = self.local[to].stamp;
                let md5 = self.base.get(to).and_then(|b| b.md5);
                let now = self.fresh(remote);
                self.base.insert(to.clone(), base_of(&now, stamp, md5));
            }
            Op::MoveRemote { from, to, id, name } => {
                let parent = self.parent_id(to)?;
                let r = self.remote_touch(id, |e| {
                    e.name = name.clone();
                    e.parent = parent;
                })?;
                move_tree(&mut self.base, from, to);
                let stamp = self.local.get(to).map(|l| l.stamp);
                if let (Some(b), Some(stamp)) = (self.base.get(to).cloned(), stamp) {
                    self.base.insert(to.clone(), base_of(&r, stamp, b.md5));
                }
            }
            Op::RecordMove { from, to, remote } => {
                move_tree(&mut self.base, from, to);
                if let Some(b) = self.base.get(to).cloned() {
                    let now = self.fresh(remote);
                    self.base.insert(to.clone(), base_of(&now, b.local, b.md5));
                }
            }
            Op::ConflictCopy { path, copy, expect } => {
                self.check_local(path, Some(*expect))?;
                if self.local.contains_key(copy) {
                    return err(format!("{copy} exists"));
                }
                move_tree(&mut self.local, path, copy);
            }
            Op::RenameRemoteAside { path, id, name, .. } => {
                self.remote_touch(id, |e| e.name = name.clone())?;
                if self.base.get(path).is_some_and(|b| b.id == *id) {
                    self.base.remove(path);
                }
            }
            Op::MkdirLocal { path, remote, .. } => {
                match self.local.get(path) {
                    Some(l) if l.kind == Kind::Folder => {}
                    Some(_) => return err(format!("{path} is a file")),
                    None => {
                        self.local_put(path, Kind::Folder, None);
                    }
                }
                let stamp = self.local[path].stamp;
                self.base.insert(path.clone(), base_of(remote, stamp, None));
            }
            Op::MkdirRemote { path, name, .. } => {
                let parent = self.parent_id(path)?;
                let Some(l) = self.local.get(path).cloned() else {
                    return err(format!("{path} gone locally"));
                };
                let r = self.remote_new(parent, name, Kind::Folder, None);
                self.base.insert(path.clone(), base_of(&r, l.stamp, None));
            }
            Op::Upload {
                path,
                name,
                replace,
                expect,
                ..
            } => {
                self.check_local(path, Some(*expect))?;
                let l = self.local[path].clone();
                let r = match replace {
                    Some(id) => self.remote_touch(id, |e| {
                        e.md5 = l.md5;
                        e.size = l.stamp.size;
                    })?,
                    None => {
                        let parent = self.parent_id(path)?;
                        self.remote_new(parent, name, Kind::File, l.md5)
                    }
                };
                self.base.insert(path.clone(), base_of(&r, l.stamp, l.md5));
            }
            Op::Download {
                path,
                remote,
                expect,
            } => {
                self.check_local(path, *expect)?;
                if let Some(old) = self.local.get(path).and_then(|l| l.md5) {
                    // The engine keeps the replaced local version only when it differs from
                    // what the synced tree had (then it is a conflict, not a download).
                    if self.base.get(path).and_then(|b| b.md5) != Some(old) {
                        return err(format!("{path} would lose a local version"));
                    }
                }
                let stamp = self.local_put(path, Kind::File, remote.md5);
                let now = self.fresh(remote);
                self.base
                    .insert(path.clone(), base_of(&now, stamp, remote.md5));
            }
            Op::WriteLink {
                path,
                remote,
                expect,
            } => {
                self.check_local(path, *expect)?;
                let md5 = if crate::is_export(path.name(), &remote.mime_type) {
                    export_md5(&remote.id, remote.version)
                } else {
                    link_md5(&remote.id)
                };
                let stamp = self.local_put(path, Kind::Link, Some(md5));
                self.base
                    .insert(path.clone(), base_of(remote, stamp, Some(md5)));
            }
            Op::TrashLocal { path, expect, .. } => {
                for k in subtree(&self.local, path) {
                    let l = &self.local[&k];
                    if l.kind != Kind::Folder && expect.get(&k) != Some(&l.stamp) {
                        return err(format!("{k} changed since planning"));
                    }
                }
                for k in subtree(&self.local, path) {
                    if let Some(m) = self.local.remove(&k).and_then(|l| l.md5) {
                        self.trash.push(m);
                    }
                }
                for k in subtree(&self.base, path) {
                    self.base.remove(&k);
                }
            }
            Op::TrashRemote { path, id, .. } => {
                self.remote_trash(id);
                for k in subtree(&self.base, path) {
                    self.base.remove(&k);
                }
            }
            Op::Record {
                path,
                remote,
                local,
                md5,
            } => {
                self.base
                    .insert(path.clone(), base_of(remote, *local, *md5));
            }
            Op::Forget { path } => {
                for k in subtree(&self.base, path) {
                    self.base.remove(&k);
                }
            }
        }
        Ok(())
    }

    /// Applies every op of `plan` in order; returns the failures.
    pub fn apply_plan(&mut self, plan: &Plan) -> Vec<(Op, SimError)> {
        plan.ops
            .iter()
            .filter_map(|op| self.apply(op).err().map(|e| (op.clone(), e)))
            .collect()
    }

    /// What each side holds, comparable across sides: path -> (kind, content).
    pub fn local_view(&self) -> BTreeMap<RelPath, (Kind, Option<Md5>)> {
        self.local
            .iter()
            .map(|(p, l)| {
                (
                    p.clone(),
                    (l.kind, if l.kind == Kind::File { l.md5 } else { None }),
                )
            })
            .collect()
    }

    /// [`World::local_view`] for Drive.
    pub fn remote_view(&self, rules: &NameRules) -> BTreeMap<RelPath, (Kind, Option<Md5>)> {
        self.remote_tree(rules)
            .into_iter()
            .map(|(p, r)| (p, (r.kind, if r.kind == Kind::File { r.md5 } else { None })))
            .collect()
    }

    /// Every file content on either side, in a trash, or in Drive's version history.
    pub fn all_content(&self) -> Vec<Md5> {
        let mut v: Vec<Md5> = self
            .local
            .values()
            .filter(|l| l.kind == Kind::File)
            .filter_map(|l| l.md5)
            .chain(self.remote.values().filter_map(|r| r.md5))
            .chain(self.trash.iter().copied())
            .chain(self.revisions.iter().copied())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    // --- changes a user (locally) or another device (on Drive) makes, by path ---

    /// Writes a local file with `content` (a new file, or an edit keeping its identity),
    /// creating missing parent folders. False when a parent is a file.
    pub fn local_write(&mut self, p: &RelPath, content: Md5) -> bool {
        if !self.local_parents(p) {
            return false;
        }
        match self.local.get(p).map(|l| (l.kind, l.stamp)) {
            Some((Kind::Folder, _)) => false,
            Some((_, old)) => {
                let t = self.tick();
                let stamp = LocalStamp {
                    size: u64::from(content.0[0]),
                    mtime_ns: t as i64,
                    file_id: old.file_id,
                };
                self.local.insert(
                    p.clone(),
                    LocalEntry {
                        kind: Kind::File,
                        md5: Some(content),
                        stamp,
                    },
                );
                true
            }
            None => {
                self.local_put(p, Kind::File, Some(content));
                true
            }
        }
    }

    fn local_parents(&mut self, p: &RelPath) -> bool {
        let mut cur = p.parent();
        let mut missing = Vec::new();
        while let Some(a) = cur.filter(|a| !a.is_root()) {
            match self.local.get(&a).map(|l| l.kind) {
                Some(Kind::Folder) => break,
                Some(_) => return false,
                None => missing.push(a.clone()),
            }
            cur = a.parent();
        }
        for a in missing.into_iter().rev() {
            self.local_put(&a, Kind::Folder, None);
        }
        true
    }

    /// Creates a local folder (and its parents).
    pub fn local_mkdir(&mut self, p: &RelPath) -> bool {
        if self.local.contains_key(p) || !self.local_parents(p) {
            return false;
        }
        self.local_put(p, Kind::Folder, None);
        true
    }

    /// Deletes a local file or folder for good, as `rm -r` would.
    pub fn local_rm(&mut self, p: &RelPath) -> bool {
        let keys = subtree(&self.local, p);
        for k in &keys {
            self.local.remove(k);
        }
        !keys.is_empty()
    }

    /// Moves a local file or folder, as `mv` would (refusing to replace anything).
    pub fn local_mv(&mut self, from: &RelPath, to: &RelPath) -> bool {
        if !self.local.contains_key(from) || self.local.contains_key(to) || to.starts_with(from) {
            return false;
        }
        if !self.local_parents(to) {
            return false;
        }
        move_tree(&mut self.local, from, to);
        true
    }

    fn remote_id_at(&self, p: &RelPath) -> Option<DriveId> {
        if p.is_root() {
            return Some(DriveId::new(ROOT));
        }
        self.remote_tree(&NameRules::default())
            .get(p)
            .map(|r| r.id.clone())
    }

    fn remote_parent_for(&mut self, p: &RelPath) -> Option<DriveId> {
        let parent = p.parent()?;
        if let Some(id) = self.remote_id_at(&parent) {
            return self
                .remote
                .get(&id)
                .map_or(Some(id.clone()), |e| (e.kind == Kind::Folder).then_some(id));
        }
        let grand = self.remote_parent_for(&parent)?;
        Some(self.remote_new(grand, parent.name(), Kind::Folder, None).id)
    }

    /// Writes a Drive file at `p` (new, or new content for the file there).
    pub fn remote_write(&mut self, p: &RelPath, content: Md5) -> bool {
        match self.remote_id_at(p) {
            Some(id) if self.remote.get(&id).is_some_and(|e| e.kind == Kind::File) => self
                .remote_touch(&id, |e| {
                    e.md5 = Some(content);
                    e.size = u64::from(content.0[0]);
                })
                .is_ok(),
            Some(_) => false,
            None => match self.remote_parent_for(p) {
                Some(parent) => {
                    self.remote_new(parent, p.name(), Kind::File, Some(content));
                    true
                }
                None => false,
            },
        }
    }

    /// Creates a Google Doc named `name` in the folder at `folder`.
    pub fn remote_doc(&mut self, folder: &RelPath, name: &str) -> bool {
        let Some(parent) = self.remote_id_at(folder) else {
            return false;
        };
        let mut e = self.remote_new(parent, name, Kind::Link, None);
        e.mime_type = "application/vnd.google-apps.document".into();
        self.remote.insert(e.id.clone(), e);
        true
    }

    /// Edits the Google Doc with Drive id `id` (its version moves on).
    pub fn remote_edit_doc(&mut self, id: &DriveId) -> bool {
        let v = self.tick();
        match self.remote.get_mut(id) {
            Some(e) if e.kind == Kind::Link => {
                e.version = v;
                true
            }
            _ => false,
        }
    }

    /// Creates a Drive folder.
    pub fn remote_mkdir(&mut self, p: &RelPath) -> bool {
        if self.remote_id_at(p).is_some() {
            return false;
        }
        match self.remote_parent_for(p) {
            Some(parent) => {
                self.remote_new(parent, p.name(), Kind::Folder, None);
                true
            }
            None => false,
        }
    }

    /// Trashes the Drive file or folder at `p` (as another device would).
    pub fn remote_rm(&mut self, p: &RelPath) -> bool {
        match self.remote_id_at(p) {
            Some(id) if !p.is_root() => {
                self.remote_trash(&id);
                true
            }
            _ => false,
        }
    }

    /// Renames and/or moves the Drive file at `from` to `to` (its parent folder must exist).
    pub fn remote_mv(&mut self, from: &RelPath, to: &RelPath) -> bool {
        let (Some(id), None) = (self.remote_id_at(from), self.remote_id_at(to)) else {
            return false;
        };
        if from.is_root() || to.starts_with(from) {
            return false;
        }
        let Some(parent) = to.parent().and_then(|p| self.remote_id_at(&p)) else {
            return false;
        };
        if self
            .remote
            .get(&parent)
            .is_some_and(|e| e.kind != Kind::Folder)
        {
            return false;
        }
        let name = to.name().to_owned();
        self.remote_touch(&id, |e| {
            e.name = name;
            e.parent = parent;
        })
        .is_ok()
    }
}
