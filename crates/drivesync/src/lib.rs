//! The drivesync facade: what every front end (the CLI, the desktop app) calls. It reads the
//! configuration, keeps track of the signed-in account, and builds the Drive client from the
//! library crates. Front ends get plain data ([`AccountInfo`], [`Entry`]) and one error type.

mod account;
mod config;
pub mod control;
mod daemon;
pub mod demo;
pub mod desktop;
mod dto;
mod error;
pub mod housekeeping;
mod instance;
pub mod logs;
pub mod memory;
pub mod overlap;
mod pairs;

use std::sync::Arc;

use drivesync_auth::{AuthConfig, LoginOptions, Session, SystemClock, TokenStore};
use drivesync_drive::{Bandwidth, DriveConfig, DriveId, GoogleDrive, RemoteStore};

pub use config::{Config, Overrides};
pub use daemon::{Daemon, DaemonStatus};
pub use drivesync_engine::live::{Command, PairState, PairStatus};
pub use drivesync_engine::{
    op_name, Blocker, EngineError, Event, Events, FolderProblem, PairEvent, SyncReport,
};
pub use drivesync_model::PairSettings;
pub use drivesync_reconcile::shown;
pub use drivesync_state::{Activity, ActivityKind, ActivityQuery, Conflict, Resolution};
pub use dto::{AccountInfo, Entry, EntryKind};
pub use error::Error;
pub use instance::InstanceLock;
pub use pairs::{PairInfo, SyncRequest};

/// drivesync with a configuration loaded: the entry point of every command.
#[derive(Debug, Clone)]
pub struct Drivesync {
    config: Config,
    bandwidth: Bandwidth,
}

impl Drivesync {
    /// Loads the configuration (see [`Config::load`]).
    pub fn open(overrides: &Overrides) -> Result<Self, Error> {
        let config = Config::load(overrides)?;
        let bandwidth = Bandwidth::unlimited();
        bandwidth.set_limits(config.upload_limit, config.download_limit);
        Ok(Self { config, bandwidth })
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    async fn store(&self) -> Result<Arc<dyn TokenStore>, Error> {
        let opt_in = self.config.plaintext_token_file();
        if let Some(path) = opt_in
            .as_ref()
            .filter(|_| self.config.plaintext_tokens_only)
        {
            return Ok(Arc::new(drivesync_auth::PlaintextFileStore::new(path)));
        }
        Ok(drivesync_auth::open_token_store(opt_in.as_deref()).await?)
    }

    fn auth_config(&self) -> Result<AuthConfig, Error> {
        self.config.auth()
    }

    /// Signs in with the loopback flow: opens the browser (or, with `no_browser`, only hands
    /// the consent URL to `show_url`), waits for Google's answer, keeps the refresh token in
    /// the keychain and remembers the account.
    pub async fn login(
        &self,
        no_browser: bool,
        show_url: impl FnOnce(&url::Url) + Send + 'static,
    ) -> Result<AccountInfo, Error> {
        let auth = self.auth_config()?;
        let store = self.store().await?;
        let options = if no_browser {
            LoginOptions::no_browser(show_url)
        } else {
            LoginOptions::browser(show_url)
        };
        let signed =
            drivesync_auth::login(&auth, options, store.as_ref(), Arc::new(SystemClock)).await?;
        account::save(&self.config.data_dir, &signed.account.email)?;
        self.whoami_with(signed.session).await
    }

    /// Signs out: revokes the grant at Google, deletes the keychain entry, forgets the account.
    /// When Google does not confirm the revoke, nothing is deleted and the account stays
    /// signed in (an error says so), unless `force` (the user confirmed). A running daemon
    /// must be told first ([`Daemon::sign_out`]) and again after (`reload(true)`).
    pub async fn logout(&self, force: bool) -> Result<String, Error> {
        let email = account::load(&self.config.data_dir)?.ok_or(Error::NotSignedIn)?;
        let store = self.store().await?;
        let result =
            drivesync_auth::logout(&self.auth_config()?, store.as_ref(), &email, force).await;
        if matches!(result, Err(drivesync_auth::AuthError::RevokeFailed { .. })) {
            // Still signed in, as the error says.
            return Err(result.unwrap_err().into());
        }
        account::forget(&self.config.data_dir)?;
        result?;
        Ok(email)
    }

    async fn session(&self) -> Result<Session, Error> {
        let email = account::load(&self.config.data_dir)?.ok_or(Error::NotSignedIn)?;
        let store = self.store().await?;
        Ok(Session::restore(
            &self.auth_config()?,
            store.as_ref(),
            &email,
            Arc::new(SystemClock),
        )
        .await?)
    }

    fn drive(&self, session: Session) -> Result<GoogleDrive<Session>, Error> {
        Ok(
            GoogleDrive::new(session, DriveConfig::at(self.config.endpoints()))?
                .with_bandwidth(self.bandwidth.clone()),
        )
    }

    /// The transfer speed limits of every Drive client this instance builds (bytes per
    /// second up and down; `None` is unlimited). Changing them applies to transfers in flight.
    pub fn bandwidth(&self) -> &Bandwidth {
        &self.bandwidth
    }

    /// Who is signed in, and their storage quota.
    pub async fn whoami(&self) -> Result<AccountInfo, Error> {
        self.whoami_with(self.session().await?).await
    }

    async fn whoami_with(&self, session: Session) -> Result<AccountInfo, Error> {
        let about = self.drive(session)?.about().await?;
        Ok(AccountInfo::from(about))
    }

    /// The entries of the Drive folder at `path` (`/` is My Drive; `a/b` walks by name), or the
    /// one file `path` names.
    pub async fn ls(&self, path: &str) -> Result<Vec<Entry>, Error> {
        let drive = self.drive(self.session().await?)?;
        let mut current = drive.get(&DriveId::from("root")).await?;
        for name in path.split('/').filter(|s| !s.is_empty()) {
            let children = drive.list_children(&current.id).await?;
            let mut matches = children
                .into_iter()
                .filter(|c| c.name == name && !c.trashed);
            current = matches
                .next()
                .ok_or_else(|| Error::NoSuchPath(path.to_owned()))?;
            if matches.next().is_some() {
                tracing::warn!(name, "several entries share this name; showing the first");
            }
        }
        if current.mime_type != drivesync_drive::FOLDER_MIME {
            return Ok(vec![Entry::from(current)]);
        }
        let mut entries: Vec<Entry> = drive
            .list_children(&current.id)
            .await?
            .into_iter()
            .filter(|f| !f.trashed)
            .map(Entry::from)
            .collect();
        entries.sort_by(|a, b| {
            (a.kind != EntryKind::Folder, &a.name).cmp(&(b.kind != EntryKind::Folder, &b.name))
        });
        Ok(entries)
    }
}
