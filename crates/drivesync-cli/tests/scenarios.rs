//! End-to-end sync scenarios: the real `drivesync` binary against an in-process drive-emulator,
//! with this test acting as a second device that changes Drive. Each scenario is a file
//! `tests/scenarios/<name>.scn` at the repository root, in the line language described in
//! `tests/scenarios/README.md`; each file is one test here, named like the file.
//!
//! Every `sync` step also checks the no-data-loss rule (every content present on either side
//! before the sync is, after it, on a side, in a trash, or a superseded synced version kept in
//! the history of a Drive file that still exists), and every scenario ends by checking that
//! both sides are the same, that Drive holds no unexpected duplicate names, that nothing was
//! written outside the pair, and that one more sync has nothing to do.

#[path = "scenarios/checks.rs"]
mod checks;
mod common;
#[path = "scenarios/drive_view.rs"]
mod drive_view;
#[path = "scenarios/script.rs"]
mod script;
#[path = "scenarios/steps.rs"]
mod steps;
#[path = "scenarios/syncs.rs"]
mod syncs;
#[path = "scenarios/world.rs"]
mod world;

use checks::*;
use drive_view::*;
use script::*;
use world::*;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context, Result};
use drive_emulator::faults::FaultRule;
use drive_emulator::{Emulator, EmulatorConfig, EmulatorHandle, FaultSpec, SnapshotFile};
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use md5::{Digest, Md5};
use serde_json::{json, Value};

const SCENARIOS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/scenarios");
/// The host name conflict copies carry (`DRIVESYNC_HOST` of the child).
const HOST: &str = "testhost";
const FOLDER_MIME: &str = "application/vnd.google-apps.folder";
const APPS_PREFIX: &str = "application/vnd.google-apps.";
const DOC_MIME: &str = "application/vnd.google-apps.document";
const SHORTCUT_MIME: &str = "application/vnd.google-apps.shortcut";
/// The user the child runs as in `# unprivileged` scenarios when the tests run as root.
const NOBODY: u32 = 65534;
/// How long one `drivesync` run may take.
const CLI_TIMEOUT: Duration = Duration::from_secs(60);
/// drivesync's built-in ignore rules and link-file names, from the planner itself.
use drivesync_reconcile::{is_link_name, link_extension, BUILT_IN as BUILTIN_IGNORES};
/// Tags of the emulator fault rules used as request counters (they never fire a fault).
const COUNT_UPLOAD: &str = "count:upload";
const COUNT_RESUMABLE: &str = "count:resumable-start";
const COUNT_DOWNLOAD: &str = "count:download";
const HOLD_DOWNLOAD: &str = "hold:download";

macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                run(stringify!($name)).await
            }
        )*
        /// Every scenario that has a test.
        const LISTED: &[&str] = &[$(stringify!($name)),*];
    };
}

scenarios! {
    first_sync_merge,
    edit_local_to_drive,
    edit_drive_to_local,
    conflict_both_edited,
    delete_local_vs_edit_drive,
    delete_drive_vs_edit_local,
    deletes_propagate_to_trash,
    rename_move_local,
    rename_move_drive,
    folder_delete_keeps_changed_file,
    case_only_rename,
    odd_drive_names,
    drive_duplicates,
    docs_and_shortcuts,
    ignore_rules,
    delete_guard,
    change_during_download,
    unreadable_file,
    symlink_not_followed,
    resume_after_kill,
    kill_mid_sync_many_files,
    type_change,
    swap_names,
    conflicting_moves,
    move_and_edit_local,
    folder_rename_while_drive_adds,
    kill_mid_download,
    kill_mid_download_leaves_no_partial,
    repeated_conflicts,
    change_during_upload,
    move_there_edit_here,
    long_drive_name,
    emptied_folder,
}

#[test]
fn every_scenario_file_has_a_test() {
    let mut files: Vec<String> = std::fs::read_dir(SCENARIOS)
        .expect("tests/scenarios exists")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".scn").map(str::to_owned)
        })
        .collect();
    files.sort();
    let mut listed: Vec<String> = LISTED.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(
        files, listed,
        "add each tests/scenarios/*.scn to the scenarios! list in tests/scenarios.rs"
    );
}

async fn run(name: &str) {
    let path = Path::new(SCENARIOS).join(format!("{name}.scn"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let script = match parse(&text) {
        Ok(s) => s,
        Err(e) => panic!("{name}.scn: {e:#}"),
    };
    if let Some(why) = &script.known_bug {
        if std::env::var_os("SCENARIOS_RUN_KNOWN_BUGS").is_none() {
            println!(
                "SKIPPED {name}: known engine bug: {why} (SCENARIOS_RUN_KNOWN_BUGS=1 runs it)"
            );
            return;
        }
    }
    let started = Instant::now();
    let mut world = match World::new(name, &script).await {
        Ok(w) => w,
        Err(e) => panic!("{name}: setup failed: {e:#}"),
    };
    let result = world.run(&script).await;
    world.restore_permissions();
    if std::env::var_os("SCENARIOS_KEEP").is_some() {
        if let Some(t) = world.tmp.take() {
            println!("{name}: kept {}", t.keep().display());
        }
    }
    if let Err(e) = result {
        panic!(
            "scenario {name} failed: {e:#}\n\nlast drivesync run:\n{}",
            world.last_output
        );
    }
    println!("{name}: ok in {:.1}s", started.elapsed().as_secs_f64());
}
