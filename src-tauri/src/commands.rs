//! The Tauri commands of docs/app-api.md: each a short adapter from the UI's arguments to
//! the `drivesync` facade, with errors turned into one sentence for the user.

use std::path::{Path, PathBuf};
use std::sync::PoisonError;
use std::time::Duration;

use drivesync::desktop::{AccountState, AppSettings, AppStatus, DriveFolder, Preview, UiEvent};
use drivesync::{Activity, ActivityQuery, Command, Conflict, PairInfo, PairSettings, Resolution};
use tauri::{AppHandle, Emitter, Runtime, State};
use tauri_plugin_autostart::ManagerExt as _;
use tauri_plugin_opener::OpenerExt as _;

use crate::backend::Backend;

/// What a command gives the UI: a value or a sentence saying what went wrong.
pub type Answer<T> = Result<T, String>;

fn say(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// How long "Connect" waits for the browser before giving up.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(300);

/// The account's state.
#[tauri::command]
pub async fn account_get(backend: State<'_, Backend>) -> Answer<AccountState> {
    backend.app.read().await.account_state().await.map_err(say)
}

/// Signs in through the system browser (or, with `DRIVESYNC_FOLLOW_CONSENT=1` for tests
/// against drive-emulator, by following the consent page itself), then restarts syncing.
#[tauri::command]
pub async fn account_connect<R: Runtime>(
    app: AppHandle<R>,
    backend: State<'_, Backend>,
) -> Answer<AccountState> {
    let facade = backend.app.read().await.clone();
    let signing_in = facade.clone();
    let task = tokio::spawn(async move {
        let login = async {
            if std::env::var_os("DRIVESYNC_FOLLOW_CONSENT").is_some() {
                signing_in.login_unattended().await
            } else {
                signing_in.login(false, |_| {}).await
            }
        };
        tokio::time::timeout(CONNECT_TIMEOUT, login).await
    });
    let previous = backend
        .connecting
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .replace(task.abort_handle());
    if let Some(p) = previous {
        p.abort();
    }
    match task.await {
        Ok(answer) => {
            answer
                .map_err(|_| {
                    "No answer from the browser within 5 minutes: press Connect to try again."
                        .to_owned()
                })?
                .map_err(say)?;
        }
        // Cancelled (`account_connect_cancel`): the account as it is.
        Err(e) if e.is_cancelled() => return facade.account_state().await.map_err(say),
        Err(e) => {
            return Err(format!(
                "The sign-in stopped unexpectedly ({e}). Press Connect to try again."
            ))
        }
    }
    backend.reload(true).await?;
    let state = facade.account_state().await.map_err(say)?;
    let _ = app.emit("account", &state);
    Ok(state)
}

/// Stops a sign-in that waits for the browser; the pending `account_connect` then answers
/// with the account as it is. Nothing happens when none runs.
#[tauri::command]
pub async fn account_connect_cancel(backend: State<'_, Backend>) -> Answer<()> {
    let running = backend
        .connecting
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    if let Some(task) = running {
        task.abort();
    }
    Ok(())
}

/// Signs out (revokes the access, forgets the tokens); files are not touched. Syncing stops
/// first; when Google does not confirm the revoke the account stays signed in and syncing
/// resumes, unless `force` (the user confirmed).
#[tauri::command]
pub async fn account_disconnect<R: Runtime>(
    app: AppHandle<R>,
    backend: State<'_, Backend>,
    force: Option<bool>,
) -> Answer<AccountState> {
    if let Ok(daemon) = backend.daemon() {
        daemon.sign_out().await;
    }
    let result = backend
        .app
        .read()
        .await
        .logout(force.unwrap_or(false))
        .await;
    backend.reload(true).await?;
    result.map_err(say)?;
    let state = AccountState::Disconnected;
    let _ = app.emit("account", &state);
    Ok(state)
}

/// The folders in a Drive folder (`None`: My Drive).
#[tauri::command]
pub async fn drive_folders(
    backend: State<'_, Backend>,
    parent_id: Option<String>,
) -> Answer<Vec<DriveFolder>> {
    let app = backend.app.read().await;
    app.drive_folders(parent_id.as_deref()).await.map_err(say)
}

/// Creates a Drive folder.
#[tauri::command]
pub async fn drive_create_folder(
    backend: State<'_, Backend>,
    parent_id: Option<String>,
    name: String,
) -> Answer<DriveFolder> {
    let app = backend.app.read().await;
    app.drive_create_folder(parent_id.as_deref(), &name)
        .await
        .map_err(say)
}

/// What the first sync of a new pair would do.
#[tauri::command]
pub async fn pair_preview(
    backend: State<'_, Backend>,
    local: String,
    drive_id: String,
) -> Answer<Preview> {
    let app = backend.app.read().await;
    app.preview(Path::new(&local), &drive_id).await.map_err(say)
}

/// Adds a pair (the local folder is created if missing) and starts syncing it.
#[tauri::command]
pub async fn pair_add(
    backend: State<'_, Backend>,
    local: String,
    drive_id: String,
    name: Option<String>,
) -> Answer<PairInfo> {
    let pair = {
        let app = backend.app.read().await;
        app.pair_add(
            Path::new(&local),
            &format!("id:{drive_id}"),
            name.as_deref(),
        )
        .await
        .map_err(say)?
    };
    backend.reload(false).await?;
    Ok(pair)
}

/// Every pair.
#[tauri::command]
pub async fn pairs_list(backend: State<'_, Backend>) -> Answer<Vec<PairInfo>> {
    backend.app.read().await.pairs().map_err(say)
}

/// Changes a pair's settings (enabled included).
#[tauri::command]
pub async fn pair_set(
    backend: State<'_, Backend>,
    id: i64,
    settings: PairSettings,
) -> Answer<PairInfo> {
    let pair = backend
        .app
        .read()
        .await
        .set_pair_settings(id, &settings)
        .map_err(say)?;
    backend.reload(false).await?;
    Ok(pair)
}

/// Forgets a pair; never deletes files.
#[tauri::command]
pub async fn pair_remove(backend: State<'_, Backend>, id: i64) -> Answer<()> {
    backend
        .app
        .read()
        .await
        .pair_remove(&id.to_string())
        .map_err(say)?;
    backend.reload(false).await
}

/// A pair's `.drivesyncignore`.
#[tauri::command]
pub async fn ignore_get(backend: State<'_, Backend>, id: i64) -> Answer<String> {
    backend.app.read().await.ignore_rules(id).map_err(say)
}

/// Checks and saves a pair's `.drivesyncignore`.
#[tauri::command]
pub async fn ignore_set(backend: State<'_, Backend>, id: i64, text: String) -> Answer<()> {
    backend
        .app
        .read()
        .await
        .set_ignore_rules(id, &text)
        .map_err(say)
}

/// The overall and per-pair status.
#[tauri::command]
pub async fn status_get(backend: State<'_, Backend>) -> Answer<AppStatus> {
    backend.status().await
}

/// Activity-log entries, newest first.
#[tauri::command]
pub async fn activity_list(
    backend: State<'_, Backend>,
    query: ActivityQuery,
) -> Answer<Vec<Activity>> {
    backend.app.read().await.activity(&query).map_err(say)
}

/// The unresolved conflicts.
#[tauri::command]
pub async fn conflicts_list(backend: State<'_, Backend>) -> Answer<Vec<Conflict>> {
    backend.app.read().await.all_conflicts().map_err(say)
}

/// Settles a conflict, then syncs at once.
#[tauri::command]
pub async fn conflict_resolve(
    backend: State<'_, Backend>,
    id: i64,
    resolution: Resolution,
) -> Answer<()> {
    backend
        .app
        .read()
        .await
        .resolve_conflict(id, resolution)
        .await
        .map_err(say)?;
    if let Some(d) = &backend.daemon {
        d.command(None, Command::SyncNow).await.map_err(say)?;
    }
    Ok(())
}

/// The app-wide settings; start-at-login as the OS has it.
#[tauri::command]
pub async fn settings_get<R: Runtime>(
    app: AppHandle<R>,
    backend: State<'_, Backend>,
) -> Answer<AppSettings> {
    let mut s = backend.app.read().await.app_settings();
    if let Ok(on) = app.autolaunch().is_enabled() {
        s.autostart = on;
    }
    Ok(s)
}

/// Checks and saves the app-wide settings; limits and the log level apply at once, the poll
/// interval restarts the pairs' loops.
#[tauri::command]
pub async fn settings_set<R: Runtime>(
    app: AppHandle<R>,
    backend: State<'_, Backend>,
    settings: AppSettings,
) -> Answer<AppSettings> {
    let mut facade = backend.app.write().await;
    let updated = facade.set_app_settings(&settings).map_err(say)?;
    let autolaunch = app.autolaunch();
    let autostart = if settings.autostart {
        autolaunch.enable()
    } else {
        autolaunch.disable()
    };
    if let Err(e) = autostart {
        tracing::warn!("start at login could not be changed: {e}");
    }
    *facade = updated;
    if let Some(logs) = &backend.logs {
        logs.set_level(&facade.config().log_level).map_err(say)?;
    }
    if let Some(d) = &backend.daemon {
        d.set_poll(facade.config().poll).await.map_err(say)?;
    }
    Ok(facade.app_settings())
}

async fn command(backend: &Backend, pair: Option<i64>, what: Command) -> Answer<()> {
    let which = pair.map(|p| p.to_string());
    backend
        .daemon()?
        .command(which.as_deref(), what)
        .await
        .map(|_| ())
        .map_err(say)
}

/// Pauses one pair or all.
#[tauri::command]
pub async fn pause(backend: State<'_, Backend>, pair: Option<i64>) -> Answer<()> {
    command(&backend, pair, Command::Pause).await
}

/// Resumes one pair or all.
#[tauri::command]
pub async fn resume(backend: State<'_, Backend>, pair: Option<i64>) -> Answer<()> {
    command(&backend, pair, Command::Resume).await
}

/// Syncs one pair or all now.
#[tauri::command]
pub async fn sync_now(backend: State<'_, Backend>, pair: Option<i64>) -> Answer<()> {
    command(&backend, pair, Command::SyncNow).await
}

/// Syncs pair `pair` once past its delete guard: the user confirmed the deletes it stopped
/// (they go to the trash, on Drive or locally).
#[tauri::command]
pub async fn sync_force_deletes(backend: State<'_, Backend>, pair: i64) -> Answer<()> {
    command(&backend, Some(pair), Command::ForceDeletes).await
}

/// The local path of `path` (relative to pair `pair`'s folder; `None`: the folder).
async fn local_path(backend: &Backend, pair: i64, path: Option<&str>) -> Answer<PathBuf> {
    let root = backend
        .app
        .read()
        .await
        .pair_by_id(pair)
        .map_err(say)?
        .local_root;
    let rel = match path {
        None => return Ok(root),
        Some(p) => drivesync::desktop::checked_rel(p).map_err(say)?,
    };
    Ok(root.join(rel.as_str()))
}

/// Shows a file or the pair's folder in the file manager.
#[tauri::command]
pub async fn reveal<R: Runtime>(
    app: AppHandle<R>,
    backend: State<'_, Backend>,
    pair: i64,
    path: Option<String>,
) -> Answer<()> {
    let target = local_path(&backend, pair, path.as_deref()).await?;
    if path.is_none() || target.is_dir() {
        app.opener()
            .open_path(target.display().to_string(), None::<&str>)
            .map_err(say)
    } else {
        app.opener().reveal_item_in_dir(&target).map_err(say)
    }
}

/// Opens the Drive page of a file or of the pair's folder.
#[tauri::command]
pub async fn open_in_drive<R: Runtime>(
    app: AppHandle<R>,
    backend: State<'_, Backend>,
    pair: i64,
    path: Option<String>,
) -> Answer<()> {
    let url = backend
        .app
        .read()
        .await
        .drive_link(pair, path.as_deref())
        .map_err(say)?;
    app.opener().open_url(url, None::<&str>).map_err(say)
}

/// Opens the folder of the log files.
#[tauri::command]
pub async fn open_logs<R: Runtime>(app: AppHandle<R>, backend: State<'_, Backend>) -> Answer<()> {
    let dir = PathBuf::from(backend.app.read().await.app_settings().logs_dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    app.opener()
        .open_path(dir.display().to_string(), None::<&str>)
        .map_err(say)
}

/// Sends a bridge event to the window.
pub fn emit<R: Runtime>(app: &AppHandle<R>, e: &UiEvent) {
    if let Err(err) = app.emit(e.name(), e) {
        tracing::warn!("event {} not delivered: {err}", e.name());
    }
}
