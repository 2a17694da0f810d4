//! `drivesync pair set` end to end against drive-emulator: turning Office export of Google
//! Docs on and off changes what the local folder holds at the next sync.

mod common;

use common::ok as run;

use drive_emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use serde_json::{json, Value};

/// Another device creates `meta` on Drive; returns its id.
async fn create(emu: &EmulatorHandle, meta: Value) -> String {
    let token = emu.mint_tokens(None).unwrap().access_token;
    let v: Value = reqwest::Client::new()
        .post(format!("{}/drive/v3/files", emu.base_url()))
        .bearer_auth(token)
        .json(&meta)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    v["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn pair_set_export_docs_switches_between_office_files_and_link_files() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = common::write_config(dir.path(), &emu.base_url());
    common::login(common::drivesync(&config)).await.unwrap();
    let folder = create(
        &emu,
        json!({"name": "Sync", "parents": ["root"], "mimeType": "application/vnd.google-apps.folder"}),
    )
    .await;
    create(
        &emu,
        json!({"name": "Plan", "parents": [folder], "mimeType": "application/vnd.google-apps.document"}),
    )
    .await;
    let local = dir.path().join("Local");
    run(
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

    let out = run(&config, &["pair", "set", "s", "--export-docs", "on"]);
    assert!(out.contains("export-docs on"));
    run(&config, &["sync", "--once"]);
    let docx = std::fs::read_to_string(local.join("Plan.docx")).unwrap();
    assert!(
        docx.contains("export of Plan as application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        "{docx}"
    );
    assert!(!local.join("Plan.gdoc").exists());

    run(&config, &["pair", "set", "s", "--export-docs", "off"]);
    run(&config, &["sync", "--once"]);
    let link: Value =
        serde_json::from_slice(&std::fs::read(local.join("Plan.gdoc")).unwrap()).unwrap();
    assert!(link["doc_id"].is_string(), "{link}");
    assert!(
        !local.join("Plan.docx").exists(),
        "the export went to the trash"
    );
    let dry = run(&config, &["sync", "--dry-run"]);
    assert!(dry.contains("nothing to do"));
}
