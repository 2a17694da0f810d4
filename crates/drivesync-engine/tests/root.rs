//! A pair's folder that is not the folder it was (an unmounted disk, a folder emptied or
//! without its marker): the pair is blocked, nothing is planned, it resumes when the folder is
//! back, and a forced sync takes the folder as it is.

mod common;

use common::*;

use drivesync_engine::{EngineError, FolderProblem, SyncOptions};
use drivesync_localfs::{LocalFs, PAIR_MARKER};

fn forced() -> SyncOptions {
    SyncOptions {
        force_deletes: true,
        ..opts()
    }
}

/// A synced pair of three small files (far below the delete guard's limits).
async fn synced() -> Rig {
    let r = rig().await;
    for name in ["a.txt", "b.txt", "sub/c.txt"] {
        r.fs.write(name, name);
    }
    r.sync().await;
    r
}

fn problem(e: &EngineError) -> Option<FolderProblem> {
    match e {
        EngineError::NotThePairFolder { problem, .. } => Some(*problem),
        _ => None,
    }
}

async fn drive_names(r: &Rig) -> Vec<String> {
    let mut names: Vec<String> = r.remote.files().into_iter().map(|f| f.name).collect();
    names.sort();
    names
}

#[tokio::test]
async fn an_unmounted_folder_of_a_small_pair_trashes_nothing_and_resumes_when_mounted() {
    let r = synced().await;
    let before = drive_names(&r).await;
    r.fs.unmount();
    let err = r.engine.sync(&opts()).await.unwrap_err();
    assert_eq!(problem(&err), Some(FolderProblem::Replaced), "{err}");
    assert!(
        err.to_string().contains("--force-deletes"),
        "says how to unblock: {err}"
    );
    let dry = SyncOptions {
        dry_run: true,
        ..opts()
    };
    assert!(
        r.engine.sync(&dry).await.is_err(),
        "a dry run plans nothing either"
    );
    assert_eq!(drive_names(&r).await, before, "nothing trashed on Drive");
    assert!(r.remote.files().iter().all(|f| !f.trashed));
    // Nothing is written to the empty mount point either (no marker, no download).
    assert!(r.fs.files().is_empty());
    assert_eq!(r.fs.meta(PAIR_MARKER), None);

    r.fs.mount();
    let report = r.sync().await;
    assert!(report.plan.is_empty(), "{:#?}", report.plan);
    r.assert_identical().await;
}

#[tokio::test]
async fn a_folder_emptied_below_the_delete_guard_blocks_until_forced() {
    let r = synced().await;
    for name in ["a.txt", "b.txt", "sub"] {
        r.fs.remove(name);
    }
    let err = r.engine.sync(&opts()).await.unwrap_err();
    assert_eq!(problem(&err), Some(FolderProblem::Emptied), "{err}");
    assert_eq!(
        drive_names(&r).await.len(),
        5,
        "nothing trashed yet (the pair folder, a, b, sub, c)"
    );

    let report = r.engine.sync(&forced()).await.unwrap();
    assert_eq!(report.trashed_remote, 3, "{:#?}", report.plan);
    // Emptied on purpose and synced: an empty pair is not blocked any more.
    assert!(r.sync().await.plan.is_empty());
}

#[tokio::test]
async fn an_unmounted_folder_that_an_app_wrote_into_is_still_not_the_pair() {
    let r = synced().await;
    r.fs.unmount();
    // Not empty, so only the identity tells it apart.
    r.fs.write("written-while-unmounted.txt", b"x");
    let err = r.engine.sync(&opts()).await.unwrap_err();
    assert_eq!(problem(&err), Some(FolderProblem::Replaced), "{err}");
    assert_eq!(drive_names(&r).await.len(), 5);
}

#[tokio::test]
async fn a_folder_without_its_marker_is_blocked_and_a_forced_sync_writes_it_again() {
    let r = synced().await;
    assert!(
        r.fs.read_marker().await.unwrap().is_some(),
        "written by the first sync"
    );
    r.fs.remove(PAIR_MARKER);
    let err = r.engine.sync(&opts()).await.unwrap_err();
    assert_eq!(problem(&err), Some(FolderProblem::NoMarker), "{err}");

    let report = r.engine.sync(&forced()).await.unwrap();
    assert!(
        report.plan.is_empty(),
        "the folder was fine: {:#?}",
        report.plan
    );
    assert!(r.fs.read_marker().await.unwrap().is_some(), "written again");
    assert!(r.sync().await.plan.is_empty());
}

#[tokio::test]
async fn the_marker_is_never_uploaded_and_a_marker_on_drive_is_never_downloaded() {
    let r = rig().await;
    r.device_write(&r.root, PAIR_MARKER, b"drivesync pair 99")
        .await;
    r.fs.write("a.txt", b"a");
    r.sync().await;
    let on_drive: Vec<_> = r
        .remote
        .files()
        .into_iter()
        .filter(|f| f.name == PAIR_MARKER)
        .collect();
    assert_eq!(on_drive.len(), 1, "only the other device's");
    let mine = r.fs.read_marker().await.unwrap().unwrap();
    assert!(mine.starts_with("drivesync pair 1\n"), "{mine}");
}

#[tokio::test]
async fn a_pair_from_before_folder_identities_is_recorded_at_its_next_sync() {
    let r = synced().await;
    let pair = r.engine.pair().id;
    r.db.set_root_id(pair, None).unwrap();
    r.fs.remove(PAIR_MARKER);
    assert!(r.sync().await.plan.is_empty(), "migrated, not blocked");
    assert_eq!(r.db.root_id(pair).unwrap(), r.fs.root_id().await.unwrap());
    assert!(r.fs.read_marker().await.unwrap().is_some());

    // Had it been unmounted at that first sync, its emptiness would have held it.
    r.db.set_root_id(pair, None).unwrap();
    r.fs.unmount();
    let err = r.engine.sync(&opts()).await.unwrap_err();
    assert_eq!(problem(&err), Some(FolderProblem::Emptied), "{err}");
    assert_eq!(
        r.db.root_id(pair).unwrap(),
        None,
        "the mount point is not recorded"
    );
}

#[tokio::test(start_paused = true)]
async fn an_unmounted_folder_holds_the_live_loop_until_it_is_mounted_again() {
    use drivesync_engine::live::PairState;
    use drivesync_engine::Blocker;
    let r = synced().await;
    let (_commands, mut status, task) = spawn_loop(&r);
    status_until(&mut status, |s| s.state == PairState::Idle).await;
    r.fs.unmount();
    // A change on Drive makes the next poll sync; it must not reach the empty mount point.
    let id = r.id_of("a.txt").await;
    r.device_update(&id, b"edited elsewhere").await;
    let held = status_until(&mut status, |s| {
        matches!(s.state, PairState::Blocked { .. })
    })
    .await;
    assert!(
        matches!(&held.state, PairState::Blocked { blocker: Blocker::FolderMissing, message } if message.contains("not mounted")),
        "{held:?}"
    );
    assert!(r.remote.files().iter().all(|f| !f.trashed));
    assert!(r.fs.files().is_empty());
    r.fs.mount();
    status_until(&mut status, |s| s.state == PairState::Idle).await;
    assert_eq!(r.fs.read("a.txt").unwrap(), b"edited elsewhere");
    r.assert_identical().await;
    task.abort();
}
