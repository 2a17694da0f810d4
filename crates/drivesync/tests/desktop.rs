//! The desktop app's core functions against drive-emulator: account state, Drive folder
//! browsing, Drive links, the first-sync preview, settling conflicts, ignore rules and app
//! settings.
//! One test function: it changes `HOME` (the OS trash lives there) for the whole process.

use std::path::Path;

use drive_emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use drivesync::demo::emulator_config;
use drivesync::desktop::{AccountState, AppSettings};
use drivesync::{Drivesync, Events, Overrides, Resolution, SyncRequest};

fn write_config(dir: &Path, base: &str) -> std::path::PathBuf {
    let text = format!("# my drivesync\n{}", emulator_config(base));
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

async fn sync(app: &Drivesync, pair: i64) {
    let results = app
        .sync(
            Some(&pair.to_string()),
            SyncRequest::default(),
            Events::none(),
        )
        .await
        .unwrap();
    for (_, r) in results {
        let report = r.unwrap();
        assert!(report.errors.is_empty(), "{:?}", report.errors);
    }
}

fn drive_content(emu: &EmulatorHandle, path: &str) -> Option<String> {
    emu.snapshot()
        .files
        .into_iter()
        .find(|f| f.path.as_deref() == Some(path) && !f.trashed)
        .map(|f| f.md5_checksum.unwrap_or_default())
}

fn md5(text: &str) -> String {
    use md5::{Digest, Md5};
    Md5::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_can_connect_browse_preview_settle_conflicts_and_save_settings() {
    let home = tempfile::tempdir().unwrap();
    std::env::set_var("HOME", home.path());
    std::env::set_var("XDG_DATA_HOME", home.path().join(".local/share"));
    std::env::set_var("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent");
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), emu.base_url().as_str());
    let app = Drivesync::open(&Overrides {
        config_file: Some(config.clone()),
        endpoint: None,
    })
    .unwrap();

    // Account.
    assert_eq!(
        app.account_state().await.unwrap(),
        AccountState::Disconnected
    );
    app.login_unattended().await.unwrap();
    let AccountState::Connected { email, .. } = app.account_state().await.unwrap() else {
        panic!("not connected after login")
    };
    assert!(email.contains('@'));

    // Browsing and creating folders.
    let work = app.drive_create_folder(None, "Work").await.unwrap();
    assert_eq!(work.path, "/Work");
    let reports = app
        .drive_create_folder(Some(&work.id), "Reports")
        .await
        .unwrap();
    assert_eq!(reports.path, "/Work/Reports");
    app.drive_create_folder(None, "archive").await.unwrap();
    let top: Vec<String> = app
        .drive_folders(None)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.path)
        .collect();
    assert_eq!(top, ["/archive", "/Work"], "sorted by name, ignoring case");
    let inside = app.drive_folders(Some(&work.id)).await.unwrap();
    assert_eq!(inside, vec![reports.clone()]);
    assert!(app.drive_create_folder(None, "  ").await.is_err());

    // Drive gets content through a pair of "the other device" (its own drivesync: one
    // drivesync never has two pairs on one Drive folder).
    let other_dir = tempfile::tempdir().unwrap();
    let other_app = Drivesync::open(&Overrides {
        config_file: Some(write_config(other_dir.path(), emu.base_url().as_str())),
        endpoint: None,
    })
    .unwrap();
    other_app.login_unattended().await.unwrap();
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("same.txt"), "same").unwrap();
    std::fs::write(other.join("differs.txt"), "drive version").unwrap();
    std::fs::write(other.join("drive-only.txt"), "from drive").unwrap();
    let other_pair = other_app
        .pair_add(&other, &format!("id:{}", reports.id), Some("other"))
        .await
        .unwrap();
    assert_eq!(
        other_pair.drive_path, "/Work/Reports",
        "added by id, shown by path"
    );
    sync(&other_app, other_pair.id).await;

    // "Open in Drive" leads to the emulator's page of the file (the demo has no Google).
    let link = other_app
        .drive_link(other_pair.id, Some("same.txt"))
        .unwrap();
    let base = emu.base_url().as_str().trim_end_matches('/').to_owned();
    assert!(link.starts_with(&format!("{base}/file/d/")), "{link}");
    let page = reqwest::get(&link).await.unwrap().text().await.unwrap();
    assert!(page.contains("/Work/Reports/same.txt"), "{page}");
    let folder = other_app.drive_link(other_pair.id, None).unwrap();
    assert_eq!(folder, format!("{base}/drive/folders/{}", reports.id));

    // The preview of a second folder against it changes nothing anywhere.
    let mine = dir.path().join("mine");
    std::fs::create_dir_all(&mine).unwrap();
    std::fs::write(mine.join("same.txt"), "same").unwrap();
    std::fs::write(mine.join("differs.txt"), "my version").unwrap();
    std::fs::write(mine.join("local-only.txt"), "0123456789").unwrap();
    let before = emu.snapshot();
    let preview = app.preview(&mine, &reports.id).await.unwrap();
    assert_eq!(
        (
            preview.upload_count,
            preview.download_count,
            preview.conflict_count,
            preview.same_count
        ),
        (1, 1, 1, 1),
        "{preview:?}"
    );
    assert_eq!(preview.upload, ["local-only.txt"]);
    assert_eq!(preview.upload_bytes, 10);
    assert_eq!(preview.download, ["drive-only.txt"]);
    assert_eq!(preview.conflicts, ["differs.txt"]);
    assert_eq!(preview.download_bytes, "from drive".len() as u64);
    assert_eq!(emu.snapshot().files.len(), before.files.len());
    assert_eq!(
        std::fs::read_dir(&mine).unwrap().count(),
        3,
        "nothing written locally"
    );
    assert_eq!(app.pairs().unwrap().len(), 0, "nothing stored");
    assert!(app
        .preview(&dir.path().join("nope"), &reports.id)
        .await
        .is_err());

    // Adding it syncs into a conflict; keep mine puts my version back at the name.
    let mine_pair = app
        .pair_add(&mine, &format!("id:{}", reports.id), None)
        .await
        .unwrap();
    sync(&app, mine_pair.id).await;
    let conflicts = app.all_conflicts().unwrap();
    assert_eq!(conflicts.len(), 1);
    let c = &conflicts[0];
    assert_eq!(c.path.as_str(), "differs.txt");
    assert_eq!(
        std::fs::read_to_string(mine.join(c.copy.as_str())).unwrap(),
        "my version"
    );
    app.resolve_conflict(c.id.0, Resolution::KeepMine)
        .await
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(mine.join("differs.txt")).unwrap(),
        "my version"
    );
    assert!(!mine.join(c.copy.as_str()).exists());
    let trashed = walk(home.path());
    assert!(
        trashed
            .iter()
            .any(|p| std::fs::read_to_string(p).ok().as_deref() == Some("drive version")),
        "the dropped version is in the trash: {trashed:?}"
    );
    assert!(app.all_conflicts().unwrap().is_empty());
    assert!(
        app.resolve_conflict(c.id.0, Resolution::KeepBoth)
            .await
            .is_err(),
        "settled once"
    );
    sync(&app, mine_pair.id).await;
    assert_eq!(
        drive_content(&emu, "/Work/Reports/differs.txt"),
        Some(md5("my version"))
    );
    assert_eq!(
        drive_content(&emu, &format!("/Work/Reports/{}", c.copy)),
        None
    );

    // A second conflict, settled the other way.
    std::fs::write(other.join("same.txt"), "theirs").unwrap();
    sync(&other_app, other_pair.id).await;
    std::fs::write(mine.join("same.txt"), "ours").unwrap();
    sync(&app, mine_pair.id).await;
    let c = app.all_conflicts().unwrap().remove(0);
    app.resolve_conflict(c.id.0, Resolution::KeepTheirs)
        .await
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(mine.join("same.txt")).unwrap(),
        "theirs"
    );
    assert!(!mine.join(c.copy.as_str()).exists());

    // Ignore rules.
    assert_eq!(app.ignore_rules(mine_pair.id).unwrap(), "");
    let err = app
        .set_ignore_rules(mine_pair.id, "*.log\n[z-a]\n")
        .unwrap_err();
    assert!(err.to_string().contains("line 2"), "{err}");
    assert!(!mine.join(".drivesyncignore").exists(), "nothing written");
    app.set_ignore_rules(mine_pair.id, "*.log\nbuild/\n")
        .unwrap();
    assert_eq!(app.ignore_rules(mine_pair.id).unwrap(), "*.log\nbuild/\n");

    // App settings: validated, written to the config file without losing the rest.
    let mut s = app.app_settings();
    assert_eq!(
        (s.poll_secs, s.upload_kib, s.log_level.as_str()),
        (15, 0, "info")
    );
    for bad in [
        AppSettings {
            poll_secs: 2,
            ..s.clone()
        },
        AppSettings {
            poll_secs: 99_999,
            ..s.clone()
        },
        AppSettings {
            log_level: "loud".into(),
            ..s.clone()
        },
    ] {
        assert!(app.set_app_settings(&bad).is_err(), "{bad:?}");
    }
    s.poll_secs = 30;
    s.upload_kib = 512;
    s.autostart = true;
    s.log_level = "debug".into();
    let app2 = app.set_app_settings(&s).unwrap();
    assert_eq!(app2.app_settings().poll_secs, 30);
    assert_eq!(
        app.bandwidth().limits().0,
        Some(512 * 1024),
        "applies at once"
    );
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.starts_with("# my drivesync"), "{text}");
    let reloaded = Drivesync::open(&Overrides {
        config_file: Some(config),
        endpoint: None,
    })
    .unwrap();
    let r = reloaded.app_settings();
    assert_eq!(
        (r.poll_secs, r.upload_kib, r.autostart, r.log_level.as_str()),
        (30, 512, true, "debug")
    );
    assert!(matches!(
        reloaded.account_state().await.unwrap(),
        AccountState::Connected { .. }
    ));

    // Revoked access shows as "reconnect".
    emu.revoke_refresh_tokens().unwrap();
    emu.expire_access_tokens().unwrap();
    let state = reloaded.account_state().await.unwrap();
    assert!(
        matches!(state, AccountState::Reconnect { email: Some(_), .. }),
        "{state:?}"
    );
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
