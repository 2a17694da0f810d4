//! Planner cases, one per behaviour of SEMANTICS.md: each builds a synced pair in the
//! reference executor, changes one or both sides, plans, applies, and checks the ops and that
//! both sides end identical with nothing lost and nothing left to do.

use chrono::{TimeZone, Utc};
use drivesync_model::{Kind, Md5, PairSettings, RelPath};

use crate::sim::World;
use crate::{check_deletes, plan, NameRules, Op, Plan, PlanContext};

fn p(s: &str) -> RelPath {
    RelPath::new(s).unwrap()
}

fn c(n: u8) -> Md5 {
    Md5([n; 16])
}

fn ctx() -> PlanContext {
    PlanContext {
        host: "laptop".into(),
        now: Utc.with_ymd_and_hms(2026, 11, 23, 10, 15, 0).unwrap(),
        rules: NameRules::default(),
    }
}

/// Plans and applies once; checks convergence, no loss, idempotence. Returns the plan.
fn sync(w: &mut World) -> Plan {
    sync_with(w, &ctx())
}

/// [`sync`] with another planning context.
fn sync_with(w: &mut World, ctx: &PlanContext) -> Plan {
    let before = w.all_content();
    let remote = w.remote_tree(&ctx.rules);
    let plan = plan(&w.base, &w.local, &remote, ctx);
    let failures = w.apply_plan(&plan);
    assert!(
        failures.is_empty(),
        "failures: {failures:#?}\nplan: {plan:#?}"
    );
    assert_eq!(
        w.local_view(),
        w.remote_view(&ctx.rules),
        "sides differ after {plan:#?}"
    );
    let after = w.all_content();
    for m in before {
        assert!(after.contains(&m), "content {m} lost by {plan:#?}");
    }
    let again = crate::plan(&w.base, &w.local, &w.remote_tree(&ctx.rules), ctx);
    assert!(
        again.is_empty(),
        "not idempotent: {again:#?}\nafter {plan:#?}"
    );
    plan
}

/// A pair with `a.txt`, `dir/b.txt`, `dir/sub/c.txt`, synced.
fn synced() -> World {
    let mut w = World::default();
    w.local_write(&p("a.txt"), c(1));
    w.local_write(&p("dir/b.txt"), c(2));
    w.local_write(&p("dir/sub/c.txt"), c(3));
    sync(&mut w);
    w
}

fn count(plan: &Plan, f: impl Fn(&Op) -> bool) -> usize {
    plan.ops.iter().filter(|op| f(op)).count()
}

fn uploads(plan: &Plan) -> usize {
    count(plan, |op| matches!(op, Op::Upload { .. }))
}

fn downloads(plan: &Plan) -> usize {
    count(plan, |op| matches!(op, Op::Download { .. }))
}

#[test]
fn first_sync_uploads_a_local_tree() {
    let mut w = World::default();
    w.local_write(&p("a.txt"), c(1));
    w.local_write(&p("dir/sub/c.txt"), c(3));
    let plan = sync(&mut w);
    assert_eq!(uploads(&plan), 2);
    assert_eq!(count(&plan, |op| matches!(op, Op::MkdirRemote { .. })), 2);
}

#[test]
fn first_sync_downloads_a_drive_tree() {
    let mut w = World::default();
    w.remote_write(&p("x/y.txt"), c(5));
    let plan = sync(&mut w);
    assert_eq!(downloads(&plan), 1);
    assert_eq!(count(&plan, |op| matches!(op, Op::MkdirLocal { .. })), 1);
}

#[test]
fn first_sync_links_identical_files_and_keeps_both_of_different_ones() {
    let mut w = World::default();
    w.local_write(&p("same.txt"), c(1));
    w.remote_write(&p("same.txt"), c(1));
    w.local_write(&p("diff.txt"), c(2));
    w.remote_write(&p("diff.txt"), c(3));
    let plan = sync(&mut w);
    assert_eq!(count(&plan, |op| matches!(op, Op::Record { .. })), 1);
    assert_eq!(uploads(&plan), 1, "only the conflict copy is uploaded");
    assert_eq!(downloads(&plan), 1);
    assert!(w
        .local
        .contains_key(&p("diff (conflict laptop 2026-11-23 101500).txt")));
}

#[test]
fn edits_propagate_each_way() {
    let mut w = synced();
    w.local_write(&p("a.txt"), c(10));
    w.remote_write(&p("dir/b.txt"), c(20));
    let plan = sync(&mut w);
    assert!(matches!(
        &plan.ops[..],
        [
            Op::Upload {
                replace: Some(_),
                ..
            },
            Op::Download {
                expect: Some(_),
                ..
            }
        ] | [Op::Download { .. }, Op::Upload { .. }]
    ));
}

#[test]
fn same_edit_on_both_sides_is_recorded_not_transferred() {
    let mut w = synced();
    w.local_write(&p("a.txt"), c(9));
    w.remote_write(&p("a.txt"), c(9));
    let plan = sync(&mut w);
    assert_eq!(uploads(&plan) + downloads(&plan), 0);
}

#[test]
fn different_edits_on_both_sides_keep_both() {
    let mut w = synced();
    w.local_write(&p("dir/b.txt"), c(30));
    w.remote_write(&p("dir/b.txt"), c(31));
    let plan = sync(&mut w);
    let copy = p("dir/b (conflict laptop 2026-11-23 101500).txt");
    assert!(plan
        .ops
        .iter()
        .any(|op| matches!(op, Op::ConflictCopy { copy: cp, .. } if *cp == copy)));
    assert_eq!(w.local[&copy].md5, Some(c(30)));
    assert_eq!(w.local[&p("dir/b.txt")].md5, Some(c(31)));
}

#[test]
fn delete_against_edit_keeps_the_edit() {
    let mut w = synced();
    w.local_rm(&p("a.txt"));
    w.remote_write(&p("a.txt"), c(11));
    w.remote_rm(&p("dir/b.txt"));
    w.local_write(&p("dir/b.txt"), c(12));
    let plan = sync(&mut w);
    assert_eq!(count(&plan, Op::is_delete), 0);
    assert_eq!(w.local[&p("a.txt")].md5, Some(c(11)));
    assert_eq!(w.local[&p("dir/b.txt")].md5, Some(c(12)));
}

#[test]
fn deletes_go_to_the_trash_each_way() {
    let mut w = synced();
    w.local_rm(&p("a.txt"));
    w.remote_rm(&p("dir/sub"));
    let plan = sync(&mut w);
    assert_eq!(count(&plan, |op| matches!(op, Op::TrashRemote { .. })), 1);
    assert_eq!(count(&plan, |op| matches!(op, Op::TrashLocal { .. })), 1);
    assert!(w.trash.contains(&c(1)) && w.trash.contains(&c(3)));
}

#[test]
fn local_renames_and_moves_are_moves_on_drive() {
    let mut w = synced();
    w.local_mv(&p("a.txt"), &p("dir/renamed.txt"));
    w.local_mv(&p("dir/sub"), &p("moved-sub"));
    let plan = sync(&mut w);
    assert_eq!(uploads(&plan), 0, "{plan:#?}");
    assert_eq!(count(&plan, |op| matches!(op, Op::MoveRemote { .. })), 2);
}

#[test]
fn drive_renames_and_moves_are_moves_on_disk() {
    let mut w = synced();
    w.remote_mv(&p("dir/b.txt"), &p("b2.txt"));
    w.remote_mv(&p("dir"), &p("folder"));
    let plan = sync(&mut w);
    assert_eq!(downloads(&plan), 0, "{plan:#?}");
    assert_eq!(count(&plan, |op| matches!(op, Op::MoveLocal { .. })), 2);
    assert!(w.local.contains_key(&p("folder/sub/c.txt")));
}

#[test]
fn a_move_into_a_new_folder_creates_it_first() {
    let mut w = synced();
    w.local_mv(&p("a.txt"), &p("new/deeper/a.txt"));
    let plan = sync(&mut w);
    assert_eq!(uploads(&plan), 0, "{plan:#?}");
    assert!(matches!(
        plan.ops[0],
        Op::MkdirRemote {
            before_move: true,
            ..
        }
    ));
}

#[test]
fn the_same_move_on_both_sides_only_records() {
    let mut w = synced();
    w.local_mv(&p("a.txt"), &p("dir/a.txt"));
    w.remote_mv(&p("a.txt"), &p("dir/a.txt"));
    let plan = sync(&mut w);
    assert!(
        matches!(&plan.ops[..], [Op::RecordMove { .. }]),
        "{plan:#?}"
    );
}

#[test]
fn different_moves_on_both_sides_follow_drive() {
    let mut w = synced();
    w.local_mv(&p("a.txt"), &p("dir/local.txt"));
    w.remote_mv(&p("a.txt"), &p("dir/sub/remote.txt"));
    let plan = sync(&mut w);
    assert_eq!(uploads(&plan) + downloads(&plan), 0, "{plan:#?}");
    assert!(w.local.contains_key(&p("dir/sub/remote.txt")));
}

#[test]
fn a_moved_and_edited_file_is_moved_then_updated() {
    let mut w = synced();
    w.remote_mv(&p("a.txt"), &p("dir/a.txt"));
    w.remote_write(&p("dir/a.txt"), c(40));
    let plan = sync(&mut w);
    assert_eq!(count(&plan, |op| matches!(op, Op::MoveLocal { .. })), 1);
    assert_eq!(downloads(&plan), 1);
}

#[test]
fn a_folder_deleted_locally_keeps_a_file_changed_on_drive() {
    let mut w = synced();
    w.local_rm(&p("dir"));
    w.remote_write(&p("dir/sub/c.txt"), c(50));
    let plan = sync(&mut w);
    assert_eq!(w.local[&p("dir/sub/c.txt")].md5, Some(c(50)));
    assert!(
        !w.local.contains_key(&p("dir/b.txt")),
        "unchanged sibling is deleted"
    );
    assert!(w.trash.contains(&c(2)));
    assert_eq!(count(&plan, |op| matches!(op, Op::TrashRemote { .. })), 1);
}

#[test]
fn a_folder_deleted_on_drive_keeps_a_file_changed_locally() {
    let mut w = synced();
    w.remote_rm(&p("dir"));
    w.local_write(&p("dir/b.txt"), c(60));
    sync(&mut w);
    assert_eq!(w.local[&p("dir/b.txt")].md5, Some(c(60)));
    assert!(!w.local.contains_key(&p("dir/sub")));
}

#[test]
fn a_file_replaced_by_a_folder_changes_type() {
    let mut w = synced();
    w.local_rm(&p("a.txt"));
    w.local_write(&p("a.txt/inside.txt"), c(70));
    sync(&mut w);
    assert_eq!(
        w.remote_view(&NameRules::default())[&p("a.txt")].0,
        Kind::Folder
    );
    assert!(w.trash.contains(&c(1)));
}

#[test]
fn a_type_change_against_an_edit_inside_keeps_both() {
    let mut w = synced();
    w.local_rm(&p("dir"));
    w.local_write(&p("dir"), c(80));
    w.remote_write(&p("dir/b.txt"), c(81));
    let plan = sync(&mut w);
    assert!(plan
        .ops
        .iter()
        .any(|op| matches!(op, Op::ConflictCopy { .. })));
    assert_eq!(w.local[&p("dir/b.txt")].md5, Some(c(81)));
}

#[test]
fn case_only_renames_are_renames() {
    let mut w = synced();
    w.local_mv(&p("a.txt"), &p("A.txt"));
    w.remote_mv(&p("dir/b.txt"), &p("dir/B.txt"));
    let plan = sync(&mut w);
    assert_eq!(uploads(&plan) + downloads(&plan), 0, "{plan:#?}");
    assert!(w.local.contains_key(&p("dir/B.txt")));
}

#[test]
fn google_docs_become_link_files_that_are_never_uploaded() {
    let mut w = synced();
    w.remote_doc(&p("dir"), "Plan");
    let plan = sync(&mut w);
    assert_eq!(count(&plan, |op| matches!(op, Op::WriteLink { .. })), 1);
    assert_eq!(w.local[&p("dir/Plan.gdoc")].kind, Kind::Link);
    w.local_write(&p("copied.gdoc"), c(90));
    let remote = w.remote_tree(&ctx().rules);
    assert!(
        plan_of(&w, &remote).is_empty(),
        "a new link file is not uploaded"
    );
    w.local_rm(&p("copied.gdoc"));
    w.local_mv(&p("dir/Plan.gdoc"), &p("Renamed.gdoc"));
    let plan = sync(&mut w);
    assert!(
        matches!(&plan.ops[..], [Op::MoveRemote { name, .. }] if name == "Renamed"),
        "{plan:#?}"
    );
}

#[test]
fn exported_docs_follow_the_doc_and_keep_local_edits_as_conflict_copies() {
    let export = PlanContext {
        rules: NameRules {
            export_docs: true,
            ..NameRules::default()
        },
        ..ctx()
    };
    let mut w = synced();
    w.remote_doc(&p("dir"), "Plan");
    let plan = sync_with(&mut w, &export);
    assert_eq!(count(&plan, |op| matches!(op, Op::WriteLink { .. })), 1);
    let doc = p("dir/Plan.docx");
    let id = w.base[&doc].id.clone();
    assert_eq!(
        w.local[&doc].md5,
        Some(crate::sim::export_md5(&id, w.remote[&id].version))
    );
    // Drive's Doc changes: exported again.
    w.remote_edit_doc(&id);
    let plan = sync_with(&mut w, &export);
    assert!(
        matches!(&plan.ops[..], [Op::WriteLink { path, expect: Some(_), .. }] if *path == doc),
        "{plan:#?}"
    );
    // A local edit is kept as a conflict copy uploaded next to the Doc, never over it.
    w.local_write(&doc, c(50));
    let plan = sync_with(&mut w, &export);
    assert_eq!(count(&plan, |op| matches!(op, Op::TrashRemote { .. })), 0);
    assert_eq!(uploads(&plan), 1, "{plan:#?}");
    assert!(w.remote.values().any(|r| r.md5 == Some(c(50))));
    assert_eq!(w.remote[&id].kind, Kind::Link, "the Doc stays a Doc");
    // Turning export off: the export goes to the trash, the link file comes back.
    let plan = sync(&mut w);
    assert!(w.local.contains_key(&p("dir/Plan.gdoc")), "{plan:#?}");
    assert!(!w.local.contains_key(&doc));
    assert_eq!(count(&plan, |op| matches!(op, Op::TrashRemote { .. })), 0);
}

fn plan_of(w: &World, remote: &drivesync_model::Tree<drivesync_model::RemoteEntry>) -> Plan {
    plan(&w.base, &w.local, remote, &ctx())
}

#[test]
fn the_delete_guard_stops_mass_deletes() {
    let mut w = World::default();
    for i in 0..60 {
        w.local_write(&p(&format!("f{i}")), c(i));
    }
    sync(&mut w);
    for i in 0..55 {
        w.remote_rm(&p(&format!("f{i}")));
    }
    let plan = plan_of(&w, &w.remote_tree(&ctx().rules));
    let err = check_deletes(&plan, &w.base, &PairSettings::default()).unwrap_err();
    assert_eq!(err.deletes, 55);
    assert!(err.to_string().contains("--force-deletes"));
    let small = PairSettings {
        delete_limit_files: 100,
        ..PairSettings::default()
    };
    assert!(check_deletes(&plan, &w.base, &small).is_ok());
}

#[test]
fn a_swap_of_two_names_converges() {
    let mut w = synced();
    w.local_mv(&p("a.txt"), &p("tmp"));
    w.local_mv(&p("dir/b.txt"), &p("a.txt"));
    w.local_mv(&p("tmp"), &p("dir/b.txt"));
    sync(&mut w);
    assert_eq!(w.local[&p("a.txt")].md5, Some(c(2)));
}

/// Another Drive file at a synced file's path (the synced one deleted, possibly for good) is
/// not a new version of it: the local copy goes to the trash, it is not overwritten.
#[test]
fn another_drive_file_at_a_synced_path_trashes_the_local_copy_first() {
    let mut w = synced();
    w.remote_rm(&p("a.txt"));
    w.remote_write(&p("a.txt"), c(9));
    let plan = sync(&mut w);
    assert!(
        matches!(
            &plan.ops[..],
            [
                Op::TrashLocal { replaced: true, .. },
                Op::Download { expect: None, .. }
            ]
        ),
        "{plan:#?}"
    );
    // The same content under a new id is only recorded.
    w.remote_rm(&p("a.txt"));
    w.remote_write(&p("a.txt"), c(9));
    let plan = sync(&mut w);
    assert!(matches!(&plan.ops[..], [Op::Record { .. }]), "{plan:#?}");
}

#[test]
fn new_files_moved_files_and_files_drive_has_are_compared_the_others_only_uploaded() {
    let mut w = synced();
    w.local_mv(&p("a.txt"), &p("moved.txt"));
    w.local_write(&p("new.txt"), c(40));
    w.local_write(&p("both.txt"), c(41));
    w.remote_write(&p("both.txt"), c(41));
    let local = w.local_unread_new(&w.remote_tree(&ctx().rules));
    assert!(local[&p("moved.txt")].md5.is_some());
    assert!(local[&p("both.txt")].md5.is_some());
    assert!(local[&p("dir/b.txt")].md5.is_some());
    assert_eq!(local[&p("new.txt")].md5, None);
    let plan = plan(&w.base, &local, &w.remote_tree(&ctx().rules), &ctx());
    // The move stays a move, the identical pair is linked, only the new file is uploaded.
    assert_eq!(uploads(&plan), 1, "{plan:#?}");
    assert!(plan
        .ops
        .iter()
        .any(|op| matches!(op, Op::MoveRemote { to, .. } if *to == p("moved.txt"))));
    assert!(!plan
        .ops
        .iter()
        .any(|op| matches!(op, Op::ConflictCopy { .. })));
}

/// Found by the simulation (seed 704389): a Drive file synced as `d (2).txt` beside a
/// duplicate keeps that local name once the duplicate is gone. A new local `d.txt` (here the
/// user renamed and edited the file, while Drive edited it too) was uploaded under its own
/// name next to it: a second `d.txt` on Drive, made by drivesync. It is now kept as a
/// conflict copy.
#[test]
fn a_new_local_file_never_takes_the_drive_name_of_a_numbered_neighbour() {
    let mut w = World::default();
    w.remote_write(&p("d.txt"), c(1));
    w.remote_write(&p("e.txt"), c(2));
    sync(&mut w);
    // Another device renames e.txt to d.txt: two of them; the synced one keeps its place.
    let e = w.base[&p("e.txt")].id.clone();
    w.remote.get_mut(&e).unwrap().name = "d.txt".into();
    w.remote.get_mut(&e).unwrap().version += 1;
    sync(&mut w);
    assert_eq!(w.base[&p("d (2).txt")].id, e);
    // The first d.txt goes; the other stays `d (2).txt` here.
    w.remote_rm(&p("d.txt"));
    sync(&mut w);
    assert_eq!(w.base[&p("d (2).txt")].id, e);
    w.local_mv(&p("d (2).txt"), &p("d.txt"));
    w.local_write(&p("d.txt"), c(3));
    w.remote_write(&p("d (2).txt"), c(4));
    let plan = sync(&mut w);
    assert!(
        !plan.ops.iter().any(
            |op| matches!(op, Op::Upload { name, replace: None, .. } if name.as_str() == "d.txt")
        ),
        "{plan:#?}"
    );
    let named_d = w
        .remote
        .values()
        .filter(|r| r.name == "d.txt" && r.parent.as_str() == crate::sim::ROOT)
        .count();
    assert_eq!(named_d, 1, "{:#?}", w.remote);
    assert_eq!(count(&plan, |op| matches!(op, Op::ConflictCopy { .. })), 1);
}
