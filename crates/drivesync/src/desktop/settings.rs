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

/// Checks a pair's settings; the error names the setting and the allowed values.
pub fn validate_pair_settings(s: &drivesync_model::PairSettings) -> Result<(), Error> {
    if !(1..=32).contains(&s.concurrency) {
        return Err(Error::Invalid(format!(
            "Transfers at once must be between 1 and 32, not {}.",
            s.concurrency
        )));
    }
    if s.delete_limit_files < 1 {
        return Err(Error::Invalid(
            "The delete guard's file count must be at least 1.".into(),
        ));
    }
    if !(1..=100).contains(&s.delete_limit_percent) {
        return Err(Error::Invalid(format!(
            "The delete guard's share must be between 1 and 100 %, not {}.",
            s.delete_limit_percent
        )));
    }
    Ok(())
}

impl Drivesync {
    /// Checks and stores pair `id`'s settings (they apply from its next sync); returns the
    /// pair as it is now.
    pub fn set_pair_settings(
        &self,
        id: i64,
        settings: &drivesync_model::PairSettings,
    ) -> Result<crate::PairInfo, Error> {
        validate_pair_settings(settings)?;
        self.pair_configure(&id.to_string(), |s| *s = settings.clone())?;
        self.pairs()?
            .into_iter()
            .find(|p| p.id == id)
            .ok_or_else(|| Error::NoSuchPair(id.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use drivesync_model::PairSettings;

    use super::*;

    #[test]
    fn pair_settings_outside_their_ranges_are_refused_with_the_setting_named() {
        let ok = PairSettings::default();
        assert!(validate_pair_settings(&ok).is_ok());
        for (bad, word) in [
            (
                PairSettings {
                    concurrency: 0,
                    ..ok.clone()
                },
                "Transfers",
            ),
            (
                PairSettings {
                    concurrency: 33,
                    ..ok.clone()
                },
                "Transfers",
            ),
            (
                PairSettings {
                    delete_limit_files: 0,
                    ..ok.clone()
                },
                "file count",
            ),
            (
                PairSettings {
                    delete_limit_percent: 0,
                    ..ok.clone()
                },
                "share",
            ),
            (
                PairSettings {
                    delete_limit_percent: 101,
                    ..ok.clone()
                },
                "share",
            ),
        ] {
            let e = validate_pair_settings(&bad).unwrap_err().to_string();
            assert!(e.contains(word), "{e}");
        }
    }

    #[test]
    fn app_settings_outside_their_ranges_are_refused() {
        let ok = AppSettings {
            poll_secs: 15,
            upload_kib: 0,
            download_kib: 0,
            autostart: false,
            log_level: "info".into(),
            logs_dir: String::new(),
        };
        assert!(ok.validate().is_ok());
        assert!(AppSettings {
            poll_secs: 4,
            ..ok.clone()
        }
        .validate()
        .is_err());
        assert!(AppSettings {
            poll_secs: 3601,
            ..ok.clone()
        }
        .validate()
        .is_err());
        assert!(AppSettings {
            upload_kib: 1 << 40,
            ..ok.clone()
        }
        .validate()
        .is_err());
        assert!(AppSettings {
            log_level: "verbose".into(),
            ..ok
        }
        .validate()
        .is_err());
    }
}
