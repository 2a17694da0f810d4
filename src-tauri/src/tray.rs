//! The tray icon: its picture and tooltip follow the overall state; its menu has the status
//! line, open window, open a pair's folder, pause/resume, sync now and quit.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use drivesync::desktop::{AppStatus, Overall};
use drivesync::Command;
use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::{MouseButton, MouseButtonState, TrayIcon, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_opener::OpenerExt as _;

use crate::backend::Backend;

/// The tray icon and the menu items that change.
pub struct Tray<R: Runtime> {
    icon: TrayIcon<R>,
    status: MenuItem<R>,
    pause: MenuItem<R>,
    folders: Submenu<R>,
    shown_pairs: Mutex<BTreeMap<i64, String>>,
    paused: AtomicBool,
}

/// The picture for a state.
pub fn picture(overall: Overall) -> Image<'static> {
    let bytes: &'static [u8] = match overall {
        Overall::InSync => include_bytes!("../../icons/tray/in_sync.png"),
        Overall::Syncing => include_bytes!("../../icons/tray/syncing.png"),
        Overall::Paused => include_bytes!("../../icons/tray/paused.png"),
        Overall::Attention | Overall::NotConnected => {
            include_bytes!("../../icons/tray/attention.png")
        }
        Overall::Offline => include_bytes!("../../icons/tray/offline.png"),
    };
    Image::from_bytes(bytes).expect("the tray pictures are valid PNGs")
}

/// Shows and focuses the main window.
pub fn show_window<R: Runtime>(app: &AppHandle<R>) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}

fn on_menu<R: Runtime>(app: &AppHandle<R>, id: &str) {
    match id {
        "open" => show_window(app),
        "quit" => app.exit(0),
        "pause" | "sync" => {
            let app = app.clone();
            let id = id.to_owned();
            tauri::async_runtime::spawn(async move {
                let Some(tray) = app.try_state::<Tray<R>>() else {
                    return;
                };
                let command = match id.as_str() {
                    "sync" => Command::SyncNow,
                    _ if tray.paused.load(Ordering::Relaxed) => Command::Resume,
                    _ => Command::Pause,
                };
                let backend = app.state::<Backend>();
                if let Ok(d) = backend.daemon() {
                    if let Err(e) = d.command(None, command).await {
                        tracing::warn!("tray command failed: {e}");
                    }
                }
            });
        }
        other => {
            if let Some(pair) = other.strip_prefix("folder:").and_then(|p| p.parse().ok()) {
                let app = app.clone();
                tauri::async_runtime::spawn(async move {
                    let backend = app.state::<Backend>();
                    let root = backend
                        .app
                        .read()
                        .await
                        .pair_by_id(pair)
                        .map(|p| p.local_root);
                    if let Ok(root) = root {
                        let _ = app
                            .opener()
                            .open_path(root.display().to_string(), None::<&str>);
                    }
                });
            }
        }
    }
}

impl<R: Runtime> Tray<R> {
    /// Puts the icon in the tray.
    pub fn build(app: &AppHandle<R>) -> tauri::Result<Self> {
        let status = MenuItem::with_id(app, "status", "Starting…", false, None::<&str>)?;
        let open = MenuItem::with_id(app, "open", "Open drivesync", true, None::<&str>)?;
        let folders = Submenu::with_id(app, "folders", "Open folder", false)?;
        let pause = MenuItem::with_id(app, "pause", "Pause syncing", true, None::<&str>)?;
        let sync = MenuItem::with_id(app, "sync", "Sync now", true, None::<&str>)?;
        let quit = MenuItem::with_id(app, "quit", "Quit drivesync", true, None::<&str>)?;
        let menu = Menu::with_items(
            app,
            &[
                &status,
                &PredefinedMenuItem::separator(app)?,
                &open,
                &folders,
                &pause,
                &sync,
                &PredefinedMenuItem::separator(app)?,
                &quit,
            ],
        )?;
        let icon = TrayIconBuilder::with_id("main")
            .icon(picture(Overall::Syncing))
            .tooltip("drivesync: starting")
            .menu(&menu)
            .show_menu_on_left_click(false)
            .on_menu_event(|app, e| on_menu(app, e.id.as_ref()))
            .on_tray_icon_event(|tray, e| {
                if let TrayIconEvent::Click {
                    button: MouseButton::Left,
                    button_state: MouseButtonState::Up,
                    ..
                } = e
                {
                    show_window(tray.app_handle());
                }
            })
            .build(app)?;
        Ok(Self {
            icon,
            status,
            pause,
            folders,
            shown_pairs: Mutex::new(BTreeMap::new()),
            paused: AtomicBool::new(false),
        })
    }

    /// Shows `s`: picture, tooltip, status line, pause/resume, the pairs' folders.
    pub fn show(&self, app: &AppHandle<R>, s: &AppStatus) -> tauri::Result<()> {
        self.icon.set_icon(Some(picture(s.overall)))?;
        self.icon
            .set_tooltip(Some(format!("drivesync: {}", s.summary)))?;
        self.status.set_text(&s.summary)?;
        let paused = s.overall == Overall::Paused;
        self.paused.store(paused, Ordering::Relaxed);
        self.pause.set_text(if paused {
            "Resume syncing"
        } else {
            "Pause syncing"
        })?;
        let pairs: BTreeMap<i64, String> =
            s.pairs.iter().map(|p| (p.pair, p.name.clone())).collect();
        let mut shown = self.shown_pairs.lock().expect("tray lock");
        if *shown != pairs {
            for item in self.folders.items()? {
                self.folders.remove(&item)?;
            }
            for (id, name) in &pairs {
                let item =
                    MenuItem::with_id(app, format!("folder:{id}"), name, true, None::<&str>)?;
                self.folders.append(&item)?;
            }
            self.folders.set_enabled(!pairs.is_empty())?;
            *shown = pairs;
        }
        Ok(())
    }
}
