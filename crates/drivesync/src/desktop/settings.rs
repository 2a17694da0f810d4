//! The app-wide settings the window edits, kept in the config file (`[sync]` and `[app]`)
//! without disturbing the rest of it (comments and the Google client stay as written).

use std::path::Path;

use serde::{Deserialize, Serialize};
use toml_edit::{value, DocumentMut, Item, Table};

use crate::{Drivesync, Error};

/// Log levels the app offers.
pub const LOG_LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];

/// The app-wide settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppSettings {
    /// How often Drive's changes are polled, in seconds (5 to 3600).
    pub poll_secs: u64,
    /// Upload limit in KiB/s, 0 = unlimited.
    pub upload_kib: u64,
    /// Download limit in KiB/s, 0 = unlimited.
    pub download_kib: u64,
    /// Start the app at login.
    pub autostart: bool,
    /// How much the log says: one of [`LOG_LEVELS`].
    pub log_level: String,
    /// Where the log files are (read-only).
    pub logs_dir: String,
}

impl AppSettings {
    /// Checks every field; the error names the field and the allowed values.
    pub fn validate(&self) -> Result<(), Error> {
        if !(5..=3600).contains(&self.poll_secs) {
            return Err(Error::Invalid(format!(
                "The poll interval must be between 5 and 3600 seconds, not {}.",
                self.poll_secs
            )));
        }
        const MAX_KIB: u64 = 10 * 1024 * 1024;
        for (what, v) in [("upload", self.upload_kib), ("download", self.download_kib)] {
            if v > MAX_KIB {
                return Err(Error::Invalid(format!(
                    "The {what} limit must be at most {MAX_KIB} KiB/s (0 is unlimited), not {v}."
                )));
            }
        }
        if !LOG_LEVELS.contains(&self.log_level.as_str()) {
            return Err(Error::Invalid(format!(
                "The log level must be one of {}, not {:?}.",
                LOG_LEVELS.join(", "),
                self.log_level
            )));
        }
        Ok(())
    }
}

fn read_doc(path: &Path) -> Result<DocumentMut, Error> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(Error::Io {
                path: path.to_owned(),
                source,
            })
        }
    };
    text.parse::<DocumentMut>().map_err(|e| Error::Config {
        path: path.to_owned(),
        why: e.to_string(),
    })
}

fn table<'d>(doc: &'d mut DocumentMut, name: &str) -> &'d mut Table {
    let item = doc.entry(name).or_insert_with(|| Item::Table(Table::new()));
    if !item.is_table() {
        *item = Item::Table(Table::new());
    }
    item.as_table_mut().expect("made a table above")
}

fn int(v: u64) -> Item {
    value(i64::try_from(v).unwrap_or(i64::MAX))
}

impl Drivesync {
    /// The app-wide settings in effect.
    pub fn app_settings(&self) -> AppSettings {
        let c = &self.config;
        AppSettings {
            poll_secs: c.poll.as_secs(),
            upload_kib: c.upload_limit.map_or(0, |b| b / 1024),
            download_kib: c.download_limit.map_or(0, |b| b / 1024),
            autostart: c.autostart,
            log_level: c.log_level.clone(),
            logs_dir: c.data_dir.join("logs").display().to_string(),
        }
    }

    /// Checks `new` and writes it to the config file; returns the instance with the new
    /// configuration (speed limits apply at once to this instance's transfers; the poll
    /// interval from the next start of the loops).
    pub fn set_app_settings(&self, new: &AppSettings) -> Result<Drivesync, Error> {
        new.validate()?;
        let path = &self.config.path;
        let mut doc = read_doc(path)?;
        let sync = table(&mut doc, "sync");
        sync["poll_seconds"] = int(new.poll_secs);
        sync["upload_limit_kib"] = int(new.upload_kib);
        sync["download_limit_kib"] = int(new.download_kib);
        let app = table(&mut doc, "app");
        app["autostart"] = value(new.autostart);
        app["log_level"] = value(new.log_level.clone());
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                path: dir.to_owned(),
                source,
            })?;
        }
        std::fs::write(path, doc.to_string()).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        let mut config = self.config.clone();
        config.poll = std::time::Duration::from_secs(new.poll_secs);
        config.upload_limit = crate::config::kib_limit(new.upload_kib);
        config.download_limit = crate::config::kib_limit(new.download_kib);
        config.autostart = new.autostart;
        config.log_level = new.log_level.clone();
        self.bandwidth
            .set_limits(config.upload_limit, config.download_limit);
        Ok(Drivesync {
            config,
            bandwidth: self.bandwidth.clone(),
        })
    }
}
