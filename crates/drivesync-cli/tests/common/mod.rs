//! Helpers shared by the end-to-end tests of the `drivesync` binary: a command with a safe
//! environment, a config file pointing at a drive-emulator, a headless sign-in, and running
//! commands. Not every test binary uses every helper.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use drive_emulator::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET};

/// `drivesync --config CONFIG` with no keychain (the config opts in to the plaintext token
/// file, so a developer's real keychain is never touched) and no inherited overrides.
pub fn drivesync(config: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_drivesync"));
    c.arg("--config").arg(config);
    c.env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
        .env_remove("DRIVESYNC_CLIENT_ID")
        .env_remove("DRIVESYNC_ENDPOINT")
        .env_remove("DRIVESYNC_LOG");
    c
}

/// Writes `DIR/config.toml`: state in `DIR/state`, every Google URL at `base`, the emulator's
/// OAuth client, plaintext tokens allowed.
pub fn write_config(dir: &Path, base: &str) -> PathBuf {
    let text = format!(
        "data_dir = \"state\"\n[google]\nclient_id = \"{DEFAULT_CLIENT_ID}\"\n\
         client_secret = \"{DEFAULT_CLIENT_SECRET}\"\nendpoint = \"{base}\"\n\
         [security]\nallow_plaintext_tokens = true\n"
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, text).expect("write config.toml");
    path
}

/// Runs `cmd login --no-browser` (`cmd` is a [`drivesync`] command, environment set) and
/// approves the consent page with a headless browser that follows the printed link.
pub async fn login(mut cmd: Command) -> Result<(), String> {
    let mut child = cmd
        .args(["login", "--no-browser"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start drivesync: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let (url, mut reader) = tokio::task::spawn_blocking(move || {
        let mut reader = BufReader::new(stdout);
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return (None, reader),
                Ok(_) if line.starts_with("http") => return (Some(line.trim().to_owned()), reader),
                Ok(_) => {}
            }
        }
    })
    .await
    .map_err(|e| e.to_string())?;
    let Some(url) = url else {
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        return Err(format!(
            "login printed no sign-in link: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    };
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let consent = browser.get(&url).send().await.map_err(|e| e.to_string())?;
    let to = consent
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .ok_or("the consent page did not redirect")?
        .to_owned();
    browser.get(&to).send().await.map_err(|e| e.to_string())?;
    let out = tokio::task::spawn_blocking(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut reader, &mut rest);
        child.wait_with_output().map(|o| (o, rest))
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())?;
    if !out.0.status.success() {
        return Err(format!(
            "login failed: {}\n{}",
            out.1,
            String::from_utf8_lossy(&out.0.stderr)
        ));
    }
    Ok(())
}

/// `drivesync ARGS` with `config`, run to the end.
pub fn run(config: &Path, args: &[&str]) -> Output {
    drivesync(config).args(args).output().unwrap()
}

/// What a run printed, stdout then stderr.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `drivesync ARGS`, which must succeed; what it printed.
pub fn ok(config: &Path, args: &[&str]) -> String {
    let o = run(config, args);
    assert!(o.status.success(), "drivesync {args:?}: {}", text(&o));
    text(&o)
}

/// Waits until `check` holds, up to `limit`; returns how long it took.
pub fn wait_for(what: &str, limit: Duration, mut check: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
    start.elapsed()
}
