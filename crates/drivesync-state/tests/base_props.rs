//! Property tests: random batches of [`BaseChange`] over small paths whose names share
//! prefixes and hold SQL wildcards give the same synced tree in the database as in a plain
//! `BTreeMap` reference model, batch by batch, and after reopening the file.

use std::collections::BTreeMap;

use chrono::DateTime;
use drivesync_state::{
    BaseChange, BaseEntry, DriveId, Kind, LocalStamp, Md5, NewPair, PairId, PairSettings, RelPath,
    StateDb, StateError,
};
use proptest::prelude::*;

type Model = BTreeMap<RelPath, BaseEntry>;

/// Names that are prefixes of each other, SQL `LIKE` wildcards, a quote, non-ASCII.
const NAMES: &[&str] = &["a", "ab", "a_b", "a%", "é", "'"];

fn path() -> impl Strategy<Value = RelPath> {
    prop::collection::vec(prop::sample::select(NAMES), 1..=3)
        .prop_map(|parts| RelPath::new(parts.join("/")).unwrap())
}

fn entry() -> impl Strategy<Value = BaseEntry> {
    (
        (0u8..4, 0u8..3, any::<Option<[u8; 16]>>()),
        (
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
            any::<i64>(),
            any::<u64>(),
        ),
    )
        .prop_map(
            |((id, kind, md5), (size, version, lsize, mtime_ns, file_id))| BaseEntry {
                id: DriveId::new(format!("id{id}")),
                parent: DriveId::new(format!("parent{}", id % 2)),
                remote_name: format!("n{id}"),
                kind: [Kind::File, Kind::Folder, Kind::Link][kind as usize],
                mime_type: "application/octet-stream".into(),
                md5: md5.map(Md5),
                size,
                version,
                local: LocalStamp {
                    size: lsize,
                    mtime_ns,
                    file_id,
                },
            },
        )
}

/// One step of a batch. Most name their paths directly; `OnExisting` picks an entry of the
/// tree as it is when the step is reached (by index), so moves and removes often hit real,
/// dense subtrees instead of empty paths.
#[derive(Debug, Clone)]
enum Step {
    Change(BaseChange),
    /// Put `path` and every ancestor of it.
    PutChain(RelPath, BaseEntry),
    OnExisting {
        pick: prop::sample::Index,
        what: Target,
    },
}

/// What an `OnExisting` step does with the entry it picked.
#[derive(Debug, Clone)]
enum Target {
    Remove,
    /// Move onto its parent (so targets are also sources: `a/b` onto `a` makes `a/b/b` the
    /// new `a/b`).
    MoveToParent,
    /// Move under another top-level name, keeping the rest (so targets often exist).
    MoveToTop(&'static str),
    /// Move anywhere (into its own subtree too, which must be refused).
    MoveTo(RelPath),
}

fn step() -> impl Strategy<Value = Step> {
    let target = prop_oneof![
        Just(Target::Remove),
        Just(Target::MoveToParent),
        prop::sample::select(NAMES).prop_map(Target::MoveToTop),
        path().prop_map(Target::MoveTo),
    ];
    prop_oneof![
        2 => (path(), entry()).prop_map(|(p, e)| Step::Change(BaseChange::Put(p, e))),
        2 => (path(), entry()).prop_map(|(p, e)| Step::PutChain(p, e)),
        1 => path().prop_map(|p| Step::Change(BaseChange::Remove(p))),
        1 => (path(), path()).prop_map(|(from, to)| Step::Change(BaseChange::Move { from, to })),
        4 => (any::<prop::sample::Index>(), target)
            .prop_map(|(pick, what)| Step::OnExisting { pick, what }),
    ]
}

/// The changes `step` stands for, given the tree `now`.
fn resolve(step: &Step, now: &Model) -> Vec<BaseChange> {
    match step {
        Step::Change(c) => vec![c.clone()],
        Step::PutChain(p, e) => {
            let mut chain = vec![];
            let mut at = Some(p.clone());
            while let Some(q) = at.filter(|q| !q.is_root()) {
                at = q.parent();
                chain.push(BaseChange::Put(q, e.clone()));
            }
            chain
        }
        Step::OnExisting { pick, what } => {
            if now.is_empty() {
                return vec![];
            }
            let from = now.keys().nth(pick.index(now.len())).unwrap().clone();
            let to = match what {
                Target::Remove => return vec![BaseChange::Remove(from)],
                Target::MoveToParent => match from.parent().filter(|p| !p.is_root()) {
                    Some(p) => p,
                    None => return vec![],
                },
                Target::MoveToTop(top) => {
                    let mut to = RelPath::new(*top).unwrap();
                    for c in from.components().skip(1) {
                        to = to.join(c).unwrap();
                    }
                    to
                }
                Target::MoveTo(to) => to.clone(),
            };
            vec![BaseChange::Move { from, to }]
        }
    }
}

fn batches(max: usize) -> impl Strategy<Value = Vec<Vec<Step>>> {
    prop::collection::vec(prop::collection::vec(step(), 1..5), 1..max)
}

/// The batch of changes `steps` stand for, starting from `model` (steps see the effect of
/// the steps before them; a step after an invalid change sees the tree before it).
fn resolve_batch(steps: &[Step], model: &Model) -> Vec<BaseChange> {
    let mut now = model.clone();
    let mut out = vec![];
    for s in steps {
        let changes = resolve(s, &now);
        let _ = model_apply(&mut now, &changes);
        out.extend(changes);
    }
    out
}

/// The reference semantics of one batch: all of it, or (`Err`) none of it.
fn model_apply(model: &mut Model, batch: &[BaseChange]) -> Result<(), ()> {
    let mut next = model.clone();
    for c in batch {
        match c {
            BaseChange::Put(p, e) => {
                next.insert(p.clone(), e.clone());
            }
            BaseChange::Remove(p) => next.retain(|k, _| !k.starts_with(p)),
            BaseChange::Move { from, to } if from == to => {}
            BaseChange::Move { from, to } if to.starts_with(from) => return Err(()),
            BaseChange::Relist => {}
            BaseChange::Move { from, to } => {
                let moved: Vec<_> = next
                    .iter()
                    .filter(|(k, _)| k.starts_with(from))
                    .map(|(k, v)| (k.rebase(from, to).unwrap(), v.clone()))
                    .collect();
                next.retain(|k, _| !k.starts_with(from));
                next.extend(moved);
            }
        }
    }
    *model = next;
    Ok(())
}

fn add_pair(db: &StateDb, name: &str) -> PairId {
    let new = NewPair {
        name: name.into(),
        local_root: format!("/sync/{name}").into(),
        remote_root: DriveId::new("root"),
        remote_path: "My Drive".into(),
        settings: PairSettings::default(),
    };
    db.add_pair(&new, DateTime::from_timestamp(0, 0).unwrap())
        .unwrap()
        .id
}

/// Applies every batch to both, checking after each that they agree (and that a
/// bystander pair, given the same first batch, is never touched afterwards).
fn run(db: &StateDb, batches: &[Vec<Step>]) -> Result<Model, TestCaseError> {
    let pair = add_pair(db, "p");
    let other = add_pair(db, "other");
    let mut bystander = Model::new();
    let first = resolve_batch(&batches[0], &bystander);
    if model_apply(&mut bystander, &first).is_ok() {
        db.apply(other, &first).unwrap();
    }
    let mut model = Model::new();
    for steps in batches {
        let batch = resolve_batch(steps, &model);
        let want = model_apply(&mut model, &batch);
        let got = db.apply(pair, &batch);
        match (&want, &got) {
            (Ok(()), Ok(())) => {}
            (Err(()), Err(StateError::InvalidChange { .. })) => {}
            _ => prop_assert!(false, "model {want:?}, db {got:?} for {batch:?}"),
        }
        prop_assert_eq!(&db.base(pair).unwrap(), &model);
        prop_assert_eq!(db.base_len(pair).unwrap(), model.len() as u64);
    }
    prop_assert_eq!(&db.base(other).unwrap(), &bystander);
    Ok(model)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_db_tree_follows_the_reference_model(batches in batches(12)) {
        let db = StateDb::open_in_memory().unwrap();
        run(&db, &batches)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn the_tree_survives_reopening_the_file(batches in batches(8)) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("state.db");
        let model = {
            let db = StateDb::open(&file).unwrap();
            run(&db, &batches)?
        };
        let db = StateDb::open(&file).unwrap();
        let pair = db.find_pair("p").unwrap().unwrap().id;
        prop_assert_eq!(db.base(pair).unwrap(), model);
    }
}

/// The model itself: `a` does not contain `ab`, and a move onto an ancestor keeps every
/// source (a check that the reference is the intended one, not just equal to the db).
#[test]
fn the_model_means_what_it_should() {
    let p = |s: &str| RelPath::new(s).unwrap();
    let e = |n: &str| BaseEntry {
        id: DriveId::new(n),
        parent: DriveId::new("r"),
        remote_name: n.into(),
        kind: Kind::File,
        mime_type: "x".into(),
        md5: None,
        size: 0,
        version: 0,
        local: LocalStamp {
            size: 0,
            mtime_ns: 0,
            file_id: 0,
        },
    };
    let mut m = Model::new();
    let puts: Vec<_> = ["a", "a/b", "a/b/b", "ab"]
        .iter()
        .map(|s| BaseChange::Put(p(s), e(s)))
        .collect();
    model_apply(&mut m, &puts).unwrap();
    model_apply(
        &mut m,
        &[BaseChange::Move {
            from: p("a/b"),
            to: p("a"),
        }],
    )
    .unwrap();
    let keys: Vec<_> = m.iter().map(|(k, v)| (k.as_str(), v.id.as_str())).collect();
    assert_eq!(keys, [("a", "a/b"), ("a/b", "a/b/b"), ("ab", "ab")]);
    model_apply(&mut m, &[BaseChange::Remove(p("a"))]).unwrap();
    assert_eq!(m.keys().map(RelPath::as_str).collect::<Vec<_>>(), ["ab"]);
    assert!(model_apply(
        &mut m,
        &[BaseChange::Move {
            from: p("ab"),
            to: p("ab/x"),
        }]
    )
    .is_err());
}
