//! The command adapters through Tauri's real IPC path (mock runtime, the app's own config
//! and capabilities) against drive-emulator: argument names as the UI sends them, results as
//! docs/app-api.md says, errors as sentences, and the capability allowing exactly the main
//! window's commands.

use drive_emulator::{Emulator, EmulatorConfig};
use drivesync::demo::emulator_config;
use drivesync::{Drivesync, Overrides};
use drivesync_app::backend::{Backend, Launch};
use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{Manager, WebviewWindow, WebviewWindowBuilder};

fn call(w: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, String> {
    get_ipc_response(
        w,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.into(),
        },
    )
    .map(|b| b.deserialize::<Value>().unwrap())
    .map_err(|e| match e {
        Value::String(s) => s,
        other => other.to_string(),
    })
}

/// The app (mock runtime, its own commands and capabilities) over a backend started from
/// `overrides`, its main window, and the receiver of the bridge's events (kept alive).
fn main_window(
    overrides: Overrides,
) -> (
    tauri::App<MockRuntime>,
    WebviewWindow<MockRuntime>,
    tokio::sync::mpsc::UnboundedReceiver<drivesync::desktop::UiEvent>,
) {
    let (out, events) = tokio::sync::mpsc::unbounded_channel();
    let launch = Launch {
        overrides,
        demo: false,
    };
    let backend = tauri::async_runtime::block_on(Backend::start(&launch, out)).unwrap();
    let app = drivesync_app::with_commands(mock_builder())
        .build(tauri::generate_context!())
        .unwrap();
    app.manage(backend);
    let w = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    (app, w, events)
}

#[test]
fn the_commands_answer_as_the_contract_says() {
    let dir = tempfile::tempdir().unwrap();
    let emu = tauri::async_runtime::block_on(Emulator::start(EmulatorConfig::default())).unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, emulator_config(&emu.base_url())).unwrap();
    let overrides = Overrides {
        config_file: Some(config),
        endpoint: None,
    };
    let facade = Drivesync::open(&overrides).unwrap();
    tauri::async_runtime::block_on(facade.login_unattended()).unwrap();
    let (app, w, _events) = main_window(overrides);

    let account = call(&w, "account_get", json!({})).unwrap();
    assert_eq!(account["state"], "connected");
    assert!(account["email"].as_str().unwrap().contains('@'));

    let docs = call(
        &w,
        "drive_create_folder",
        json!({"parentId": null, "name": "Docs"}),
    )
    .unwrap();
    assert_eq!(docs["path"], "/Docs");
    let id = docs["id"].as_str().unwrap().to_owned();
    let top = call(&w, "drive_folders", json!({"parentId": null})).unwrap();
    assert_eq!(top, json!([docs]));
    let e = call(
        &w,
        "drive_create_folder",
        json!({"parentId": id, "name": " "}),
    )
    .unwrap_err();
    assert!(e.contains("cannot be a folder name"), "{e}");

    let local = dir.path().join("docs");
    std::fs::create_dir_all(&local).unwrap();
    std::fs::write(local.join("a.txt"), "hello").unwrap();
    let local_s = local.display().to_string();
    let preview = call(&w, "pair_preview", json!({"local": local_s, "driveId": id})).unwrap();
    assert_eq!(
        (preview["upload_count"].as_u64(), preview["upload"].clone()),
        (Some(1), json!(["a.txt"]))
    );
    let pair = call(
        &w,
        "pair_add",
        json!({"local": local_s, "driveId": id, "name": "docs"}),
    )
    .unwrap();
    assert_eq!(
        (pair["name"].as_str(), pair["drive_path"].as_str()),
        (Some("docs"), Some("/Docs"))
    );
    let pid = pair["id"].as_i64().unwrap();
    let pairs = call(&w, "pairs_list", json!({})).unwrap();
    assert_eq!(pairs.as_array().unwrap().len(), 1);
    assert_eq!(pairs[0]["settings"]["concurrency"], 8);

    let mut settings = pairs[0]["settings"].clone();
    settings["concurrency"] = json!(0);
    let e = call(&w, "pair_set", json!({"id": pid, "settings": settings})).unwrap_err();
    assert!(e.contains("Transfers at once"), "{e}");
    settings["concurrency"] = json!(4);
    let p = call(&w, "pair_set", json!({"id": pid, "settings": settings})).unwrap();
    assert_eq!(p["settings"]["concurrency"], 4);

    let e = call(&w, "ignore_set", json!({"id": pid, "text": "[z-a]\n"})).unwrap_err();
    assert!(e.contains("line 1"), "{e}");
    call(&w, "ignore_set", json!({"id": pid, "text": "*.tmp\n"})).unwrap();
    assert_eq!(
        call(&w, "ignore_get", json!({"id": pid})).unwrap(),
        "*.tmp\n"
    );

    let status = call(&w, "status_get", json!({})).unwrap();
    assert!(
        status["overall"].is_string() && status["pairs"].is_array(),
        "{status}"
    );
    let activity = call(
        &w,
        "activity_list",
        json!({"query": {"limit": 5, "text": "a.txt"}}),
    )
    .unwrap();
    assert!(activity.is_array());
    assert_eq!(call(&w, "conflicts_list", json!({})).unwrap(), json!([]));
    let e = call(
        &w,
        "conflict_resolve",
        json!({"id": 99, "resolution": "keep_both"}),
    )
    .unwrap_err();
    assert!(e.contains("conflict 99"), "{e}");
    call(&w, "pause", json!({"pair": pid})).unwrap();
    call(&w, "resume", json!({"pair": null})).unwrap();
    call(&w, "sync_now", json!({"pair": null})).unwrap();
    call(&w, "sync_force_deletes", json!({"pair": pid})).unwrap();
    let e = call(&w, "sync_force_deletes", json!({"pair": null})).unwrap_err();
    assert!(e.contains("pair"), "never for every pair at once: {e}");
    let e = call(&w, "sync_force_deletes", json!({"pair": 12345})).unwrap_err();
    assert!(e.contains("12345"), "{e}");
    let e = call(&w, "pause", json!({"pair": 12345})).unwrap_err();
    assert!(e.contains("12345"), "{e}");

    let mut s = call(&w, "settings_get", json!({})).unwrap();
    assert_eq!(s["poll_secs"], 15);
    s["poll_secs"] = json!(2);
    let e = call(&w, "settings_set", json!({"settings": s})).unwrap_err();
    assert!(e.contains("poll interval"), "{e}");
    s["poll_secs"] = json!(20);
    s["autostart"] = json!(false);
    let saved = call(&w, "settings_set", json!({"settings": s})).unwrap();
    assert_eq!(saved["poll_secs"], 20);

    let e = call(
        &w,
        "reveal",
        json!({"pair": pid, "path": "../../etc/passwd"}),
    )
    .unwrap_err();
    assert!(e.contains("not a path inside the pair"), "{e}");

    // The command line reaches the app's daemon through the control socket, as it reaches
    // `drivesync run`.
    #[cfg(unix)]
    {
        let status = tauri::async_runtime::block_on(drivesync::control::request(
            &facade.config().data_dir,
            &drivesync::control::Request::Status,
        ))
        .unwrap();
        assert_eq!(status.pairs.len(), 1);
    }

    call(&w, "pair_remove", json!({"id": pid})).unwrap();
    assert_eq!(call(&w, "pairs_list", json!({})).unwrap(), json!([]));
    assert!(
        local.join("a.txt").exists(),
        "removing a pair deletes no file"
    );

    // The capability is the main window's only, and allows no other plugin command.
    let e = call(
        &w,
        "plugin:opener|open_url",
        json!({"url": "https://example.com"}),
    )
    .unwrap_err();
    assert!(e.contains("not allowed"), "{e}");
    let other = WebviewWindowBuilder::new(&app, "other", Default::default())
        .build()
        .unwrap();
    let e = call(&other, "pairs_list", json!({})).unwrap_err();
    assert!(e.contains("not allowed"), "{e}");
}

/// A connect that waits (here: a Drive that answers after a minute) stops at once on
/// `account_connect_cancel`, and answers with the account as it was.
#[test]
fn a_waiting_connect_is_cancelled() {
    // account_connect follows the emulator's consent page itself (no browser in tests).
    std::env::set_var("DRIVESYNC_FOLLOW_CONSENT", "1");
    let dir = tempfile::tempdir().unwrap();
    let emu = tauri::async_runtime::block_on(Emulator::start(EmulatorConfig::default())).unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, emulator_config(&emu.base_url())).unwrap();
    let (_app, w, _events) = main_window(Overrides {
        config_file: Some(config),
        endpoint: None,
    });
    assert_eq!(
        call(&w, "account_get", json!({})).unwrap()["state"],
        "disconnected"
    );
    assert_eq!(
        call(&w, "account_connect_cancel", json!({})).unwrap(),
        Value::Null,
        "nothing to cancel is fine"
    );

    emu.set_latency(std::time::Duration::from_secs(60));
    let waiting = w.clone();
    let started = std::time::Instant::now();
    let connect = std::thread::spawn(move || call(&waiting, "account_connect", json!({})));
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(!connect.is_finished(), "the sign-in waits for Drive");
    call(&w, "account_connect_cancel", json!({})).unwrap();
    let answer = connect.join().unwrap().unwrap();
    assert_eq!(answer["state"], "disconnected", "{answer}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "cancelled at once, not after the latency: {:?}",
        started.elapsed()
    );
}
