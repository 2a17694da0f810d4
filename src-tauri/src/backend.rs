//! What the app runs on: the facade (`Drivesync`), its daemon syncing every pair, the event
//! bridge, and, without a Google client configured, the demo. Started once at launch.

use std::sync::Arc;

use drivesync::demo::Demo;
use drivesync::desktop::{app_status, spawn_bridge, AppStatus, UiEvent};
use drivesync::logs::Logs;
use drivesync::{Daemon, Drivesync, Error, Events, InstanceLock, Overrides};
use tokio::sync::{mpsc, Mutex, RwLock};

/// The running core of the app (Tauri state).
pub struct Backend {
    /// The facade with the configuration in effect (replaced when settings change).
    pub app: RwLock<Drivesync>,
    /// The daemon; `None` when another drivesync holds the data folder (`problem` says so).
    pub daemon: Option<Arc<Daemon>>,
    /// Why nothing syncs in this app, when the daemon could not start.
    pub problem: Option<String>,
    /// The last status the bridge sent.
    pub last_status: Mutex<Option<AppStatus>>,
    /// The demo, kept alive while the app runs.
    pub demo: Option<Demo>,
    /// The process's logging, whose level the settings change (none in tests).
    pub logs: Option<Arc<Logs>>,
    /// The sign-in waiting for the browser, so that it can be cancelled.
    pub connecting: std::sync::Mutex<Option<tokio::task::AbortHandle>>,
    /// The control socket's server, as `drivesync run` has: `drivesync status`, `pause`,
    /// `resume`, `sync` and the pair commands reach the app's daemon through it.
    pub control: Option<Control>,
}

/// The served control socket; [`Control::stop`] ends it and removes the socket file.
pub struct Control {
    task: tokio::task::JoinHandle<()>,
    socket: std::path::PathBuf,
}

impl Control {
    /// Serves `daemon`'s control socket in `data_dir` (Unix only; elsewhere `None`). A
    /// failure is logged: the app runs on without it.
    fn serve(daemon: &Arc<Daemon>, data_dir: &std::path::Path) -> Option<Self> {
        #[cfg(unix)]
        match drivesync::control::serve(daemon.clone(), data_dir) {
            Ok(task) => {
                return Some(Self {
                    task,
                    socket: drivesync::control::socket_path(data_dir),
                })
            }
            Err(e) => tracing::warn!("the command line cannot reach the app: {e}"),
        }
        let _ = (daemon, data_dir);
        None
    }

    /// Stops serving and removes the socket file.
    pub fn stop(&self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// How the app was asked to start.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    /// Where the configuration is read from.
    pub overrides: Overrides,
    /// Run the demo even with a Google client configured.
    pub demo: bool,
}

impl Backend {
    /// Opens the configuration (or starts the demo when no Google client is configured, or
    /// when asked), starts the daemon and the event bridge; the window's events go to `out`.
    pub async fn start(
        launch: &Launch,
        out: mpsc::UnboundedSender<UiEvent>,
    ) -> Result<Self, Error> {
        let configured = Drivesync::open(&launch.overrides)?;
        let demo = if launch.demo || configured.config().auth().is_err() {
            tracing::info!("no Google client configured: starting the demo");
            let demo = Demo::start().await?;
            tracing::info!(folder = %demo.folder().display(), drive = %demo.drive_url(), "demo running");
            Some(demo)
        } else {
            None
        };
        let app = demo.as_ref().map_or(configured, |d| d.app.clone());
        let data_dir = app.config().data_dir.clone();
        let (daemon, problem, control) = match InstanceLock::acquire(&data_dir) {
            Ok(lock) => {
                let (tx, events) = mpsc::unbounded_channel();
                let daemon = Daemon::start(&app, lock, Events::tagged(tx)).await?;
                spawn_bridge(daemon.clone(), app.state()?, events, out);
                let control = Control::serve(&daemon, &data_dir);
                (Some(daemon), None, control)
            }
            Err(e @ Error::AlreadyRunning { .. }) => {
                tracing::warn!("{e}");
                (None, Some(e.to_string()), None)
            }
            Err(e) => return Err(e),
        };
        Ok(Self {
            app: RwLock::new(app),
            daemon,
            problem,
            last_status: Mutex::new(None),
            demo,
            logs: None,
            connecting: std::sync::Mutex::new(None),
            control,
        })
    }

    /// The daemon, or the reason there is none.
    pub fn daemon(&self) -> Result<&Arc<Daemon>, String> {
        self.daemon
            .as_ref()
            .ok_or_else(|| self.problem.clone().unwrap_or_default())
    }

    /// The status to show now: the bridge's last one, or a fresh one.
    pub async fn status(&self) -> Result<AppStatus, String> {
        if let Some(s) = self.last_status.lock().await.clone() {
            return Ok(s);
        }
        let daemon = self.daemon()?;
        Ok(app_status(&daemon.status().await, Vec::new()))
    }

    /// Tells the daemon that pairs or the sign-in changed (`reconnect`: rebuild the Drive
    /// client).
    pub async fn reload(&self, reconnect: bool) -> Result<(), String> {
        if let Some(d) = &self.daemon {
            d.reload(reconnect).await.map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}
