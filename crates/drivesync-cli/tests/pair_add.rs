//! `drivesync pair add` against drive-emulator: folders that would make two pairs sync the
//! same files, or a pair sync drivesync's own state, are refused with both folders named; a
//! folder holding drivesync's own folders (a home folder) is accepted with them left out;
//! overlapping pairs stored by an older drivesync are paused by `drivesync run`.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{ok, run, text, wait_for};
use drive_emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use drivesync_model::{DriveId, PairSettings};
use drivesync_state::{NewPair, StateDb};

/// `pair add LOCAL DRIVE --name NAME`.
fn pair_add(config: &Path, local: &Path, drive: &str, name: &str) -> std::process::Output {
    let local = local.to_str().unwrap();
    run(config, &["pair", "add", local, drive, "--name", name])
}

/// [`pair_add`], which must fail; its message.
fn refused(config: &Path, local: &Path, drive: &str, name: &str) -> String {
    let out = pair_add(config, local, drive, name);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    text(&out)
}

/// [`pair_add`], which must succeed; what it printed.
fn add(config: &Path, local: &Path, drive: &str, name: &str) -> String {
    let out = pair_add(config, local, drive, name);
    assert!(out.status.success(), "{}", text(&out));
    text(&out)
}

async fn signed_in(emu: &EmulatorHandle, dir: &Path) -> std::path::PathBuf {
    let config = common::write_config(dir, &emu.base_url());
    common::login(common::drivesync(&config)).await.unwrap();
    config
}

#[tokio::test(flavor = "multi_thread")]
async fn pair_add_refuses_folders_that_overlap_another_pair_or_drivesyncs_own() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = signed_in(&emu, dir.path()).await;
    let photos = dir.path().join("Photos");
    add(&config, &photos, "/Work/Photos", "photos");

    // Local folders: the same, inside, containing; drivesync's data folder.
    let msg = refused(&config, &photos, "/Other1", "again");
    assert!(
        msg.contains("already synced by the pair \"photos\""),
        "{msg}"
    );
    let msg = refused(&config, &photos.join("2024"), "/Other2", "inner");
    assert!(
        msg.contains("inside the folder of the pair \"photos\""),
        "{msg}"
    );
    assert!(msg.contains("Photos/2024"), "names the folder: {msg}");
    let all = dir.path().join("All");
    std::fs::create_dir_all(&all).unwrap();
    std::os::unix::fs::symlink(&photos, all.join("photos-link")).unwrap();
    let msg = refused(&config, &all.join("photos-link/sub"), "/Other3", "via-link");
    assert!(msg.contains("\"photos\""), "a link is resolved: {msg}");
    let msg = refused(&config, &dir.path().join("state/mine"), "/Other4", "state");
    assert!(msg.contains("drivesync's own folder"), "{msg}");
    assert!(!dir.path().join("state/mine").exists(), "nothing created");

    // Drive folders: the same, inside, containing (by id too).
    let music = dir.path().join("Music");
    let msg = refused(&config, &music, "/Work/Photos", "d-same");
    assert!(
        msg.contains("already synced by the pair \"photos\""),
        "{msg}"
    );
    let msg = refused(&config, &music, "/Work/Photos/New/Deeper", "d-inside");
    assert!(
        msg.contains("inside the folder of the pair \"photos\""),
        "{msg}"
    );
    let msg = refused(&config, &music, "/Work", "d-contains");
    assert!(
        msg.contains("contains the folder of the pair \"photos\""),
        "{msg}"
    );
    let snap = emu.snapshot();
    assert!(
        !snap.files.iter().any(|f| f.name == "New"),
        "no Drive folder created for a refused pair"
    );
    let work = snap
        .files
        .iter()
        .find(|f| f.path.as_deref() == Some("/Work"))
        .unwrap();
    let msg = refused(&config, &music, &format!("id:{}", work.id), "d-by-id");
    assert!(msg.contains("contains the folder"), "{msg}");
    assert!(
        !music.exists(),
        "nothing created locally for a refused pair"
    );

    // Next to each other is fine.
    add(&config, &music, "/Work/Music", "music");
    let pairs = ok(&config, &["pair", "list"]);
    assert_eq!(pairs.lines().count(), 2, "{pairs}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_folder_holding_drivesyncs_own_folders_is_synced_without_them() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    // The data folder (`state/`) and the config file live in the pair's folder.
    let config = signed_in(&emu, home.path()).await;
    std::fs::write(home.path().join("notes.txt"), b"mine").unwrap();
    let out = add(&config, home.path(), "/Home", "home");
    assert!(out.contains("state is drivesync's own folder"), "{out}");
    assert!(
        out.contains("config.toml is drivesync's own folder"),
        "{out}"
    );
    // Even a rule that un-ignores them does not bring them in.
    std::fs::write(
        home.path().join(".drivesyncignore"),
        "!state/\n!config.toml\n",
    )
    .unwrap();
    ok(&config, &["sync"]);
    let snap = emu.snapshot();
    let on_drive: Vec<&str> = snap
        .files
        .iter()
        .filter_map(|f| f.path.as_deref())
        .filter(|p| p.starts_with("/Home/"))
        .collect();
    assert!(on_drive.contains(&"/Home/notes.txt"), "{on_drive:?}");
    assert!(
        on_drive
            .iter()
            .all(|p| !p.starts_with("/Home/state") && *p != "/Home/config.toml"),
        "{on_drive:?}"
    );
    let dry = ok(&config, &["sync", "--dry-run"]);
    assert!(dry.contains("nothing to do"), "{dry}");
}

#[tokio::test(flavor = "multi_thread")]
async fn overlapping_pairs_from_before_are_paused_by_a_running_drivesync() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = signed_in(&emu, dir.path()).await;
    let outer = dir.path().join("Outer");
    add(&config, &outer, "/Outer", "outer");
    // An older drivesync let this one in: inside the first pair's folder.
    let inner = outer.join("inner");
    std::fs::create_dir_all(&inner).unwrap();
    let db = StateDb::open(&dir.path().join("state/state.sqlite3")).unwrap();
    let root = DriveId::new(
        emu.snapshot()
            .files
            .iter()
            .find(|f| f.path.as_deref() == Some("/Outer"))
            .unwrap()
            .id
            .clone(),
    );
    db.add_pair(
        &NewPair {
            name: "inner".into(),
            local_root: inner.canonicalize().unwrap(),
            remote_root: root,
            remote_path: "/Outer".into(),
            settings: PairSettings::default(),
        },
        chrono::Utc::now(),
    )
    .unwrap();
    drop(db);
    let mut daemon = common::drivesync(&config)
        .arg("run")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let state = |name: &str| {
        let s: serde_json::Value =
            serde_json::from_str(&ok(&config, &["status", "--json"])).unwrap();
        s["daemon"]["pairs"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == name)
            .cloned()
            .unwrap_or_default()
    };
    wait_for("both pairs reported", Duration::from_secs(20), || {
        state("outer")["state"] == "idle" && state("inner")["state"] == "blocked"
    });
    let inner_state = state("inner");
    assert_eq!(inner_state["blocker"]["kind"], "overlapping");
    let message = inner_state["message"].as_str().unwrap();
    assert!(
        message.contains("inside the folder of the pair \"outer\"") && message.contains("Remove"),
        "{message}"
    );
    let _ = daemon.kill();
    let _ = daemon.wait();
}
