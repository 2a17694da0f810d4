//! Property tests of the planner (CanopyCheck style): random correlated histories of both
//! sides, synced at random points. After every sync: no op trashed a changed file, both sides
//! are identical, every file version that existed is on a side or in a trash, and planning
//! again gives nothing. Ops of one batch are applied in a random order.

use chrono::{TimeZone, Utc};
use drivesync_model::{Kind, LocalEntry, Md5, RelPath, RemoteEntry};
use drivesync_reconcile::sim::World;
use drivesync_reconcile::{plan, NameRules, Op, PlanContext};
use proptest::prelude::*;

fn ctx() -> PlanContext {
    PlanContext {
        host: "host".into(),
        now: Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
        rules: NameRules::default(),
    }
}

/// Every path of depth 1 to 3 over a few names: small, so histories collide often.
fn universe() -> Vec<RelPath> {
    let names = ["a", "b", "c.txt"];
    let mut out: Vec<RelPath> = names.iter().map(|n| RelPath::new(*n).unwrap()).collect();
    for _ in 0..2 {
        let more: Vec<RelPath> = out
            .iter()
            .flat_map(|p| names.iter().map(move |n| p.join(n).unwrap()))
            .collect();
        out.extend(more);
    }
    out.sort();
    out.dedup();
    out
}

#[derive(Debug, Clone)]
enum Act {
    LocalWrite(usize),
    LocalMkdir(usize),
    LocalRm(usize),
    LocalMv(usize, usize),
    RemoteWrite(usize),
    RemoteMkdir(usize),
    RemoteRm(usize),
    RemoteMv(usize, usize),
    RemoteDoc(usize),
    BothWrite(usize),
    Sync(u64),
}

fn act() -> impl Strategy<Value = Act> {
    let i = 0..usize::MAX;
    prop_oneof![
        3 => i.clone().prop_map(Act::LocalWrite),
        1 => i.clone().prop_map(Act::LocalMkdir),
        2 => i.clone().prop_map(Act::LocalRm),
        2 => (i.clone(), i.clone()).prop_map(|(a, b)| Act::LocalMv(a, b)),
        3 => i.clone().prop_map(Act::RemoteWrite),
        1 => i.clone().prop_map(Act::RemoteMkdir),
        2 => i.clone().prop_map(Act::RemoteRm),
        2 => (i.clone(), i.clone()).prop_map(|(a, b)| Act::RemoteMv(a, b)),
        1 => i.clone().prop_map(Act::RemoteDoc),
        1 => i.clone().prop_map(Act::BothWrite),
        2 => any::<u64>().prop_map(Act::Sync),
    ]
}

fn content(w: &mut World) -> Md5 {
    let n = w.tick();
    let mut m = [0u8; 16];
    m[..8].copy_from_slice(&n.to_le_bytes());
    m[8] = 1 + (n % 200) as u8;
    Md5(m)
}

/// Checks, right before it runs, that a trash op discards no version the synced tree lacks.
fn check_no_changed_file_trashed(w: &World, op: &Op) {
    let remote = w.remote_tree(&ctx().rules);
    {
        match op {
            Op::TrashLocal { expect, .. } => {
                for k in expect.keys() {
                    let l = w
                        .local
                        .get(k)
                        .unwrap_or_else(|| panic!("{k} expected but absent"));
                    if l.kind == Kind::File {
                        assert_eq!(
                            w.base.get(k).and_then(|b| b.md5),
                            l.md5,
                            "trashes changed local file {k}"
                        );
                    }
                }
            }
            Op::TrashRemote { path, .. } => {
                for (k, r) in remote
                    .range(path.clone()..)
                    .take_while(|(k, _)| k.starts_with(path))
                {
                    if r.kind == Kind::File {
                        let b = w
                            .base
                            .get(k)
                            .unwrap_or_else(|| panic!("trashes new remote {k}"));
                        assert_eq!((&b.id, b.md5), (&r.id, r.md5), "trashes changed remote {k}");
                    }
                }
            }
            _ => {}
        }
    }
}

fn sync(w: &mut World, seed: u64) {
    let before = w.all_content();
    let remote = w.remote_tree(&ctx().rules);
    let plan = plan(
        &w.base,
        &if seed.is_multiple_of(3) {
            w.local.clone()
        } else {
            w.local_unread_new(&remote)
        },
        &remote,
        &ctx(),
    );
    for op in &plan.ops {
        if let Op::ConflictCopy { path, .. } = op {
            let (l, r) = (w.local.get(path), remote.get(path));
            let same = |l: &LocalEntry, r: &RemoteEntry| {
                l.kind == Kind::File && r.kind == Kind::File && l.md5 == r.md5
            };
            assert!(
                !l.zip(r).is_some_and(|(l, r)| same(l, r)),
                "conflict copy of {path}, identical on both sides, in {plan:#?}"
            );
        }
    }
    let mut failures = Vec::new();
    for (i, batch) in plan.batches().into_iter().enumerate() {
        let n = batch.len();
        let shift = (seed as usize).wrapping_add(i) % n.max(1);
        let mut order: Vec<&Op> = batch.iter().collect();
        order.rotate_left(shift);
        if seed % 2 == 1 {
            order.reverse();
        }
        for op in order {
            check_no_changed_file_trashed(w, op);
            if let Err(e) = w.apply(op) {
                failures.push((op.clone(), e));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "failures {failures:#?}\nplan {plan:#?}"
    );
    assert_eq!(
        w.local_view(),
        w.remote_view(&ctx().rules),
        "sides differ after {plan:#?}"
    );
    let after = w.all_content();
    for m in &before {
        assert!(after.contains(m), "lost {m} in {plan:#?}");
    }
    let remote = w.remote_tree(&ctx().rules);
    let again = drivesync_reconcile::plan(&w.base, &w.local_unread_new(&remote), &remote, &ctx());
    assert!(again.is_empty(), "second plan {again:#?}\nafter {plan:#?}");
}

fn run(acts: &[Act]) {
    let u = universe();
    let at = |i: usize| &u[i % u.len()];
    let mut w = World::default();
    for a in acts {
        match a {
            Act::LocalWrite(i) => {
                let m = content(&mut w);
                w.local_write(at(*i), m);
            }
            Act::LocalMkdir(i) => {
                w.local_mkdir(at(*i));
            }
            Act::LocalRm(i) => {
                w.local_rm(at(*i));
            }
            Act::LocalMv(i, j) => {
                w.local_mv(at(*i), at(*j));
            }
            Act::RemoteWrite(i) => {
                let m = content(&mut w);
                w.remote_write(at(*i), m);
            }
            Act::RemoteMkdir(i) => {
                w.remote_mkdir(at(*i));
            }
            Act::RemoteRm(i) => {
                w.remote_rm(at(*i));
            }
            Act::RemoteMv(i, j) => {
                w.remote_mv(at(*i), at(*j));
            }
            Act::RemoteDoc(i) => {
                let p = at(*i);
                let folder = p.parent().unwrap_or_else(RelPath::root);
                w.remote_doc(&folder, p.name());
            }
            Act::BothWrite(i) => {
                let m = content(&mut w);
                w.local_write(at(*i), m);
                w.remote_write(at(*i), m);
            }
            Act::Sync(seed) => sync(&mut w, *seed),
        }
    }
    sync(&mut w, 0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_histories_converge_without_loss(acts in prop::collection::vec(act(), 1..40)) {
        run(&acts);
    }
}

/// Replays a history written with paths (the shrunk failures below, kept as regressions).
fn replay(steps: &[(&str, &[&str])]) {
    let u = universe();
    let idx = |s: &str| {
        u.iter()
            .position(|p| p.as_str() == s)
            .expect("path in universe")
    };
    let acts: Vec<Act> = steps
        .iter()
        .map(|(what, args)| match (*what, args) {
            ("LocalWrite", [a]) => Act::LocalWrite(idx(a)),
            ("LocalMkdir", [a]) => Act::LocalMkdir(idx(a)),
            ("LocalRm", [a]) => Act::LocalRm(idx(a)),
            ("LocalMv", [a, b]) => Act::LocalMv(idx(a), idx(b)),
            ("RemoteWrite", [a]) => Act::RemoteWrite(idx(a)),
            ("RemoteMkdir", [a]) => Act::RemoteMkdir(idx(a)),
            ("RemoteRm", [a]) => Act::RemoteRm(idx(a)),
            ("RemoteMv", [a, b]) => Act::RemoteMv(idx(a), idx(b)),
            ("RemoteDoc", [a]) => Act::RemoteDoc(idx(a)),
            ("Sync", []) => Act::Sync(0),
            other => panic!("bad step {other:?}"),
        })
        .collect();
    run(&acts);
}

#[test]
fn regression_move_into_a_folder_both_sides_created() {
    replay(&[
        ("LocalWrite", &["b/c.txt"]),
        ("Sync", &[]),
        ("RemoteWrite", &["a/a"]),
        ("LocalMv", &["b/c.txt", "a/b"]),
    ]);
}

#[test]
fn regression_folder_moved_into_each_other_on_each_side() {
    replay(&[
        ("RemoteWrite", &["c.txt/a"]),
        ("RemoteMkdir", &["a"]),
        ("Sync", &[]),
        ("RemoteWrite", &["b/b"]),
        ("RemoteMv", &["c.txt", "a/a"]),
        ("RemoteWrite", &["c.txt/a"]),
        ("LocalMv", &["a", "c.txt/b"]),
        ("LocalWrite", &["b"]),
    ]);
}

#[test]
fn regression_local_delete_of_a_folder_replaced_on_drive() {
    replay(&[
        ("RemoteWrite", &["a/b/a"]),
        ("RemoteWrite", &["b/b"]),
        ("Sync", &[]),
        ("RemoteMv", &["a/b", "b/a"]),
        ("LocalRm", &["a/b"]),
        ("RemoteMkdir", &["a/b"]),
        ("LocalWrite", &["a/c.txt"]),
    ]);
}

#[test]
fn regression_duplicate_doc_names_stay_numbered() {
    replay(&[
        ("RemoteWrite", &["c.txt/a"]),
        ("RemoteDoc", &["c.txt/a"]),
        ("Sync", &[]),
        ("RemoteDoc", &["c.txt/a"]),
        ("LocalRm", &["c.txt"]),
    ]);
}

#[test]
fn regression_moved_folder_holding_a_link_over_a_deleted_file() {
    replay(&[
        ("LocalWrite", &["a/c.txt"]),
        ("LocalWrite", &["c.txt/a/a"]),
        ("Sync", &[]),
        ("RemoteDoc", &["c.txt/a/a"]),
        ("Sync", &[]),
        ("LocalRm", &["a/c.txt"]),
        ("LocalMv", &["c.txt", "a/c.txt"]),
    ]);
}

#[test]
fn regression_cross_moves_of_nested_folders() {
    for target in ["b/c.txt", "b/c.txt/a"] {
        replay(&[
            ("RemoteMkdir", &["b"]),
            ("LocalMkdir", &["a/c.txt"]),
            ("Sync", &[]),
            ("RemoteMv", &["b", "a/b"]),
            ("RemoteMkdir", &["b/c.txt"]),
            ("LocalMv", &["a", target]),
            ("LocalWrite", &["a/a"]),
        ]);
    }
}
