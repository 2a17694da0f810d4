//! Phase 1 of planning: find renames and moves (by Drive id remotely, by file id locally),
//! plan them as moves on the other side, and apply them to working copies of the three trees,
//! so the path-wise merge that follows sees both sides at the same paths.

use std::collections::{HashMap, HashSet};

use drivesync_model::{BaseEntry, DriveId, Kind, LocalEntry, RelPath, RemoteEntry, Tree};

use crate::names::{drive_name, is_export};
use crate::ops::Op;
use crate::PlanContext;

/// The id prefix of Drive folders that moves need and the plan creates (never in an op).
const PLANNED: &str = "planned:";

/// Working copies of the trees as they will be once the ops planned so far have run.
pub(crate) struct Work<'c> {
    pub base: Tree<BaseEntry>,
    pub local: Tree<LocalEntry>,
    pub remote: Tree<RemoteEntry>,
    pub ops: Vec<Op>,
    pub ctx: &'c PlanContext,
    base_at: HashMap<DriveId, RelPath>,
    remote_at: HashMap<DriveId, RelPath>,
    local_at: HashMap<u64, Vec<RelPath>>,
    /// Entries this plan already moves or creates: a later move of a folder holding one of
    /// them would carry it along on one side only, so such a move is not planned.
    touched: HashSet<DriveId>,
    /// (local folder, Drive name) of every Drive entry once moves are planned: a new local
    /// file may not take a Drive name a neighbour placed at another local path has (see
    /// `Work::merge`).
    pub(crate) drive_names: HashSet<(Option<RelPath>, String)>,
}

/// Moves every key at or under `from` to the same place under `to`; returns the new keys.
fn move_keys<E>(t: &mut Tree<E>, from: &RelPath, to: &RelPath) -> Vec<(RelPath, RelPath)> {
    let keys: Vec<RelPath> = t
        .range(from.clone()..)
        .take_while(|(k, _)| k.starts_with(from))
        .map(|(k, _)| k.clone())
        .collect();
    let mut moved = Vec::with_capacity(keys.len());
    let mut entries = Vec::with_capacity(keys.len());
    for k in keys {
        if let Some(e) = t.remove(&k) {
            let new = k.rebase(from, to).unwrap_or_else(|| k.clone());
            moved.push((k, new.clone()));
            entries.push((new, e));
        }
    }
    t.extend(entries);
    moved
}

impl<'c> Work<'c> {
    pub fn new(
        base: Tree<BaseEntry>,
        local: Tree<LocalEntry>,
        remote: Tree<RemoteEntry>,
        ctx: &'c PlanContext,
    ) -> Self {
        let base_at = base
            .iter()
            .map(|(p, b)| (b.id.clone(), p.clone()))
            .collect();
        let remote_at = remote
            .iter()
            .map(|(p, r)| (r.id.clone(), p.clone()))
            .collect();
        let mut local_at: HashMap<u64, Vec<RelPath>> = HashMap::new();
        for (p, l) in &local {
            if l.stamp.file_id != 0 {
                local_at.entry(l.stamp.file_id).or_default().push(p.clone());
            }
        }
        Self {
            base,
            local,
            remote,
            ops: Vec::new(),
            ctx,
            base_at,
            remote_at,
            local_at,
            touched: HashSet::new(),
            drive_names: HashSet::new(),
        }
    }

    fn move_base(&mut self, from: &RelPath, to: &RelPath) {
        for (_, new) in move_keys(&mut self.base, from, to) {
            let id = self.base[&new].id.clone();
            self.base_at.insert(id, new);
        }
    }

    fn move_remote(&mut self, from: &RelPath, to: &RelPath) {
        for (_, new) in move_keys(&mut self.remote, from, to) {
            let id = self.remote[&new].id.clone();
            self.remote_at.insert(id, new);
        }
    }

    fn move_local(&mut self, from: &RelPath, to: &RelPath) {
        for (old, new) in move_keys(&mut self.local, from, to) {
            let fid = self.local[&new].stamp.file_id;
            if let Some(v) = self.local_at.get_mut(&fid) {
                for p in v.iter_mut().filter(|p| **p == old) {
                    *p = new.clone();
                }
            }
        }
    }

    /// Finds, detects and plans the moves of every synced entry, parents first. A move of a
    /// folder carries its content along on one side, which can displace an entry handled
    /// before it, so passes repeat until one plans nothing (bounded: what is left is merged
    /// path by path, which is always safe).
    pub fn plan_moves(&mut self) {
        for _ in 0..8 {
            let before = self.ops.len();
            self.moves_pass();
            if self.ops.len() == before {
                break;
            }
        }
    }

    fn moves_pass(&mut self) {
        let ids: Vec<DriveId> = self.base.values().map(|b| b.id.clone()).collect();
        for id in ids {
            let Some(p) = self.base_at.get(&id).cloned() else {
                continue;
            };
            let Some(b) = self.base.get(&p).cloned() else {
                continue;
            };
            let r_at = self.remote_at.get(&id).cloned();
            let l_at = match self.local.get(&p) {
                Some(l) if l.kind == b.kind => Some(p.clone()),
                Some(_) => None,
                None => self.local_move_of(&b),
            };
            let (Some(l), Some(r)) = (l_at, r_at) else {
                continue;
            };
            if b.kind == Kind::Link
                && is_export(p.name(), &b.mime_type) != is_export(r.name(), &b.mime_type)
            {
                // The pair's Docs setting changed: a link file is not an export renamed, so
                // the old one is trashed and the new one written.
                continue;
            }
            match (l == p, r == p) {
                (true, true) => {}
                (true, false) => {
                    self.try_move_local(&p, &p, &r);
                }
                (false, true) => {
                    self.try_move_remote(&p, &l, &b);
                }
                (false, false) if l == r => {
                    if self.free_in_base(&r) {
                        let remote = self.remote[&r].clone();
                        self.touched.insert(remote.id.clone());
                        self.ops.push(Op::RecordMove {
                            from: p.clone(),
                            to: r.clone(),
                            remote,
                        });
                        self.move_base(&p, &r);
                        self.refresh_base(&r);
                    }
                }
                (false, false) => {
                    // Moved differently on both sides: Drive's place wins.
                    self.try_move_local(&p, &l, &r);
                }
            }
        }
    }

    /// The one local path holding the synced entry `b` after a local move: same file id, same
    /// kind, same content, at a path the synced tree does not know.
    fn local_move_of(&self, b: &BaseEntry) -> Option<RelPath> {
        if b.local.file_id == 0 {
            return None;
        }
        let found: Vec<&RelPath> = self
            .local_at
            .get(&b.local.file_id)?
            .iter()
            .filter(|q| {
                let l = &self.local[*q];
                l.kind == b.kind
                    && (b.kind != Kind::File || l.md5 == b.md5)
                    && !self.base.contains_key(*q)
            })
            .collect();
        match found.as_slice() {
            [one] => Some((*one).clone()),
            _ => None,
        }
    }

    /// The synced entry at `to` takes Drive's metadata, as the executor records it.
    fn refresh_base(&mut self, to: &RelPath) {
        if let (Some(b), Some(r)) = (self.base.get(to), self.remote.get(to)) {
            let fresh = crate::merge::moved_base(b, r, to, b.local);
            self.base.insert(to.clone(), fresh);
        }
    }

    /// Does anything under `p` (not `p` itself) already move or get created in this plan?
    fn holds_touched(&self, p: &RelPath) -> bool {
        self.base
            .range((
                std::ops::Bound::Excluded(p.clone()),
                std::ops::Bound::Unbounded,
            ))
            .take_while(|(k, _)| k.starts_with(p))
            .any(|(_, b)| self.touched.contains(&b.id))
    }

    fn free_in_base(&self, to: &RelPath) -> bool {
        !self.base.contains_key(to) && !to.is_root()
    }

    /// Moves the local entry at `from` to `to` (where Drive has it), the synced entry at `p`
    /// with it; creates missing parent folders first. Does nothing when `to` or a parent is
    /// taken (the merge then handles it as a delete plus a create).
    fn try_move_local(&mut self, p: &RelPath, from: &RelPath, to: &RelPath) -> bool {
        if self.local.contains_key(to) || !(self.free_in_base(to) || p == to) {
            return false;
        }
        if to.starts_with(from) || self.holds_touched(p) || !self.parents_for(to, true) {
            return false;
        }
        let remote = self.remote[to].clone();
        if p != from {
            // Both moved: the synced entry follows the local one first, still with Drive as
            // synced, so that if the local move does not run, the next sync still sees
            // Drive's move (the change feed says nothing new about it).
            self.ops.push(Op::RecordMove {
                from: p.clone(),
                to: from.clone(),
                remote: self.base[p].synced_remote(),
            });
            self.move_base(p, from);
        }
        self.touched.insert(remote.id.clone());
        self.ops.push(Op::MoveLocal {
            from: from.clone(),
            to: to.clone(),
            remote,
        });
        self.move_base(from, to);
        self.move_local(from, to);
        self.refresh_base(to);
        true
    }

    /// Moves the Drive file of synced entry `b` from `p` to `to` (where it is locally).
    fn try_move_remote(&mut self, p: &RelPath, to: &RelPath, b: &BaseEntry) -> bool {
        if self.remote.contains_key(to) || !self.free_in_base(to) {
            return false;
        }
        if to.starts_with(p) || self.holds_touched(p) || !self.parents_for(to, false) {
            return false;
        }
        let link = (b.kind == Kind::Link).then_some(b.mime_type.as_str());
        let name = drive_name(to.name(), Some((&b.remote_name, link)), &self.ctx.rules);
        self.touched.insert(b.id.clone());
        self.ops.push(Op::MoveRemote {
            from: p.clone(),
            to: to.clone(),
            id: b.id.clone(),
            name,
        });
        self.move_base(p, to);
        self.move_remote(p, to);
        true
    }

    /// Makes sure every parent folder of `to` exists on the side being changed (locally when
    /// `local`), planning folder creations for those the other side has. False when a parent
    /// is something else than a folder.
    fn parents_for(&mut self, to: &RelPath, local: bool) -> bool {
        let mut missing = Vec::new();
        let mut cur = to.parent();
        while let Some(a) = cur {
            if a.is_root() {
                break;
            }
            let here = if local {
                self.local.get(&a).map(|l| l.kind)
            } else {
                self.remote.get(&a).map(|r| r.kind)
            };
            match here {
                // The executor finds a Drive parent by the synced tree first: it must agree.
                Some(Kind::Folder)
                    if !local
                        && self
                            .base
                            .get(&a)
                            .is_some_and(|b| Some(&b.id) != self.remote.get(&a).map(|r| &r.id)) =>
                {
                    return false
                }
                Some(Kind::Folder) => break,
                Some(_) => return false,
                None => {}
            }
            let there = if local {
                self.remote.get(&a).map(|r| r.kind)
            } else {
                self.local.get(&a).map(|l| l.kind)
            };
            if there != Some(Kind::Folder) || self.base.contains_key(&a) {
                return false;
            }
            // A Drive folder this plan only intends to create cannot be mirrored yet.
            if local && self.remote[&a].id.as_str().starts_with(PLANNED) {
                return false;
            }
            missing.push(a.clone());
            cur = a.parent();
        }
        for a in missing.into_iter().rev() {
            if local {
                let remote = self.remote[&a].clone();
                let stamp = drivesync_model::LocalStamp {
                    size: 0,
                    mtime_ns: 0,
                    file_id: 0,
                };
                self.touched.insert(remote.id.clone());
                self.base
                    .insert(a.clone(), crate::merge::base_of(&remote, stamp, None));
                self.local.insert(
                    a.clone(),
                    LocalEntry {
                        kind: Kind::Folder,
                        md5: None,
                        stamp,
                    },
                );
                self.ops.push(Op::MkdirLocal {
                    path: a,
                    remote,
                    before_move: true,
                });
            } else {
                let l = self.local[&a].clone();
                let remote = RemoteEntry {
                    id: DriveId::new(format!("{PLANNED}{a}")),
                    parent: DriveId::new(""),
                    name: a.name().to_owned(),
                    kind: Kind::Folder,
                    mime_type: String::new(),
                    md5: None,
                    size: 0,
                    version: 0,
                    modified: None,
                };
                self.touched.insert(remote.id.clone());
                self.base
                    .insert(a.clone(), crate::merge::base_of(&remote, l.stamp, None));
                self.remote.insert(a.clone(), remote);
                self.ops.push(Op::MkdirRemote {
                    name: a.name().to_owned(),
                    path: a,
                    before_move: true,
                });
            }
        }
        true
    }
}
