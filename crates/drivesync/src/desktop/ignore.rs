//! The ignore-rules editor: a pair's `.drivesyncignore` (gitignore syntax), checked before
//! it is saved.

use drivesync_reconcile::{IgnoreRules, IGNORE_FILE};

use crate::{Drivesync, Error};

impl Drivesync {
    /// The text of pair `id`'s `.drivesyncignore` (empty when it has none).
    pub fn ignore_rules(&self, id: i64) -> Result<String, Error> {
        let path = self.pair_by_id(id)?.local_root.join(IGNORE_FILE);
        match std::fs::read_to_string(&path) {
            Ok(t) => Ok(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
            Err(source) => Err(Error::Io { path, source }),
        }
    }

    /// Checks `text` as gitignore rules and writes it as pair `id`'s `.drivesyncignore`
    /// (which syncs like any file). Nothing is written if a line is refused.
    pub fn set_ignore_rules(&self, id: i64, text: &str) -> Result<(), Error> {
        let (_, errors) = IgnoreRules::new(text);
        if let Some(e) = errors.first() {
            return Err(Error::Invalid(e.to_string()));
        }
        let path = self.pair_by_id(id)?.local_root.join(IGNORE_FILE);
        std::fs::write(&path, text).map_err(|source| Error::Io { path, source })
    }
}
