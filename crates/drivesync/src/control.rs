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
    use tokio::io::{AsyncWriteExt, BufReader};

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
    // The data folder is drivesync's own: private, so no one else reaches the socket, not
    // even in the instant between its creation and its own mode below.
    std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
    let listener = tokio::net::UnixListener::bind(&path).map_err(io)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    Ok(tokio::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, say: wait instead of spinning.
                    tracing::warn!("control socket: cannot accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    continue;
                }
            };
            let daemon = daemon.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut read = BufReader::new(read);
                loop {
                    let line = match read_line(&mut read).await {
                        Ok(Some(line)) => line,
                        Ok(None) => break,
                        Err(too_long) => {
                            let answer = Answer {
                                status: None,
                                error: Some(too_long),
                            };
                            let mut text = serde_json::to_string(&answer).expect("serializable");
                            text.push('\n');
                            let _ = write.write_all(text.as_bytes()).await;
                            break;
                        }
                    };
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

/// A request line is never longer than this (a request is a few hundred bytes).
pub const MAX_LINE: u64 = 64 * 1024;

/// The next line from a client, without its end; `Ok(None)` at the end of the stream,
/// `Err` (what to answer) for a line over [`MAX_LINE`] bytes or not UTF-8, after which the
/// connection is closed: a client cannot make the daemon hold an endless line.
#[cfg_attr(not(unix), allow(dead_code))]
async fn read_line(
    read: &mut (impl tokio::io::AsyncBufRead + Unpin),
) -> Result<Option<String>, String> {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt};
    let mut buf = Vec::new();
    let n = read
        .take(MAX_LINE + 1)
        .read_until(b'\n', &mut buf)
        .await
        .map_err(|e| format!("cannot read the request: {e}"))?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
    } else if buf.len() as u64 > MAX_LINE {
        return Err(format!("bad request: longer than {MAX_LINE} bytes"));
    }
    String::from_utf8(buf)
        .map(Some)
        .map_err(|_| "bad request: not UTF-8".to_owned())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn request_lines_are_capped_and_a_short_one_is_read_whole() {
        let mut ok: &[u8] = b"{\"Status\":null}\nrest";
        assert_eq!(
            read_line(&mut ok).await.unwrap().as_deref(),
            Some("{\"Status\":null}")
        );
        assert_eq!(read_line(&mut ok).await.unwrap().as_deref(), Some("rest"));
        assert_eq!(read_line(&mut ok).await.unwrap(), None);
        let endless = vec![b'x'; MAX_LINE as usize + 10];
        let err = read_line(&mut endless.as_slice()).await.unwrap_err();
        assert!(err.contains("longer than"), "{err}");
        let mut bad: &[u8] = b"\xff\xfe\n";
        assert!(read_line(&mut bad).await.is_err());
    }
}
