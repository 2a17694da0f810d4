//! The scanner: walks a pair's folder into the local tree, reading only files whose stamp
//! differs from the synced tree, and never lets a file it could not look at appear deleted.

use drivesync_model::{BaseEntry, Kind, LocalEntry, RelPath, Tree};
use futures_util::stream::{self, FuturesOrdered, StreamExt};

use crate::{FsError, FsKind, LocalFs, Meta, PAIR_MARKER, PARTIAL_PREFIX, TRASH_DIR};

/// How to scan.
pub struct ScanOptions<'a> {
    /// `true` for a path to leave out (`is_dir` tells folders); ignored folders are not
    /// entered.
    pub ignore: &'a (dyn Fn(&RelPath, bool) -> bool + Sync),
    /// Files hashed at once (0 counts as 1).
    pub hash_concurrency: usize,
    /// Leave files the synced tree has nothing at unread: their entry gets no MD5 (see
    /// [`hash_deferred`], which reads those whose content the plan compares). A new file
    /// that only needs uploading is then read once, by its upload, not twice.
    pub defer_new: bool,
    /// Files modified at or after this instant (nanoseconds since the epoch) are read even
    /// when their stamp equals the synced one: git's "racy clean" rule. A same-size edit made
    /// within the file system's time resolution (FAT: 2 s) of the moment the stamp was
    /// recorded keeps the stamp, and would otherwise never be seen. `None`: never.
    pub racy_from_ns: Option<i64>,
}

/// The coarsest modification-time resolution drivesync allows for (FAT and exFAT: 2 s;
/// SMB, NFS and ext3: 1 s).
pub const MTIME_RESOLUTION_NS: i64 = 2_000_000_000;

/// What a scan found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// The local tree (the root itself is not a key).
    pub tree: Tree<LocalEntry>,
    /// What could not be synced, sorted by path.
    pub issues: Vec<ScanIssue>,
    /// Partial downloads left behind by an interrupted sync (`.drivesync-partial-*`), to
    /// remove.
    pub partials: Vec<RelPath>,
}

/// Something the scan could not put in the tree as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanIssue {
    /// The entry (for [`IssueKind::BadName`], the folder holding it).
    pub path: RelPath,
    /// What is wrong.
    pub kind: IssueKind,
}

/// Why an entry is not (or not freshly) in the scanned tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssueKind {
    /// A symbolic link: never followed, not synced.
    Symlink,
    /// It could not be read or listed (the message says why). If it was synced before, the
    /// tree keeps its synced view, so it does not look deleted.
    Unreadable(String),
    /// It changed (or vanished) while it was being read. If it was synced before, the tree
    /// keeps its synced view; scan again soon.
    ChangedWhileHashing,
    /// A name that cannot be synced (the reason says which and why).
    BadName(String),
    /// A FIFO, socket or device: not synced.
    Special,
}

/// `path`'s entry as the synced tree has it: "unchanged for now".
fn base_view(b: &BaseEntry) -> LocalEntry {
    LocalEntry {
        kind: b.kind,
        md5: b.md5,
        stamp: b.local,
    }
}

/// Whether the scanner always skips `name` inside `dir` (drivesync's own files).
pub fn is_internal(dir: &RelPath, name: &str) -> bool {
    name.starts_with(PARTIAL_PREFIX)
        || (dir.is_root() && (name == TRASH_DIR || name == PAIR_MARKER))
}

/// Walks the pair from its root into a [`Scan`]. A file whose stamp equals its synced
/// stamp takes its MD5 (and kind) from `base` without being read; the others are hashed,
/// `opts.hash_concurrency` at a time.
///
/// Only a missing or unreadable root is an error ([`FsError::RootMissing`] or the listing
/// error): the caller must then not treat the pair as emptied. Anything below the root that
/// cannot be read becomes a [`ScanIssue`]; if it was synced, its synced view stays in the tree
/// (for a folder, with everything under it), so that it is not seen as deleted.
pub async fn scan(
    fs: &dyn LocalFs,
    base: &Tree<BaseEntry>,
    opts: &ScanOptions<'_>,
) -> Result<Scan, FsError> {
    check_root(fs).await?;
    let mut walker = Walker::new(fs, base, opts);
    walker.walk(RelPath::root()).await?;
    Ok(walker.finish().await)
}

/// [`FsError::RootMissing`] unless the pair root is a folder.
pub(crate) async fn check_root(fs: &dyn LocalFs) -> Result<(), FsError> {
    match fs.stat(&RelPath::root()).await? {
        Some(m) if m.kind == FsKind::Folder => Ok(()),
        _ => Err(FsError::RootMissing {
            root: fs.root().to_path_buf(),
        }),
    }
}

/// The scanner's machinery, shared by [`scan`] (from the root) and [`crate::rescan()`] (from
/// the touched paths): what to do with each listed entry, walking folders, then hashing.
pub(crate) struct Walker<'a> {
    fs: &'a dyn LocalFs,
    base: &'a Tree<BaseEntry>,
    opts: &'a ScanOptions<'a>,
    /// What was found so far (files to hash are not in `out.tree` yet).
    pub(crate) out: Scan,
    to_hash: Vec<(RelPath, Meta)>,
    folders: Vec<RelPath>,
}

impl<'a> Walker<'a> {
    pub(crate) fn new(
        fs: &'a dyn LocalFs,
        base: &'a Tree<BaseEntry>,
        opts: &'a ScanOptions<'a>,
    ) -> Self {
        Self {
            fs,
            base,
            opts,
            out: Scan::default(),
            to_hash: Vec::new(),
            folders: Vec::new(),
        }
    }

    /// Lists `start` and every folder found under it, recursively (see
    /// [`Walker::walk_queued`]).
    pub(crate) async fn walk(&mut self, start: RelPath) -> Result<(), FsError> {
        self.folders.push(start);
        self.walk_queued().await
    }

    /// Lists every folder queued by [`Walker::entry`] and every folder found under them,
    /// recursively, [`LIST_AHEAD`] folders at a time (listings are handled in the order they
    /// were started, so the result does not depend on which finishes first). Only a failure
    /// to list the root is an error; any other folder that cannot be listed keeps its synced
    /// view and becomes an issue.
    pub(crate) async fn walk_queued(&mut self) -> Result<(), FsError> {
        let fs = self.fs;
        let mut listings = FuturesOrdered::new();
        loop {
            while listings.len() < LIST_AHEAD {
                let Some(dir) = self.folders.pop() else { break };
                listings.push_back(async move {
                    let listing = fs.list_dir(&dir).await;
                    (dir, listing)
                });
            }
            let Some((dir, listing)) = listings.next().await else {
                return Ok(());
            };
            let listing = match listing {
                Ok(l) => l,
                Err(e) if dir.is_root() => return Err(e),
                Err(e) => {
                    let kind = if e.is_not_found() || matches!(e, FsError::NotAFolder { .. }) {
                        IssueKind::ChangedWhileHashing
                    } else {
                        IssueKind::Unreadable(e.to_string())
                    };
                    tracing::warn!(%dir, error = %e, "cannot list folder; keeping its synced view");
                    keep_base_under(&mut self.out, self.base, &dir);
                    self.out.issues.push(ScanIssue { path: dir, kind });
                    continue;
                }
            };
            for s in listing.skipped {
                self.out.issues.push(ScanIssue {
                    path: dir.clone(),
                    kind: IssueKind::BadName(format!("{:?}: {}", s.name, s.reason)),
                });
            }
            for (name, meta) in listing.entries {
                self.entry(&dir, &name, meta);
            }
        }
    }

    /// The entry `name` with `meta`, listed in the folder `dir`: skipped (drivesync's own
    /// files, noted when a partial download; ignored paths), an issue (links, special
    /// files, bad names), a folder (put in the tree and queued for [`Walker::walk`]), or a
    /// file (taken from the synced tree when its stamp matches, else queued for hashing).
    pub(crate) fn entry(&mut self, dir: &RelPath, name: &str, meta: Meta) {
        let out = &mut self.out;
        if is_internal(dir, name) {
            if name.starts_with(PARTIAL_PREFIX) && meta.kind == FsKind::File {
                if let Ok(p) = dir.join(name) {
                    out.partials.push(p);
                }
            }
            return;
        }
        let path = match dir.join(name) {
            Ok(p) => p,
            Err(e) => {
                out.issues.push(ScanIssue {
                    path: dir.clone(),
                    kind: IssueKind::BadName(e.to_string()),
                });
                return;
            }
        };
        if (self.opts.ignore)(&path, meta.kind == FsKind::Folder) {
            return;
        }
        match meta.kind {
            FsKind::Symlink => out.issues.push(ScanIssue {
                path,
                kind: IssueKind::Symlink,
            }),
            FsKind::Other => out.issues.push(ScanIssue {
                path,
                kind: IssueKind::Special,
            }),
            FsKind::Folder => {
                out.tree.insert(path.clone(), folder_entry(meta));
                self.folders.push(path);
            }
            FsKind::File => match self.base.get(&path) {
                Some(b)
                    if b.kind != Kind::Folder
                        && b.local == meta.stamp
                        && b.md5.is_some()
                        && self
                            .opts
                            .racy_from_ns
                            .is_none_or(|t| meta.stamp.mtime_ns < t) =>
                {
                    out.tree.insert(path, base_view(b));
                }
                None if self.opts.defer_new => {
                    let entry = LocalEntry {
                        kind: Kind::File,
                        md5: None,
                        stamp: meta.stamp,
                    };
                    out.tree.insert(path, entry);
                }
                _ => self.to_hash.push((path, meta)),
            },
        }
    }

    /// Hashes the queued files and returns the result, issues sorted by path.
    pub(crate) async fn finish(mut self) -> Scan {
        let to_hash = std::mem::take(&mut self.to_hash);
        hash_all(
            self.fs,
            self.base,
            self.opts.hash_concurrency,
            to_hash,
            &mut self.out,
        )
        .await;
        let mut out = self.out;
        out.issues.sort_by(|a, b| a.path.cmp(&b.path));
        tracing::debug!(
            entries = out.tree.len(),
            issues = out.issues.len(),
            "scanned"
        );
        out
    }
}

/// Reads the files a scan with [`ScanOptions::defer_new`] left unread (file entries without
/// an MD5) for which `needed` says the plan compares their content, and puts their MD5 in
/// `scan`. As in [`scan`], one that cannot be read or changes meanwhile leaves the tree and
/// becomes an issue. The others stay unread: their upload hashes what it sends.
pub async fn hash_deferred(
    fs: &dyn LocalFs,
    scan: &mut Scan,
    needed: impl Fn(&RelPath, &LocalEntry) -> bool,
    concurrency: usize,
) {
    let files: Vec<(RelPath, Meta)> = scan
        .tree
        .iter()
        .filter(|(p, l)| l.kind == Kind::File && l.md5.is_none() && needed(p, l))
        .map(|(p, l)| {
            let meta = Meta {
                kind: FsKind::File,
                stamp: l.stamp,
            };
            (p.clone(), meta)
        })
        .collect();
    if files.is_empty() {
        return;
    }
    for (p, _) in &files {
        scan.tree.remove(p);
    }
    tracing::debug!(files = files.len(), "hashing new files the plan compares");
    hash_all(fs, &Tree::new(), concurrency, files, scan).await;
    scan.issues.sort_by(|a, b| a.path.cmp(&b.path));
}

/// The tree entry of a folder with `meta`.
pub(crate) fn folder_entry(meta: Meta) -> LocalEntry {
    LocalEntry {
        kind: Kind::Folder,
        md5: None,
        stamp: meta.stamp,
    }
}

/// Puts the synced view of everything strictly under `dir` into the tree.
fn keep_base_under(out: &mut Scan, base: &Tree<BaseEntry>, dir: &RelPath) {
    let under = base
        .range(dir.clone()..)
        .skip_while(|(p, _)| *p == dir)
        .take_while(|(p, _)| p.starts_with(dir));
    for (p, b) in under {
        out.tree.insert(p.clone(), base_view(b));
    }
}

/// How many folders are listed at once: a listing is mostly system calls (one per entry),
/// which a few threads make side by side.
const LIST_AHEAD: usize = 4;

/// Files up to this size are hashed in groups ([`LocalFs::hash_many`]).
const GROUPED_FILE: u64 = 64 * 1024;
/// A group holds at most this many files...
const GROUP_FILES: usize = 64;
/// ...and this many bytes.
const GROUP_BYTES: u64 = 1 << 20;

/// `files` in hashing groups: small files together, each larger one alone.
fn groups(files: Vec<(RelPath, Meta)>) -> Vec<Vec<RelPath>> {
    let mut out = Vec::new();
    let (mut cur, mut bytes) = (Vec::new(), 0);
    for (path, meta) in files {
        if meta.stamp.size > GROUPED_FILE {
            out.push(vec![path]);
            continue;
        }
        bytes += meta.stamp.size;
        cur.push(path);
        if cur.len() >= GROUP_FILES || bytes >= GROUP_BYTES {
            out.push(std::mem::take(&mut cur));
            bytes = 0;
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Hashes the changed and new files, at most `concurrency` groups at once.
async fn hash_all(
    fs: &dyn LocalFs,
    base: &Tree<BaseEntry>,
    concurrency: usize,
    files: Vec<(RelPath, Meta)>,
    out: &mut Scan,
) {
    let mut results = stream::iter(groups(files).into_iter().map(|paths| async move {
        let hashed = match paths.as_slice() {
            [one] => vec![fs.hash(one).await],
            _ => fs.hash_many(&paths).await,
        };
        paths.into_iter().zip(hashed).collect::<Vec<_>>()
    }))
    .buffer_unordered(concurrency.max(1));
    while let Some(batch) = results.next().await {
        for (path, r) in batch {
            let synced = base.get(&path).filter(|b| b.kind != Kind::Folder);
            match r {
                Ok(h) => {
                    let kind = match synced {
                        Some(b) if b.kind == Kind::Link => Kind::Link,
                        _ => Kind::File,
                    };
                    let entry = LocalEntry {
                        kind,
                        md5: Some(h.md5),
                        stamp: h.meta.stamp,
                    };
                    out.tree.insert(path, entry);
                }
                Err(e) => {
                    let kind = match &e {
                        FsError::Changed { .. }
                        | FsError::NotFound { .. }
                        | FsError::NotAFile { .. } => IssueKind::ChangedWhileHashing,
                        _ => IssueKind::Unreadable(e.to_string()),
                    };
                    tracing::warn!(%path, error = %e, synced = synced.is_some(), "cannot hash file");
                    if let Some(b) = synced {
                        out.tree.insert(path.clone(), base_view(b));
                    }
                    out.issues.push(ScanIssue { path, kind });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use drivesync_model::LocalStamp;

    fn file(name: &str, size: u64) -> (RelPath, Meta) {
        let stamp = LocalStamp {
            size,
            mtime_ns: 0,
            file_id: 0,
        };
        let meta = Meta {
            kind: FsKind::File,
            stamp,
        };
        (RelPath::new(name).unwrap(), meta)
    }

    #[test]
    fn small_files_are_hashed_in_groups_and_large_ones_alone() {
        let mut files: Vec<_> = (0..130).map(|i| file(&format!("s{i}"), 10)).collect();
        files.insert(5, file("big", GROUPED_FILE + 1));
        let g = groups(files);
        let sizes: Vec<usize> = g.iter().map(Vec::len).collect();
        assert_eq!(sizes, [1, GROUP_FILES, GROUP_FILES, 2]);
        assert_eq!(g[0][0].as_str(), "big");
        // A group also ends at GROUP_BYTES.
        let g = groups(
            (0..40)
                .map(|i| file(&format!("m{i}"), GROUPED_FILE))
                .collect(),
        );
        let per = (GROUP_BYTES / GROUPED_FILE) as usize;
        assert_eq!(g[0].len(), per);
        assert_eq!(g.iter().map(Vec::len).sum::<usize>(), 40);
    }
}
