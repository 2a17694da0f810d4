//! [`rescan()`]: brings the local tree up to date for the paths a watcher reported, without
//! walking the whole pair. Same rules as [`crate::scan()`], so that the result equals what a
//! full scan would give.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use drivesync_model::{BaseEntry, LocalEntry, RelPath, Tree};

use crate::scan::{check_root, folder_entry, Walker};
use crate::{is_internal, scan, FsError, FsKind, LocalFs, Meta, Scan, ScanOptions};

/// Updates `tree` (the local tree from the last full scan or rescan) for the `touched` paths
/// only, so the live loop does not walk the whole pair for every change.
///
/// Each touched path is looked up in its folder's listing (the exact name, as [`scan`] sees
/// it, also on case-insensitive file systems): a file is taken from `base` when its stamp
/// matches, hashed otherwise (like [`scan`]: a file not synced yet is read again); a folder is walked fully and its subtree
/// replaced; a path that no longer exists is removed from `tree` with everything under it.
/// The folders above a touched path are refreshed (their stamps) and added when missing (a
/// new folder appears when a file inside it is reported). When one of them is no longer a
/// folder (removed, replaced by a file, ignored...), it is handled as the touched path
/// instead. A touched folder covers everything under it; the root covers the whole pair (a
/// full [`scan`]). Ignored paths (`opts.ignore`) and drivesync's own files are skipped as in
/// [`scan`].
///
/// Errors as [`scan`]: [`FsError::RootMissing`] when the root is missing or not a folder, or
/// the root's listing error; `tree` is then left as it was.
///
/// Returns a [`Scan`] whose `tree` is empty (the result is `tree` itself), whose `issues`
/// and `partials` are those found in the re-examined region only (each touched path and
/// everything under it): issues a previous scan reported under a touched path are
/// superseded by these.
///
/// Folders are read by listing, never by `stat`, so a touched path under a folder that
/// cannot be listed keeps the synced view of that folder, as in a full scan.
pub async fn rescan(
    fs: &dyn LocalFs,
    base: &Tree<BaseEntry>,
    tree: &mut Tree<LocalEntry>,
    touched: &BTreeSet<RelPath>,
    opts: &ScanOptions<'_>,
) -> Result<Scan, FsError> {
    check_root(fs).await?;
    let touched = compact(touched);
    if touched.contains(&RelPath::root()) {
        let mut full = scan(fs, base, opts).await?;
        *tree = std::mem::take(&mut full.tree);
        return Ok(full);
    }
    let mut dirs = Dirs::default();
    let mut effective = BTreeSet::new();
    for p in &touched {
        effective.insert(resolve(fs, opts, &mut dirs, p).await?);
    }
    let effective = compact(&effective);

    let mut walker = Walker::new(fs, base, opts);
    for e in &effective {
        let dir = e.parent().expect("the root is handled above");
        let mut up = Some(dir.clone());
        while let Some(a) = up.filter(|a| !a.is_root()) {
            if let Some(meta) = dirs.meta(&a) {
                walker.out.tree.insert(a.clone(), folder_entry(meta));
            }
            up = a.parent();
        }
        if let Some(meta) = dirs.meta(e) {
            walker.entry(&dir, e.name(), meta);
        }
    }
    walker.walk_queued().await?;
    let found = walker.finish().await;

    for e in &effective {
        remove_subtree(tree, e);
    }
    let Scan {
        tree: fresh,
        issues,
        partials,
    } = found;
    tracing::debug!(
        touched = touched.len(),
        regions = effective.len(),
        entries = fresh.len(),
        "rescanned"
    );
    tree.extend(fresh);
    Ok(Scan {
        tree: Tree::new(),
        issues,
        partials,
    })
}

/// `paths` without those inside another one (a folder covers its content).
pub(crate) fn compact(paths: &BTreeSet<RelPath>) -> BTreeSet<RelPath> {
    let mut out = BTreeSet::new();
    let mut last: Option<&RelPath> = None;
    // Sorted by components: a folder comes right before everything under it.
    for p in paths {
        if last.is_some_and(|l| p.starts_with(l)) {
            continue;
        }
        out.insert(p.clone());
        last = Some(p);
    }
    out
}

/// Removes `path` and everything under it from `tree`.
fn remove_subtree(tree: &mut Tree<LocalEntry>, path: &RelPath) {
    let doomed: Vec<RelPath> = tree
        .range(path.clone()..)
        .take_while(|(p, _)| p.starts_with(path))
        .map(|(p, _)| p.clone())
        .collect();
    for p in doomed {
        tree.remove(&p);
    }
}

/// Folder listings read during one rescan, by folder: each entry's exact name and metadata,
/// or `None` when the folder could not be listed.
#[derive(Default)]
struct Dirs(HashMap<RelPath, Option<BTreeMap<String, Meta>>>);

impl Dirs {
    /// The listing of `dir`, read once. The root's listing error is returned (as [`scan`]
    /// does); any other folder that cannot be listed is `None`.
    async fn listing(
        &mut self,
        fs: &dyn LocalFs,
        dir: &RelPath,
    ) -> Result<Option<&BTreeMap<String, Meta>>, FsError> {
        if !self.0.contains_key(dir) {
            let listed = match fs.list_dir(dir).await {
                Ok(l) => Some(l.entries.into_iter().collect()),
                Err(e) if dir.is_root() => return Err(e),
                Err(_) => None,
            };
            self.0.insert(dir.clone(), listed);
        }
        Ok(self.0[dir].as_ref())
    }

    /// What the (already read) listing of `path`'s folder says about `path`.
    fn meta(&self, path: &RelPath) -> Option<Meta> {
        let dir = path.parent()?;
        self.0.get(&dir)?.as_ref()?.get(path.name()).copied()
    }
}

/// The path to re-examine for the touched `path`: `path` itself when every folder above it
/// is a folder the scanner enters; otherwise the highest one that is not (gone, replaced,
/// ignored, drivesync's own) or whose content cannot be listed, so that what is under it is
/// handled as a full scan would.
async fn resolve(
    fs: &dyn LocalFs,
    opts: &ScanOptions<'_>,
    dirs: &mut Dirs,
    path: &RelPath,
) -> Result<RelPath, FsError> {
    let mut at = RelPath::root();
    let mut names = path.components().peekable();
    while let Some(name) = names.next() {
        let Some(listing) = dirs.listing(fs, &at).await? else {
            return Ok(at);
        };
        let child = at.join(name).expect("a component of a valid path");
        if names.peek().is_none() {
            return Ok(child);
        }
        let enters = listing.get(name).is_some_and(|m| m.kind == FsKind::Folder)
            && !is_internal(&at, name)
            && !(opts.ignore)(&child, true);
        if !enters {
            return Ok(child);
        }
        at = child;
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(paths: &[&str]) -> BTreeSet<RelPath> {
        paths.iter().map(|p| RelPath::new(*p).unwrap()).collect()
    }

    #[test]
    fn compact_keeps_only_the_outermost_paths() {
        assert_eq!(
            compact(&set(&["a", "a/b", "a/b/c", "ab", "b/c", "b/c/d", "b/e"])),
            set(&["a", "ab", "b/c", "b/e"])
        );
        assert_eq!(compact(&set(&["", "a", "z/y"])), set(&[""]));
    }
}

/// Rescans against full scans over [`crate::MemFs`].
#[cfg(all(test, feature = "fake"))]
mod mem_tests {
    use super::*;
    use crate::{IssueKind, MemFs, ScanIssue};
    use drivesync_model::{DriveId, Kind};
    use proptest::prelude::*;

    fn rel(p: &str) -> RelPath {
        RelPath::new(p).unwrap()
    }

    fn set(paths: &[&str]) -> BTreeSet<RelPath> {
        paths.iter().map(|p| rel(p)).collect()
    }

    fn ignore_ign(p: &RelPath, _: bool) -> bool {
        p.name() == "ign"
    }

    fn opts() -> ScanOptions<'static> {
        ScanOptions {
            ignore: &ignore_ign,
            hash_concurrency: 3,
            defer_new: false,
            racy_from_ns: None,
        }
    }

    /// [`opts`], leaving new files unread.
    fn deferring() -> ScanOptions<'static> {
        ScanOptions {
            defer_new: true,
            racy_from_ns: None,
            ..opts()
        }
    }

    /// The synced tree after a sync that agreed on `local`.
    fn base_of(local: &Tree<LocalEntry>) -> Tree<BaseEntry> {
        local
            .iter()
            .map(|(p, e)| {
                let b = BaseEntry {
                    id: DriveId::new(format!("id-{p}")),
                    parent: DriveId::new("parent"),
                    remote_name: p.name().to_owned(),
                    kind: e.kind,
                    mime_type: String::new(),
                    md5: e.md5,
                    size: e.stamp.size,
                    version: 1,
                    local: e.stamp,
                };
                (p.clone(), b)
            })
            .collect()
    }

    async fn full(fs: &MemFs, base: &Tree<BaseEntry>) -> Scan {
        scan(fs, base, &opts()).await.unwrap()
    }

    /// Rescans `touched` from `tree` and checks the result is what a full scan gives;
    /// returns the rescan's result and how many files it read.
    async fn check(
        fs: &MemFs,
        base: &Tree<BaseEntry>,
        tree: &mut Tree<LocalEntry>,
        touched: &[&str],
    ) -> (Scan, usize) {
        let before = fs.hash_count();
        let out = rescan(fs, base, tree, &set(touched), &opts())
            .await
            .unwrap();
        let read = fs.hash_count() - before;
        assert!(out.tree.is_empty());
        assert_eq!(
            *tree,
            full(fs, base).await.tree,
            "after touching {touched:?}"
        );
        (out, read)
    }

    #[tokio::test]
    async fn a_new_file_brings_its_new_folders_and_a_removal_takes_the_subtree() {
        let fs = MemFs::new();
        fs.write("keep/k", "k");
        fs.write("d/x/y", "y");
        let mut tree = full(&fs, &Tree::new()).await.tree;
        let base = base_of(&tree);

        fs.write("a/b/c.txt", "new");
        let (_, read) = check(&fs, &base, &mut tree, &["a/b/c.txt"]).await;
        assert_eq!(read, 1, "only the new file is read");
        assert!(tree.contains_key(&rel("a/b")));

        fs.remove("d");
        check(&fs, &base, &mut tree, &["d"]).await;
        assert!(!tree.keys().any(|p| p.starts_with(&rel("d"))));

        // A stale path under a removed folder removes the folder.
        fs.remove("a");
        check(&fs, &base, &mut tree, &["a/b/c.txt"]).await;
        assert!(!tree.contains_key(&rel("a")));
    }

    #[tokio::test]
    async fn kinds_swap_renames_and_editor_saves() {
        let fs = MemFs::new();
        fs.write("f", "file");
        fs.write("dir/inner", "i");
        fs.write("doc.txt", "v1");
        let mut tree = full(&fs, &Tree::new()).await.tree;
        let base = base_of(&tree);

        fs.remove("f");
        fs.write("f/now-a-folder", "x");
        fs.remove("dir");
        fs.write("dir", "now a file");
        check(&fs, &base, &mut tree, &["f/now-a-folder", "dir"]).await;
        assert_eq!(tree[&rel("f")].kind, Kind::Folder);
        assert_eq!(tree[&rel("dir")].kind, Kind::File);

        // Write a temporary file, then rename it over the original.
        fs.write(".doc.txt.swp", "v2");
        fs.rename_raw(".doc.txt.swp", "doc.txt");
        check(&fs, &base, &mut tree, &[".doc.txt.swp", "doc.txt"]).await;
        assert_ne!(tree[&rel("doc.txt")].md5, base[&rel("doc.txt")].md5);

        // A folder moved: both ends.
        fs.rename_raw("f", "g");
        check(&fs, &base, &mut tree, &["f", "g"]).await;
        assert!(tree.contains_key(&rel("g/now-a-folder")));
    }

    #[tokio::test]
    async fn a_walked_folder_reads_only_what_changed() {
        let fs = MemFs::new();
        for i in 0..5 {
            fs.write(format!("big/{i}"), format!("{i}"));
        }
        let base = base_of(&full(&fs, &Tree::new()).await.tree);
        let mut tree = full(&fs, &base).await.tree;
        fs.write("big/new", "n");
        let (_, read) = check(&fs, &base, &mut tree, &["big"]).await;
        assert_eq!(read, 1, "only the new file is read");
        assert_eq!(tree.len(), 7);
    }

    #[tokio::test]
    async fn ignored_internal_and_issue_paths_follow_the_scan_rules() {
        let fs = MemFs::new().with_os_trash(false);
        fs.write("a", "a");
        let mut tree = full(&fs, &Tree::new()).await.tree;
        let base = base_of(&tree);

        fs.write("ign/x", "ignored folder");
        fs.write("sub/ign", "ignored file");
        fs.write("sub/.drivesync-partial-1", "half");
        fs.symlink("sub/link", "/etc");
        let (out, _) = check(
            &fs,
            &base,
            &mut tree,
            &["ign/x", "sub/ign", "sub/.drivesync-partial-1", "sub/link"],
        )
        .await;
        assert_eq!(out.partials, [rel("sub/.drivesync-partial-1")]);
        assert_eq!(
            out.issues,
            [ScanIssue {
                path: rel("sub/link"),
                kind: IssueKind::Symlink
            }]
        );
        assert!(!tree.contains_key(&rel("ign")));

        // The whole pair.
        fs.write("z", "z");
        check(&fs, &base, &mut tree, &["", "z"]).await;
    }

    #[tokio::test]
    async fn an_unlistable_folder_keeps_its_synced_view() {
        let fs = MemFs::new();
        fs.write("d/x", "x");
        fs.write("d/e/y", "y");
        let mut tree = full(&fs, &Tree::new()).await.tree;
        let base = base_of(&tree);
        fs.set_unreadable("d", true);
        fs.remove("d/x");
        fs.write("d/e/z", "z");
        let (out, _) = check(&fs, &base, &mut tree, &["d/x", "d/e/z"]).await;
        assert!(tree.contains_key(&rel("d/x")), "must not look deleted");
        assert!(
            matches!(&out.issues[..], [ScanIssue { path, kind: IssueKind::Unreadable(_) }] if *path == rel("d"))
        );
    }

    #[tokio::test]
    async fn a_case_only_rename_leaves_one_entry() {
        let fs = MemFs::case_insensitive();
        fs.write("a.txt", "a");
        let mut tree = full(&fs, &Tree::new()).await.tree;
        let base = base_of(&tree);
        fs.rename_raw("a.txt", "A.txt");
        check(&fs, &base, &mut tree, &["a.txt", "A.txt"]).await;
        assert_eq!(tree.keys().collect::<Vec<_>>(), [&rel("A.txt")]);
    }

    #[tokio::test]
    async fn a_missing_root_is_an_error_and_the_tree_stays() {
        let dir = tempfile::tempdir().unwrap();
        let fs = crate::StdFs::new(dir.path().join("unmounted"));
        let mut tree = Tree::new();
        tree.insert(
            rel("x"),
            LocalEntry {
                kind: Kind::File,
                md5: None,
                stamp: crate::LocalStamp {
                    size: 0,
                    mtime_ns: 0,
                    file_id: 0,
                },
            },
        );
        let before = tree.clone();
        let e = rescan(&fs, &Tree::new(), &mut tree, &set(&["x"]), &opts())
            .await
            .unwrap_err();
        assert!(matches!(e, FsError::RootMissing { .. }), "{e}");
        assert_eq!(tree, before);
    }

    #[test]
    fn the_rescan_future_is_send() {
        fn send<T: Send>(_: T) {}
        let fs = MemFs::new();
        let (base, mut tree, touched) = (Tree::new(), Tree::new(), BTreeSet::new());
        let o = opts();
        send(rescan(&fs, &base, &mut tree, &touched, &o));
    }

    /// A user's change, over a small set of names so that changes collide.
    #[derive(Debug, Clone)]
    enum Change {
        Write(String, u8),
        Remove(String),
        Rename(String, String),
        Mkdir(String),
        Symlink(String),
        Unreadable(String, bool),
        Touch(String),
    }

    fn path() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(vec!["a", "b", "C", "ign"]), 1..4)
            .prop_map(|v| v.join("/"))
    }

    fn change() -> impl Strategy<Value = Change> {
        prop_oneof![
            4 => (path(), any::<u8>()).prop_map(|(p, b)| Change::Write(p, b)),
            2 => path().prop_map(Change::Remove),
            2 => (path(), path()).prop_map(|(f, t)| Change::Rename(f, t)),
            1 => path().prop_map(Change::Mkdir),
            1 => path().prop_map(Change::Symlink),
            1 => (path(), any::<bool>()).prop_map(|(p, u)| Change::Unreadable(p, u)),
            1 => path().prop_map(Change::Touch),
        ]
    }

    /// Whether every folder above `p` is a folder (or absent, when `create`).
    fn parents_ok(fs: &MemFs, p: &RelPath, create: bool) -> bool {
        let mut up = p.parent();
        while let Some(d) = up.filter(|d| !d.is_root()) {
            match fs.meta(&d) {
                Some(m) if m.kind == FsKind::Folder => {}
                None if create => {}
                _ => return false,
            }
            up = d.parent();
        }
        true
    }

    /// Applies `c` as a user would; the paths a watcher would report (none if skipped).
    fn apply(fs: &MemFs, c: &Change) -> Vec<RelPath> {
        let kind = |p: &RelPath| fs.meta(p).map(|m| m.kind);
        match c {
            Change::Write(p, b) => {
                let p = rel(p);
                if !parents_ok(fs, &p, true) || !matches!(kind(&p), None | Some(FsKind::File)) {
                    return vec![];
                }
                fs.write(&p, [*b]);
                vec![p]
            }
            Change::Remove(p) => {
                let p = rel(p);
                if fs.remove(&p) {
                    vec![p]
                } else {
                    vec![]
                }
            }
            Change::Rename(f, t) => {
                let (f, t) = (rel(f), rel(t));
                if kind(&f).is_none()
                    || t.starts_with(&f)
                    || f.starts_with(&t)
                    || !parents_ok(fs, &t, false)
                {
                    return vec![];
                }
                fs.rename_raw(&f, &t);
                vec![f, t]
            }
            Change::Mkdir(p) => {
                let p = rel(p);
                if !parents_ok(fs, &p, true) || !matches!(kind(&p), None | Some(FsKind::Folder)) {
                    return vec![];
                }
                fs.mkdir_all(&p);
                vec![p]
            }
            Change::Symlink(p) => {
                let p = rel(p);
                if !parents_ok(fs, &p, true) || kind(&p).is_some() {
                    return vec![];
                }
                fs.symlink(&p, "/etc");
                vec![p]
            }
            Change::Unreadable(p, u) => {
                let p = rel(p);
                if kind(&p).is_none() {
                    return vec![];
                }
                fs.set_unreadable(&p, *u);
                vec![p]
            }
            Change::Touch(p) => {
                let p = rel(p);
                if kind(&p).is_none() {
                    return vec![];
                }
                fs.set_mtime(&p, 42);
                vec![p]
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// After any changes, a rescan of the changed paths from the previous tree gives
        /// the tree a full scan gives.
        #[test]
        fn rescanning_the_touched_paths_equals_a_full_scan(
            setup in prop::collection::vec(change(), 0..12),
            rounds in prop::collection::vec(prop::collection::vec(change(), 1..6), 1..4),
            synced in any::<bool>(),
            case_insensitive in any::<bool>(),
            defer in any::<bool>(),
        ) {
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            rt.block_on(async {
                let fs = if case_insensitive { MemFs::case_insensitive() } else { MemFs::new() };
                for c in &setup {
                    apply(&fs, c);
                }
                let o = if defer { deferring() } else { opts() };
                let hashed = full(&fs, &Tree::new()).await.tree;
                let base = if synced { base_of(&hashed) } else { Tree::new() };
                let mut tree = scan(&fs, &base, &o).await.unwrap().tree;
                for round in &rounds {
                    let mut touched = BTreeSet::new();
                    for c in round {
                        touched.extend(apply(&fs, c));
                    }
                    rescan(&fs, &base, &mut tree, &touched, &o).await.unwrap();
                    let want = scan(&fs, &base, &o).await.unwrap().tree;
                    prop_assert_eq!(&tree, &want, "touched {:?}", touched);
                }
                Ok(())
            })?;
        }
    }
}
