//! Unit tests of the synced tree and pending creates (the property test is in `tests/`).

use super::*;
use crate::pairs::tests::{new_pair, t};
use drivesync_model::Kind;

/// An entry with Drive id `id` and size `n`.
pub(crate) fn entry(id: &str, n: u64) -> BaseEntry {
    BaseEntry {
        id: DriveId::new(id),
        parent: DriveId::new("parent"),
        remote_name: format!("name-{id}"),
        kind: Kind::File,
        mime_type: "text/plain".into(),
        md5: Some("d41d8cd98f00b204e9800998ecf8427e".parse().unwrap()),
        size: n,
        version: n.wrapping_add(1),
        local: LocalStamp {
            size: n,
            mtime_ns: -5,
            file_id: n.wrapping_add(2),
        },
    }
}

fn p(s: &str) -> RelPath {
    RelPath::new(s).unwrap()
}

fn db_with_pair() -> (StateDb, PairId) {
    let db = StateDb::open_in_memory().unwrap();
    let pair = db.add_pair(&new_pair("p"), t(0)).unwrap().id;
    (db, pair)
}

fn paths(db: &StateDb, pair: PairId) -> Vec<String> {
    db.base(pair)
        .unwrap()
        .keys()
        .map(|k| k.as_str().to_owned())
        .collect()
}

fn puts(list: &[&str]) -> Vec<BaseChange> {
    list.iter()
        .map(|s| BaseChange::Put(p(s), entry(s, 1)))
        .collect()
}

#[test]
fn entries_round_trip_with_every_field() {
    let (db, pair) = db_with_pair();
    let mut e = entry("x", u64::MAX);
    e.local.mtime_ns = i64::MIN;
    e.local.file_id = u64::MAX - 3;
    let mut folder = entry("f", 0);
    folder.kind = Kind::Folder;
    folder.md5 = None;
    let mut link = entry("l", 7);
    link.kind = Kind::Link;
    let weird = p("dir/é 'quoted' 100%_x");
    db.apply(
        pair,
        &[
            BaseChange::Put(p("dir"), folder.clone()),
            BaseChange::Put(weird.clone(), e.clone()),
            BaseChange::Put(p("doc.gdoc"), link.clone()),
        ],
    )
    .unwrap();
    let base = db.base(pair).unwrap();
    assert_eq!(base.len(), 3);
    assert_eq!(base[&p("dir")], folder);
    assert_eq!(base[&weird], e);
    assert_eq!(base[&p("doc.gdoc")], link);
    assert_eq!(db.base_len(pair).unwrap(), 3);
    // Put replaces.
    db.apply(pair, &[BaseChange::Put(weird.clone(), entry("y", 2))])
        .unwrap();
    assert_eq!(db.base(pair).unwrap()[&weird], entry("y", 2));
    assert_eq!(db.base_len(pair).unwrap(), 3);
}

#[test]
fn remove_takes_the_subtree_and_nothing_that_only_shares_a_prefix() {
    let (db, pair) = db_with_pair();
    let all = [
        "a", "a/b", "a/b/c", "ab", "a b", "a-b", "a%", "a_b", "a0", "a.", "é", "é/a",
    ];
    db.apply(pair, &puts(&all)).unwrap();
    db.apply(pair, &[BaseChange::Remove(p("a"))]).unwrap();
    let mut left = paths(&db, pair);
    left.sort();
    let mut want = vec!["ab", "a b", "a-b", "a%", "a_b", "a0", "a.", "é", "é/a"];
    want.sort();
    assert_eq!(left, want);
    db.apply(
        pair,
        &[BaseChange::Remove(p("a%")), BaseChange::Remove(p("é"))],
    )
    .unwrap();
    let mut left = paths(&db, pair);
    left.sort();
    let mut want = vec!["ab", "a b", "a-b", "a_b", "a0", "a."];
    want.sort();
    assert_eq!(left, want);
    // Removing what is not there is fine.
    db.apply(pair, &[BaseChange::Remove(p("zzz/y"))]).unwrap();
}

#[test]
fn move_rebases_the_subtree_and_replaces_targets_only() {
    let (db, pair) = db_with_pair();
    db.apply(
        pair,
        &puts(&["a", "a/x", "a/x/y", "ab", "b", "b/x", "b/keep"]),
    )
    .unwrap();
    db.apply(
        pair,
        &[BaseChange::Move {
            from: p("a"),
            to: p("b"),
        }],
    )
    .unwrap();
    let base = db.base(pair).unwrap();
    let keys: Vec<_> = base.keys().map(|k| k.as_str()).collect();
    assert_eq!(keys, vec!["ab", "b", "b/keep", "b/x", "b/x/y"]);
    // The moved entries keep their content: the target's old rows were replaced.
    assert_eq!(base[&p("b")], entry("a", 1));
    assert_eq!(base[&p("b/x")], entry("a/x", 1));
    assert_eq!(base[&p("b/x/y")], entry("a/x/y", 1));
    assert_eq!(base[&p("b/keep")], entry("b/keep", 1));
}

#[test]
fn move_up_into_an_ancestor_keeps_every_source() {
    let (db, pair) = db_with_pair();
    db.apply(pair, &puts(&["a", "a/b", "a/b/x", "a/b/b", "a/b/b/x"]))
        .unwrap();
    db.apply(
        pair,
        &[BaseChange::Move {
            from: p("a/b"),
            to: p("a"),
        }],
    )
    .unwrap();
    let base = db.base(pair).unwrap();
    let keys: Vec<_> = base.keys().map(|k| k.as_str()).collect();
    assert_eq!(keys, vec!["a", "a/b", "a/b/x", "a/x"]);
    assert_eq!(base[&p("a")], entry("a/b", 1));
    assert_eq!(base[&p("a/x")], entry("a/b/x", 1));
    assert_eq!(base[&p("a/b")], entry("a/b/b", 1));
    assert_eq!(base[&p("a/b/x")], entry("a/b/b/x", 1));
}

#[test]
fn invalid_changes_are_refused_and_nothing_of_their_batch_is_applied() {
    let (db, pair) = db_with_pair();
    db.apply(pair, &puts(&["a", "a/b"])).unwrap();
    let before = db.base(pair).unwrap();
    for bad in [
        BaseChange::Move {
            from: p("a"),
            to: p("a/b/c"),
        },
        BaseChange::Move {
            from: p("a"),
            to: RelPath::root(),
        },
        BaseChange::Remove(RelPath::root()),
        BaseChange::Put(RelPath::root(), entry("r", 1)),
    ] {
        let batch = vec![
            BaseChange::Put(p("new"), entry("n", 1)),
            BaseChange::Remove(p("a/b")),
            bad.clone(),
        ];
        let err = db.apply(pair, &batch).unwrap_err();
        assert!(
            matches!(err, StateError::InvalidChange { .. }),
            "{bad:?}: {err:?}"
        );
        assert_eq!(db.base(pair).unwrap(), before, "{bad:?}");
    }
    // A move onto itself is no change.
    db.apply(
        pair,
        &[BaseChange::Move {
            from: p("a"),
            to: p("a"),
        }],
    )
    .unwrap();
    assert_eq!(db.base(pair).unwrap(), before);
}

#[test]
fn a_batch_that_fails_while_writing_is_rolled_back() {
    let (db, pair) = db_with_pair();
    db.apply(pair, &puts(&["a", "a/b", "c"])).unwrap();
    let before = db.base(pair).unwrap();
    db.conn()
        .execute_batch(
            "CREATE TEMP TRIGGER boom BEFORE INSERT ON main.base WHEN NEW.path = 'boom'
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END;",
        )
        .unwrap();
    let batch = vec![
        BaseChange::Put(p("new"), entry("n", 1)),
        BaseChange::Remove(p("a")),
        BaseChange::Move {
            from: p("c"),
            to: p("d"),
        },
        BaseChange::Put(p("boom"), entry("boom", 1)),
        BaseChange::Put(p("after"), entry("after", 1)),
    ];
    let err = db.apply(pair, &batch).unwrap_err();
    assert!(matches!(err, StateError::Sql { .. }), "{err:?}");
    assert!(err.to_string().contains(":memory:"), "{err}");
    assert_eq!(db.base(pair).unwrap(), before);
    // The database is still usable afterwards.
    db.apply(pair, &puts(&["fine"])).unwrap();
    assert_eq!(db.base_len(pair).unwrap(), 4);
}

#[test]
fn trees_of_pairs_are_separate_and_unknown_pairs_are_refused() {
    let (db, a) = db_with_pair();
    let b = db.add_pair(&new_pair("q"), t(0)).unwrap().id;
    db.apply(a, &puts(&["x", "x/y"])).unwrap();
    db.apply(b, &puts(&["x", "z"])).unwrap();
    db.apply(a, &[BaseChange::Remove(p("x"))]).unwrap();
    assert_eq!(paths(&db, a), Vec::<String>::new());
    assert_eq!(paths(&db, b), vec!["x", "z"]);
    let ghost = PairId(404);
    assert!(matches!(
        db.apply(ghost, &puts(&["x"])),
        Err(StateError::NoSuchPair(PairId(404)))
    ));
    assert_eq!(db.base(ghost).unwrap(), Tree::new());
    assert_eq!(db.base_len(ghost).unwrap(), 0);
}

#[test]
fn unreadable_rows_are_reported_as_corrupt() {
    let (db, pair) = db_with_pair();
    db.apply(pair, &puts(&["x"])).unwrap();
    db.conn()
        .execute(
            "UPDATE base SET md5 = 'zz345678901234567890123456789012'",
            [],
        )
        .unwrap();
    let err = db.base(pair).unwrap_err();
    assert!(matches!(err, StateError::Corrupt { .. }), "{err:?}");
}

#[test]
fn pending_ids_are_kept_per_pair_and_path_until_cleared() {
    let (db, a) = db_with_pair();
    let b = db.add_pair(&new_pair("q"), t(0)).unwrap().id;
    let x = p("dir/new file");
    assert_eq!(db.pending_id(a, &x).unwrap(), None);
    db.set_pending_id(a, &x, &DriveId::new("id1")).unwrap();
    assert_eq!(db.pending_id(a, &x).unwrap(), Some(DriveId::new("id1")));
    assert_eq!(db.pending_id(b, &x).unwrap(), None);
    assert_eq!(db.pending_id(a, &p("dir")).unwrap(), None);
    db.set_pending_id(a, &x, &DriveId::new("id2")).unwrap();
    assert_eq!(db.pending_id(a, &x).unwrap(), Some(DriveId::new("id2")));
    db.clear_pending_id(a, &x).unwrap();
    assert_eq!(db.pending_id(a, &x).unwrap(), None);
    db.clear_pending_id(a, &x).unwrap();
    assert!(matches!(
        db.set_pending_id(PairId(404), &x, &DriveId::new("i")),
        Err(StateError::NoSuchPair(_))
    ));
    assert!(matches!(
        db.set_pending_id(a, &RelPath::root(), &DriveId::new("i")),
        Err(StateError::InvalidChange { .. })
    ));
}

#[test]
fn pending_ids_in_bulk_are_all_or_nothing() {
    let (db, a) = db_with_pair();
    let ids = vec![
        (p("x"), DriveId::new("id1")),
        (p("y/z"), DriveId::new("id2")),
    ];
    db.set_pending_ids(a, &ids).unwrap();
    assert_eq!(
        db.pending_id(a, &p("y/z")).unwrap(),
        Some(DriveId::new("id2"))
    );
    let bad = vec![
        (p("w"), DriveId::new("id3")),
        (RelPath::root(), DriveId::new("id4")),
    ];
    assert!(db.set_pending_ids(a, &bad).is_err());
    assert_eq!(db.pending_id(a, &p("w")).unwrap(), None);
}

#[test]
fn commit_op_updates_the_tree_ends_pending_creates_and_logs_in_one_go() {
    let (db, a) = db_with_pair();
    db.set_pending_id(a, &p("new.txt"), &DriveId::new("id9"))
        .unwrap();
    let act = crate::NewActivity {
        at: chrono::Utc::now(),
        kind: crate::ActivityKind::Uploaded,
        path: Some(p("new.txt")),
        message: "uploaded".into(),
    };
    db.commit_op(
        a,
        &[BaseChange::Put(p("new.txt"), entry("id9", 1))],
        Some(&act),
    )
    .unwrap();
    assert_eq!(db.pending_id(a, &p("new.txt")).unwrap(), None);
    assert_eq!(paths(&db, a), vec!["new.txt"]);
    assert_eq!(db.activity(&Default::default()).unwrap().len(), 1);
}

#[test]
fn relist_forgets_only_this_pairs_cursor_with_the_rest_of_the_op() {
    let (db, a) = db_with_pair();
    let b = db.add_pair(&new_pair("q"), t(0)).unwrap().id;
    let c = drivesync_model::Cursor("42".into());
    db.set_cursor(a, &c).unwrap();
    db.set_cursor(b, &c).unwrap();
    db.apply(a, &puts(&["x"])).unwrap();
    db.apply(a, &[BaseChange::Remove(p("x")), BaseChange::Relist])
        .unwrap();
    assert_eq!(db.cursor(a).unwrap(), None);
    assert_eq!(db.cursor(b).unwrap(), Some(c));
    assert_eq!(paths(&db, a), Vec::<String>::new());
}

#[test]
fn pending_ids_lists_every_pending_create_of_the_pair() {
    let (db, a) = db_with_pair();
    let b = db.add_pair(&new_pair("q"), t(0)).unwrap().id;
    db.set_pending_ids(
        a,
        &[(p("x"), DriveId::new("1")), (p("y/z"), DriveId::new("2"))],
    )
    .unwrap();
    db.set_pending_id(b, &p("x"), &DriveId::new("3")).unwrap();
    let mut got = db.pending_ids(a).unwrap();
    got.sort();
    assert_eq!(
        got,
        vec![(p("x"), DriveId::new("1")), (p("y/z"), DriveId::new("2"))]
    );
}

#[test]
fn ops_committed_together_stay_all_or_nothing_each() {
    let (db, pair) = db_with_pair();
    // The database refuses one row: that op is rolled back alone, whole.
    db.conn()
        .execute_batch(
            "CREATE TEMP TRIGGER refuse BEFORE INSERT ON base WHEN NEW.path = 'bad'
             BEGIN SELECT RAISE(ABORT, 'refused'); END;",
        )
        .unwrap();
    let good = puts(&["a", "a2"]);
    let bad = puts(&["bad-sibling", "bad"]);
    let invalid = vec![BaseChange::Remove(RelPath::root())];
    let last = puts(&["z"]);
    let results = db
        .commit_ops(
            pair,
            &[(&good, None), (&bad, None), (&invalid, None), (&last, None)],
        )
        .unwrap();
    let ok: Vec<bool> = results.iter().map(Result::is_ok).collect();
    assert_eq!(ok, [true, false, false, true]);
    assert!(matches!(results[2], Err(StateError::InvalidChange { .. })));
    assert_eq!(paths(&db, pair), ["a", "a2", "z"]);
    // Without a failure, one transaction for all.
    let more = puts(&["m"]);
    let results = db
        .commit_ops(pair, &[(&more, None), (&invalid, None)])
        .unwrap();
    assert!(results[0].is_ok() && results[1].is_err());
    assert_eq!(paths(&db, pair), ["a", "a2", "m", "z"]);
}
