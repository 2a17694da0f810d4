//! What only one implementation can show: MemFs's hooks and case folding, StdFs's real
//! names and permissions.

mod common;

use common::{is_root_user, md5_hex, rel, std_raw, Raw};
use drivesync_localfs::{Expect, FsError, LocalFs, MemFs, RelPath, Trashed};
use tokio::io::AsyncWriteExt;

#[tokio::test]
async fn mem_hash_detects_a_change_during_the_read() {
    let fs = MemFs::new();
    fs.write("f", "before");
    fs.change_during_next_hash("f", "after, longer");
    let e = fs.hash(&rel("f")).await.unwrap_err();
    assert!(e.is_changed(), "{e}");
    assert_eq!(fs.read("f").unwrap(), b"after, longer");
    // Only the next hash: now it reads fine.
    let h = fs.hash(&rel("f")).await.unwrap();
    assert_eq!(h.md5.to_string(), md5_hex(b"after, longer"));
    assert_eq!(fs.hash_count(), 2);
}

#[tokio::test]
async fn mem_case_insensitive_names_fold_but_keep_their_case() {
    let fs = MemFs::case_insensitive();
    fs.write("Docs/Report.TXT", "r");
    assert!(fs.stat(&rel("docs/report.txt")).await.unwrap().is_some());
    let names = fs.list_dir(&rel("DOCS")).await.unwrap().entries;
    assert_eq!(names[0].0, "Report.TXT");
    fs.write("other.txt", "o");
    // Another file under a case-variant name is still another file: never replaced.
    let e = fs
        .rename(&rel("other.txt"), &rel("docs/REPORT.txt"), Expect::Any)
        .await;
    assert!(e.unwrap_err().is_already_exists());
    // The staged write onto a case variant of an existing file sees that file.
    let mut s = fs.stage(&rel("Docs")).await.unwrap();
    s.write_all(b"x").await.unwrap();
    let e = s
        .commit(&rel("Docs/report.txt"), Expect::Absent, None)
        .await;
    assert!(e.unwrap_err().is_changed());
    assert_eq!(fs.read("docs/report.txt").unwrap(), b"r");
}

#[tokio::test]
async fn mem_case_sensitive_keeps_case_variants_apart() {
    let fs = MemFs::new();
    fs.write("x", "lower");
    fs.write("X", "upper");
    let e = fs
        .rename(&rel("x"), &rel("X"), Expect::Any)
        .await
        .unwrap_err();
    assert!(e.is_already_exists());
    assert_eq!(fs.files().len(), 2);
}

#[tokio::test]
async fn mem_unreadable_and_disk_full() {
    let fs = MemFs::new();
    fs.write("secret", "s");
    fs.set_unreadable("secret", true);
    assert!(fs
        .hash(&rel("secret"))
        .await
        .unwrap_err()
        .is_permission_denied());
    assert!(fs.read("secret").unwrap_err().is_permission_denied());
    assert!(fs
        .upload_path(&rel("secret"))
        .await
        .unwrap_err()
        .is_permission_denied());
    fs.mkdir_all("locked");
    fs.set_unreadable("locked", true);
    assert!(fs
        .list_dir(&rel("locked"))
        .await
        .unwrap_err()
        .is_permission_denied());
    fs.set_disk_full(true);
    let e = fs
        .write_new(&rel("n"), b"x", Expect::Absent, None)
        .await
        .unwrap_err();
    assert!(e.is_disk_full(), "{e}");
    assert!(fs.create_dir(&rel("d")).await.unwrap_err().is_disk_full());
    assert!(!fs
        .files()
        .keys()
        .any(|p| p.as_str().starts_with(".drivesync")));
}

#[tokio::test]
async fn mem_os_trash_records_what_went_there() {
    let fs = MemFs::new();
    fs.write("a/b", "1");
    fs.write("a/c/d", "2");
    assert_eq!(fs.trash(&rel("a"), Expect::Any).await.unwrap(), Trashed::Os);
    assert_eq!(
        fs.trashed(),
        vec![(rel("a/b"), b"1".to_vec()), (rel("a/c/d"), b"2".to_vec())]
    );
    assert!(fs.files().is_empty());
    assert!(fs.folders().is_empty());
    // The fallback trash is not among the files.
    let fs = MemFs::new().with_os_trash(false);
    fs.write("x", "1");
    fs.trash(&rel("x"), Expect::Any).await.unwrap();
    assert!(fs.files().is_empty());
    assert_eq!(fs.trashed(), vec![(rel("x"), b"1".to_vec())]);
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn std_non_utf8_names_are_skipped_not_fatal() {
    use std::os::unix::ffi::OsStrExt;
    let r = std_raw();
    r.write("ok.txt", b"x");
    let bad =
        r.fs.root()
            .join(std::ffi::OsStr::from_bytes(b"bad\xffname"));
    std::fs::write(bad, b"y").unwrap();
    let l = r.fs.list_dir(&RelPath::root()).await.unwrap();
    assert_eq!(l.entries.len(), 1);
    assert_eq!(l.skipped.len(), 1);
    assert!(l.skipped[0].name.starts_with("bad"));
    assert!(l.skipped[0].reason.contains("UTF-8"));
}

#[cfg(unix)]
#[tokio::test]
async fn std_permission_denied_is_its_own_error() {
    if is_root_user() {
        eprintln!("note: running as root, which reads everything: StdFs permission case skipped (MemFs covers it)");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let r = std_raw();
    r.write("secret", b"s");
    let abs = r.fs.root().join("secret");
    std::fs::set_permissions(&abs, std::fs::Permissions::from_mode(0o000)).unwrap();
    let e = r.fs.hash(&rel("secret")).await.unwrap_err();
    assert!(matches!(e, FsError::PermissionDenied { .. }), "{e}");
    assert!(e
        .to_string()
        .contains("permission denied; fix its permissions"));
}

#[cfg(unix)]
#[tokio::test]
async fn std_commit_keeps_the_replaced_files_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let r = std_raw();
    r.write("run.sh", b"echo 1");
    let abs = r.fs.root().join("run.sh");
    std::fs::set_permissions(&abs, std::fs::Permissions::from_mode(0o751)).unwrap();
    let m = r.fs.stat(&rel("run.sh")).await.unwrap().unwrap();
    r.fs.write_new(&rel("run.sh"), b"echo 2", Expect::Stamp(m.stamp), None)
        .await
        .unwrap();
    let mode = std::fs::metadata(&abs).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o751);
    // A new file gets the usual umask-based mode, not tempfile's 0600.
    r.fs.write_new(&rel("new"), b"n", Expect::Absent, None)
        .await
        .unwrap();
    let mode = std::fs::metadata(r.fs.root().join("new"))
        .unwrap()
        .permissions()
        .mode();
    assert_ne!(mode & 0o777, 0o600, "mode {mode:o}");
}

#[tokio::test]
async fn std_missing_root_parent_errors_say_where() {
    let r = std_raw();
    let e = r.fs.hash(&rel("a/b")).await.unwrap_err();
    assert!(e.is_not_found());
    assert!(
        e.to_string()
            .contains(&r.fs.root().join("a/b").display().to_string()),
        "{e}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn std_a_fifo_is_not_a_file_and_reading_it_does_not_block() {
    let r = std_raw();
    let fifo = rel("pipe").to_path(r.fs.root());
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        return;
    }
    let hashed = tokio::time::timeout(std::time::Duration::from_secs(5), r.fs.hash(&rel("pipe")))
        .await
        .expect("hashing a FIFO must not wait for a writer");
    assert!(
        matches!(hashed, Err(FsError::NotAFile { .. })),
        "{hashed:?}"
    );
    let up = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        r.fs.upload_path(&rel("pipe")),
    )
    .await
    .expect("reading a FIFO must not wait for a writer");
    assert!(matches!(up, Err(FsError::NotAFile { .. })), "{up:?}");
}
