//! The control socket of a running drivesync: `drivesync.sock` in the data folder (mode
//! 0600, Unix only), one JSON request per line, one JSON answer per line. `drivesync status`,
//! `pause`, `resume`, `sync` and the pair commands use it to reach `drivesync run`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use drivesync_engine::live::Command;
use serde::{Deserialize, Serialize};

use crate::daemon::{Daemon, DaemonStatus};
use crate::Error;

/// The socket's name in the data folder.
pub const SOCKET_FILE: &str = "drivesync.sock";

/// A request to the running drivesync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Its status.
    Status,
    /// Pause one pair (by name or id) or all.
    Pause {
        /// The pair; all when absent.
        pair: Option<String>,
    },
    /// Resume one pair or all.
    Resume {
        /// The pair; all when absent.
        pair: Option<String>,
    },
    /// Sync one pair or all now; with `force_deletes`, past the delete guard.
    SyncNow {
        /// The pair; all when absent.
        pair: Option<String>,
        /// Let this sync trash more than the delete guard allows.
        force_deletes: bool,
    },
    /// Set the transfer speed limits, in KiB/s (0 = unlimited), until it stops (the config
    /// file's `[sync]` limits apply at start).
    Limit {
        /// Upload limit; unchanged when absent.
        up_kib: Option<u64>,
        /// Download limit; unchanged when absent.
        down_kib: Option<u64>,
    },
    /// Re-read the pairs (after `pair add/set/remove`); with `reconnect`, also the sign-in
    /// (after `login`).
    Reload {
        /// Rebuild the Drive client from the stored sign-in.
        reconnect: bool,
    },
    /// Stop syncing before a sign-out (`Reload { reconnect: true }` starts again).
    SignOut,
}

/// The answer: the status after the request, or what went wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// The status, on success.
    pub status: Option<DaemonStatus>,
    /// The error, on failure.
    pub error: Option<String>,
}

/// The socket path for `data_dir`.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET_FILE)
}

async fn handle(daemon: &Daemon, req: Request) -> Result<DaemonStatus, Error> {
    match req {
        Request::Status => {}
        Request::Pause { pair } => {
            daemon.command(pair.as_deref(), Command::Pause).await?;
        }
        Request::Resume { pair } => {
            daemon.command(pair.as_deref(), Command::Resume).await?;
        }
        Request::SyncNow {
            pair,
            force_deletes,
        } => {
            let c = if force_deletes {
                Command::ForceDeletes
            } else {
                Command::SyncNow
            };
            daemon.command(pair.as_deref(), c).await?;
        }
        Request::Limit { up_kib, down_kib } => daemon.set_limits(up_kib, down_kib),
        Request::Reload { reconnect } => daemon.reload(reconnect).await?,
        Request::SignOut => daemon.sign_out().await,
    }
    Ok(daemon.status().await)
}

/// Serves the control socket of `daemon` in `data_dir` until the task is aborted. The caller
/// holds the instance lock, so a socket file left there is stale and replaced.
#[cfg(unix)]
pub fn serve(daemon: Arc<Daemon>, data_dir: &Path) -> Result<tokio::task::JoinHandle<()>, Error> {
    use std::os::unix::fs::PermissionsExt;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    let path = socket_path(data_dir);
    let io = |source| Error::Io {
        path: path.clone(),
        source,
    };
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let listener = tokio::net::UnixListener::bind(&path).map_err(io)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    Ok(tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let daemon = daemon.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let answer = match serde_json::from_str::<Request>(&line) {
                        Ok(req) => match handle(&daemon, req).await {
                            Ok(status) => Answer {
                                status: Some(status),
                                error: None,
                            },
                            Err(e) => Answer {
                                status: None,
                                error: Some(e.to_string()),
                            },
                        },
                        Err(e) => Answer {
                            status: None,
                            error: Some(format!("bad request: {e}")),
                        },
                    };
                    let mut text = serde_json::to_string(&answer).expect("serializable");
                    text.push('\n');
                    if write.write_all(text.as_bytes()).await.is_err() {
                        break;
                    }
                }
            });
        }
    }))
}

/// Sends `req` to the drivesync running on `data_dir`. [`Error::NotRunning`] when none
/// answers.
#[cfg(unix)]
pub async fn request(data_dir: &Path, req: &Request) -> Result<DaemonStatus, Error> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    let path = socket_path(data_dir);
    let not_running = || Error::NotRunning {
        socket: path.clone(),
    };
    let mut stream = tokio::net::UnixStream::connect(&path)
        .await
        .map_err(|_| not_running())?;
    let mut text = serde_json::to_string(req).expect("serializable");
    text.push('\n');
    stream
        .write_all(text.as_bytes())
        .await
        .map_err(|_| not_running())?;
    let mut line = String::new();
    BufReader::new(stream)
        .read_line(&mut line)
        .await
        .map_err(|_| not_running())?;
    let answer: Answer = serde_json::from_str(&line)
        .map_err(|e| Error::Control(format!("unreadable answer ({e})")))?;
    match (answer.status, answer.error) {
        (Some(s), _) => Ok(s),
        (None, e) => Err(Error::Control(e.unwrap_or_else(|| "no answer".into()))),
    }
}

/// No control socket on this platform: nothing is ever running.
#[cfg(not(unix))]
pub async fn request(data_dir: &Path, _req: &Request) -> Result<DaemonStatus, Error> {
    Err(Error::NotRunning {
        socket: socket_path(data_dir),
    })
}
