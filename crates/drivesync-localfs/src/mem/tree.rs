//! The in-memory tree behind [`super::MemFs`]: nodes, lookups by (optionally case-folded)
//! name, a logical clock and file ids from a counter.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use drivesync_model::{LocalStamp, RelPath};

use crate::{FsError, FsKind, Meta, PAIR_MARKER, TRASH_DIR};

/// The logical clock starts here (2023-11-14) and moves 1 s per change.
const CLOCK_START_NS: i64 = 1_700_000_000_000_000_000;
/// One tick of the logical clock.
pub(crate) const TICK_NS: i64 = 1_000_000_000;

/// One file, folder or symlink.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// Its name, with its case.
    pub name: String,
    pub id: u64,
    pub mtime_ns: i64,
    /// Reads (files) or listings (folders) fail with `PermissionDenied`.
    pub unreadable: bool,
    pub body: Body,
}

/// What a node is.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    File(Vec<u8>),
    /// Children by key (the name, lower-cased on a case-insensitive fs).
    Folder(BTreeMap<String, Node>),
    Symlink(String),
}

impl Node {
    pub fn meta(&self) -> Meta {
        let (kind, size) = match &self.body {
            Body::File(b) => (FsKind::File, b.len() as u64),
            Body::Folder(_) => (FsKind::Folder, 0),
            Body::Symlink(t) => (FsKind::Symlink, t.len() as u64),
        };
        Meta {
            kind,
            stamp: LocalStamp {
                size,
                mtime_ns: self.mtime_ns,
                file_id: self.id,
            },
        }
    }

    pub fn is_folder(&self) -> bool {
        matches!(self.body, Body::Folder(_))
    }

    /// Every file in this subtree with its path under `at` (this node's own path).
    pub fn files_into(&self, at: &RelPath, skip_trash: bool, out: &mut Vec<(RelPath, Vec<u8>)>) {
        match &self.body {
            Body::File(b) => out.push((at.clone(), b.clone())),
            Body::Folder(children) => {
                for c in children.values() {
                    if skip_trash && at.is_root() && (c.name == TRASH_DIR || c.name == PAIR_MARKER)
                    {
                        continue;
                    }
                    let p = at.join(&c.name).expect("names in the tree are valid");
                    c.files_into(&p, skip_trash, out);
                }
            }
            Body::Symlink(_) => {}
        }
    }
}

/// The whole fake file system.
#[derive(Debug)]
pub(crate) struct State {
    pub abs_root: PathBuf,
    pub root: Node,
    pub case_insensitive: bool,
    pub next_id: u64,
    pub clock: i64,
    pub hash_count: usize,
    /// Content a file gets while it is being hashed next (by key path).
    pub change_on_hash: HashMap<String, Vec<u8>>,
    pub trashed: Vec<(RelPath, Vec<u8>)>,
    pub os_trash: bool,
    pub disk_full: bool,
    pub next_temp: u64,
    /// The device the root is on; another one while unmounted.
    pub device: u64,
    /// While unmounted: the real root and its device, put back by a mount.
    pub unmounted: Option<(Node, u64)>,
}

impl State {
    pub fn new(case_insensitive: bool) -> Self {
        Self {
            abs_root: PathBuf::from("/memfs"),
            root: Node {
                name: String::new(),
                id: 1,
                mtime_ns: CLOCK_START_NS,
                unreadable: false,
                body: Body::Folder(BTreeMap::new()),
            },
            case_insensitive,
            next_id: 2,
            clock: CLOCK_START_NS,
            hash_count: 0,
            change_on_hash: HashMap::new(),
            trashed: Vec::new(),
            os_trash: true,
            disk_full: false,
            next_temp: 1,
            device: 1,
            unmounted: None,
        }
    }

    /// The lookup key of one name.
    pub fn key(&self, name: &str) -> String {
        if self.case_insensitive {
            name.to_lowercase()
        } else {
            name.to_owned()
        }
    }

    /// The lookup key of a whole path.
    pub fn path_key(&self, p: &RelPath) -> String {
        self.key(p.as_str())
    }

    /// Advances the logical clock; returns the new time.
    pub fn tick(&mut self) -> i64 {
        self.clock += TICK_NS;
        self.clock
    }

    pub fn new_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id - 1
    }

    pub fn abs(&self, p: &RelPath) -> PathBuf {
        p.to_path(&self.abs_root)
    }

    fn keys(&self, p: &RelPath) -> Vec<String> {
        p.components().map(|c| self.key(c)).collect()
    }

    /// The node at `p`; `None` if absent or if a parent is not a folder.
    pub fn get(&self, p: &RelPath) -> Option<&Node> {
        let mut cur = &self.root;
        for k in self.keys(p) {
            match &cur.body {
                Body::Folder(ch) => cur = ch.get(&k)?,
                _ => return None,
            }
        }
        Some(cur)
    }

    /// The node at `p`, mutable.
    pub fn get_mut(&mut self, p: &RelPath) -> Option<&mut Node> {
        let keys = self.keys(p);
        let mut cur = &mut self.root;
        for k in keys {
            match &mut cur.body {
                Body::Folder(ch) => cur = ch.get_mut(&k)?,
                _ => return None,
            }
        }
        Some(cur)
    }

    /// Checks that `dir` and every folder above it exist and are folders.
    pub fn check_dir(&self, dir: &RelPath, op: &'static str) -> Result<(), FsError> {
        let mut at = RelPath::root();
        let mut cur = &self.root;
        for c in dir.components() {
            at = at.join(c).expect("component of a valid path");
            let Body::Folder(ch) = &cur.body else {
                unreachable!("checked below before descending")
            };
            cur = ch.get(&self.key(c)).ok_or_else(|| FsError::NotFound {
                op,
                path: self.abs(&at),
            })?;
            if !cur.is_folder() {
                return Err(FsError::NotAFolder {
                    op,
                    path: self.abs(&at),
                });
            }
        }
        Ok(())
    }

    /// Removes and returns the node at `p` (not the root); the parent's mtime moves.
    pub fn take(&mut self, p: &RelPath) -> Option<Node> {
        let parent = p.parent()?;
        let key = self.key(p.name());
        let now = self.clock;
        let dir = self.get_mut(&parent)?;
        let Body::Folder(ch) = &mut dir.body else {
            return None;
        };
        let node = ch.remove(&key)?;
        dir.mtime_ns = now;
        Some(node)
    }

    /// Puts `node` at `p` (renamed to `p`'s name), replacing whatever is there; the parent
    /// must be a folder (checked by the caller).
    pub fn put(&mut self, p: &RelPath, mut node: Node) {
        let parent = p.parent().expect("never the root");
        let key = self.key(p.name());
        node.name = p.name().to_owned();
        let now = self.clock;
        let dir = self.get_mut(&parent).expect("parent checked by the caller");
        let Body::Folder(ch) = &mut dir.body else {
            panic!("parent checked by the caller")
        };
        ch.insert(key, node);
        dir.mtime_ns = now;
    }

    /// A new node (fresh id, current clock).
    pub fn node(&mut self, body: Body) -> Node {
        Node {
            name: String::new(),
            id: self.new_id(),
            mtime_ns: self.clock,
            unreadable: false,
            body,
        }
    }

    /// Creates `p` and its missing parents as folders (test helper; panics on a non-folder).
    pub fn mkdir_all(&mut self, p: &RelPath) -> Meta {
        let mut at = RelPath::root();
        for c in p.components() {
            at = at.join(c).expect("component of a valid path");
            match self.get(&at) {
                Some(n) if n.is_folder() => {}
                Some(_) => panic!("MemFs: {at} is not a folder"),
                None => {
                    self.tick();
                    let n = self.node(Body::Folder(BTreeMap::new()));
                    self.put(&at, n);
                }
            }
        }
        self.get(p).expect("just created").meta()
    }
}
