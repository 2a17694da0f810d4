//! The LocalFs contract, run against StdFs (a temp dir) and MemFs alike.

mod common;

use chrono::{TimeZone, Utc};
use common::{md5_hex, mem_ci_raw, mem_raw, rel, std_raw, Raw};
use drivesync_localfs::{
    Expect, FsError, FsKind, Kept, LocalFs, Trashed, PARTIAL_PREFIX, TRASH_DIR,
};
use tokio::io::AsyncWriteExt;

fn partials(r: &dyn Raw, dir: &str) -> Vec<String> {
    r.names(dir)
        .into_iter()
        .filter(|n| n.starts_with(PARTIAL_PREFIX))
        .collect()
}

async fn stat_and_list(r: &dyn Raw) {
    let fs = r.fs();
    r.write("b.txt", b"hello");
    r.write("a/x", b"");
    let m = fs.stat(&rel("b.txt")).await.unwrap().unwrap();
    assert_eq!((m.kind, m.stamp.size), (FsKind::File, 5));
    assert_eq!(
        fs.stat(&rel("a")).await.unwrap().unwrap().kind,
        FsKind::Folder
    );
    assert_eq!(fs.stat(&rel("a")).await.unwrap().unwrap().stamp.size, 0);
    assert_eq!(fs.stat(&rel("nope")).await.unwrap(), None);
    assert_eq!(fs.stat(&rel("b.txt/under-a-file")).await.unwrap(), None);
    let root = fs.stat(&drivesync_localfs::RelPath::root()).await.unwrap();
    assert_eq!(root.unwrap().kind, FsKind::Folder);
    let l = fs
        .list_dir(&drivesync_localfs::RelPath::root())
        .await
        .unwrap();
    let names: Vec<_> = l.entries.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["a", "b.txt"]);
    assert!(fs.list_dir(&rel("nope")).await.unwrap_err().is_not_found());
    let h = fs.hash(&rel("b.txt")).await.unwrap();
    assert_eq!(h.md5.to_string(), md5_hex(b"hello"));
    assert_eq!(h.meta, m);
    assert!(matches!(
        fs.hash(&rel("a")).await,
        Err(FsError::NotAFile { .. })
    ));
    // Several at once: one result per path, in order, errors in their place.
    let many = fs
        .hash_many(&[rel("b.txt"), rel("nope"), rel("a"), rel("b.txt")])
        .await;
    assert_eq!(many.len(), 4);
    assert_eq!(many[0].as_ref().unwrap().md5.to_string(), md5_hex(b"hello"));
    assert!(many[1].as_ref().unwrap_err().is_not_found());
    assert!(matches!(many[2], Err(FsError::NotAFile { .. })));
    assert_eq!(many[3].as_ref().unwrap().meta, m);
    let up = fs.upload_path(&rel("b.txt")).await.unwrap();
    assert_eq!(std::fs::read(&up.path).unwrap(), b"hello");
    // A small file comes read whole, with the stamp it had when read.
    assert_eq!(up.content.as_deref(), Some(&b"hello"[..]));
    assert_eq!(up.stamp, m.stamp);
    let big = vec![7u8; drivesync_localfs::SMALL_FILE as usize + 1];
    r.write("big", &big);
    let up = fs.upload_path(&rel("big")).await.unwrap();
    assert!(
        up.content.is_none(),
        "a large file is streamed from its path"
    );
    assert_eq!(std::fs::read(&up.path).unwrap(), big);
    // Several at once, as for hashing.
    let many = fs
        .upload_many(&[rel("big"), rel("nope"), rel("a"), rel("b.txt")])
        .await;
    assert_eq!(many.len(), 4);
    assert!(many[0].as_ref().unwrap().content.is_none());
    assert!(many[1].as_ref().unwrap_err().is_not_found());
    assert!(matches!(many[2], Err(FsError::NotAFile { .. })));
    let small = many[3].as_ref().unwrap();
    assert_eq!(small.content.as_deref(), Some(&b"hello"[..]));
    assert_eq!(small.stamp, m.stamp);
}

async fn rename_never_replaces(r: &dyn Raw) {
    let fs = r.fs();
    r.write("a", b"A");
    r.write("b", b"BB");
    let a = fs.stat(&rel("a")).await.unwrap().unwrap();
    let e = fs
        .rename(&rel("a"), &rel("b"), Expect::Any)
        .await
        .unwrap_err();
    assert!(e.is_already_exists(), "{e}");
    assert_eq!(
        (r.read("a").unwrap(), r.read("b").unwrap()),
        (b"A".to_vec(), b"BB".to_vec())
    );
    // A stale expectation: nothing moves.
    let mut stale = a.stamp;
    stale.size += 1;
    let e = fs
        .rename(&rel("a"), &rel("c"), Expect::Stamp(stale))
        .await
        .unwrap_err();
    assert!(e.is_changed(), "{e}");
    assert_eq!(r.read("c"), None);
    let moved = fs
        .rename(&rel("a"), &rel("c"), Expect::Stamp(a.stamp))
        .await
        .unwrap();
    assert_eq!(moved.stamp.file_id, a.stamp.file_id);
    assert_eq!((r.read("a"), r.read("c").unwrap()), (None, b"A".to_vec()));
    assert!(fs
        .rename(&rel("a"), &rel("d"), Expect::Any)
        .await
        .unwrap_err()
        .is_not_found());
    assert!(fs
        .rename(&rel("c"), &rel("no/d"), Expect::Any)
        .await
        .unwrap_err()
        .is_not_found());
    // Folders move with their content.
    r.write("f/g/h", b"deep");
    fs.rename(&rel("f"), &rel("f2"), Expect::Any).await.unwrap();
    assert_eq!(r.read("f2/g/h").unwrap(), b"deep");
}

async fn case_only_rename(r: &dyn Raw) {
    let fs = r.fs();
    r.write("Note.txt", b"n");
    let m = fs.stat(&rel("Note.txt")).await.unwrap().unwrap();
    let got = fs
        .rename(&rel("Note.txt"), &rel("note.txt"), Expect::Stamp(m.stamp))
        .await
        .unwrap();
    assert_eq!(got.stamp.file_id, m.stamp.file_id);
    assert_eq!(r.names(""), ["note.txt"]);
    assert_eq!(r.read("note.txt").unwrap(), b"n");
}

async fn commit_refuses_a_changed_target(r: &dyn Raw) {
    let fs = r.fs();
    r.write("d/t.txt", b"old");
    let planned = fs.stat(&rel("d/t.txt")).await.unwrap().unwrap();
    r.write("d/t.txt", b"edited by the user");
    let mut s = fs.stage(&rel("d")).await.unwrap();
    s.write_all(b"downloaded").await.unwrap();
    let e = s
        .commit(&rel("d/t.txt"), Expect::Stamp(planned.stamp), None)
        .await
        .unwrap_err();
    assert!(e.is_changed(), "{e}");
    assert_eq!(r.read("d/t.txt").unwrap(), b"edited by the user");
    assert!(partials(r, "d").is_empty());
    // Deleted since planned: not resurrected either.
    let now = fs.stat(&rel("d/t.txt")).await.unwrap().unwrap();
    fs.trash(&rel("d/t.txt"), Expect::Any).await.unwrap();
    let mut s = fs.stage(&rel("d")).await.unwrap();
    s.write_all(b"downloaded").await.unwrap();
    let e = s
        .commit(&rel("d/t.txt"), Expect::Stamp(now.stamp), None)
        .await
        .unwrap_err();
    assert!(e.is_changed(), "{e}");
    assert_eq!(r.read("d/t.txt"), None);
}

async fn commit_replaces_an_unchanged_target_and_sets_mtime(r: &dyn Raw) {
    let fs = r.fs();
    r.write("t.txt", b"old");
    let planned = fs.stat(&rel("t.txt")).await.unwrap().unwrap();
    let mtime = Utc.with_ymd_and_hms(2021, 3, 4, 5, 6, 7).unwrap();
    let mut s = fs.stage(&drivesync_localfs::RelPath::root()).await.unwrap();
    s.write_all(b"new content").await.unwrap();
    let m = s
        .commit(&rel("t.txt"), Expect::Stamp(planned.stamp), Some(mtime))
        .await
        .unwrap();
    assert_eq!(r.read("t.txt").unwrap(), b"new content");
    assert_eq!((m.kind, m.stamp.size), (FsKind::File, 11));
    assert_eq!(m.stamp.mtime_ns, mtime.timestamp_nanos_opt().unwrap());
    assert_eq!(fs.stat(&rel("t.txt")).await.unwrap(), Some(m));
    assert!(partials(r, "").is_empty());
}

async fn commit_absent_refuses_if_a_file_appeared(r: &dyn Raw) {
    let fs = r.fs();
    let mut s = fs.stage(&drivesync_localfs::RelPath::root()).await.unwrap();
    s.write_all(b"downloaded").await.unwrap();
    r.write("new.txt", b"the user's");
    let e = s
        .commit(&rel("new.txt"), Expect::Absent, None)
        .await
        .unwrap_err();
    assert!(e.is_changed(), "{e}");
    assert_eq!(r.read("new.txt").unwrap(), b"the user's");
    assert!(partials(r, "").is_empty());
    // write_new: the first write lands, the second is refused.
    let m = fs
        .write_new(&rel("l.gdoc"), b"{}", Expect::Absent, None)
        .await
        .unwrap();
    assert_eq!(m.stamp.size, 2);
    let e = fs
        .write_new(&rel("l.gdoc"), b"{...}", Expect::Absent, None)
        .await
        .unwrap_err();
    assert!(e.is_changed());
    assert_eq!(r.read("l.gdoc").unwrap(), b"{}");
}

async fn dropped_staged_leaves_no_temp_file(r: &dyn Raw) {
    let fs = r.fs();
    r.mkdir("d");
    let mut s = fs.stage(&rel("d")).await.unwrap();
    s.write_all(b"half a download").await.unwrap();
    s.flush().await.unwrap();
    assert_eq!(partials(r, "d").len(), 1);
    drop(s);
    assert_eq!(r.names("d"), Vec::<String>::new());
    assert!(fs
        .stage(&rel("missing"))
        .await
        .err()
        .unwrap()
        .is_not_found());
}

async fn trash_falls_back_to_the_pair_folder(r: &dyn Raw) {
    let fs = r.fs();
    r.write("d/f.txt", b"first");
    let m = fs.stat(&rel("d/f.txt")).await.unwrap().unwrap();
    let mut stale = m.stamp;
    stale.mtime_ns += 1;
    assert!(fs
        .trash(&rel("d/f.txt"), Expect::Stamp(stale))
        .await
        .unwrap_err()
        .is_changed());
    assert_eq!(r.read("d/f.txt").unwrap(), b"first");
    let Trashed::Fallback(p1) = fs
        .trash(&rel("d/f.txt"), Expect::Stamp(m.stamp))
        .await
        .unwrap()
    else {
        panic!("OS trash is off")
    };
    assert!(
        p1.starts_with(fs.root().join(TRASH_DIR)),
        "{}",
        p1.display()
    );
    assert!(p1.ends_with("d/f.txt"), "{}", p1.display());
    assert_eq!(r.read("d/f.txt"), None);
    // The same name again (maybe within the same second): both kept.
    r.write("d/f.txt", b"second");
    let Trashed::Fallback(p2) = fs.trash(&rel("d/f.txt"), Expect::Any).await.unwrap() else {
        panic!("OS trash is off")
    };
    assert_ne!(p1, p2);
    for (p, want) in [(p1, "first"), (p2, "second")] {
        let relp = under_root(fs, &p);
        assert_eq!(r.read(&relp).unwrap(), want.as_bytes());
    }
    // A folder goes whole.
    r.write("g/h/i", b"deep");
    let Trashed::Fallback(p3) = fs.trash(&rel("g"), Expect::Any).await.unwrap() else {
        panic!()
    };
    let relp = under_root(fs, &p3);
    assert_eq!(r.read(&format!("{relp}/h/i")).unwrap(), b"deep");
    assert!(fs
        .trash(&rel("g"), Expect::Any)
        .await
        .unwrap_err()
        .is_not_found());
}

/// `p`, a place under the root of `fs`, as a path relative to that root.
fn under_root(fs: &dyn LocalFs, p: &std::path::Path) -> String {
    p.strip_prefix(fs.root())
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned()
}

async fn a_kept_version_outlives_the_commit_then_is_dropped_or_trashed(r: &dyn Raw) {
    let fs = r.fs();
    // Dropped: the old version goes, nothing else, and no trash folder is left behind.
    r.write("e.txt", b"e1");
    let k = fs.keep(&rel("e.txt")).await.unwrap().expect("links here");
    assert!(Kept::is_kept_place(&k.at), "{k:?}");
    assert_eq!(r.read(k.at.as_str()).unwrap(), b"e1");
    fs.drop_kept(&k).await.unwrap();
    fs.drop_kept(&k).await.unwrap();
    assert_eq!(r.read(k.at.as_str()), None);
    assert_eq!(r.read("e.txt").unwrap(), b"e1");
    assert_eq!(r.names(""), vec!["e.txt".to_owned()]);
    let not_kept = Kept {
        path: rel("e.txt"),
        at: rel("e.txt"),
    };
    assert!(fs.drop_kept(&not_kept).await.is_err());
    assert_eq!(r.read("e.txt").unwrap(), b"e1");
    // Kept across a download committed over the file: the stamp the commit checks is the
    // same, and the old version stays until it is trashed under its own name.
    r.write("d/f.txt", b"old");
    let planned = fs.stat(&rel("d/f.txt")).await.unwrap().unwrap();
    let k = fs.keep(&rel("d/f.txt")).await.unwrap().expect("links here");
    assert_eq!(k.path, rel("d/f.txt"));
    assert_eq!(fs.stat(&rel("d/f.txt")).await.unwrap(), Some(planned));
    let mut s = fs.stage(&rel("d")).await.unwrap();
    s.write_all(b"new").await.unwrap();
    s.commit(&rel("d/f.txt"), Expect::Stamp(planned.stamp), None)
        .await
        .unwrap();
    assert_eq!(r.read("d/f.txt").unwrap(), b"new");
    assert_eq!(r.read(k.at.as_str()).unwrap(), b"old");
    let Trashed::Fallback(p) = fs.trash_kept(&k).await.unwrap() else {
        panic!("OS trash is off")
    };
    assert!(p.ends_with("d/f.txt"), "{}", p.display());
    let relp = under_root(fs, &p);
    assert_eq!(r.read(&relp).unwrap(), b"old");
    assert_eq!(r.read(k.at.as_str()), None);
    assert!(fs.trash_kept(&k).await.unwrap_err().is_not_found());
    // Only files are kept.
    assert!(matches!(
        fs.keep(&rel("d")).await,
        Err(FsError::NotAFile { .. })
    ));
    assert!(fs.keep(&rel("missing")).await.unwrap_err().is_not_found());
}

async fn create_dir_is_idempotent(r: &dyn Raw) {
    let fs = r.fs();
    let m = fs.create_dir(&rel("d")).await.unwrap();
    assert_eq!(m.kind, FsKind::Folder);
    assert_eq!(
        fs.create_dir(&rel("d")).await.unwrap().stamp.file_id,
        m.stamp.file_id
    );
    r.write("f", b"x");
    assert!(fs
        .create_dir(&rel("f"))
        .await
        .unwrap_err()
        .is_already_exists());
    assert!(fs.create_dir(&rel("x/y")).await.unwrap_err().is_not_found());
}

async fn symlinks_are_not_followed(r: &dyn Raw) {
    if cfg!(not(unix)) {
        return;
    }
    let fs = r.fs();
    r.mkdir("real");
    r.symlink("link", "real");
    assert_eq!(
        fs.stat(&rel("link")).await.unwrap().unwrap().kind,
        FsKind::Symlink
    );
    let l = fs
        .list_dir(&drivesync_localfs::RelPath::root())
        .await
        .unwrap();
    assert!(l
        .entries
        .contains(&("link".into(), fs.stat(&rel("link")).await.unwrap().unwrap())));
    // Never write through a link.
    for e in [
        fs.create_dir(&rel("link/x")).await.unwrap_err(),
        fs.stage(&rel("link")).await.err().unwrap(),
    ] {
        assert!(matches!(e, FsError::NotAFolder { .. }), "{e}");
    }
    assert!(matches!(
        fs.list_dir(&rel("link")).await,
        Err(FsError::NotAFolder { .. })
    ));
    assert_eq!(r.names("real"), Vec::<String>::new());
    // Never read through a link: neither to hash nor to upload.
    r.write("file", b"x");
    r.symlink("file-link", "file");
    assert!(matches!(
        fs.hash(&rel("file-link")).await,
        Err(FsError::NotAFile { .. })
    ));
    assert!(matches!(
        fs.upload_path(&rel("file-link")).await,
        Err(FsError::NotAFile { .. })
    ));
}

macro_rules! contract {
    ($($t:ident),* $(,)?) => {
        mod std_fs { $( #[tokio::test] async fn $t() { super::$t(&super::std_raw()).await } )* }
        mod mem_fs { $( #[tokio::test] async fn $t() { super::$t(&super::mem_raw()).await } )* }
        mod mem_fs_case_insensitive {
            $( #[tokio::test] async fn $t() { super::$t(&super::mem_ci_raw()).await } )*
        }
    };
}

contract!(
    stat_and_list,
    a_kept_version_outlives_the_commit_then_is_dropped_or_trashed,
    rename_never_replaces,
    case_only_rename,
    commit_refuses_a_changed_target,
    commit_replaces_an_unchanged_target_and_sets_mtime,
    commit_absent_refuses_if_a_file_appeared,
    dropped_staged_leaves_no_temp_file,
    trash_falls_back_to_the_pair_folder,
    create_dir_is_idempotent,
    symlinks_are_not_followed,
);
