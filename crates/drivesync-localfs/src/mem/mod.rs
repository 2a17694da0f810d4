//! [`MemFs`]: an in-memory [`crate::LocalFs`] for deterministic tests (feature `fake`).
//!
//! Same contracts as [`crate::StdFs`]; file ids come from a counter and mtimes from a
//! logical clock that moves 1 s per change, so runs are reproducible. The pub helpers act
//! as a user would (write, `rm`, `mv`...) and inspect the result; they panic on misuse.

mod ops;
mod staged;
mod tree;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use drivesync_model::RelPath;

use crate::{FsError, Meta, TRASH_DIR};
use tree::{Body, State};

/// A path argument of the [`MemFs`] helpers: a [`RelPath`] or a `&str` (panics if invalid).
pub trait AsRel {
    /// The path.
    fn as_rel(&self) -> RelPath;
}

impl AsRel for RelPath {
    fn as_rel(&self) -> RelPath {
        self.clone()
    }
}

impl AsRel for &RelPath {
    fn as_rel(&self) -> RelPath {
        (*self).clone()
    }
}

impl AsRel for &str {
    fn as_rel(&self) -> RelPath {
        RelPath::new(*self).unwrap_or_else(|e| panic!("MemFs: bad path: {e}"))
    }
}

impl AsRel for String {
    fn as_rel(&self) -> RelPath {
        self.as_str().as_rel()
    }
}

/// An in-memory file system. Clones share the same tree (hand one to the engine, keep one to
/// act and look).
#[derive(Debug, Clone)]
pub struct MemFs {
    state: Arc<Mutex<State>>,
    root: PathBuf,
}

impl Default for MemFs {
    fn default() -> Self {
        Self::new()
    }
}

impl MemFs {
    fn with(case_insensitive: bool) -> Self {
        let state = State::new(case_insensitive);
        Self {
            root: state.abs_root.clone(),
            state: Arc::new(Mutex::new(state)),
        }
    }

    /// An empty, case-sensitive file system (like Linux), rooted at `/memfs`.
    pub fn new() -> Self {
        Self::with(false)
    }

    /// An empty case-insensitive, case-preserving file system (like macOS and Windows):
    /// names compare by lower case and keep their case.
    pub fn case_insensitive() -> Self {
        Self::with(true)
    }

    /// With `false`, trash goes to `.drivesync-trash` inside the tree (as [`crate::StdFs`]
    /// does when the OS has no trash); by default to a fake OS trash.
    pub fn with_os_trash(self, on: bool) -> Self {
        self.lock().os_trash = on;
        self
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes a file as a user would, creating missing folders. An existing file keeps its
    /// file id (an in-place save); its mtime moves on. Panics if a folder or link is there.
    pub fn write(&self, path: impl AsRel, bytes: impl AsRef<[u8]>) -> Meta {
        let p = path.as_rel();
        let mut s = self.lock();
        s.mkdir_all(&p.parent().expect("MemFs: cannot write the root"));
        let now = s.tick();
        match s.get_mut(&p) {
            Some(n) => {
                let Body::File(b) = &mut n.body else {
                    panic!("MemFs: {p} is not a file")
                };
                *b = bytes.as_ref().to_vec();
                n.mtime_ns = now;
            }
            None => {
                let n = s.node(Body::File(bytes.as_ref().to_vec()));
                s.put(&p, n);
            }
        }
        s.get(&p).expect("just written").meta()
    }

    /// Creates a folder and its missing parents (`mkdir -p`).
    pub fn mkdir_all(&self, path: impl AsRel) -> Meta {
        self.lock().mkdir_all(&path.as_rel())
    }

    /// A file's content: `NotFound`, `NotAFile`, or `PermissionDenied` if set unreadable.
    pub fn read(&self, path: impl AsRel) -> Result<Vec<u8>, FsError> {
        let p = path.as_rel();
        let s = self.lock();
        ops::file_bytes(&s, &p, "read").map(<[u8]>::to_vec)
    }

    /// What is at `path` (as [`crate::LocalFs::stat`]).
    pub fn meta(&self, path: impl AsRel) -> Option<Meta> {
        self.lock().get(&path.as_rel()).map(|n| n.meta())
    }

    /// Deletes `path` (and its content) permanently, as `rm -r` would; `false` if absent.
    pub fn remove(&self, path: impl AsRel) -> bool {
        let mut s = self.lock();
        s.tick();
        s.take(&path.as_rel()).is_some()
    }

    /// Moves `from` to `to` as `mv` would: replacing whatever is at `to`, keeping the file id
    /// and mtime. Panics if `from` is absent or `to`'s folder is missing.
    pub fn rename_raw(&self, from: impl AsRel, to: impl AsRel) {
        let (from, to) = (from.as_rel(), to.as_rel());
        let mut s = self.lock();
        s.check_dir(&to.parent().expect("MemFs: not the root"), "mv")
            .unwrap_or_else(|e| panic!("MemFs: {e}"));
        s.tick();
        let n = s
            .take(&from)
            .unwrap_or_else(|| panic!("MemFs: {from} is absent"));
        s.take(&to);
        s.put(&to, n);
    }

    /// Creates a symbolic link at `path` pointing to `target`, creating missing folders.
    pub fn symlink(&self, path: impl AsRel, target: &str) -> Meta {
        let p = path.as_rel();
        let mut s = self.lock();
        s.mkdir_all(&p.parent().expect("MemFs: not the root"));
        s.tick();
        let n = s.node(Body::Symlink(target.to_owned()));
        s.put(&p, n);
        s.get(&p).expect("just created").meta()
    }

    /// Makes a file unreadable (hash, read and upload_path fail with `PermissionDenied`) or a
    /// folder unlistable, or undoes it. Panics if absent.
    pub fn set_unreadable(&self, path: impl AsRel, unreadable: bool) {
        let p = path.as_rel();
        let mut s = self.lock();
        let n = s
            .get_mut(&p)
            .unwrap_or_else(|| panic!("MemFs: {p} is absent"));
        n.unreadable = unreadable;
    }

    /// Moves the logical clock forward to `ns` (nanoseconds since the epoch) if it is behind,
    /// so that mtimes follow a test's own clock.
    pub fn advance_clock_to(&self, ns: i64) {
        let mut s = self.lock();
        s.clock = s.clock.max(ns);
    }

    /// Sets an entry's mtime (nanoseconds since the epoch), as `touch -d` would.
    pub fn set_mtime(&self, path: impl AsRel, mtime_ns: i64) {
        let p = path.as_rel();
        let mut s = self.lock();
        let n = s
            .get_mut(&p)
            .unwrap_or_else(|| panic!("MemFs: {p} is absent"));
        n.mtime_ns = mtime_ns;
    }

    /// Every file and its content, `.drivesync-trash` and the pair marker excluded (staged
    /// partial files included, so a test can see that none is left behind).
    pub fn files(&self) -> BTreeMap<RelPath, Vec<u8>> {
        let s = self.lock();
        let mut out = Vec::new();
        s.root.files_into(&RelPath::root(), true, &mut out);
        out.into_iter().collect()
    }

    /// Every folder (not the root), `.drivesync-trash` excluded.
    pub fn folders(&self) -> BTreeSet<RelPath> {
        fn walk(n: &tree::Node, at: &RelPath, out: &mut BTreeSet<RelPath>) {
            if let Body::Folder(ch) = &n.body {
                for c in ch.values() {
                    if c.is_folder() && !(at.is_root() && c.name == TRASH_DIR) {
                        let p = at.join(&c.name).expect("valid names");
                        walk(c, &p, out);
                        out.insert(p);
                    }
                }
            }
        }
        let mut out = BTreeSet::new();
        walk(&self.lock().root, &RelPath::root(), &mut out);
        out
    }

    /// Every file that [`crate::LocalFs::trash`] moved away (to the fake OS trash or to
    /// `.drivesync-trash`), with its path and content when trashed, in order.
    pub fn trashed(&self) -> Vec<(RelPath, Vec<u8>)> {
        self.lock().trashed.clone()
    }

    /// The next [`crate::LocalFs::hash`] of `path` sees the file change to `new_bytes` while
    /// it reads (it then fails with `Changed`; the file keeps `new_bytes`).
    pub fn change_during_next_hash(&self, path: impl AsRel, new_bytes: impl AsRef<[u8]>) {
        let mut s = self.lock();
        let key = s.path_key(&path.as_rel());
        s.change_on_hash.insert(key, new_bytes.as_ref().to_vec());
    }

    /// How many times [`crate::LocalFs::hash`] was called (to prove a file was not read).
    pub fn hash_count(&self) -> usize {
        self.lock().hash_count
    }

    /// Unmounts the pair's disk: the root becomes an empty folder (another id, on another
    /// device), as a mount point is when its disk is not there. [`MemFs::mount`] puts the
    /// real one back. Panics if already unmounted.
    pub fn unmount(&self) {
        let mut s = self.lock();
        assert!(s.unmounted.is_none(), "MemFs: already unmounted");
        s.tick();
        let mut empty = s.node(Body::Folder(BTreeMap::new()));
        empty.name = String::new();
        let real = std::mem::replace(&mut s.root, empty);
        let device = s.device;
        s.device += 1000;
        s.unmounted = Some((real, device));
    }

    /// Puts back the root that [`MemFs::unmount`] took away (whatever was written to the
    /// empty mount point meanwhile is hidden again, as on a real mount). Panics if mounted.
    pub fn mount(&self) {
        let mut s = self.lock();
        let (real, device) = s.unmounted.take().expect("MemFs: not unmounted");
        s.root = real;
        s.device = device;
    }

    /// The files of the root that [`MemFs::unmount`] took away (none while mounted): they
    /// still exist, on a disk that is not plugged in.
    pub fn unmounted_files(&self) -> BTreeMap<RelPath, Vec<u8>> {
        let s = self.lock();
        let mut out = Vec::new();
        if let Some((real, _)) = &s.unmounted {
            real.files_into(&RelPath::root(), true, &mut out);
        }
        out.into_iter().collect()
    }

    /// Whether [`MemFs::unmount`] took the root away.
    pub fn is_unmounted(&self) -> bool {
        self.lock().unmounted.is_some()
    }

    /// While `true`, creating folders and writing staged files fail with `DiskFull`.
    pub fn set_disk_full(&self, full: bool) {
        self.lock().disk_full = full;
    }
}
