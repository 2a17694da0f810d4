//! The engine over the fakes (MemRemote + MemFs): fast, deterministic tests of whole syncs,
//! with a second "device" changing Drive through the same RemoteStore API.

mod common;

use common::*;

use std::sync::Arc;

use drivesync_drive::{Relocation, RemoteStore};
use drivesync_engine::{Engine, EngineError, SyncOptions};
use drivesync_model::{DriveId, PairSettings};
use drivesync_reconcile::NameRules;

#[tokio::test]
async fn first_sync_merges_both_sides_and_a_second_sync_costs_one_call() {
    let r = rig().await;
    r.fs.write("local.txt", b"from disk");
    r.fs.write("dir/deep.txt", b"deep");
    r.fs.write("same.txt", b"same");
    r.device_write(&r.root, "remote.txt", b"from drive").await;
    r.device_write(&r.root, "same.txt", b"same").await;
    let report = r.sync().await;
    assert_eq!(report.uploaded, 2);
    assert_eq!(
        report.downloaded, 1,
        "identical same.txt is linked, not copied"
    );
    r.assert_identical().await;
    let before = r.remote.calls();
    let again = r.sync().await;
    assert!(again.plan.is_empty(), "{:#?}", again.plan);
    assert_eq!(
        r.remote.calls() - before,
        1,
        "a no-op sync is one changes.list"
    );
}

#[tokio::test]
async fn edits_conflicts_and_renames_through_the_change_feed() {
    let r = rig().await;
    r.fs.write("a.txt", b"one");
    r.fs.write("b.txt", b"two");
    r.fs.write("big/c.bin", vec![7u8; 100_000]);
    r.sync().await;
    // Another device edits a.txt; here b.txt is edited on both sides; big/ is renamed here.
    r.device_update(&r.id_of("a.txt").await, b"one, edited on Drive")
        .await;
    r.device_update(&r.id_of("b.txt").await, b"two, Drive's")
        .await;
    r.fs.write("b.txt", b"two, mine");
    r.fs.rename_raw("big", "renamed");
    let report = r.sync().await;
    assert_eq!(
        report.uploaded, 1,
        "only the conflict copy is uploaded: {:#?}",
        report.plan
    );
    assert_eq!(report.moved, 1);
    assert_eq!(report.conflicts, 1);
    r.assert_identical().await;
    let files = r.fs.files();
    assert_eq!(files[&rp("a.txt")], b"one, edited on Drive");
    assert_eq!(files[&rp("b.txt")], b"two, Drive's");
    assert_eq!(
        files[&rp("b (conflict testhost 2026-11-23 120000).txt")],
        b"two, mine"
    );
    assert_eq!(r.db.conflicts(None).unwrap().len(), 1);
    assert!(r.sync().await.plan.is_empty());
}

/// A download over a synced file keeps the replaced version aside only until Drive confirms
/// it still has the file (one `get`): nothing goes to the trash and nothing is left behind.
/// (When Drive lost the file meanwhile, the kept version goes to the trash: the simulation's
/// `regression_seed_58722_...`.)
#[tokio::test]
async fn a_download_over_a_synced_file_leaves_no_kept_copy_when_drive_still_has_it() {
    let r = rig().await;
    r.fs.write("d/a.txt", b"one");
    r.sync().await;
    r.device_update(
        &r.remote
            .files()
            .into_iter()
            .find(|f| f.name == "a.txt")
            .unwrap()
            .id,
        b"one, edited on Drive",
    )
    .await;
    let report = r.sync().await;
    assert_eq!(report.downloaded, 1);
    assert_eq!(r.fs.files()[&rp("d/a.txt")], b"one, edited on Drive");
    assert!(r.fs.trashed().is_empty(), "{:?}", r.fs.trashed());
    assert_eq!(r.fs.meta(drivesync_localfs::TRASH_DIR), None);
    assert!(r.sync().await.plan.is_empty());
}

#[tokio::test]
async fn versions_an_interrupted_sync_kept_aside_are_cleared_when_the_pair_is_loaded_again() {
    use drivesync_localfs::LocalFs;
    let r = rig().await;
    r.fs.write("d/a.txt", b"a1");
    r.fs.write("d/b.txt", b"b1");
    r.sync().await;
    // Cut short before its download committed: the kept link is still the live file.
    let a = r.fs.keep(&rp("d/a.txt")).await.unwrap().unwrap();
    // Cut short after: the kept version is the only copy of `b1` left.
    let b = r.fs.keep(&rp("d/b.txt")).await.unwrap().unwrap();
    r.fs.write("d/b.txt", b"b2");
    // The same engine, still running, leaves them to the syncs that made them.
    r.sync().await;
    assert_eq!(r.fs.read(&a.at).unwrap(), b"a1");
    assert_eq!(r.fs.read(&b.at).unwrap(), b"b1");
    // Loaded again (a restart): the second link goes, the only copy goes to the trash.
    let pair = r.db.pairs().unwrap().remove(0);
    let restarted = Engine::new(r.remote.clone(), Arc::new(r.fs.clone()), r.db.clone(), pair)
        .with_name_rules(NameRules::default());
    let report = restarted.sync(&opts()).await.unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    for k in [&a, &b] {
        assert_eq!(r.fs.meta(k.at.parent().unwrap()), None, "{k:?}");
    }
    let trashed = r.fs.trashed();
    assert_eq!(trashed.len(), 1, "{trashed:?}");
    assert!(trashed[0].0.as_str().ends_with("b.txt"), "{trashed:?}");
    assert_eq!(trashed[0].1, b"b1");
    assert_eq!(r.fs.files()[&rp("d/a.txt")], b"a1");
    let log =
        r.db.activity(&drivesync_state::ActivityQuery {
            text: Some("`b.txt` that a download replaced".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(log.len(), 1, "{log:?}");
    assert!(log[0].message.contains("moved to the trash"), "{log:?}");
    r.assert_identical().await;
}

#[tokio::test]
async fn on_a_real_disk_a_kept_link_to_the_live_file_is_dropped_when_the_pair_is_loaded_again() {
    use drivesync_localfs::{LocalFs, StdFs};
    let r = rig().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), b"a1").unwrap();
    let pair = r.db.pairs().unwrap().remove(0);
    let fs = Arc::new(StdFs::new(dir.path().to_owned()).with_os_trash(false));
    let engine = |fs: Arc<StdFs>| Engine::new(r.remote.clone(), fs, r.db.clone(), pair.clone());
    engine(fs.clone()).sync(&opts()).await.unwrap();
    let a = fs
        .keep(&rp("a.txt"))
        .await
        .unwrap()
        .expect("links on this disk");
    let report = engine(fs).sync(&opts()).await.unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(
        std::fs::read(dir.path().join("a.txt")).unwrap(),
        b"a1".to_vec()
    );
    assert!(!a.at.to_path(dir.path()).exists(), "{a:?}");
    assert!(!dir.path().join(drivesync_localfs::TRASH_DIR).exists());
}

#[tokio::test]
async fn deletes_go_to_both_trashes_and_the_guard_stops_mass_deletes() {
    let r = rig().await;
    for i in 0..60 {
        r.fs.write(format!("f{i}.txt").as_str(), format!("{i}"));
    }
    r.sync().await;
    r.fs.remove("f0.txt");
    let id = r.id_of("f1.txt").await;
    r.remote.trash(&id).await.unwrap();
    let report = r.sync().await;
    assert_eq!((report.trashed_local, report.trashed_remote), (1, 1));
    assert!(r
        .fs
        .trashed()
        .iter()
        .any(|(p, _)| p.as_str().ends_with("f1.txt")));
    r.assert_identical().await;
    // One file stays: a folder emptied whole is another stop (see root_tests.rs).
    for i in 2..59 {
        r.fs.remove(format!("f{i}.txt").as_str());
    }
    let err = r.engine.sync(&opts()).await.unwrap_err();
    assert!(matches!(err, EngineError::DeleteGuard(_)), "{err}");
    assert_eq!(
        r.remote.list_children(&r.root).await.unwrap().len(),
        58,
        "nothing deleted"
    );
    let forced = r
        .engine
        .sync(&SyncOptions {
            force_deletes: true,
            ..opts()
        })
        .await
        .unwrap();
    assert_eq!(forced.trashed_remote, 57);
}

#[tokio::test]
async fn a_remote_move_is_a_local_move() {
    let r = rig().await;
    r.fs.write("x/y.txt", b"y");
    r.sync().await;
    let x = r.id_of("x").await;
    let rel = Relocation {
        name: Some("x2".into()),
        parent: None,
    };
    r.remote.relocate(&x, &rel).await.unwrap();
    let report = r.sync().await;
    assert_eq!((report.moved, report.downloaded), (1, 0));
    assert!(r.fs.files().contains_key(&rp("x2/y.txt")));
}

#[tokio::test]
async fn a_missing_pair_folder_deletes_nothing() {
    let r = rig().await;
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("pair");
    std::fs::create_dir(&local).unwrap();
    std::fs::write(local.join("keep.txt"), b"keep").unwrap();
    let pair = r.db.pairs().unwrap().remove(0);
    let fs = Arc::new(drivesync_localfs::StdFs::new(local.clone()).with_os_trash(false));
    let engine = Engine::new(r.remote.clone(), fs, r.db.clone(), pair);
    engine.sync(&opts()).await.unwrap();
    std::fs::remove_dir_all(&local).unwrap(); // an unmounted disk
    let err = engine.sync(&opts()).await.unwrap_err();
    assert!(matches!(err, EngineError::LocalRoot(_)), "{err}");
    assert!(
        err.to_string()
            .contains("not synced until the folder is back"),
        "{err}"
    );
    assert_eq!(
        r.remote.list_children(&r.root).await.unwrap().len(),
        1,
        "nothing trashed"
    );
}

#[tokio::test]
async fn one_failing_file_does_not_stop_the_rest() {
    let r = rig().await;
    r.fs.write("ok.txt", b"fine");
    r.fs.write("locked.txt", b"secret");
    r.fs.set_unreadable("locked.txt", true);
    let report = r.engine.sync(&opts()).await.unwrap();
    assert_eq!(report.uploaded, 1);
    assert!(
        report.issues.iter().any(|i| i.contains("locked.txt")),
        "{:?}",
        report.issues
    );
    let log = r.db.activity(&Default::default()).unwrap();
    assert!(log
        .iter()
        .any(|a| a.path.as_ref().is_some_and(|p| p.as_str() == "locked.txt")));
}

#[tokio::test]
async fn an_unreadable_new_file_is_not_retried_at_every_poll_but_when_reported() {
    use drivesync_engine::Scope;
    let r = rig().await;
    r.fs.write("locked.txt", b"secret");
    r.fs.set_unreadable("locked.txt", true);
    let first = r.sync().await;
    assert_eq!(first.uploaded, 0);
    assert!(
        first.issues.iter().any(|i| i.contains("locked.txt")),
        "{:?}",
        first.issues
    );
    let polls = |n| {
        let engine = &r.engine;
        async move {
            let mut plans = Vec::new();
            for _ in 0..n {
                let report = engine
                    .sync_scoped(&opts(), &Scope::Touched(Default::default()))
                    .await
                    .unwrap();
                assert!(report.errors.is_empty(), "{:#?}", report.errors);
                plans.push(report.plan.ops.len());
            }
            plans
        }
    };
    // Idle polls leave it alone: no upload attempt, no new log entry.
    assert_eq!(polls(3).await, [0, 0, 0]);
    let logged = |r: &Rig| {
        r.db.activity(&Default::default())
            .unwrap()
            .iter()
            .filter(|a| a.path.as_ref().is_some_and(|p| p.as_str() == "locked.txt"))
            .count()
    };
    let before = logged(&r);
    assert_eq!(polls(2).await, [0, 0]);
    assert_eq!(logged(&r), before);
    // Its permissions fixed, the watcher reports it: uploaded.
    r.fs.set_unreadable("locked.txt", false);
    let touched = Scope::Touched([rp("locked.txt")].into_iter().collect());
    let report = r.engine.sync_scoped(&opts(), &touched).await.unwrap();
    assert_eq!(report.uploaded, 1, "{:#?}", report);
    assert_eq!(
        r.remote.content(&r.id_of("locked.txt").await).unwrap(),
        b"secret"
    );
}

#[tokio::test]
async fn exported_docs_follow_the_doc_and_local_edits_become_conflict_copies() {
    let r = rig_with(PairSettings {
        export_docs: true,
        ..PairSettings::default()
    })
    .await;
    let doc = r
        .remote
        .put_google_file(&r.root, "Plan", "application/vnd.google-apps.document")
        .unwrap()
        .id;
    r.sync().await;
    let text = |name: &str| String::from_utf8(r.fs.files()[&rp(name)].clone()).unwrap();
    assert!(text("Plan.docx").contains("export of Plan as application/vnd.openxmlformats"));
    assert!(!r.fs.files().contains_key(&rp("Plan.gdoc")));

    let rename = Relocation {
        name: Some("Notes".into()),
        parent: None,
    };
    r.remote.relocate(&doc, &rename).await.unwrap();
    r.sync().await;
    assert!(
        text("Notes.docx").contains("export of Notes"),
        "exported again"
    );

    r.fs.write("Notes.docx", b"my edit");
    let report = r.sync().await;
    assert_eq!(report.plan.deletes(), 0, "{:#?}", report.plan);
    let drive = r.remote.files();
    let copy = drive
        .iter()
        .find(|f| f.name.starts_with("Notes (conflict") && f.name.ends_with(".docx"))
        .expect("the edit is uploaded as a conflict copy");
    assert_eq!(r.remote.content(&copy.id).unwrap(), b"my edit");
    assert!(text("Notes.docx").contains("export of Notes"));
    assert_eq!(
        r.remote.get(&doc).await.unwrap().mime_type,
        "application/vnd.google-apps.document",
        "the Doc is never replaced"
    );
    assert!(r.engine.sync(&opts()).await.unwrap().plan.is_empty());
}

#[tokio::test]
async fn a_quiet_sync_ignores_drive_changes_outside_the_pair_but_sees_a_changed_docs_setting() {
    let r = rig().await;
    r.remote
        .put_google_file(&r.root, "Plan", "application/vnd.google-apps.document")
        .unwrap();
    r.fs.write("a.txt", b"a");
    r.sync().await;
    assert!(r.fs.files().contains_key(&rp("Plan.gdoc")));

    // Another device works elsewhere in Drive: nothing to do, one call.
    r.device_write(&DriveId::new("root"), "elsewhere.txt", b"x")
        .await;
    let calls = r.remote.calls();
    assert!(r.sync().await.plan.is_empty());
    assert_eq!(r.remote.calls() - calls, 1, "only changes.list");

    // The pair now exports Docs; Drive did not change, the local names must.
    let mut settings = r.engine.pair().settings.clone();
    settings.export_docs = true;
    r.db.set_settings(r.engine.pair().id, &settings).unwrap();
    let pair = r.db.pair(r.engine.pair().id).unwrap().unwrap();
    let engine = Engine::new(r.remote.clone(), Arc::new(r.fs.clone()), r.db.clone(), pair)
        .with_name_rules(NameRules::default());
    let report = engine.sync(&opts()).await.unwrap();
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    let files = r.fs.files();
    assert!(files.contains_key(&rp("Plan.docx")), "{files:?}");
    assert!(!files.contains_key(&rp("Plan.gdoc")));
}

#[tokio::test]
async fn a_narrowed_sync_rereads_only_the_touched_paths_and_what_it_wrote_itself() {
    use drivesync_engine::Scope;
    let r = rig().await;
    r.fs.write("a.txt", b"a1");
    r.fs.write("b.txt", b"b1");
    r.device_write(&r.root.clone(), "down.txt", b"d1").await;
    r.sync().await;
    let scoped = |ps: &[&str]| Scope::Touched(ps.iter().map(|p| rp(p)).collect());

    // b changes but only a is reported: a narrowed sync does not see b.
    r.fs.write("a.txt", b"a2");
    r.fs.write("b.txt", b"b2");
    let report = r
        .engine
        .sync_scoped(&opts(), &scoped(&["a.txt"]))
        .await
        .unwrap();
    assert_eq!(report.plan.ops.len(), 1, "{:#?}", report.plan);
    assert_eq!(r.remote.content(&r.id_of("a.txt").await).unwrap(), b"a2");
    assert_eq!(r.remote.content(&r.id_of("b.txt").await).unwrap(), b"b1");

    // The file it downloaded is re-read next time without being reported.
    r.device_update(&r.id_of("down.txt").await, b"d2").await;
    r.engine.sync_scoped(&opts(), &scoped(&[])).await.unwrap();
    r.fs.write("down.txt", b"d3 local");
    r.engine.sync_scoped(&opts(), &scoped(&[])).await.unwrap();
    assert_eq!(
        r.remote.content(&r.id_of("down.txt").await).unwrap(),
        b"d3 local"
    );

    // A full sync finds b.
    r.sync().await;
    r.assert_identical().await;
}

#[tokio::test(start_paused = true)]
async fn a_full_drive_pauses_the_live_loop_with_its_reason_and_it_resumes_by_itself() {
    use drivesync_engine::live::{Command, PairState};
    use drivesync_engine::Blocker;
    let r = rig().await;
    r.remote.set_quota(Some(0));
    r.fs.write("big.txt", b"does not fit");
    let pair = r.engine.pair().clone();
    let (commands, mut status, task) = spawn_loop(&r);

    let held = status_until(&mut status, |s| {
        matches!(s.state, PairState::Blocked { .. })
    })
    .await;
    let PairState::Blocked { blocker, message } = held.state else {
        unreachable!()
    };
    assert_eq!(blocker, Blocker::DriveFull);
    assert!(message.contains("storage is full") && message.contains("resumes by itself"));
    let log =
        r.db.activity(&drivesync_state::ActivityQuery {
            pair: Some(pair.id),
            ..Default::default()
        })
        .unwrap();
    assert!(
        log.iter().any(|a| a.message.contains("storage is full")),
        "{log:?}"
    );

    // Space is freed: within the re-check interval (5 min) it syncs again by itself.
    r.remote.set_quota(None);
    let started = tokio::time::Instant::now();
    status_until(&mut status, |s| s.state == PairState::Idle).await;
    assert!(started.elapsed() <= std::time::Duration::from_secs(301));
    assert_eq!(
        r.remote.content(&r.id_of("big.txt").await).unwrap(),
        b"does not fit"
    );

    // Pause and resume reach the loop.
    commands.send(Command::Pause).unwrap();
    status_until(&mut status, |s| s.state == PairState::Paused).await;
    commands.send(Command::Resume).unwrap();
    status_until(&mut status, |s| s.state == PairState::Idle).await;
    drop(commands);
    task.await.unwrap();
}

#[tokio::test]
async fn an_unusable_pregenerated_id_is_replaced_at_the_next_sync() {
    let r = rig().await;
    r.fs.write("a.txt", b"a");
    let pair = r.engine.pair().id;
    r.db.set_pending_id(pair, &rp("a.txt"), &DriveId::new("never-generated"))
        .unwrap();
    let first = r.engine.sync(&opts()).await.unwrap();
    assert_eq!(first.errors.len(), 1, "{:#?}", first.errors);
    assert!(first.errors[0].message.contains("fileIdNotUsable"));
    r.sync().await;
    r.assert_identical().await;
}

#[tokio::test]
async fn what_is_inside_a_folder_whose_creation_failed_waits_for_the_next_sync() {
    let r = rig().await;
    r.fs.write("d/x.txt", b"x");
    let pair = r.engine.pair().id;
    r.db.set_pending_id(pair, &rp("d"), &DriveId::new("never-generated"))
        .unwrap();
    let first = r.engine.sync(&opts()).await.unwrap();
    assert_eq!(first.errors.len(), 1, "{:#?}", first.errors);
    assert_eq!((first.held, first.uploaded), (1, 0));
    let log = r.db.activity(&Default::default()).unwrap();
    assert!(log
        .iter()
        .any(|a| a.kind == drivesync_state::ActivityKind::Skipped
            && a.path.as_ref().is_some_and(|p| p.as_str() == "d/x.txt")
            && a.message.contains("waits for d")));
    let second = r.sync().await;
    assert_eq!(second.uploaded, 1);
    r.assert_identical().await;
}

#[tokio::test]
async fn a_create_refused_for_quota_can_reuse_its_id_once_there_is_room() {
    let r = rig().await;
    r.remote.set_quota(Some(0));
    r.fs.write("a.txt", b"a");
    let first = r.engine.sync(&opts()).await.unwrap();
    assert_eq!(first.errors.len(), 1);
    let id = r.db.pending_id(r.engine.pair().id, &rp("a.txt")).unwrap();
    r.remote.set_quota(None);
    r.sync().await;
    assert_eq!(Some(r.id_of("a.txt").await), id, "the stored id was used");
    r.assert_identical().await;
}

#[tokio::test(start_paused = true)]
async fn a_full_disk_pauses_the_live_loop_and_it_resumes_by_itself() {
    use drivesync_engine::live::PairState;
    use drivesync_engine::Blocker;
    let r = rig().await;
    r.device_write(&r.root.clone(), "down.txt", b"needs room")
        .await;
    r.fs.set_disk_full(true);
    let (_commands, mut status, task) = spawn_loop(&r);
    let held = status_until(&mut status, |s| {
        matches!(s.state, PairState::Blocked { .. })
    })
    .await;
    assert!(
        matches!(&held.state, PairState::Blocked { blocker: Blocker::DiskFull, message } if message.contains("is full")),
        "{held:?}"
    );
    r.fs.set_disk_full(false);
    status_until(&mut status, |s| s.state == PairState::Idle).await;
    assert_eq!(r.fs.read("down.txt").unwrap(), b"needs room");
    task.abort();
}

#[tokio::test(start_paused = true)]
async fn the_delete_guard_holds_the_live_loop_until_the_user_forces_it() {
    use drivesync_engine::live::{Command, PairState};
    use drivesync_engine::Blocker;
    let r = rig().await;
    for i in 0..60 {
        r.fs.write(format!("f{i}.txt").as_str(), format!("{i}"));
    }
    r.sync().await;
    for i in 0..59 {
        r.fs.remove(format!("f{i}.txt").as_str());
    }
    let (commands, mut status, task) = spawn_loop(&r);
    let held = status_until(&mut status, |s| {
        matches!(s.state, PairState::Blocked { .. })
    })
    .await;
    assert!(
        matches!(&held.state, PairState::Blocked { blocker: Blocker::TooManyDeletes { deletes: 59 }, message } if message.contains("--force-deletes")),
        "{held:?}"
    );
    assert_eq!(
        r.remote.list_children(&r.root).await.unwrap().len(),
        60,
        "nothing trashed yet"
    );
    commands.send(Command::ForceDeletes).unwrap();
    status_until(&mut status, |s| s.state == PairState::Idle).await;
    assert_eq!(
        r.remote.list_children(&r.root).await.unwrap().len(),
        1,
        "trashed once forced"
    );
    task.abort();
}

/// A same-size edit made within the file system's time resolution of a sync keeps the file's
/// stamp on a disk with coarse times (FAT: 2 s). Such a file is read again at the next sync
/// ("racy clean"), so the edit is uploaded, not overwritten later by a Drive edit.
#[tokio::test]
async fn a_same_stamp_edit_right_after_a_sync_is_seen_on_a_coarse_clock() {
    let r = rig().await;
    let t0 = opts().now;
    let at = |t: chrono::DateTime<chrono::Utc>| t.timestamp_nanos_opt().unwrap();
    r.fs.write("racy.txt", b"one");
    r.fs.write("old.txt", b"old");
    // The stamp recorded by the sync and the edit share one coarse instant.
    let coarse = at(t0) - 500_000_000;
    r.fs.set_mtime("racy.txt", coarse);
    r.fs.set_mtime("old.txt", at(t0) - 60_000_000_000);
    r.sync().await;
    r.fs.write("racy.txt", b"two");
    r.fs.set_mtime("racy.txt", coarse);
    let before = r.fs.hash_count();
    let later = SyncOptions {
        now: t0 + chrono::Duration::seconds(30),
        ..opts()
    };
    let report = r.engine.sync(&later).await.unwrap();
    assert_eq!(report.uploaded, 1, "{:#?}", report.plan);
    assert_eq!(
        r.remote.content(&r.id_of("racy.txt").await).unwrap(),
        b"two"
    );
    assert_eq!(r.fs.hash_count() - before, 1, "old.txt is not read again");
    // Once the last sync started well after it, the file is trusted by its stamp again.
    let much_later = SyncOptions {
        now: t0 + chrono::Duration::seconds(90),
        ..opts()
    };
    r.engine.sync(&much_later).await.unwrap();
    let before = r.fs.hash_count();
    r.engine.sync(&much_later).await.unwrap();
    assert_eq!(r.fs.hash_count(), before, "nothing read");
}

/// A local file whose name has a character no local name gets from Drive (a right-to-left
/// override) is uploaded under its name, and the pair is stable: it is not uploaded again
/// or duplicated under the mapped name.
#[tokio::test]
async fn a_local_name_with_a_reordering_character_is_synced_once_and_stays() {
    let r = rig().await;
    r.fs.write("a\u{202E}b.txt", b"x");
    r.sync().await;
    r.sync().await;
    assert!(r.sync().await.plan.is_empty(), "stable");
    let on_drive: Vec<String> = r.remote.files().into_iter().map(|f| f.name).collect();
    assert!(
        on_drive.contains(&"a\u{202E}b.txt".to_owned()),
        "{on_drive:?}"
    );
    assert_eq!(
        on_drive.len(),
        2,
        "the pair folder and the file: {on_drive:?}"
    );
    assert_eq!(r.fs.files().len(), 1);
}
