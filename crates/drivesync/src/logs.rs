//! Logging for the binaries (the CLI's `run` and the app): stderr, plus daily log files in
//! `<data>/logs` (7 kept) whose level can change while the program runs (the app's Settings).
//! Tokens and auth codes are never logged by any layer of drivesync.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use tracing_appender::non_blocking::{NonBlocking, WorkerGuard};
use tracing_subscriber::fmt::writer::{EitherWriter, MakeWriter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Layer, Registry};

use crate::desktop::LOG_LEVELS;
use crate::Error;

/// Where the file layer writes: nothing until [`Logs::write_files`] opens the files.
#[derive(Clone, Default)]
struct Files(Arc<RwLock<Option<NonBlocking>>>);

impl<'a> MakeWriter<'a> for Files {
    type Writer = EitherWriter<NonBlocking, std::io::Sink>;

    fn make_writer(&'a self) -> Self::Writer {
        match &*self.0.read().unwrap_or_else(PoisonError::into_inner) {
            Some(w) => EitherWriter::A(w.clone()),
            None => EitherWriter::B(std::io::sink()),
        }
    }
}

/// The installed logging: the handle that changes the files' level and the files' writer.
pub struct Logs {
    files: Files,
    level: reload::Handle<EnvFilter, Registry>,
    /// Flushes the files' background writer when dropped (at exit).
    guard: Mutex<Option<(PathBuf, WorkerGuard)>>,
}

impl std::fmt::Debug for Logs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logs")
            .field("dir", &self.dir())
            .finish_non_exhaustive()
    }
}

fn check(level: &str) -> Result<(), Error> {
    if LOG_LEVELS.contains(&level) {
        return Ok(());
    }
    Err(Error::Invalid(format!(
        "the log level is one of {}, not {level:?}",
        LOG_LEVELS.join(", ")
    )))
}

impl Logs {
    /// Installs the process's logging: stderr at `DRIVESYNC_LOG` (a filter such as
    /// `drivesync=debug`) or else `stderr_level`; no files until [`Logs::write_files`]. Fails
    /// if logging is already installed in this process.
    pub fn init(stderr_level: &str) -> Result<Logs, Error> {
        check(stderr_level)?;
        let stderr_filter =
            EnvFilter::try_from_env("DRIVESYNC_LOG").unwrap_or_else(|_| stderr_level.into());
        let (filter, level) = reload::Layer::new(EnvFilter::new("off"));
        let files = Files::default();
        let file = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(files.clone())
            .with_filter(filter);
        let stderr = tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(stderr_filter);
        tracing_subscriber::registry()
            .with(file)
            .with(stderr)
            .try_init()
            .map_err(|e| Error::Invalid(format!("logging is already set up: {e}")))?;
        Ok(Logs {
            files,
            level,
            guard: Mutex::new(None),
        })
    }

    /// Writes the log to daily files `drivesync.<date>.log` in `dir` (created if missing; the
    /// 7 newest kept) at `level`, from now on.
    pub fn write_files(&self, dir: &Path, level: &str) -> Result<(), Error> {
        check(level)?;
        let appender = tracing_appender::rolling::Builder::new()
            .rotation(tracing_appender::rolling::Rotation::DAILY)
            .filename_prefix("drivesync")
            .filename_suffix("log")
            .max_log_files(7)
            .build(dir)
            .map_err(|e| {
                Error::Invalid(format!(
                    "cannot write log files in {}: {e} (check that the folder can be written)",
                    dir.display()
                ))
            })?;
        let (writer, guard) = tracing_appender::non_blocking(appender);
        *self.files.0.write().unwrap_or_else(PoisonError::into_inner) = Some(writer);
        *self.guard.lock().unwrap_or_else(PoisonError::into_inner) = Some((dir.to_owned(), guard));
        self.set_level(level)
    }

    /// Changes the files' level at once (one of [`LOG_LEVELS`]).
    pub fn set_level(&self, level: &str) -> Result<(), Error> {
        check(level)?;
        self.level
            .reload(EnvFilter::new(level))
            .map_err(|e| Error::Invalid(format!("the log level could not be changed: {e}")))
    }

    /// The folder of the log files, once they are written.
    pub fn dir(&self) -> Option<PathBuf> {
        self.guard
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|(d, _)| d.clone())
    }
}
