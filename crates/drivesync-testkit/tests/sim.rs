//! Level 1 of the randomized reliability test (R1-R3): the deterministic simulation of the
//! whole engine over the fakes. See `src/sim.rs` and the model's rules in `src/model.rs`.
//!
//! * `DRIVESYNC_SIM_CASES=N` runs N cases of the full generator, and N/5 calm and N/10
//!   scoped ones (default N: 10,000 in release and 1,000 in debug; CI sets 10,000 and
//!   runs it in the dev profile, which is built at opt-level 1);
//!   `DRIVESYNC_SIM_SEED=S` starts at seed S.
//! * A failing case prints its seed, its steps, its trace, the steps shrunk, and a
//!   regression test to paste below (as `cargo run -p drivesync-testkit --release --bin sim --
//!   --seed S` does).
//!
//! Three randomized tests share the case budget: the full generator (faults, crashes,
//! changes during a sync, permanent deletes and duplicates on Drive), the calm one (R1:
//! random changes on both sides and random sync points only) and the live loop's scoped
//! syncs. Every failure found so far is a named regression test below.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use drivesync_testkit::script::{parse, to_script};
use drivesync_testkit::sim::{regression_test, run_case, run_steps, shrink, Failure, SimConfig};
use drivesync_testkit::{GenConfig, Stats};

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// Cases of the full generator; the calm and scoped tests run a fifth and a tenth of it.
fn cases() -> u64 {
    env_u64("DRIVESYNC_SIM_CASES").unwrap_or(if cfg!(debug_assertions) {
        1_000
    } else {
        10_000
    })
}

fn first_seed() -> u64 {
    env_u64("DRIVESYNC_SIM_SEED").unwrap_or(0)
}

/// Runs `n` cases from the first seed on every core; panics with a reproduction of the
/// failure with the lowest seed.
fn run_many(cfg: &SimConfig, n: u64) -> Stats {
    let first = first_seed();
    let end = first + n;
    let next = Arc::new(AtomicU64::new(first));
    let failures: Arc<Mutex<Vec<Failure>>> = Arc::default();
    let total: Arc<Mutex<Stats>> = Arc::default();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (next, failures, total, cfg) =
                (next.clone(), failures.clone(), total.clone(), cfg.clone());
            std::thread::spawn(move || loop {
                let seed = next.fetch_add(1, Ordering::SeqCst);
                if seed >= end {
                    return;
                }
                match run_case(seed, &cfg) {
                    Ok(t) => *total.lock().unwrap() += t.stats,
                    Err(f) => {
                        failures.lock().unwrap().push(f);
                        next.store(end, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("a worker panicked outside a case");
    }
    let stats = *total.lock().unwrap();
    let failures = failures.lock().unwrap().clone();
    if let Some(f) = failures.iter().min_by_key(|f| f.seed) {
        let steps = shrink(f, cfg, 2_000);
        let name = format!("regression_seed_{}", f.seed.unwrap_or(0));
        panic!(
            "{f}\n--- shrunk to {} steps ---\n{}\n--- regression test ---\n{}",
            steps.len(),
            to_script(&steps),
            regression_test(&name, f, &steps)
        );
    }
    println!("{n} cases from seed {first}: {stats:?}");
    stats
}

/// The generator without the triggers of the known bugs: no faults, no crashes, no changes
/// while a sync runs, no permanent deletes or duplicates on Drive.
fn calm() -> SimConfig {
    SimConfig {
        gen: GenConfig {
            fault_permille: 0,
            crash_permille: 0,
            during_permille: 0,
            drive_extras: false,
            ..GenConfig::default()
        },
        ..SimConfig::default()
    }
}

#[test]
fn random_changes_on_both_sides_converge_without_loss() {
    let stats = run_many(&calm(), cases() / 5);
    assert!(stats.conflicts > 0 && stats.ops > 0, "{stats:?}");
}

/// The same through the live loop's entry point: each sync re-reads locally only the paths
/// the user changed (what a watcher reports), from the engine's cached trees.
#[test]
fn scoped_syncs_converge_without_loss() {
    let cfg = SimConfig {
        scoped: true,
        ..calm()
    };
    run_many(&cfg, cases() / 10);
}

#[test]
fn random_changes_faults_and_crashes_converge_without_loss() {
    let stats = run_many(&SimConfig::default(), cases());
    assert!(stats.crashes > 0 && stats.faults > 0, "{stats:?}");
}

#[test]
fn the_same_seed_gives_the_same_trace() {
    // Seeds that pass today, with faults, crashes and changes during syncs.
    let cfg = SimConfig::default();
    let mut checked = 0;
    for seed in 0..40 {
        let Ok(a) = run_case(seed, &cfg) else {
            continue;
        };
        let b = run_case(seed, &cfg).expect("passed once, fails the second time");
        assert_eq!(a, b, "seed {seed} gave two traces");
        // Replaying the steps as a script gives the same run.
        let replayed = run_steps(&parse(&to_script(&a.steps)).unwrap(), &cfg).unwrap();
        assert_eq!(replayed.log, a.log, "seed {seed} replayed differently");
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} of 40 seeds passed");
}

#[test]
fn different_seeds_give_different_cases() {
    let cfg = calm();
    let a = run_case(1, &cfg).unwrap();
    let b = run_case(2, &cfg).unwrap();
    assert_ne!(a.steps, b.steps);
}

/// Replays a reproduction; panics with the failure.
fn replay(script: &str) {
    let steps = parse(script).expect("a valid script");
    if let Err(f) = run_steps(&steps, &SimConfig::default()) {
        panic!("{f}");
    }
}

#[test]
fn a_crash_right_after_an_upload_is_resumed_without_duplicates() {
    replay(
        r#"
        local write "a/b.txt" "v1\n"
        sync advance=60 crash=5:after
        sync advance=60
        "#,
    );
}

#[test]
fn faults_on_every_call_kind_are_survived() {
    replay(
        r#"
        local write "a/b.txt" "v1\n"
        drive write "c/d.txt" "d1\n"
        sync advance=60 random=7:300 fault=create-folder:5xx:after:1 fault=download:md5:after:1
        local write "a/b.txt" "v2\n"
        drive write "c/d.txt" "d2\n"
        sync advance=60 fault=update-content:reset:before:1 fault=changes:429:before:1
        sync advance=60 fault=*:401:before:1
        local rm "a"
        drive trash "c"
        sync advance=60 fault=trash:403-rate:after:1 disk-full
        "#,
    );
}

// -- Bugs found by the simulation, fixed. ---------------------------------------------------

/// A: `Op::MoveLocal` (drivesync-engine `exec.rs`) records the file's stamp after the rename
/// with the MD5 from before: a local edit made before the move is then taken as synced by
/// the scan's stamp shortcut and never uploaded, if the upload after the move fails.
#[test]
fn regression_a_local_edit_is_masked_by_a_drive_move_when_its_upload_fails() {
    replay(
        r#"
        local write "a" "v1\n"
        sync advance=60
        local write "a" "v2\n"
        drive mv "a" "b"
        sync advance=60 random=1:0 fault=update-content:5xx:before:1
        "#,
    );
}

/// A, without faults: the local edit lands while the sync runs, after the scan.
#[test]
fn regression_a_local_edit_during_a_sync_that_moves_the_file() {
    replay(
        r#"
        local write "a" "v1\n"
        sync advance=60
        drive mv "a" "b"
        sync advance=60
          during 1 local write "a" "v2\n"
        "#,
    );
}

/// A, with a crash between the move and the upload: the next Drive edit is downloaded over
/// the local edit, which is lost (R3: "no lost edits").
#[test]
fn regression_a_crash_after_a_local_move_loses_the_local_edit() {
    replay(
        r#"
        local write "a" "v1\n"
        sync advance=60
        local write "a" "v2\n"
        drive mv "a" "b"
        sync advance=60 crash=3:before
        drive write "b" "v3\n"
        "#,
    );
}

/// B: a type change's trash of the old Drive entry (`TrashRemote { replaced: true }`) fails,
/// yet the create at the same path runs: two Drive entries with one name, and the old one
/// drops out of the synced tree (its `Put` is overwritten) and out of drivesync's sight.
#[test]
fn regression_b_failed_trash_of_a_replaced_file_leaves_a_duplicate() {
    replay(
        r#"
        local write "a" "v1\n"
        sync advance=60
        local file-to-folder "a"
        sync advance=60 random=1:0 fault=trash:5xx:before:1
        "#,
    );
}

/// B, without faults: the trash is refused because Drive's file changed after planning.
#[test]
fn regression_b_drive_edit_during_a_type_change_leaves_a_duplicate() {
    replay(
        r#"
        local write "a" "v1\n"
        sync advance=60
        local file-to-folder "a"
        sync advance=60
          during 2 drive write "a" "v2\n"
        "#,
    );
}

/// B, with a rename aside (type conflict on a new path) that fails.
#[test]
fn regression_b_failed_rename_aside_leaves_a_duplicate() {
    replay(
        r#"
        local mkdir "c.txt/a"
        drive write "c.txt" "d1\n"
        sync advance=60 random=1:0 fault=relocate:quota:before:1
        "#,
    );
}

/// C: a create whose answer was lost (crash or fault) leaves its pre-generated id pending;
/// when the file it made is then trashed, moved or replaced on Drive, every later create at
/// that path reuses the id and Drive refuses it (409 fileIdInUse / 400 fileIdNotUsable)
/// forever.
#[test]
fn regression_c_lost_create_answer_then_trashed_on_drive_never_converges() {
    replay(
        r#"
        local write "a" "x\n"
        sync advance=60 random=1:0 fault=create-file:5xx:after:1
        drive trash "a"
        "#,
    );
}

/// C, with a crash right after the create and a rename on another device.
#[test]
fn regression_c_crash_after_create_then_renamed_on_drive_never_converges() {
    replay(
        r#"
        local write "a" "v1\n"
        sync advance=60 crash=4:after
        drive mv "a" "b"
        "#,
    );
}

/// D: a synced file deleted for good on Drive and replaced there by another file (a new id
/// at the same path) is downloaded over the local copy instead of the local copy going to
/// the trash: its last copy is lost (design safety rule 1).
#[test]
fn regression_d_drive_file_replaced_after_a_permanent_delete_overwrites_the_local_copy() {
    replay(
        r#"
        drive write "a" "v1\n"
        drive write "b" "v2\n"
        sync advance=60
        drive delete-forever "a"
        drive mv "b" "a"
        "#,
    );
}

/// E: a Drive rename made by another device between planning and an upload into that file:
/// the engine records the file's new Drive name (from the upload's answer) at the old local
/// path, so the synced tree says the rename is done; the next syncs see the feed matching
/// the synced tree (observe's quiet path) and never rename the local file.
#[test]
fn regression_e_drive_rename_during_an_upload_is_never_mirrored() {
    replay(
        r#"
        local write "a" "v1\n"
        sync advance=60
        local write "a" "v2\n"
        sync advance=60
          during 2 drive mv "a" "b"
        "#,
    );
}

/// F: a Drive folder move planned as "forget the old paths, download at the new ones" (the
/// local path is taken): if a download fails (or the sync is cut), the file was already
/// forgotten from the synced tree, did not change in the feed, and is never synced again.
#[test]
fn regression_f_failed_download_after_a_folder_move_fallback_loses_track_of_the_file() {
    replay(
        r#"
        drive write "a/x" "D1\n"
        sync advance=60
        drive mv "a" "b"
        local folder-to-file "a" "L1\n"
        sync advance=60 fault=download:5xx:before:1
        "#,
    );
}

/// F, with a crash instead of a fault.
#[test]
fn regression_f_crash_after_a_folder_move_fallback_loses_track_of_the_file() {
    replay(
        r#"
        drive write "a/x" "D1\n"
        sync advance=60
        drive mv "a" "b"
        local folder-to-file "a" "L1\n"
        sync advance=60 crash=6:before
        "#,
    );
}

/// G: when creating a folder on Drive fails, the ops below it still run and find their
/// parent through the synced tree, which still names the folder Drive moved away: files are
/// created inside that other folder, next to a file of the same name.
#[test]
fn regression_g_children_of_a_failed_folder_create_land_in_the_moved_folder() {
    replay(
        r#"
        drive mkdir "c.txt"
        sync advance=60
        drive write "c.txt/b" "D1\n"
        drive mv "c.txt" "a"
        drive write "c.txt" "D2\n"
        local write "c.txt/b/x" "L1\n"
        local write "a" "L2\n"
        sync advance=60 fault=create-folder:429:before:1
        "#,
    );
}

/// H: a folder create cut by a crash after Drive made it, while another device put a file of
/// the same name next to it: the folder (its id still a pending create) was placed as
/// `C (2).txt` and downloaded as a second local folder, while the create done again at
/// `C.txt` returned the same folder; two synced entries for one Drive id, and a local folder
/// Drive never got.
#[test]
fn regression_h_a_crashed_folder_create_next_to_a_drive_duplicate_is_placed_twice() {
    replay(
        r##"
        drive write "a" "D1 a\n"
        drive dup "a" "D5 a\n"
        sync advance=60
        drive file-to-folder "a"
        drive write "C.txt/b" "D14 C.txt/b\n"
        drive mv "C.txt/b" "C.txt/B"
        drive mv "C.txt" "c.txt"
        sync advance=60
        drive mv "c.txt" "C.txt"
        drive mv "C.txt/B" "C.txt/a"
        local mv "a (2)" "a/d.txt"
        sync advance=1 crash=2:after
        local mkdir "c.txt/C.txt"
        drive write "C.txt/C.txt" "D16 C.txt/C.txt\n"
        drive mv "C.txt" "a/C.txt"
        drive dup "a/C.txt/C.txt" "D18 a/C.txt/C.txt\n"
        sync advance=7 crash=6:after
        "##,
    );
}

/// E, through a rename aside: a Drive move made while a type conflict renames the Drive
/// file aside was recorded as synced, so the conflict copy stayed where the plan put it
/// locally and where the other device put it on Drive.
#[test]
fn regression_e_drive_move_during_a_rename_aside_is_mirrored() {
    replay(
        r#"
        local write "c.txt/a" "L16 c.txt/a\n"
        local write "d.txt/d.txt" "L17 d.txt/d.txt\n"
        sync advance=60
        local file-to-folder "c.txt/a"
        drive append "c.txt/a" "+d20\n"
        sync advance=1
          during 2 drive mv "c.txt/a" "d.txt/C.txt"
        "#,
    );
}

/// The first fix of E kept the planned place for every op: a download after a local move
/// mirrored on Drive in the same sync then recorded the place from before the move, and
/// every later move of the file was refused by Drive (`cannotAddParent`).
#[test]
fn regression_a_download_after_a_move_in_one_sync_records_the_new_place() {
    replay(
        r#"
        drive mkdir "d.txt"
        drive write "C.txt" "D2 C.txt\n"
        sync advance=60
        local mv "C.txt" "d.txt/C.txt"
        drive write "C.txt" "D4 C.txt\n"
        sync advance=60
        local mkdir "b"
        local mv "d.txt/C.txt" "b/c.txt"
        "#,
    );
}

/// H, after a move: the folder holding a crashed create moved on Drive, so the create's
/// claim on its name must follow the folder (by Drive id), not the old path.
#[test]
fn regression_h_a_crashed_create_keeps_its_name_after_its_folder_moved() {
    replay(
        r#"
        drive write "B/d.txt" "D9 B/d.txt\n"
        drive dup "B/d.txt" "D10 B/d.txt\n"
        local write "B/d.txt/b" "L15 B/d.txt/b\n"
        sync advance=60 crash=6:after
        drive mv "B" "C.txt"
        "#,
    );
}

/// F, through a replaced entry: an upload at a path whose synced file Drive moved elsewhere
/// (with its folder) dropped that file from the synced tree; its download at the new place
/// failed, and the feed never mentioned it again.
#[test]
fn regression_f_a_new_file_over_a_synced_path_loses_track_of_the_moved_file() {
    replay(
        r#"
        drive write "c.txt/c.txt" "D6 c.txt/c.txt\n"
        drive dup "c.txt/c.txt" "D8 c.txt/c.txt\n"
        local write "b/d.txt" "L10 b/d.txt\n"
        drive mv "c.txt/c.txt" "c.txt/a"
        sync advance=60
        local file-to-folder "c.txt/a"
        drive mv "c.txt" "b/b"
        local write "c.txt/c.txt" "L14 c.txt/c.txt\n"
        local mv "b" "c.txt/a/C.txt"
        sync advance=60 random=10382327006539426715:30
        "#,
    );
}

/// F, with a crash: a folder moved on Drive while a new local one took its old path.
#[test]
fn regression_f_crash_while_a_new_folder_takes_a_moved_folders_path() {
    replay(
        r#"
        drive write "b (conflict laptop 2026-11-23 111900)" "D18 b (conflict laptop 2026-11-23 111900)\n"
        drive mkdir "c.txt/c.txt"
        sync advance=3600
        drive mv "c.txt" "d.txt"
        local mv "b (conflict laptop 2026-11-23 111900)" "d.txt"
        local write "c.txt/C.txt/C.txt" "L19 c.txt/C.txt/C.txt\n"
        sync advance=0 crash=9:before
        "#,
    );
}

/// F, through a Drive trash: trashing a folder on Drive dropped from the synced tree a
/// folder Drive had moved out of it before; its content was then missing from the next
/// plan, and a local type change trashed it on Drive with the edit inside.
#[test]
fn regression_f_a_drive_trash_drops_a_folder_moved_out_of_it() {
    replay(
        r#"
        drive write "a/a/C.txt" "D14 a/a/C.txt\n"
        sync advance=7
        local rm "a"
        drive write "c.txt/C.txt/a/a" "D16 c.txt/C.txt/a/a\n"
        drive mkdir "c.txt/d.txt"
        local write "a" "L17 a\n"
        drive mv "a/a" "c.txt/d.txt/a"
        sync advance=60 crash=22:after
        local folder-to-file "c.txt/d.txt" "L19 c.txt/d.txt\n"
        "#,
    );
}

/// A Drive file moved away from a conflict copy's path while a local folder replaced the
/// copy: the download at its new place left the synced entry at the old path (the folder's
/// creation there failed), so the synced tree had one Drive id at two paths, and the trash of
/// the stale entry was refused ("changed on Drive since the sync was planned") at every sync.
#[test]
fn regression_seed_54532_a_refused_trash_is_planned_again_forever() {
    replay(
        r#"
        sync advance=3600
        sync advance=60
        sync advance=60
        drive mkdir "a/C.txt"
        drive mv "a/C.txt" "a/d.txt"
        sync advance=7
        local mv "a" "C.txt"
        sync advance=0
        local write "C.txt/d (conflict laptop 2026-11-23 111707).txt" "L11 C.txt/d (conflict laptop 2026-11-23 111707).txt\n"
        drive write "C.txt/d (conflict laptop 2026-11-23 111707).txt" "D12 C.txt/d (conflict laptop 2026-11-23 111707).txt\n"
        sync advance=60
        drive mv "C.txt/d (conflict laptop 2026-11-23 111707) (conflict laptop 2026-11-23 111807).txt" "C.txt/d.txt/d.txt"
        local file-to-folder "C.txt/d (conflict laptop 2026-11-23 111707) (conflict laptop 2026-11-23 111807).txt"
        sync advance=0 random=4383646971249144789:250
        "#,
    );
}

/// Found by the simulation (seed 704389): a Drive file kept its local name `d (2).txt` after
/// its duplicate left; the user renamed it `d.txt` and edited it while Drive edited it too,
/// and the new local `d.txt` was uploaded next to Drive's `d.txt`: a duplicate drivesync
/// made. A new local file whose Drive name a neighbour has is now kept as a conflict copy.
#[test]
fn regression_seed_704389_a_new_local_file_beside_a_numbered_drive_neighbour_of_its_name() {
    replay(
        r##"
        local write "c.txt/C.txt" "L2 c.txt/C.txt\n"
        local mv "c.txt/C.txt" "c.txt/b"
        local mv "c.txt/b" "d.txt"
        sync advance=60
        drive dup "d.txt" "D4 d.txt\n"
        sync advance=0
        drive mv "d.txt" "a"
        drive folder-to-file "c.txt" "D14 c.txt\n"
        sync advance=60
        drive append "d.txt" "+d17\n"
        local file-to-folder "c.txt"
        local mv "d (2).txt" "d.txt"
        sync advance=3600 random=14206676997282784709:250
        local write "d.txt" "L22 d.txt\n"
        "##,
    );
}

/// Found by the simulation (seed 605846): another device trashed a Drive folder (turning it
/// into a file) between drivesync's re-check of that folder and its move of a file with an
/// unseen Drive edit into it. The edit went to Drive's trash with the folder: the documented
/// one-request window of a Drive move (SEMANTICS.md section 10), which the simulation counts
/// apart instead of as a failure.
#[test]
fn regression_seed_605846_a_drive_folder_trashed_between_the_move_check_and_the_move() {
    let steps = parse(
        r##"
        drive mkdir "b"
        local write "a/c.txt" "L4 a/c.txt\n"
        sync advance=60
        local mv "a/c.txt" "b/a"
        drive write "a/c.txt" "D7 a/c.txt\n"
        drive mkdir "b/c.txt"
        local mkdir "c.txt"
        sync advance=1 random=2905934369043554798:0 fault=relocate:quota:after:1
          during 6 drive folder-to-file "b" "D11 b\n"
        "##,
    )
    .expect("a valid script");
    let trace = run_steps(&steps, &SimConfig::default()).unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(trace.stats.known_gap, 1, "{}", trace.log.join("\n"));
}

/// Found by the simulation (seed 602538), a harness bug: a change by another device that
/// was due before one engine call (here the ids request) was still being made while the
/// engine's other ops ran, so the device's read-modify-write straddled drivesync's upload into
/// the same file and the model recorded the wrong version as the one replaced. A change now
/// lands whole between two engine calls.
#[test]
fn regression_seed_602538_a_device_edit_lands_whole_between_engine_calls() {
    replay(
        r##"
        local write "C.txt" "L2 C.txt\n"
        sync advance=7
        local mv "C.txt" "d.txt"
        local write "C.txt" "L7 C.txt\n"
        sync advance=0
          during 2 drive append "C.txt" "+d8\n"
        "##,
    );
}

/// Found by the simulation (seed 58722, then 104693, 442759, 487141, 540395, 593308): another
/// device deleted a Drive file for good while drivesync downloaded its new version over the
/// synced local copy, so the synced version, which only Drive's history of that file kept,
/// was gone with it. Now the replaced version is kept aside until Drive is seen to still have
/// the file, and goes to the trash when Drive lost it.
#[test]
fn regression_seed_58722_a_permanent_delete_during_a_download_over_the_synced_copy() {
    replay(
        r#"
        local write "a" "L3 a\n"
        sync advance=60
        drive write "a" "D8 a\n"
        sync advance=0
          during 4 drive delete-forever "a"
        "#,
    );
}

/// A Drive folder moved while a file in it moved and was edited: the plan creates the folder
/// at its new place before trashing the old one, so for a moment the synced tree has its id at
/// two paths. Dropping the old path's entries there (rather than after the plan) lost the
/// moved file's synced version and the download overwrote it (found while fixing seed 54532).
#[test]
fn regression_a_folder_briefly_at_two_paths_keeps_its_synced_content() {
    replay(
        r##"
        drive write "c.txt" "D2 c.txt\n"
        local write "d.txt/C.txt" "L3 d.txt/C.txt\n"
        sync advance=1
        drive mv "d.txt/C.txt" "d.txt/a"
        drive write "d.txt/a" "D6 d.txt/a\n"
        drive mv "d.txt" "C.txt"
        drive mv "c.txt" "C.txt/d.txt"
        "##,
    );
}

/// Found by the simulation (seed 84373): a crash cut a sync after it downloaded a file Drive
/// had moved (recording it at its new place) and before it trashed the old local copy. The
/// synced tree then had the Drive id at both paths, the change feed said nothing new, and
/// the old copy stayed forever, on one side only.
#[test]
fn regression_seed_84373_a_crash_between_recording_a_move_and_trashing_the_old_copy() {
    replay(
        r##"
        local mkdir "c.txt"
        sync advance=3600
        drive mv "c.txt" "C.TXT"
        local write "c.txt/C.txt" "L1 c.txt/C.txt\n"
        drive write "C.TXT/d.txt" "D3 C.TXT/d.txt\n"
        sync advance=0
        local write "C.TXT/d.txt" "L4 C.TXT/d.txt\n"
        drive mv "C.TXT/C.txt" "C.TXT/a"
        drive mv "C.TXT/d.txt" "d.txt"
        local write "C.TXT/a" "L6 C.TXT/a\n"
        drive write "d.txt" "D7 d.txt\n"
        sync advance=3600 crash=14:before
        "##,
    );
}

/// Found by the simulation (seed 101863): a Drive folder moved to where the folder holding it
/// had been; the trash of its old local place failed (the user moved that folder meanwhile),
/// and the old place, inside the new one, was not dropped from the synced tree.
#[test]
fn regression_seed_101863_a_folder_moved_into_its_own_old_parents_place() {
    replay(
        r##"
        drive mkdir "C.txt/d.txt"
        drive write "b/a" "D4 b/a\n"
        drive mv "C.txt" "b/C.txt"
        drive write "c.txt" "D5 c.txt\n"
        sync advance=1
        drive mv "b/C.txt" "C.txt"
        drive append "c.txt" "+d8\n"
        drive mv "C.txt/d.txt" "b/C.txt"
        local mv "c.txt" "C.txt"
        drive write "b/C.txt/c.txt" "D10 b/C.txt/c.txt\n"
        sync advance=0
          during 12 local mv "b/C.txt" "b/c.txt"
        "##,
    );
}

/// Found by the simulation (seed 113415): a local folder replaced by a file, so its Drive
/// folder is trashed; while the sync ran, another device moved a new, never synced Drive file
/// into that folder, and the trash took it along.
#[test]
fn regression_seed_113415_a_file_moved_into_a_drive_folder_being_trashed() {
    replay(
        r##"
        local mkdir "c.txt"
        sync advance=60
        drive write "d.txt" "D6 d.txt\n"
        local folder-to-file "c.txt" "L7 c.txt\n"
        sync advance=60 random=13503899862425772988:0 disk-full
          during 3 drive mv "d.txt" "c.txt/b"
        "##,
    );
}

/// Found by the simulation (seed 135277): the user moved a new file into a local folder
/// between drivesync's re-check of that folder and its move to the trash (Drive had
/// replaced the folder with a file). The file goes to the trash with the folder: the
/// documented window of `LocalFs::trash` (SEMANTICS.md, known gaps), which the simulation
/// counts apart instead of as a failure, and only when the file came after drivesync last
/// listed the folder.
#[test]
fn regression_seed_135277_a_file_moved_into_a_local_folder_right_before_its_trash() {
    let known_gaps = |moved_in: &str| {
        let script = format!(
            r##"
        local write "a/b" "L1 a/b\n"
        local mv "a" "c.txt"
        sync advance=60
        local write "a" "L5 a\n"
        drive folder-to-file "c.txt" "D7 c.txt\n"
        {moved_in}
        "##
        );
        let steps = parse(&script).expect("a valid script");
        let trace = run_steps(&steps, &SimConfig::default()).unwrap_or_else(|f| panic!("{f}"));
        (trace.stats.known_gap, trace.log.join("\n"))
    };
    let (gaps, log) = known_gaps("sync advance=0\n  during 3 local mv \"a\" \"c.txt/C.txt\"");
    assert_eq!(gaps, 1, "{log}");
    // Moved in before drivesync listed the folder, the same file makes it keep the folder.
    let (gaps, log) = known_gaps("local mv \"a\" \"c.txt/C.txt\"\nsync advance=0");
    assert_eq!(gaps, 0, "{log}");
}

/// Found by the simulation (seed 158161): a file renamed locally was renamed on Drive
/// after another device had moved it into a folder holding a file of the new name, so
/// drivesync made a duplicate name there. Now the move re-checks the file's folder first.
#[test]
fn regression_seed_158161_a_rename_on_drive_after_another_device_moved_the_file() {
    replay(
        r##"
        sync advance=60
        sync advance=7
        sync advance=1
        sync advance=1
        sync advance=7
        sync advance=60
        drive write "a" "D3 a\n"
        drive mv "a" "c.txt"
        sync advance=7
        local mv "c.txt" "a"
        sync advance=3600 random=8639292111669150120:0 fault=changes:5xx:after:1
        drive mkdir "a/c.txt"
        sync advance=3600
        local mv "a (conflict laptop 2026-11-23 121723)" "c.txt"
        local write "a/c.txt/b" "L17 a/c.txt/b\n"
        sync advance=0
          during 3 drive mv "a (conflict laptop 2026-11-23 121723)" "a/b"
        "##,
    );
}

/// Found by the simulation (seed 202009): a file synced as `b (2)` was renamed `b` on Drive
/// while the user made a new local `b`. The placer kept it at `b (2)` (a numbered form of
/// its new name), so the new local `b` was uploaded next to it: a duplicate drivesync made.
#[test]
fn regression_seed_202009_a_drive_rename_from_a_numbered_name_beside_a_new_local_file() {
    replay(
        r##"
        drive write "c.txt/d.txt" "D7 c.txt/d.txt\n"
        local write "b (2)" "L10 b (2)\n"
        sync advance=60
        drive mv "b (2)" "c.txt/b (2)"
        sync advance=7
        drive mv "c.txt/b (2)" "c.txt/b"
        local write "c.txt/b" "L14 c.txt/b\n"
        "##,
    );
}

/// Found by the simulation (seed 215322): a file moved locally whose Drive folder had been
/// replaced, at the same path, by another Drive folder (folders moved on Drive). Its move was
/// sent from the synced folder, which it no longer was in, and was refused at every sync.
/// The move now starts from the folder Drive had it in when the sync was planned.
#[test]
fn regression_seed_215322_a_local_move_whose_drive_folder_was_replaced_at_the_same_path() {
    replay(
        r##"
        local write "C.txt/C.txt" "L4 C.txt/C.txt\n"
        local mv "C.txt/C.txt" "C.txt/b"
        drive mkdir "C.txt/C.txt"
        sync advance=3600
        local write "d.txt/d.txt" "L12 d.txt/d.txt\n"
        drive mv "C.txt/b" "C.txt/C.txt/b"
        drive mv "C.txt" "d.txt"
        drive write "d.txt/C.txt/c.txt" "D15 d.txt/C.txt/c.txt\n"
        local mv "C.txt" "a"
        drive mv "d.txt/C.txt" "C.txt"
        "##,
    );
}

/// Found by the simulation (seed 515744): a crash in the middle of a move left a Drive folder
/// recorded at two synced paths. Before the next sync, another device replaced that folder's
/// parent by a file, so Drive no longer had it in the pair, and that sync's rename aside of
/// the parent failed, which held the trashes that drop both paths. That is no bug of the
/// engine: a sync whose ops failed leaves their work to the next one, which resolves it here.
/// The simulation now requires one Drive id at one path only after a sync without errors.
#[test]
fn regression_seed_515744_a_shared_id_left_by_a_crash_waits_for_a_sync_without_errors() {
    replay(
        r##"
        drive mkdir "d.txt"
        sync advance=1
        local mkdir "b/d.txt"
        sync advance=60
        local write "a" "L5 a\n"
        local mv "a" "b/a"
        drive mv "b/d.txt" "b/a"
        sync advance=60 crash=5:after
        drive folder-to-file "b" "D9 b\n"
        sync advance=0 random=8288439588081006617:0 fault=relocate:reset:after:1
        "##,
    );
}

/// Found by the simulation (seed 534603): a file moved differently on both sides. The plan
/// records the local move in the synced tree, then moves the local file to Drive's place; that
/// move was held (the Drive folder move it waited for failed). The synced tree had recorded
/// Drive's new place already, so the next sync took Drive's move for drivesync's own and never
/// mirrored it. The recorded entry now keeps Drive as it was synced until the local move runs.
#[test]
fn regression_seed_534603_both_sides_moved_and_the_local_move_to_drives_place_was_held() {
    replay(
        r##"
        drive write "b" "D4 b\n"
        drive mv "b" "B"
        local mkdir "d.txt/b/b"
        sync advance=0
        drive mv "B" "b"
        drive mv "b" "d.txt/b/b/b"
        local mv "B" "d.txt/d.txt"
        local mv "d.txt/b" "c.txt"
        local write "c.txt/b/d.txt" "L19 c.txt/b/d.txt\n"
        sync advance=7 random=17163193771073776524:250
        "##,
    );
}

/// Found by the simulation (seed 536029): a local folder move was mirrored on Drive into a
/// folder another device had just put in Drive's trash, so the moved folder, with an unsynced
/// Drive version in it, went to the trash too. A Drive move now first checks that the folder
/// it goes to is not in the trash. (The move's answer was lost to a 429 after Drive had done
/// it, so the download of that version was held; the script injects the same.)
#[test]
fn regression_seed_536029_a_drive_move_into_a_folder_another_device_just_trashed() {
    replay(
        r##"
        local mkdir "C.txt"
        drive write "b/x" "D1 b/x\n"
        sync advance=60
        drive write "b/x" "D2 b/x\n"
        local mv "b" "C.txt/b"
        sync advance=1 fault=relocate:429:after:1
          during 3 drive trash "C.txt"
        "##,
    );
}

/// Found by the simulation (seed 1032097): a Drive folder moved into the pair was listed
/// whole, its local folder made and recorded, and the download of a file inside it failed
/// (a 401). The next sync read the same changes again, but the folder was now recorded, so
/// it no longer looked new and was not listed: the file was never downloaded. The folders a
/// sync lists whole are now stored, and listed again until a sync stores its cursor.
#[test]
fn regression_seed_1032097_a_failed_download_inside_a_folder_that_moved_in_is_retried() {
    replay(
        r##"
        drive mkdir "a"
        drive mkdir "c.txt/c.txt/d.txt"
        drive mv "c.txt" "a/C.txt"
        sync advance=1
        local write "C.txt" "L7 C.txt\n"
        drive mv "a/C.txt/c.txt" "c.txt"
        local mv "C.txt" "a/C.txt/c.txt/d.txt/d.txt"
        sync advance=3600
        local folder-to-file "c.txt" "L10 c.txt\n"
        sync advance=7
          during 5 drive mv "c.txt/d.txt" "a/c.txt"
        sync advance=1 random=6707093641200717938:0 fault=download:401:before:2
        "##,
    );
}

/// Found by the simulation (seed 1293840): the user renamed a file locally, and drivesync
/// mirrored it as a rename on Drive; between its re-check and the rename another device moved
/// the file into a folder that already had a file of the new name, so the rename made a
/// duplicate there. A rename whose answer shows the file in another folder is now undone,
/// and the next sync follows the other device's move.
#[test]
fn regression_seed_1293840_a_drive_rename_racing_another_devices_move_is_undone() {
    replay(
        r##"
        sync advance=1
        sync advance=60
        sync advance=1
        drive write "d.txt/a" "D8 d.txt/a\n"
        local write "d.txt/a/d.txt" "L9 d.txt/a/d.txt\n"
        sync advance=3600
        local mv "d.txt/a (conflict laptop 2026-11-23 111602)" "d.txt/d.txt"
        sync advance=0
          during 3 drive mv "d.txt/a (conflict laptop 2026-11-23 111602)" "d.txt/a/a"
        "##,
    );
}

/// A disk unplugged for two syncs while Drive changes: both syncs are held (nothing planned,
/// nothing written to the empty mount point) and the pair converges once it is back.
#[test]
fn an_unplugged_disk_holds_the_pair_and_it_converges_once_back() {
    replay(
        r##"
        local write "a/c.txt" "L1 a/c.txt\n"
        drive write "b" "D2 b\n"
        sync advance=60
        local unmount
        drive write "a/c.txt" "D3 a/c.txt\n"
        sync advance=60
        drive trash "b"
        sync advance=60
        local mount
        sync advance=60
        "##,
    );
}

/// Found by the simulation (seed 472): the user emptied the pair and, before confirming it,
/// the disk went; the confirmation must not apply to the empty mount point (a forced sync
/// there trashed the pair on Drive). The simulated user confirms only while plugged in.
#[test]
fn regression_seed_472_an_emptied_pair_confirmed_then_unplugged_is_held() {
    replay(
        r##"
        drive write "a/d.txt/C.txt" "D14\n"
        sync advance=7
        local rm "a"
        sync advance=60
        local unmount
        sync advance=60
        local mount
        sync advance=60
        "##,
    );
}

/// Found by the simulation (seed 339, with `unmount_during_sync`): the disk is unplugged in
/// the middle of a sync; an op that checked the folder just before writes into the empty
/// mount point. Fixed once local ops act through a handle of the folder opened when the sync
/// starts (openat-style), not through its path.
#[test]
#[ignore = "known bug: an unplug between an op's folder check and its write reaches the mount point"]
fn regression_seed_339_an_unplug_in_the_middle_of_a_sync_writes_to_the_mount_point() {
    replay(
        r##"
        drive write "a" "D3 a\n"
        drive file-to-folder "a"
        drive mkdir "b"
        sync advance=60
          during 5 local unmount
        local mount
        "##,
    );
}

/// Found by the simulation (seed 30, the same-stamp edit step): a conflict copy written by a
/// sync was edited right after it, at the same size and within the disk clock's tick, so its
/// stamp did not change; the next Drive edit then overwrote the local edit. Files modified
/// within the clock's resolution of the last sync's start are read again ("racy clean").
#[test]
fn regression_seed_30_a_same_stamp_edit_after_a_sync_is_not_overwritten() {
    replay(
        r##"
        local write "d.txt" "L3 d.txt\n"
        sync advance=60
        local append "d.txt" "+l4\n"
        drive append "d.txt" "+d5\n"
        sync advance=1
        local edit-same-stamp "d (conflict laptop 2026-11-23 101601).txt" "L14 d (conflict laptop 2026-11-23 101601).txt\n"
        drive write "d (conflict laptop 2026-11-23 101601).txt" "D19 d (conflict laptop 2026-11-23 101601).txt\n"
        "##,
    );
}

/// Found by the simulation (seed 1110, the same-stamp edit step): a download over a file
/// that the user edited during the sync, within the disk clock's tick, passed the commit's
/// stamp re-check and overwrote the edit. A download over a file that recent reads it again
/// first and refuses unless it still holds its synced content.
#[test]
fn regression_seed_1110_a_same_stamp_edit_during_a_sync_is_not_overwritten() {
    replay(
        r##"
        sync advance=0
          during 1 drive write "b/c.txt" "D2 b/c.txt\n"
        drive append "b/c.txt" "+d3\n"
        local mv "b/c.txt" "a"
        sync advance=1
          during 2 local edit-same-stamp "a" "L6 a\n"
        "##,
    );
}

/// Found by the simulation (seed 9843, the same-stamp edit step): the racy re-read found the
/// edit, its upload failed, and the sync still moved the pair's "last sync" on, so the next
/// scans trusted the unchanged stamp and the edit never reached Drive. The last sync is now
/// moved on only by a sync without errors.
#[test]
fn regression_seed_9843_a_racy_edit_whose_upload_failed_is_read_again() {
    replay(
        r##"
        drive write "C.txt/a" "D12 C.txt/a\n"
        sync advance=60
        local write "a/c.txt" "L15 a/c.txt\n"
        sync advance=7
        local edit-same-stamp "a/c.txt" "L19 a/c.txt\n"
        local write "a/d (conflict laptop 2026-11-23 121721).txt/c.txt" "L21 a/d (conflict laptop 2026-11-23 121721).txt/c.txt\n"
        sync advance=7 random=6462786931611095491:30
        "##,
    );
}
