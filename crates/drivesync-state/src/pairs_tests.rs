//! Unit tests of pairs and cursors.

use super::*;
use crate::types::{NewActivity, NewConflict};
use crate::{ActivityKind, ActivityQuery, BaseChange, RelPath};

/// A time `s` seconds after an arbitrary epoch.
pub(crate) fn t(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
}

/// A pair named `name` syncing `/home/u/<name>`.
pub(crate) fn new_pair(name: &str) -> NewPair {
    NewPair {
        name: name.into(),
        local_root: format!("/home/u/{name}").into(),
        remote_root: DriveId::new(format!("root-{name}")),
        remote_path: format!("My Drive/{name}"),
        settings: PairSettings::default(),
    }
}

#[test]
fn pairs_round_trip_and_are_found_by_name_or_id() {
    let db = StateDb::open_in_memory().unwrap();
    let a = db.add_pair(&new_pair("docs"), t(1)).unwrap();
    let b = db.add_pair(&new_pair("42"), t(2)).unwrap();
    assert_ne!(a.id, b.id);
    assert_eq!(db.pairs().unwrap(), vec![a.clone(), b.clone()]);
    assert_eq!(db.pair(a.id).unwrap(), Some(a.clone()));
    assert_eq!(db.pair(PairId(999)).unwrap(), None);
    assert_eq!(db.find_pair("docs").unwrap(), Some(a.clone()));
    assert_eq!(db.find_pair(&a.id.to_string()).unwrap(), Some(a.clone()));
    // A name wins over an id.
    assert_eq!(db.find_pair("42").unwrap(), Some(b));
    assert_eq!(db.find_pair("nope").unwrap(), None);
    assert_eq!(db.find_pair("999").unwrap(), None);
}

#[test]
fn duplicate_names_and_folders_are_refused() {
    let db = StateDb::open_in_memory().unwrap();
    db.add_pair(&new_pair("docs"), t(1)).unwrap();
    let mut same_name = new_pair("docs");
    same_name.local_root = "/elsewhere".into();
    let err = db.add_pair(&same_name, t(2)).unwrap_err();
    assert!(
        matches!(&err, StateError::PairExists { field: PairField::Name, value } if value == "docs"),
        "{err:?}"
    );
    let mut same_root = new_pair("other");
    same_root.local_root = "/home/u/docs".into();
    let err = db.add_pair(&same_root, t(2)).unwrap_err();
    assert!(
        matches!(
            &err,
            StateError::PairExists {
                field: PairField::LocalRoot,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(db.pairs().unwrap().len(), 1);
}

#[test]
fn settings_last_sync_and_cursor_are_saved() {
    let db = StateDb::open_in_memory().unwrap();
    let p = db.add_pair(&new_pair("docs"), t(1)).unwrap();
    let s = PairSettings {
        concurrency: 2,
        export_docs: true,
        ..PairSettings::default()
    };
    db.set_settings(p.id, &s).unwrap();
    db.set_last_sync(p.id, t(50)).unwrap();
    assert_eq!(db.cursor(p.id).unwrap(), None);
    db.set_cursor(p.id, &Cursor("tok-1".into())).unwrap();
    db.set_cursor(p.id, &Cursor("tok-2".into())).unwrap();
    let got = db.pair(p.id).unwrap().unwrap();
    assert_eq!(got.settings, s);
    assert_eq!(got.last_sync, Some(t(50)));
    assert_eq!(got.created, t(1));
    assert_eq!(db.cursor(p.id).unwrap(), Some(Cursor("tok-2".into())));

    let ghost = PairId(77);
    assert!(matches!(
        db.set_settings(ghost, &s),
        Err(StateError::NoSuchPair(PairId(77)))
    ));
    assert!(matches!(
        db.set_last_sync(ghost, t(3)),
        Err(StateError::NoSuchPair(_))
    ));
    assert!(matches!(
        db.set_cursor(ghost, &Cursor("x".into())),
        Err(StateError::NoSuchPair(_))
    ));
    assert_eq!(db.cursor(ghost).unwrap(), None);
}

#[test]
fn folders_to_list_again_are_replaced_whole_and_kept_per_pair() {
    let db = StateDb::open_in_memory().unwrap();
    let a = db.add_pair(&new_pair("a"), t(1)).unwrap();
    let b = db.add_pair(&new_pair("b"), t(1)).unwrap();
    assert_eq!(db.relist(a.id).unwrap(), vec![]);
    let ids = |v: &[&str]| v.iter().map(|s| DriveId::new(*s)).collect::<Vec<_>>();
    db.set_relist(a.id, &ids(&["f2", "f1", "f2"])).unwrap();
    db.set_relist(b.id, &ids(&["g"])).unwrap();
    assert_eq!(db.relist(a.id).unwrap(), ids(&["f1", "f2"]));
    db.set_relist(a.id, &ids(&["f3"])).unwrap();
    assert_eq!(db.relist(a.id).unwrap(), ids(&["f3"]));
    db.set_relist(a.id, &[]).unwrap();
    assert_eq!(db.relist(a.id).unwrap(), vec![]);
    assert_eq!(db.relist(b.id).unwrap(), ids(&["g"]));
    assert!(matches!(
        db.set_relist(PairId(999), &ids(&["x"])),
        Err(StateError::NoSuchPair(_))
    ));
}

#[test]
fn unreadable_settings_are_reported_as_corrupt() {
    let db = StateDb::open_in_memory().unwrap();
    let p = db.add_pair(&new_pair("docs"), t(1)).unwrap();
    db.conn()
        .execute("UPDATE pairs SET settings = 'not json'", [])
        .unwrap();
    assert!(matches!(db.pair(p.id), Err(StateError::Corrupt { .. })));
}

#[test]
fn removing_a_pair_removes_its_rows_and_nothing_else() {
    let db = StateDb::open_in_memory().unwrap();
    let fill = |name: &str| {
        let p = db.add_pair(&new_pair(name), t(1)).unwrap();
        let path = RelPath::new("a/b").unwrap();
        let entry = crate::tree::tests::entry("x", 1);
        db.apply(p.id, &[BaseChange::Put(path.clone(), entry)])
            .unwrap();
        db.set_cursor(p.id, &Cursor("c".into())).unwrap();
        db.set_pending_id(p.id, &path, &DriveId::new("gen"))
            .unwrap();
        let a = NewActivity {
            at: t(2),
            kind: ActivityKind::Uploaded,
            path: Some(path.clone()),
            message: "up".into(),
        };
        db.log(Some(p.id), &a).unwrap();
        let c = NewConflict {
            at: t(3),
            path: path.clone(),
            copy: RelPath::new("a/b (conflict)").unwrap(),
            host: "h".into(),
        };
        db.add_conflict(p.id, &c).unwrap();
        db.set_relist(p.id, &[DriveId::new("moved-in")]).unwrap();
        p
    };
    let gone = fill("gone");
    let kept = fill("kept");
    db.log(
        None,
        &NewActivity {
            at: t(4),
            kind: ActivityKind::Info,
            path: None,
            message: "app started".into(),
        },
    )
    .unwrap();

    assert!(db.remove_pair(gone.id).unwrap());
    assert!(!db.remove_pair(gone.id).unwrap());

    assert_eq!(db.pairs().unwrap(), vec![kept.clone()]);
    assert_eq!(db.base_len(gone.id).unwrap(), 0);
    assert_eq!(db.cursor(gone.id).unwrap(), None);
    let path = RelPath::new("a/b").unwrap();
    assert_eq!(db.pending_id(gone.id, &path).unwrap(), None);
    assert_eq!(db.conflicts(Some(gone.id)).unwrap(), vec![]);
    let q = |pair| ActivityQuery {
        pair,
        ..ActivityQuery::default()
    };
    assert_eq!(db.activity(&q(Some(gone.id))).unwrap(), vec![]);
    for table in ["base", "pending_creates", "activity", "conflicts", "relist"] {
        let n: i64 = db
            .conn()
            .query_row(
                &format!("SELECT count(*) FROM {table} WHERE pair = ?1"),
                [gone.id.0],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 0, "{table}");
    }

    assert_eq!(db.base_len(kept.id).unwrap(), 1);
    assert_eq!(db.cursor(kept.id).unwrap(), Some(Cursor("c".into())));
    assert_eq!(
        db.pending_id(kept.id, &path).unwrap(),
        Some(DriveId::new("gen"))
    );
    assert_eq!(db.conflicts(Some(kept.id)).unwrap().len(), 1);
    assert_eq!(db.activity(&q(Some(kept.id))).unwrap().len(), 1);
    // The app-wide entry stays too.
    assert_eq!(db.activity(&q(None)).unwrap().len(), 2);

    // Ids are not reused.
    let again = db.add_pair(&new_pair("gone"), t(9)).unwrap();
    assert!(again.id > kept.id);
}

#[cfg(unix)]
#[test]
fn non_utf8_roots_are_refused() {
    use std::os::unix::ffi::OsStrExt;
    let db = StateDb::open_in_memory().unwrap();
    let mut p = new_pair("x");
    p.local_root = std::ffi::OsStr::from_bytes(b"/home/\xff").into();
    assert!(matches!(
        db.add_pair(&p, t(1)),
        Err(StateError::NonUtf8Root { .. })
    ));
}

#[test]
fn a_pairs_folder_identity_is_recorded_and_replaced() {
    let db = StateDb::open_in_memory().unwrap();
    let a = db.add_pair(&new_pair("a"), t(1)).unwrap().id;
    let b = db.add_pair(&new_pair("b"), t(1)).unwrap().id;
    assert_eq!(db.root_id(a).unwrap(), None, "not recorded at first");
    let first = RootId {
        device: u64::MAX,
        file_id: 7,
    };
    db.set_root_id(a, Some(first)).unwrap();
    assert_eq!(db.root_id(a).unwrap(), Some(first));
    assert_eq!(db.root_id(b).unwrap(), None, "per pair");
    let second = RootId {
        device: 2,
        file_id: 9,
    };
    db.set_root_id(a, Some(second)).unwrap();
    assert_eq!(db.root_id(a).unwrap(), Some(second));
    db.set_root_id(a, None).unwrap();
    assert_eq!(db.root_id(a).unwrap(), None);
    assert!(matches!(
        db.set_root_id(PairId(999), Some(first)),
        Err(StateError::NoSuchPair(_))
    ));
}
