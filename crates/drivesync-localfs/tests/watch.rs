//! The watcher on a real folder: what it reports, in how many batches, and what it leaves
//! out. Every wait is "until seen, or fail after a generous timeout", never a fixed sleep.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use drivesync_localfs::{RelPath, WatchError, WatchEvent, Watcher};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

/// Long enough for a loaded 2-core CI; a passing test never waits this long.
const PATIENCE: Duration = Duration::from_secs(10);

fn rel(p: &str) -> RelPath {
    RelPath::new(p).unwrap()
}

struct Pair {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Pair {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("pair");
        std::fs::create_dir(&root).unwrap();
        Self { _dir: dir, root }
    }

    fn abs(&self, p: &str) -> PathBuf {
        rel(p).to_path(&self.root)
    }

    fn write(&self, p: &str, bytes: &[u8]) {
        let abs = self.abs(p);
        std::fs::create_dir_all(abs.parent().unwrap()).unwrap();
        std::fs::write(abs, bytes).unwrap();
    }

    fn rename(&self, from: &str, to: &str) {
        std::fs::rename(self.abs(from), self.abs(to)).unwrap();
    }

    fn watch(&self, debounce: Duration) -> (Watcher, UnboundedReceiver<WatchEvent>) {
        let (tx, rx) = unbounded_channel();
        let w = Watcher::start(&self.root, debounce, tx).unwrap();
        (w, rx)
    }
}

/// What arrived until `done` held for the union of the changed paths.
struct Seen {
    union: BTreeSet<RelPath>,
    batches: usize,
    rescans: Vec<String>,
}

/// Receives until `done(&seen)`, failing after [`PATIENCE`].
async fn until(
    rx: &mut UnboundedReceiver<WatchEvent>,
    what: &str,
    mut done: impl FnMut(&Seen) -> bool,
) -> Seen {
    let mut seen = Seen {
        union: BTreeSet::new(),
        batches: 0,
        rescans: Vec::new(),
    };
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !done(&seen) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(WatchEvent::Changed(paths))) => {
                assert!(!paths.is_empty(), "an empty batch");
                seen.batches += 1;
                seen.union.extend(paths);
            }
            Ok(Some(WatchEvent::Rescan { reason })) => seen.rescans.push(reason),
            Ok(None) => panic!("the watcher stopped while waiting for {what}"),
            Err(_) => panic!(
                "no {what} within {PATIENCE:?}; seen {:?}, rescans {:?}",
                seen.union, seen.rescans
            ),
        }
    }
    seen
}

/// Whether `p` is reported, itself or through a folder above it.
fn covered(union: &BTreeSet<RelPath>, p: &RelPath) -> bool {
    union.iter().any(|u| p.starts_with(u))
}

fn covers_all(union: &BTreeSet<RelPath>, paths: &[&str]) -> bool {
    paths.iter().all(|p| covered(union, &rel(p)))
}

#[tokio::test]
async fn creates_edits_deletes_and_renames_are_reported_but_reads_are_not() {
    let pair = Pair::new();
    pair.write("edit.txt", b"v1");
    pair.write("gone.txt", b"g");
    pair.write("old.txt", b"o");
    pair.write("read.txt", b"r");
    pair.write("d/moved/inner", b"i");
    let (_w, mut rx) = pair.watch(Duration::from_millis(100));

    std::fs::read(pair.abs("read.txt")).unwrap();
    pair.write("new.txt", b"new");
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(pair.abs("edit.txt"))
            .unwrap();
        f.write_all(b" and v2").unwrap();
    }
    std::fs::remove_file(pair.abs("gone.txt")).unwrap();
    pair.rename("old.txt", "renamed.txt");
    pair.rename("d/moved", "moved-up");

    let want = [
        "new.txt",
        "edit.txt",
        "gone.txt",
        "old.txt",
        "renamed.txt",
        "d/moved",
        "moved-up",
    ];
    let seen = until(&mut rx, "the five changes", |s| covers_all(&s.union, &want)).await;
    assert!(seen.rescans.is_empty(), "{:?}", seen.rescans);
    assert!(
        !covered(&seen.union, &rel("read.txt")),
        "a read was reported: {:?}",
        seen.union
    );
}

#[tokio::test]
async fn a_burst_comes_out_as_a_few_batches() {
    let pair = Pair::new();
    let (_w, mut rx) = pair.watch(Duration::from_millis(300));
    let names: Vec<String> = (0..500).map(|i| format!("build/out/f{i:03}.o")).collect();
    std::fs::create_dir_all(pair.abs("build/out")).unwrap();
    for n in &names {
        pair.write(n, b"object code");
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let seen = until(&mut rx, "the 500 files", |s| covers_all(&s.union, &refs)).await;
    assert!(seen.batches <= 4, "{} batches for one burst", seen.batches);
    // Folders cover their content: no batch lists 500 paths under a reported folder.
    assert!(seen.union.len() <= 501, "{:?}", seen.union.len());
}

#[tokio::test]
async fn an_editor_save_is_seen_as_a_change_of_the_file() {
    let pair = Pair::new();
    pair.write("notes.md", b"v1");
    pair.write("code.rs", b"v1");
    let (_w, mut rx) = pair.watch(Duration::from_millis(100));

    // Write a temporary file, then rename it over the original (most editors, atomic saves).
    pair.write(".notes.md.swp", b"v2");
    pair.rename(".notes.md.swp", "notes.md");
    // Move the original to a backup, write anew, drop the backup (vim's default).
    pair.rename("code.rs", "code.rs~");
    pair.write("code.rs", b"v2");
    std::fs::remove_file(pair.abs("code.rs~")).unwrap();

    let seen = until(&mut rx, "both saved files", |s| {
        s.union.contains(&rel("notes.md")) && s.union.contains(&rel("code.rs"))
    })
    .await;
    assert!(seen.rescans.is_empty(), "{:?}", seen.rescans);
}

#[tokio::test]
async fn drivesyncs_own_temporary_files_are_not_reported() {
    let pair = Pair::new();
    let (_w, mut rx) = pair.watch(Duration::from_millis(100));

    // A download: written as a partial file, then renamed into place.
    pair.write(".drivesync-partial-x1", b"downloading");
    pair.write("sub/.drivesync-partial-x2", b"downloading");
    pair.rename(".drivesync-partial-x1", "downloaded.txt");
    // The fallback trash.
    pair.write(".drivesync-trash/20260101-000000/old.txt", b"trashed");
    pair.write("marker", b"last");

    let seen = until(&mut rx, "the marker and the download", |s| {
        s.union.contains(&rel("marker")) && s.union.contains(&rel("downloaded.txt"))
    })
    .await;
    for p in &seen.union {
        assert!(
            !p.components().any(|c| c.starts_with(".drivesync-")),
            "{p} reported"
        );
    }
}

#[tokio::test]
async fn a_removed_root_asks_for_a_rescan_and_degrades_the_watch() {
    let pair = Pair::new();
    pair.write("a", b"a");
    let (w, mut rx) = pair.watch(Duration::from_millis(100));
    assert_eq!(w.degraded(), None);
    assert_eq!(w.root(), pair.root);
    std::fs::remove_dir_all(&pair.root).unwrap();
    let seen = until(&mut rx, "a rescan", |s| !s.rescans.is_empty()).await;
    assert!(
        seen.rescans[0].contains("removed, moved or unmounted"),
        "{:?}",
        seen.rescans
    );
    assert!(w.degraded().is_some());
}

#[tokio::test]
async fn a_missing_root_cannot_be_watched() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("unmounted");
    let (tx, _rx) = unbounded_channel();
    let e = Watcher::start(&missing, Duration::from_millis(100), tx).unwrap_err();
    assert!(matches!(e, WatchError::Other { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains(&missing.display().to_string()), "{msg}");
    assert!(msg.contains("periodic full rescans"), "{msg}");
}

#[test]
fn the_watch_limit_message_says_where_what_and_how_to_fix() {
    let root = Path::new("/home/ana/Drive");
    let e = WatchError::LimitReached {
        root: root.to_path_buf(),
        limit: Some(8192),
    };
    assert!(e.is_limit_reached());
    let msg = e.to_string();
    assert!(msg.contains("/home/ana/Drive"), "{msg}");
    assert!(msg.contains("periodic full rescans"), "{msg}");
    #[cfg(target_os = "linux")]
    {
        assert!(msg.contains("fs.inotify.max_user_watches is 8192"), "{msg}");
        assert!(
            msg.contains("sudo sysctl fs.inotify.max_user_watches=524288"),
            "{msg}"
        );
        assert!(msg.contains("/etc/sysctl.d/"), "{msg}");
    }
}

#[tokio::test]
async fn dropping_the_watcher_stops_the_events() {
    let pair = Pair::new();
    let (w, mut rx) = pair.watch(Duration::from_millis(50));
    drop(w);
    pair.write("after", b"x");
    // The channel closes once the watcher's threads are gone; nothing about "after" comes.
    let end = tokio::time::timeout(PATIENCE, async {
        while let Some(ev) = rx.recv().await {
            if let WatchEvent::Changed(p) = &ev {
                assert!(!p.contains(&rel("after")), "reported after drop: {ev:?}");
            }
        }
    })
    .await;
    assert!(
        end.is_ok(),
        "the channel never closed after the watcher was dropped"
    );
}
