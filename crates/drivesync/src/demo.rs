//! The demo: drivesync against an embedded drive-emulator, signed in by itself, with a
//! sample pair in a temporary folder, so a new user sees it work without a Google account
//! (`drivesync demo`, and the app when no Google client is configured). Everything lives in
//! one temporary folder, removed when the demo ends.

use std::path::{Path, PathBuf};

use drive_emulator::{
    Emulator, EmulatorConfig, EmulatorHandle, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET,
};
use drivesync_drive::{NewFile, UploadSource};
use drivesync_model::DriveId;

use crate::{Drivesync, Error, Overrides, PairInfo};

/// A running demo: the emulator, the configuration pointing at it, and the sample pair.
pub struct Demo {
    /// drivesync configured for the emulator and signed in.
    pub app: Drivesync,
    /// The sample pair.
    pub pair: PairInfo,
    emulator: EmulatorHandle,
    dir: tempfile::TempDir,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

fn write(path: &Path, text: &str) -> Result<(), Error> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    std::fs::write(path, text).map_err(io(path))
}

/// The text of a config file for drivesync against the drive-emulator at `base_url`: state
/// in `state/` next to the file, the emulator's OAuth client, tokens only in a plaintext file
/// there (never the user's keychain). For the demo and for tests.
pub fn emulator_config(base_url: &str) -> String {
    format!(
        "data_dir = \"state\"\n[google]\nclient_id = \"{DEFAULT_CLIENT_ID}\"\n\
         client_secret = \"{DEFAULT_CLIENT_SECRET}\"\nendpoint = \"{base_url}\"\n\
         [security]\nplaintext_tokens_only = true\n"
    )
}

/// Approves a consent page the way a browser would: follows `url` to the emulator's
/// automatic consent and then its redirect to the loopback listener.
pub async fn follow_consent(url: &url::Url) -> Result<(), Error> {
    let fail = |e: reqwest::Error| Error::Invalid(format!("the sign-in page failed: {e}"));
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(fail)?;
    let consent = browser.get(url.as_str()).send().await.map_err(fail)?;
    let to = consent
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .ok_or_else(|| Error::Invalid("the sign-in page did not redirect".into()))?
        .to_owned();
    browser.get(&to).send().await.map_err(fail)?;
    Ok(())
}

impl Drivesync {
    /// Signs in by following the consent page without a browser ([`follow_consent`]): for
    /// the demo and for tests against drive-emulator, whose consent page approves at once.
    pub async fn login_unattended(&self) -> Result<crate::AccountInfo, Error> {
        let (tx, rx) = tokio::sync::oneshot::channel::<url::Url>();
        let follow = tokio::spawn(async move {
            match rx.await {
                Ok(url) => follow_consent(&url).await,
                Err(_) => Ok(()),
            }
        });
        let info = self
            .login(true, move |u| {
                let _ = tx.send(u.clone());
            })
            .await?;
        follow
            .await
            .map_err(|e| Error::Invalid(format!("the sign-in task failed: {e}")))??;
        Ok(info)
    }
}

impl Demo {
    /// Starts the emulator, writes a configuration for it in a temporary folder, signs in,
    /// and adds a sample pair: a local folder with a few files, and a Drive folder with a few
    /// others. The pair is not synced yet.
    pub async fn start() -> Result<Self, Error> {
        let dir = tempfile::Builder::new()
            .prefix("drivesync-demo-")
            .tempdir()
            .map_err(io(&std::env::temp_dir()))?;
        let emulator = Emulator::start(EmulatorConfig::default())
            .await
            .map_err(|e| Error::Invalid(format!("the demo's Drive emulator did not start: {e}")))?;
        let config = dir.path().join("config.toml");
        write(
            &config,
            &format!(
                "# drivesync demo: every Google URL at the embedded drive-emulator\n{}",
                emulator_config(&emulator.base_url())
            ),
        )?;
        let app = Drivesync::open(&Overrides {
            config_file: Some(config),
            endpoint: None,
        })?;
        app.login_unattended().await?;

        let local = dir.path().join("My Documents");
        write(
            &local.join("Welcome.txt"),
            "This folder is kept identical to the Drive folder \"drivesync demo\".\n\
             Edit, add, rename or delete files here and watch them reach Drive.\n",
        )?;
        write(
            &local.join("Notes/ideas.md"),
            "# Ideas\n\n- sync both ways\n- never lose a file\n",
        )?;
        write(&local.join("Notes/todo.txt"), "buy milk\n")?;
        let remote = app.remote().await?;
        let root = remote.get(&DriveId::new("root")).await?.id;
        let folder = remote
            .create_folder(&NewFile::new(root, "drivesync demo"))
            .await?;
        let plans = remote
            .create_folder(&NewFile::new(folder.id.clone(), "Plans"))
            .await?;
        let seed = dir.path().join("seed");
        for (parent, name, text) in [
            (
                &folder.id,
                "From Drive.txt",
                "This file was on Drive first.\n",
            ),
            (
                &plans.id,
                "roadmap.md",
                "# Roadmap\n\n1. Connect\n2. Pick folders\n3. Relax\n",
            ),
        ] {
            write(&seed, text)?;
            remote
                .create_file(
                    &NewFile::new(parent.clone(), name),
                    &UploadSource::new(&seed),
                )
                .await?;
        }
        let pair = app
            .pair_add(&local, &format!("id:{}", folder.id), Some("Demo"))
            .await?;
        Ok(Self {
            app,
            pair,
            emulator,
            dir,
        })
    }

    /// The temporary folder holding everything of the demo.
    pub fn folder(&self) -> PathBuf {
        self.dir.path().to_owned()
    }

    /// Removes the demo's folder now (for front ends that exit without running destructors).
    pub fn remove_files(&self) {
        if let Err(e) = std::fs::remove_dir_all(self.dir.path()) {
            tracing::warn!("the demo folder {} stays: {e}", self.dir.path().display());
        }
    }

    /// The emulator's address (its `/__emulator/snapshot` shows Drive's content).
    pub fn drive_url(&self) -> String {
        self.emulator.base_url()
    }
}
