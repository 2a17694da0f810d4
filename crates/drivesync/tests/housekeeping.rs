//! Housekeeping prunes what grows without bound: old activity entries, old upload sessions
//! and each pair's old fallback trash, never the trash of a folder that is not the pair's.

use chrono::{Duration, TimeZone, Utc};
use drivesync::{Drivesync, Overrides};
use drivesync_localfs::StdFs;
use drivesync_model::{DriveId, PairSettings, Sensitive};
use drivesync_state::{ActivityKind, ActivityQuery, NewActivity, NewPair, StoredSession};

#[tokio::test]
async fn old_activity_sessions_and_fallback_trash_are_pruned_where_the_folder_is_the_pairs() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "data_dir = \"state\"\n").unwrap();
    let app = Drivesync::open(&Overrides {
        config_file: Some(config),
        endpoint: None,
    })
    .unwrap();
    let db = app.state().unwrap();
    let now = Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap();
    let mut pairs = Vec::new();
    for name in ["mine", "unplugged"] {
        let root = dir.path().join(name);
        let trash = root.join(".drivesync-trash");
        std::fs::create_dir_all(trash.join("20261001-000000")).unwrap();
        std::fs::create_dir_all(trash.join("20261130-000000")).unwrap();
        let pair = db
            .add_pair(
                &NewPair {
                    name: name.into(),
                    local_root: root.clone(),
                    remote_root: DriveId::new(name),
                    remote_path: format!("/{name}"),
                    settings: PairSettings::default(),
                },
                now,
            )
            .unwrap();
        drivesync_engine::anchor(&StdFs::new(root.clone()), &db, &pair)
            .await
            .unwrap();
        pairs.push((pair, root));
    }
    // The second pair's folder is now another one (its disk is not mounted).
    let (_, unplugged) = &pairs[1];
    std::fs::rename(unplugged, dir.path().join("away")).unwrap();
    std::fs::create_dir_all(unplugged.join(".drivesync-trash/20260101-000000")).unwrap();

    let entry = |days: i64| NewActivity {
        at: now - Duration::days(days),
        kind: ActivityKind::Info,
        path: None,
        message: format!("{days} days ago"),
    };
    for days in [200, 91, 3] {
        db.log(Some(pairs[0].0.id), &entry(days)).unwrap();
    }
    let session = StoredSession {
        uri: Sensitive::new("https://www.googleapis.com/upload?upload_id=x".into()),
        size: 1,
        file_id: None,
    };
    db.save_upload_session("old", &session, now - Duration::days(8))
        .unwrap();
    db.save_upload_session("new", &session, now - Duration::hours(1))
        .unwrap();

    let pruned = app.prune(&db, now).await.unwrap();
    assert_eq!(
        (
            pruned.activity,
            pruned.upload_sessions,
            pruned.trash_folders
        ),
        (2, 1, 1)
    );
    let left = db.activity(&ActivityQuery::default()).unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].message, "3 days ago");
    assert!(db.upload_session("old").unwrap().is_none());
    assert!(db.upload_session("new").unwrap().is_some());
    let mine = pairs[0].1.join(".drivesync-trash");
    assert!(!mine.join("20261001-000000").exists(), "older than 30 days");
    assert!(mine.join("20261130-000000").exists());
    assert!(
        unplugged.join(".drivesync-trash/20260101-000000").exists(),
        "not the pair's folder: untouched"
    );
}
