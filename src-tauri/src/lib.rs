//! The drivesync desktop app (Tauri v2): a tray icon and a window over the `drivesync`
//! facade. Thin: the commands adapt the UI's calls to the facade, the event bridge's output
//! is emitted as Tauri events, and the tray shows the overall state. No sync logic here.

pub mod backend;
pub mod commands;
pub mod notify;
pub mod tray;

use std::path::PathBuf;
use std::sync::Arc;

use drivesync::desktop::UiEvent;
use drivesync::logs::Logs;
use drivesync::Overrides;
use tauri::{Manager, RunEvent, WindowEvent};
use tauri_plugin_notification::NotificationExt as _;
use tokio::sync::mpsc;

use crate::backend::{Backend, Launch};
use crate::tray::{show_window, Tray};

/// The command-line options of the app.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Start in the tray without showing the window (start at login passes it).
    pub hidden: bool,
    /// What the core starts with.
    pub launch: Launch,
    /// The process's logging (set by `main`): files go to the data folder's `logs`, at the
    /// level the settings say.
    pub logs: Option<Arc<Logs>>,
}

impl Options {
    /// Reads `--hidden`, `--demo` and `--config FILE` (the rest is ignored).
    pub fn parse(args: impl IntoIterator<Item = String>) -> Self {
        let mut o = Options::default();
        let mut args = args.into_iter();
        while let Some(a) = args.next() {
            match a.as_str() {
                "--hidden" => o.hidden = true,
                "--demo" => o.launch.demo = true,
                "--config" => {
                    o.launch.overrides = Overrides {
                        config_file: args.next().map(PathBuf::from),
                        ..Overrides::default()
                    }
                }
                _ => {}
            }
        }
        o
    }
}

fn notify<R: tauri::Runtime>(app: &tauri::AppHandle<R>, (title, body): (String, String)) {
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        tracing::debug!("notification not shown: {e}");
    }
}

/// Emits the bridge's events to the window, and keeps the tray and notifications in step.
async fn forward<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    mut rx: mpsc::UnboundedReceiver<UiEvent>,
) {
    while let Some(e) = rx.recv().await {
        match &e {
            UiEvent::Status(s) => {
                let backend = app.state::<Backend>();
                let mut last = backend.last_status.lock().await;
                for n in notify::status_notices(last.as_ref(), s) {
                    notify(&app, n);
                }
                *last = Some(s.clone());
                if let Some(tray) = app.try_state::<Tray<R>>() {
                    if let Err(err) = tray.show(&app, s) {
                        tracing::warn!("tray not updated: {err}");
                    }
                }
            }
            UiEvent::Conflict(c) => notify(&app, notify::conflict_notice(c)),
            _ => {}
        }
        commands::emit(&app, &e);
    }
}

/// `builder` with the app's commands and the plugins they use (the tests build the same).
pub fn with_commands<R: tauri::Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            Some(vec!["--hidden"]),
        ))
        .invoke_handler(tauri::generate_handler![
            commands::account_get,
            commands::account_connect,
            commands::account_connect_cancel,
            commands::account_disconnect,
            commands::drive_folders,
            commands::drive_create_folder,
            commands::pair_preview,
            commands::pair_add,
            commands::pairs_list,
            commands::pair_set,
            commands::pair_remove,
            commands::ignore_get,
            commands::ignore_set,
            commands::status_get,
            commands::activity_list,
            commands::conflicts_list,
            commands::conflict_resolve,
            commands::settings_get,
            commands::settings_set,
            commands::pause,
            commands::resume,
            commands::sync_now,
            commands::sync_force_deletes,
            commands::reveal,
            commands::open_in_drive,
            commands::open_logs,
        ])
}

/// Runs the app until the user quits from the tray.
pub fn run(options: Options) -> anyhow::Result<()> {
    let app = tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            show_window(app);
        }))
        .plugin(tauri_plugin_notification::init());
    let app = with_commands(app)
        .setup(move |app| {
            let handle = app.handle().clone();
            let tray = Tray::build(&handle)?;
            app.manage(tray);
            let (out, rx) = mpsc::unbounded_channel();
            let mut backend = tauri::async_runtime::block_on(Backend::start(&options.launch, out))?;
            if let Some(logs) = &options.logs {
                let config = tauri::async_runtime::block_on(backend.app.read())
                    .config()
                    .clone();
                if let Err(e) = logs.write_files(&config.data_dir.join("logs"), &config.log_level) {
                    tracing::warn!("{e}");
                }
                backend.logs = Some(logs.clone());
            }
            app.manage(backend);
            tauri::async_runtime::spawn(forward(handle.clone(), rx));
            if !options.hidden {
                show_window(&handle);
            }
            Ok(())
        })
        .on_window_event(|window, event| {
            // Closing the window keeps the app in the tray.
            if let WindowEvent::CloseRequested { api, .. } = event {
                api.prevent_close();
                let _ = window.hide();
            }
        })
        .build(tauri::generate_context!())?;
    app.run(|handle, event| {
        if let RunEvent::Exit = event {
            if let Some(backend) = handle.try_state::<Backend>() {
                if let Some(c) = &backend.control {
                    c.stop();
                }
                if let Some(d) = backend.daemon.clone() {
                    tauri::async_runtime::block_on(d.stop());
                }
                if let Some(demo) = &backend.demo {
                    demo.remove_files();
                }
            }
        }
    });
    Ok(())
}
