//! The scanner: walks a pair's folder into the local tree, reading only files whose stamp
//! differs from the synced tree, and never lets a file it could not look at appear deleted.

use drivesync_model::{BaseEntry, Kind, LocalEntry, RelPath, Tree};
use futures_util::stream::{self, StreamExt};

use crate::{FsError, FsKind, LocalFs, Meta, PARTIAL_PREFIX, TRASH_DIR};

/// How to scan.
pub struct ScanOptions<'a> {
    /// `true` for a path to leave out (`is_dir` tells folders); ignored folders are not
    /// entered.
    pub ignore: &'a (dyn Fn(&RelPath, bool) -> bool + Sync),
    /// Files hashed at once (0 counts as 1).
    pub hash_concurrency: usize,
}

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
    name.starts_with(PARTIAL_PREFIX) || (dir.is_root() && name == TRASH_DIR)
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
    let root = RelPath::root();
    match fs.stat(&root).await? {
        Some(m) if m.kind == FsKind::Folder => {}
        _ => {
            return Err(FsError::RootMissing {
                root: fs.root().to_path_buf(),
            })
        }
    }
    let mut out = Scan::default();
    let mut to_hash: Vec<(RelPath, Meta)> = Vec::new();
    let mut folders = vec![root];
    while let Some(dir) = folders.pop() {
        let listing = match fs.list_dir(&dir).await {
            Ok(l) => l,
            Err(e) if dir.is_root() => return Err(e),
            Err(e) => {
                let kind = if e.is_not_found() || matches!(e, FsError::NotAFolder { .. }) {
                    IssueKind::ChangedWhileHashing
                } else {
                    IssueKind::Unreadable(e.to_string())
                };
                tracing::warn!(%dir, error = %e, "cannot list folder; keeping its synced view");
                keep_base_under(&mut out, base, &dir);
                out.issues.push(ScanIssue { path: dir, kind });
                continue;
            }
        };
        for s in listing.skipped {
            out.issues.push(ScanIssue {
                path: dir.clone(),
                kind: IssueKind::BadName(format!("{:?}: {}", s.name, s.reason)),
            });
        }
        for (name, meta) in listing.entries {
            if is_internal(&dir, &name) {
                if name.starts_with(PARTIAL_PREFIX) && meta.kind == FsKind::File {
                    if let Ok(p) = dir.join(&name) {
                        out.partials.push(p);
                    }
                }
                continue;
            }
            let path = match dir.join(&name) {
                Ok(p) => p,
                Err(e) => {
                    out.issues.push(ScanIssue {
                        path: dir.clone(),
                        kind: IssueKind::BadName(e.to_string()),
                    });
                    continue;
                }
            };
            if (opts.ignore)(&path, meta.kind == FsKind::Folder) {
                continue;
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
                    let entry = LocalEntry {
                        kind: Kind::Folder,
                        md5: None,
                        stamp: meta.stamp,
                    };
                    out.tree.insert(path.clone(), entry);
                    folders.push(path);
                }
                FsKind::File => match base.get(&path) {
                    Some(b)
                        if b.kind != Kind::Folder && b.local == meta.stamp && b.md5.is_some() =>
                    {
                        out.tree.insert(path, base_view(b));
                    }
                    _ => to_hash.push((path, meta)),
                },
            }
        }
    }
    hash_all(fs, base, opts.hash_concurrency, to_hash, &mut out).await;
    out.issues.sort_by(|a, b| a.path.cmp(&b.path));
    tracing::debug!(
        entries = out.tree.len(),
        issues = out.issues.len(),
        "scanned"
    );
    Ok(out)
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

/// Hashes the changed and new files, at most `concurrency` at once.
async fn hash_all(
    fs: &dyn LocalFs,
    base: &Tree<BaseEntry>,
    concurrency: usize,
    files: Vec<(RelPath, Meta)>,
    out: &mut Scan,
) {
    let mut results = stream::iter(files.into_iter().map(|(path, _)| async move {
        let r = fs.hash(&path).await;
        (path, r)
    }))
    .buffer_unordered(concurrency.max(1));
    while let Some((path, r)) = results.next().await {
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
