use std::path::PathBuf;

use chrono::Utc;
use drivesync_model::RelPath;
use drivesync_state::{ActivityKind, PairId};

use super::*;

fn pair(id: i64, state: PairState) -> PairStatus {
    PairStatus {
        pair: id,
        name: format!("p{id}"),
        local: PathBuf::from("/x"),
        state,
        last_sync: None,
        pending_local: 0,
        failed_files: 0,
        watch_problem: None,
    }
}

fn daemon(pairs: Vec<PairStatus>) -> DaemonStatus {
    DaemonStatus {
        pid: 1,
        started: Utc::now(),
        account_problem: None,
        pairs,
        upload_limit: None,
        download_limit: None,
    }
}

fn progress(pair: i64, path: &str, done: u64, total: u64) -> PairEvent {
    PairEvent {
        pair: PairId(pair),
        event: Event::Progress {
            path: RelPath::new(path).unwrap(),
            done,
            total,
            upload: true,
        },
    }
}

#[test]
fn progress_is_thinned_per_file_but_the_first_and_last_updates_always_show() {
    let mut board = TransferBoard::default();
    let t0 = Instant::now();
    let first = board.apply(&progress(1, "a.bin", 10, 100), t0).unwrap();
    assert_eq!((first.done, first.total, first.finished), (10, 100, false));
    assert!(board
        .apply(
            &progress(1, "a.bin", 20, 100),
            t0 + Duration::from_millis(50)
        )
        .is_none());
    let later = board
        .apply(&progress(1, "a.bin", 60, 100), t0 + Duration::from_secs(2))
        .unwrap();
    assert_eq!(later.done, 60);
    assert_eq!(later.bytes_per_sec, 30, "60 bytes in 2 s");
    let last = board
        .apply(
            &progress(1, "a.bin", 100, 100),
            t0 + Duration::from_millis(2010),
        )
        .unwrap();
    assert_eq!(last.done, 100);
    // Another pair's file of the same name is another transfer.
    assert!(board.apply(&progress(2, "a.bin", 1, 5), t0).is_some());
    assert_eq!(board.current().len(), 2);
}

#[test]
fn a_finished_op_ends_its_transfer_once() {
    let mut board = TransferBoard::default();
    let t0 = Instant::now();
    board.apply(&progress(1, "a.bin", 10, 100), t0);
    let finished = PairEvent {
        pair: PairId(1),
        event: Event::Finished {
            path: RelPath::new("a.bin").unwrap(),
            kind: ActivityKind::Uploaded,
            message: "uploaded".into(),
            bytes: 100,
        },
    };
    let end = board.apply(&finished, t0).unwrap();
    assert!(end.finished);
    assert!(board.apply(&finished, t0).is_none());
    assert!(board.current().is_empty());
}

#[test]
fn the_most_urgent_state_wins() {
    let idle = pair(1, PairState::Idle);
    assert_eq!(
        app_status(&daemon(vec![idle.clone()]), vec![]).overall,
        Overall::InSync
    );
    let syncing = pair(2, PairState::Syncing);
    let s = app_status(&daemon(vec![idle.clone(), syncing.clone()]), vec![]);
    assert_eq!(
        (s.overall, s.summary.as_str()),
        (Overall::Syncing, "Syncing")
    );
    let retrying = pair(
        3,
        PairState::Retrying {
            message: "connection refused".into(),
        },
    );
    let s = app_status(&daemon(vec![syncing.clone(), retrying.clone()]), vec![]);
    assert_eq!(s.overall, Overall::Offline);
    assert!(s.summary.contains("connection refused"), "{}", s.summary);
    let blocked = pair(
        4,
        PairState::Blocked {
            blocker: Blocker::FolderMissing,
            message: "the folder /x is missing".into(),
        },
    );
    let s = app_status(&daemon(vec![retrying, blocked]), vec![]);
    assert_eq!(s.overall, Overall::Attention);
    assert_eq!(s.summary, "p4: the folder /x is missing");
    let mut failing = idle.clone();
    failing.failed_files = 2;
    let s = app_status(&daemon(vec![failing]), vec![]);
    assert_eq!(
        (s.overall, s.summary.as_str()),
        (Overall::Attention, "2 files could not be synced")
    );
    let mut signed_out = daemon(vec![syncing]);
    signed_out.account_problem = Some("not signed in".into());
    assert_eq!(
        app_status(&signed_out, vec![]).overall,
        Overall::NotConnected
    );
}

#[test]
fn paused_only_when_every_pair_is_and_transfers_count_as_syncing() {
    let paused = pair(1, PairState::Paused);
    let idle = pair(2, PairState::Idle);
    assert_eq!(
        app_status(&daemon(vec![paused.clone()]), vec![]).overall,
        Overall::Paused
    );
    assert_eq!(
        app_status(&daemon(vec![paused, idle.clone()]), vec![]).overall,
        Overall::InSync
    );
    let mut board = TransferBoard::default();
    board.apply(&progress(2, "a", 1, 2), Instant::now());
    let s = app_status(&daemon(vec![idle]), board.current());
    assert_eq!(
        (s.overall, s.summary.as_str()),
        (Overall::Syncing, "Syncing 1 file")
    );
    assert_eq!(
        app_status(&daemon(vec![]), vec![]).summary,
        "No folders are synced yet"
    );
}
