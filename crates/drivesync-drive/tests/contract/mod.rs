//! The [`RemoteStore`] contract, as tests generic over the store: `contract_google.rs` runs
//! them against `GoogleDrive` on `drive-emulator`, `contract_mem.rs` against `MemRemote`, so
//! the fake is held to what Drive does.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use async_trait::async_trait;
use drivesync_drive::{
    DriveError, DriveId, File, NewFile, Relocation, RemoteStore, Reparent, UploadSource,
};
use futures_util::TryStreamExt;

/// What the tests need beyond the store's API.
#[async_trait]
pub trait Backdoor: Send + Sync {
    /// Deletes a file for good (someone emptied the trash).
    async fn delete_forever(&self, id: &DriveId);
    /// Creates a Google Doc.
    async fn google_doc(&self, parent: &DriveId, name: &str) -> DriveId;
}

/// Listings and change pages in the tests hold this many entries.
pub const PAGE: usize = 3;

async fn folder<S: RemoteStore>(s: &S, parent: &DriveId, name: &str) -> File {
    s.create_folder(&NewFile::new(parent.clone(), name))
        .await
        .unwrap()
}

async fn small<S: RemoteStore>(
    s: &S,
    dir: &Path,
    parent: &DriveId,
    name: &str,
    body: &[u8],
) -> File {
    let path = dir.join(name.replace('/', "_"));
    std::fs::write(&path, body).unwrap();
    s.create_file(
        &NewFile::new(parent.clone(), name),
        &UploadSource::new(&path),
    )
    .await
    .unwrap()
}

fn names(files: &[File]) -> Vec<String> {
    files.iter().map(|f| f.name.clone()).collect()
}

/// More files than fit a page: every page read, in creation order, trashed ones left out;
/// the stream gives the same.
pub async fn listing_reads_every_page<S: RemoteStore>(s: &S) {
    let tmp = tempfile::tempdir().unwrap();
    let top = folder(s, &DriveId::new("root"), "top").await;
    let mut want = Vec::new();
    for i in 0..(PAGE * 2 + 1) {
        let name = format!("f{i}");
        small(s, tmp.path(), &top.id, &name, name.as_bytes()).await;
        want.push(name);
    }
    let gone = small(s, tmp.path(), &top.id, "trashed", b"x").await;
    s.trash(&gone.id).await.unwrap();
    let all = s.list_children(&top.id).await.unwrap();
    assert_eq!(names(&all), want);
    let streamed: Vec<File> = s.children(&top.id).try_collect().await.unwrap();
    assert_eq!(streamed, all);
    let first = s
        .list_page(std::slice::from_ref(&top.id), None)
        .await
        .unwrap();
    assert_eq!(first.files.len(), PAGE);
    assert!(first.next_page_token.is_some());
    let f = &all[0];
    assert_eq!(f.size, Some(2));
    assert!(f.md5_checksum.is_some() && f.version.is_some() && f.head_revision_id.is_some());
    assert_eq!(f.parents, vec![top.id.clone()]);
}

/// The whole tree below a folder, at every depth, without trashed subtrees.
pub async fn tree_lists_every_level<S: RemoteStore>(s: &S) {
    let tmp = tempfile::tempdir().unwrap();
    let top = folder(s, &DriveId::new("root"), "top").await;
    let outside = folder(s, &DriveId::new("root"), "outside").await;
    small(s, tmp.path(), &outside.id, "not-in-tree", b"o").await;
    let mut dirs = vec![top.clone()];
    for d in 0..4 {
        let parent = dirs[d / 2].id.clone();
        dirs.push(folder(s, &parent, &format!("d{d}")).await);
    }
    for (i, d) in dirs.iter().enumerate() {
        small(s, tmp.path(), &d.id, &format!("file{i}"), b"content").await;
    }
    let trashed = folder(s, &top.id, "bin").await;
    small(s, tmp.path(), &trashed.id, "in-bin", b"b").await;
    s.trash(&trashed.id).await.unwrap();
    let tree = s.list_tree(&top.id).await.unwrap();
    let by_id: BTreeMap<&DriveId, &File> = tree.iter().map(|f| (&f.id, f)).collect();
    let path = |f: &File| {
        let mut parts = vec![f.name.clone()];
        let mut cur = f.parents.first();
        while let Some(p) = cur.and_then(|p| by_id.get(p)) {
            parts.push(p.name.clone());
            cur = p.parents.first();
        }
        parts.reverse();
        parts.join("/")
    };
    let paths: BTreeSet<String> = tree.iter().map(path).collect();
    let want: BTreeSet<String> = [
        "d0",
        "d1",
        "d0/d2",
        "d0/d3",
        "file0",
        "d0/file1",
        "d1/file2",
        "d0/d2/file3",
        "d0/d3/file4",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(paths, want);
}

/// The change feed: paging, each file once at its latest state, trash as a flag, permanent
/// deletes as `removed`, and a token that starts the next poll.
pub async fn changes_page_and_report_removals<S: RemoteStore>(s: &S, back: &dyn Backdoor) {
    let tmp = tempfile::tempdir().unwrap();
    let top = folder(s, &DriveId::new("root"), "top").await;
    let start = s.start_page_token().await.unwrap();
    let mut files = Vec::new();
    for i in 0..5 {
        files.push(small(s, tmp.path(), &top.id, &format!("c{i}"), b"v1").await);
    }
    s.trash(&files[0].id).await.unwrap();
    back.delete_forever(&files[1].id).await;
    let renamed = Relocation {
        name: Some("renamed".into()),
        parent: None,
    };
    s.relocate(&files[2].id, &renamed).await.unwrap();
    let first = s.changes_page(&start).await.unwrap();
    assert!(first.next_page_token.is_some() && first.new_start_page_token.is_none());
    let all = s.list_changes(&start).await.unwrap();
    let mut seen = BTreeSet::new();
    for c in &all.changes {
        let id = c.file_id.clone().unwrap();
        assert!(seen.insert(id.clone()), "{id} listed twice");
    }
    let of = |id: &DriveId| {
        all.changes
            .iter()
            .find(|c| c.file_id.as_ref() == Some(id))
            .unwrap()
    };
    assert!(of(&files[0].id).file.as_ref().unwrap().trashed);
    let removed = of(&files[1].id);
    assert!(removed.removed && removed.file.is_none());
    assert_eq!(of(&files[2].id).file.as_ref().unwrap().name, "renamed");
    assert!(!of(&files[3].id).removed);
    let again = s.list_changes(&all.new_start_page_token).await.unwrap();
    assert!(again.changes.is_empty(), "{:?}", again.changes);
    assert_eq!(again.new_start_page_token, all.new_start_page_token);
    let bad = s
        .changes_page(&drivesync_drive::ChangeToken::new("not-a-token"))
        .await;
    assert!(
        matches!(bad, Err(DriveError::Api { status: 400, .. })),
        "{bad:?}"
    );
}

/// Create, upload, update, rename, move, trash and untrash, with what each returns.
pub async fn file_lifecycle<S: RemoteStore>(s: &S) {
    let tmp = tempfile::tempdir().unwrap();
    let a = folder(s, &DriveId::new("root"), "a").await;
    let b = folder(s, &DriveId::new("root"), "b").await;
    assert!(a.is_folder() && a.parents.len() == 1);
    let f = small(s, tmp.path(), &a.id, "doc.txt", b"hello").await;
    assert_eq!((f.name.as_str(), f.size), ("doc.txt", Some(5)));
    assert_eq!(
        f.md5_checksum,
        Some("5d41402abc4b2a76b9719d911017c592".parse().unwrap())
    );
    let v1 = f.version.unwrap();
    let path = tmp.path().join("v2");
    std::fs::write(&path, b"hello, world").unwrap();
    let u = s
        .update_content(&f.id, &UploadSource::new(&path))
        .await
        .unwrap();
    assert_eq!((u.id.clone(), u.size), (f.id.clone(), Some(12)));
    assert!(u.version.unwrap() > v1);
    assert_ne!(u.head_revision_id, f.head_revision_id);
    assert_ne!(u.md5_checksum, f.md5_checksum);
    let renamed = s
        .relocate(
            &f.id,
            &Relocation {
                name: Some("new.txt".into()),
                parent: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "new.txt");
    assert!(renamed.version > u.version);
    assert_eq!(
        renamed.head_revision_id, u.head_revision_id,
        "metadata changes keep the revision"
    );
    let to_b = Relocation {
        name: None,
        parent: Some(Reparent {
            from: a.id.clone(),
            to: b.id.clone(),
        }),
    };
    let moved = s.relocate(&f.id, &to_b).await.unwrap();
    assert_eq!(moved.parents, vec![b.id.clone()]);
    let again = s.relocate(&f.id, &to_b).await.unwrap();
    assert_eq!(
        again.parents,
        vec![b.id.clone()],
        "a replayed move is harmless"
    );
    assert!(s.list_children(&a.id).await.unwrap().is_empty());
    let into_self = Relocation {
        name: None,
        parent: Some(Reparent {
            from: DriveId::new("root"),
            to: b.id.clone(),
        }),
    };
    assert!(matches!(
        s.relocate(&b.id, &into_self).await,
        Err(DriveError::Api { status: 400, .. })
    ));
    let t = s.trash(&f.id).await.unwrap();
    assert!(t.trashed);
    assert!(s.get(&f.id).await.unwrap().trashed);
    assert!(s.list_children(&b.id).await.unwrap().is_empty());
    let back = s.untrash(&f.id).await.unwrap();
    assert!(!back.trashed);
    assert_eq!(names(&s.list_children(&b.id).await.unwrap()), ["new.txt"]);
    let missing = s.get(&DriveId::new("no-such-file")).await;
    assert!(
        matches!(missing, Err(DriveError::NotFound { .. })),
        "{missing:?}"
    );
    let orphan = NewFile::new(DriveId::new("no-such-folder"), "x");
    assert!(matches!(
        s.create_folder(&orphan).await,
        Err(DriveError::NotFound { .. })
    ));
}

/// Creates with a pre-generated id are idempotent; a clashing one is refused.
pub async fn creates_with_ids_are_idempotent<S: RemoteStore>(s: &S) {
    let tmp = tempfile::tempdir().unwrap();
    let top = folder(s, &DriveId::new("root"), "top").await;
    let ids = s.generate_ids(3).await.unwrap();
    assert_eq!(ids.len(), 3);
    let new = NewFile::new(top.id.clone(), "dir").with_id(ids[0].clone());
    let d1 = s.create_folder(&new).await.unwrap();
    let d2 = s.create_folder(&new).await.unwrap();
    assert_eq!(
        (d1.id.clone(), d2.id.clone()),
        (ids[0].clone(), ids[0].clone())
    );
    let path = tmp.path().join("f");
    std::fs::write(&path, b"same bytes").unwrap();
    let new = NewFile::new(top.id.clone(), "f").with_id(ids[1].clone());
    let f1 = s
        .create_file(&new, &UploadSource::new(&path))
        .await
        .unwrap();
    let f2 = s
        .create_file(&new, &UploadSource::new(&path))
        .await
        .unwrap();
    assert_eq!(f1.id, f2.id);
    assert_eq!(s.list_children(&top.id).await.unwrap().len(), 2);
    let clash = NewFile::new(top.id.clone(), "other-name").with_id(ids[0].clone());
    let e = s.create_folder(&clash).await.unwrap_err();
    assert!(matches!(&e, DriveError::Api { status: 409, .. }), "{e:?}");
}

/// Downloads check the MD5; Docs are exported, not downloaded.
pub async fn download_and_export<S: RemoteStore>(s: &S, back: &dyn Backdoor) {
    let tmp = tempfile::tempdir().unwrap();
    let top = folder(s, &DriveId::new("root"), "top").await;
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    let f = small(s, tmp.path(), &top.id, "data.bin", &body).await;
    let mut out = Vec::new();
    let got = s
        .download(&f.id, f.md5_checksum.as_ref(), &mut out)
        .await
        .unwrap();
    assert_eq!(
        (out.len() as u64, Some(got.md5)),
        (got.size, f.md5_checksum)
    );
    assert_eq!(out, body);
    let target = tmp.path().join("dl");
    s.download_to_path(&f.id, None, &target).await.unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), body);
    let wrong = drivesync_drive::Md5([7; 16]);
    let e = s
        .download(&f.id, Some(&wrong), &mut Vec::new())
        .await
        .unwrap_err();
    assert!(matches!(e, DriveError::ChecksumMismatch { .. }), "{e:?}");
    let doc = back.google_doc(&top.id, "notes").await;
    let e = s.download(&doc, None, &mut Vec::new()).await.unwrap_err();
    assert_eq!(e.status(), Some(403), "{e:?}");
    let mut text = Vec::new();
    let n = s.export(&doc, "text/plain", &mut text).await.unwrap();
    assert!(n > 0 && String::from_utf8_lossy(&text).contains("notes"));
    let e = s
        .export(&f.id, "text/plain", &mut Vec::new())
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(403));
}

/// The account and its quota.
pub async fn about_names_the_account<S: RemoteStore>(s: &S) {
    let a = s.about().await.unwrap();
    assert!(a.user.email_address.contains('@'));
    assert!(a.storage_quota.usage.is_some());
}
