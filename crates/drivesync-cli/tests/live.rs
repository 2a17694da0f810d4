//! `drivesync run` end to end against drive-emulator: local and remote edits arrive on their
//! own, a second instance is refused, `sync`/`pause`/`resume`/`status` reach the running one,
//! a vanished local folder pauses the pair instead of deleting anything, SIGTERM stops it; an
//! empty folder or a repointed link at the pair's path is held the same way.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{ok, run, text, wait_for};

use drive_emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use serde_json::Value;

/// `drivesync status --json`.
fn status(config: &Path) -> Value {
    serde_json::from_str(&ok(config, &["status", "--json"])).unwrap()
}

fn live_state(config: &Path) -> Option<String> {
    status(config)["daemon"]["pairs"][0]["state"]
        .as_str()
        .map(str::to_owned)
}

/// The live files on Drive at `path` (`/Sync/a.txt`): (id, md5).
fn on_drive(emu: &EmulatorHandle, path: &str) -> Vec<(String, Option<String>)> {
    emu.snapshot()
        .files
        .into_iter()
        .filter(|f| !f.trashed && f.path.as_deref() == Some(path))
        .map(|f| (f.id, f.md5_checksum))
        .collect()
}

fn md5_hex(bytes: &[u8]) -> String {
    use md5::{Digest, Md5};
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn api(emu: &EmulatorHandle) -> (reqwest::Client, String) {
    let token = emu.mint_tokens(None).unwrap().access_token;
    (reqwest::Client::new(), token)
}

/// Another device replaces the content of Drive file `id`.
async fn device_update(emu: &EmulatorHandle, id: &str, bytes: &[u8]) {
    let (http, token) = api(emu).await;
    http.patch(format!("{}/upload/drive/v3/files/{id}", emu.base_url()))
        .query(&[("uploadType", "media")])
        .bearer_auth(token)
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
}

/// An emulator, a folder for the test, and a config there signed in to the emulator, with
/// Drive read every second.
async fn signed_in() -> (EmulatorHandle, tempfile::TempDir, PathBuf) {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = common::write_config(dir.path(), &emu.base_url());
    let mut cfg = std::fs::read_to_string(&config).unwrap();
    cfg.push_str("[sync]\npoll_seconds = 1\n");
    std::fs::write(&config, cfg).unwrap();
    common::login(common::drivesync(&config)).await.unwrap();
    (emu, dir, config)
}

struct Running {
    child: Child,
    log: PathBuf,
}

impl Running {
    fn start(config: &Path, dir: &Path) -> Self {
        let log = dir.join("run.log");
        let child = common::drivesync(config)
            .args(["run", "-v"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Self { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn run_syncs_by_itself_and_takes_commands_from_other_processes() {
    let (emu, dir, config) = signed_in().await;
    let local = dir.path().join("Local");
    std::fs::create_dir_all(&local).unwrap();
    std::fs::write(local.join("before.txt"), b"before").unwrap();
    ok(
        &config,
        &[
            "pair",
            "add",
            local.to_str().unwrap(),
            "/Sync",
            "--name",
            "s",
        ],
    );

    let mut daemon = Running::start(&config, dir.path());
    wait_for("the first sync", Duration::from_secs(20), || {
        live_state(&config).as_deref() == Some("idle")
    });
    assert_eq!(on_drive(&emu, "/Sync/before.txt").len(), 1);

    // A local edit reaches Drive by itself (P5: a sample, not a benchmark).
    std::fs::write(local.join("a.txt"), b"local edit").unwrap();
    let up = wait_for("the local edit on Drive", Duration::from_secs(20), || {
        on_drive(&emu, "/Sync/a.txt")
            .first()
            .is_some_and(|(_, m)| m.as_deref() == Some(md5_hex(b"local edit").as_str()))
    });
    eprintln!("local edit on Drive after {up:?}");

    // A remote edit reaches the disk by itself (P6, poll 1 s here).
    let id = on_drive(&emu, "/Sync/a.txt")[0].0.clone();
    device_update(&emu, &id, b"remote edit").await;
    let down = wait_for("the remote edit on disk", Duration::from_secs(20), || {
        std::fs::read(local.join("a.txt")).ok().as_deref() == Some(b"remote edit")
    });
    eprintln!("remote edit on disk after {down:?}");

    // One instance per data folder; the second says who runs.
    let second = run(&config, &["run"]);
    assert_eq!(second.status.code(), Some(1));
    let pid = daemon.child.id();
    assert!(
        text(&second).contains(&format!("already running (pid {pid})")),
        "{}",
        text(&second)
    );
    // `sync` hands over to the running one.
    let out = ok(&config, &["sync"]);
    assert!(out.contains("is syncing now"), "{out}");

    // Pause holds local changes; resume sends them.
    ok(&config, &["pause", "s"]);
    assert_eq!(live_state(&config).as_deref(), Some("paused"));
    std::fs::write(local.join("paused.txt"), b"made while paused").unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert!(on_drive(&emu, "/Sync/paused.txt").is_empty(), "paused");
    let status_text = ok(&config, &["status"]);
    assert!(status_text.contains("paused"), "{status_text}");
    ok(&config, &["resume"]);
    wait_for(
        "the paused change on Drive",
        Duration::from_secs(20),
        || !on_drive(&emu, "/Sync/paused.txt").is_empty(),
    );

    // Speed limits change at run time (the throttling itself is tested in drivesync-drive).
    let out = ok(&config, &["limit", "--up", "64", "--down", "128"]);
    assert!(out.contains("up 64 KiB/s, down 128 KiB/s"), "{out}");
    assert_eq!(status(&config)["daemon"]["upload_limit"], 65536);
    ok(&config, &["limit", "--up", "0", "--down", "0"]);
    assert!(status(&config)["daemon"]["download_limit"].is_null());

    // An editor's save (write a temp file, rename it over the original) is an edit: the
    // same Drive file gets the new content; nothing goes to Drive's trash.
    let id = on_drive(&emu, "/Sync/a.txt")[0].0.clone();
    std::fs::write(local.join("a.txt.tmp"), b"saved by an editor").unwrap();
    std::fs::rename(local.join("a.txt.tmp"), local.join("a.txt")).unwrap();
    wait_for("the saved file on Drive", Duration::from_secs(20), || {
        on_drive(&emu, "/Sync/a.txt")
            .first()
            .is_some_and(|(_, m)| m.as_deref() == Some(md5_hex(b"saved by an editor").as_str()))
    });
    assert_eq!(
        on_drive(&emu, "/Sync/a.txt")[0].0,
        id,
        "the same Drive file"
    );
    assert!(
        !emu.snapshot().files.iter().any(|f| f.trashed),
        "nothing trashed"
    );

    // Google revokes access: the pair holds with a reconnect message; a new login resumes it.
    emu.expire_access_tokens().unwrap();
    emu.revoke_refresh_tokens().unwrap();
    std::fs::write(local.join("offline.txt"), b"written while signed out").unwrap();
    wait_for("the reconnect state", Duration::from_secs(30), || {
        status(&config)["daemon"]["pairs"][0]["blocker"]["kind"] == "sign_in"
    });
    let message = status(&config)["daemon"]["pairs"][0]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("Reconnect"), "{message}");
    common::login(common::drivesync(&config)).await.unwrap();
    wait_for(
        "the sync after the new login",
        Duration::from_secs(30),
        || !on_drive(&emu, "/Sync/offline.txt").is_empty(),
    );

    // Disabling a pair stops its loop at once; enabling it starts it again.
    let out = ok(&config, &["pair", "set", "s", "--enabled", "off"]);
    assert!(out.contains("picked up the change"), "{out}");
    assert_eq!(
        status(&config)["daemon"]["pairs"].as_array().unwrap().len(),
        0
    );
    ok(&config, &["pair", "set", "s", "--enabled", "on"]);
    wait_for("the pair to run again", Duration::from_secs(20), || {
        live_state(&config).as_deref() == Some("idle")
    });

    // The local folder vanishes (an unmounted disk): the pair holds, nothing is trashed.
    let away = dir.path().join("Away");
    std::fs::rename(&local, &away).unwrap();
    wait_for("the pair to hold", Duration::from_secs(30), || {
        live_state(&config).as_deref() == Some("blocked")
    });
    let st = status(&config);
    let message = st["daemon"]["pairs"][0]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("missing") && message.contains("Nothing was deleted"),
        "{message}"
    );
    assert!(
        !on_drive(&emu, "/Sync/a.txt").is_empty(),
        "nothing trashed on Drive"
    );
    std::fs::rename(&away, &local).unwrap();
    std::fs::write(local.join("back.txt"), b"after the folder came back").unwrap();
    wait_for("the pair to resume", Duration::from_secs(40), || {
        !on_drive(&emu, "/Sync/back.txt").is_empty()
    });
    assert_eq!(on_drive(&emu, "/Sync/before.txt").len(), 1);

    // SIGTERM stops it cleanly; the socket goes away.
    let kill = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let exit = daemon.child.wait().unwrap();
    assert!(exit.success(), "{exit:?}\n{}", daemon.log());
    assert!(!dir.path().join("state/drivesync.sock").exists());
    let log = daemon.log();
    assert!(log.contains("drivesync is running"), "{log}");
    let files: Vec<_> = std::fs::read_dir(dir.path().join("state/logs"))
        .unwrap()
        .collect();
    assert_eq!(files.len(), 1, "one daily log file");
}

/// Item 1 of the "outside the lab" issue: a pair's folder swapped for an empty one (a disk
/// that did not mount) or its path made a link to an empty folder is held by `drivesync sync`
/// (exit 6) and by `drivesync run`; nothing is trashed or written there; it resumes when the
/// real folder is back, through the link too.
#[tokio::test(flavor = "multi_thread")]
async fn an_empty_folder_or_a_repointed_link_at_the_pairs_path_trashes_nothing() {
    let (emu, dir, config) = signed_in().await;
    let local = dir.path().join("Usb");
    std::fs::create_dir_all(local.join("sub")).unwrap();
    for name in ["a.txt", "b.txt", "sub/c.txt"] {
        std::fs::write(local.join(name), name).unwrap();
    }
    let pair = ["pair", "add", local.to_str().unwrap(), "/Sync"];
    ok(&config, &[&pair[..], &["--name", "s"]].concat());
    assert!(local.join(".drivesync-pair").is_file(), "pair add marks it");
    ok(&config, &["sync"]);
    let synced = || {
        ["/Sync/a.txt", "/Sync/b.txt", "/Sync/sub/c.txt"]
            .iter()
            .all(|p| on_drive(&emu, p).len() == 1)
    };
    assert!(synced());
    let away = dir.path().join("Usb.real");
    let unplug = || {
        std::fs::rename(&local, &away).unwrap();
        std::fs::create_dir(&local).unwrap();
    };
    let plug = || {
        std::fs::remove_dir(&local).expect("nothing was written to the mount point");
        std::fs::rename(&away, &local).unwrap();
    };

    // `drivesync sync` over the empty mount point: held, exit 6, nothing on either side.
    unplug();
    let out = run(&config, &["sync"]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    assert!(text(&out).contains("Nothing was deleted"), "{}", text(&out));
    assert!(synced(), "nothing trashed on Drive");
    let st = ok(&config, &["status"]);
    assert!(
        st.contains("pending:   unknown") && st.contains("not mounted"),
        "{st}"
    );
    plug();
    ok(&config, &["sync"]);

    // The pair's path becomes a link to an empty folder, then to the real one again.
    let empty = dir.path().join("Empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::rename(&local, &away).unwrap();
    std::os::unix::fs::symlink(&empty, &local).unwrap();
    let out = run(&config, &["sync"]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    assert!(synced());
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);
    std::fs::remove_file(&local).unwrap();
    std::os::unix::fs::symlink(&away, &local).unwrap();
    ok(&config, &["sync"]);
    assert!(synced());
    std::fs::remove_file(&local).unwrap();
    std::fs::rename(&away, &local).unwrap();

    // `drivesync run`: the disk goes while Drive changes; the pair holds and resumes.
    let _daemon = Running::start(&config, dir.path());
    wait_for("the first live sync", Duration::from_secs(20), || {
        live_state(&config).as_deref() == Some("idle")
    });
    unplug();
    let id = on_drive(&emu, "/Sync/a.txt")[0].0.clone();
    device_update(&emu, &id, b"edited elsewhere").await;
    wait_for("the pair to hold", Duration::from_secs(30), || {
        status(&config)["daemon"]["pairs"][0]["blocker"]["kind"] == "folder_missing"
    });
    std::thread::sleep(Duration::from_secs(2));
    assert!(synced(), "nothing trashed on Drive");
    assert_eq!(
        std::fs::read_dir(&local).unwrap().count(),
        0,
        "nothing written"
    );
    plug();
    wait_for(
        "the edit after the disk came back",
        Duration::from_secs(40),
        || std::fs::read(local.join("a.txt")).ok().as_deref() == Some(b"edited elsewhere"),
    );
    assert!(synced());
}

/// Logging out stops the running drivesync's syncing first; a revoke Google does not confirm
/// keeps the token (still signed in, syncing again) until `logout --force`.
#[tokio::test(flavor = "multi_thread")]
async fn logout_stops_a_running_drivesync_and_keeps_the_token_until_the_revoke_is_confirmed() {
    use drive_emulator::faults::FaultSpec;
    let (emu, dir, config) = signed_in().await;
    let local = dir.path().join("Local");
    std::fs::create_dir_all(&local).unwrap();
    ok(&config, &["pair", "add", local.to_str().unwrap(), "/Sync"]);
    let _daemon = Running::start(&config, dir.path());
    wait_for("the first sync", Duration::from_secs(20), || {
        live_state(&config).as_deref() == Some("idle")
    });

    // Google does not answer the revoke: still signed in, and syncing goes on.
    emu.add_fault(FaultSpec {
        path: Some("/revoke".into()),
        status: Some(503),
        count: Some(10),
        ..FaultSpec::default()
    });
    let out = run(&config, &["logout"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("still signed in"), "{}", text(&out));
    assert!(
        text(&out).contains("stopped syncing"),
        "told first: {}",
        text(&out)
    );
    assert!(ok(&config, &["whoami"]).contains('@'), "the token is kept");
    std::fs::write(local.join("after.txt"), b"still syncing").unwrap();
    wait_for(
        "the sync after the failed logout",
        Duration::from_secs(20),
        || !on_drive(&emu, "/Sync/after.txt").is_empty(),
    );

    // Forced: signed out whatever Google says; the running one stops syncing.
    let out = run(&config, &["logout", "--force"]);
    let said = text(&out);
    assert!(said.contains("stopped syncing"), "{said}");
    assert!(said.contains("myaccount.google.com/permissions"), "{said}");
    assert!(
        run(&config, &["whoami"]).status.code() == Some(3),
        "signed out"
    );
    let st = status(&config);
    assert!(
        st["daemon"]["account_problem"].is_string(),
        "not syncing: {st}"
    );
    assert_eq!(st["daemon"]["pairs"].as_array().unwrap().len(), 0, "{st}");
    std::fs::write(local.join("signed-out.txt"), b"not synced").unwrap();
    std::thread::sleep(Duration::from_secs(2));
    assert!(on_drive(&emu, "/Sync/signed-out.txt").is_empty());
}
