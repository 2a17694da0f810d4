//! The `drivesync` binary end to end against drive-emulator: login with a headless browser,
//! whoami, ls, logout, exit codes, and no secret in TRACE logs.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use drive_emulator::{Emulator, EmulatorConfig, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET};

fn drivesync(config: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_drivesync"));
    c.arg("--config").arg(config);
    // No keychain here, on purpose: the config opts in to the plaintext file instead, and a
    // developer's real keychain is never touched.
    c.env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
        .env_remove("DRIVESYNC_CLIENT_ID")
        .env_remove("DRIVESYNC_ENDPOINT");
    c
}

fn write_config(dir: &Path, base: &str, with_client: bool) -> std::path::PathBuf {
    let client = if with_client {
        format!(
            "client_id = \"{DEFAULT_CLIENT_ID}\"\nclient_secret = \"{DEFAULT_CLIENT_SECRET}\"\n"
        )
    } else {
        String::new()
    };
    let text = format!("data_dir = \"state\"\n[google]\n{client}endpoint = \"{base}\"\n[security]\nallow_plaintext_tokens = true\n");
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn login_whoami_ls_logout_end_to_end_without_leaking_secrets() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &emu.base_url(), true);

    // Login: the CLI prints the consent link; a headless browser follows it.
    let mut child = drivesync(&config)
        .args(["login", "--no-browser", "-vvv"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut stderr = child.stderr.take().unwrap();
    let stderr_reader = std::thread::spawn(move || {
        let mut s = String::new();
        stderr.read_to_string(&mut s).unwrap();
        s
    });
    let mut url = String::new();
    let mut printed = String::new();
    while url.is_empty() {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "no sign-in link printed: {printed}"
        );
        printed.push_str(&line);
        if line.starts_with("http") {
            url = line.trim().to_owned();
        }
    }
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let consent = browser.get(&url).send().await.unwrap();
    assert_eq!(consent.status(), 302);
    let redirect = consent.headers()["location"].to_str().unwrap().to_owned();
    let code = url::Url::parse(&redirect)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let page = browser.get(&redirect).send().await.unwrap();
    assert!(page.status().is_success());
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let status = child.wait().unwrap();
    let logs = stderr_reader.join().unwrap();
    assert!(status.success(), "login failed: {rest}\n{logs}");
    assert!(
        rest.contains("Signed in as Emulator User <user@example.com>"),
        "{rest}"
    );

    // Secrets never reach the TRACE log: the code, and any emulator token.
    let tokens = std::fs::read_to_string(dir.path().join("state/tokens.json")).unwrap_or_default();
    assert!(
        !tokens.is_empty(),
        "the opted-in plaintext store holds the refresh token"
    );
    assert!(!logs.contains(&code), "the auth code leaked into the log");
    assert!(
        !logs.contains("emu-at-"),
        "an access token leaked into the log"
    );
    assert!(
        !logs.contains("1//emu-"),
        "a refresh token leaked into the log"
    );
    assert!(
        logs.contains("TRACE") || logs.contains("DEBUG"),
        "the log was verbose"
    );

    let who = run(drivesync(&config).arg("whoami"));
    assert!(who.status.success(), "{}", text(&who.stderr));
    assert!(text(&who.stdout).contains("user@example.com"));

    // Something to list.
    let token = emu.mint_tokens(None).unwrap().access_token;
    let http = reqwest::Client::new();
    let folder: serde_json::Value = http
        .post(format!("{}/drive/v3/files", emu.base_url()))
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": "Photos", "mimeType": "application/vnd.google-apps.folder"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    http.post(format!(
        "{}/upload/drive/v3/files?uploadType=media",
        emu.base_url()
    ))
    .bearer_auth(&token)
    .body("abc")
    .send()
    .await
    .unwrap();
    let body = format!("--b\r\ncontent-type: application/json\r\n\r\n{{\"name\":\"cat.jpg\",\"parents\":[\"{}\"]}}\r\n--b\r\ncontent-type: image/jpeg\r\n\r\nmeow\r\n--b--\r\n", folder["id"].as_str().unwrap());
    http.post(format!(
        "{}/upload/drive/v3/files?uploadType=multipart",
        emu.base_url()
    ))
    .bearer_auth(&token)
    .header("content-type", "multipart/related; boundary=b")
    .body(body)
    .send()
    .await
    .unwrap();
    let ls = run(drivesync(&config).arg("ls"));
    let out = text(&ls.stdout);
    assert!(ls.status.success(), "{}", text(&ls.stderr));
    assert!(
        out.lines().next().unwrap().contains("Photos") && out.contains("Untitled"),
        "folders first: {out}"
    );
    let ls = run(drivesync(&config).args(["ls", "/Photos", "-vvv"]));
    assert!(text(&ls.stdout).contains("cat.jpg"), "{}", text(&ls.stdout));
    let api_logs = text(&ls.stderr);
    assert!(api_logs.contains("TRACE"), "the Drive calls were traced");
    for secret in ["emu-at-", "1//emu-", token.as_str()] {
        assert!(
            !api_logs.contains(secret),
            "a token leaked into the TRACE log of Drive calls"
        );
    }
    // A sync (small and resumable uploads, a download) at TRACE leaks no token either, and the
    // state database holds none.
    let local = dir.path().join("pair");
    std::fs::create_dir_all(local.join("sub")).unwrap();
    std::fs::write(local.join("small.txt"), b"small").unwrap();
    std::fs::write(local.join("sub/big.bin"), vec![42u8; 6 << 20]).unwrap();
    let add = run(drivesync(&config)
        .args(["pair", "add"])
        .arg(&local)
        .arg("/Photos"));
    assert!(add.status.success(), "{}", text(&add.stderr));
    let sync = run(drivesync(&config).args(["sync", "-vvv"]));
    let sync_logs = text(&sync.stderr);
    assert!(sync.status.success(), "{}\n{sync_logs}", text(&sync.stdout));
    assert!(
        text(&sync.stdout).contains("2 uploaded, 1 downloaded"),
        "{}",
        text(&sync.stdout)
    );
    assert_eq!(std::fs::read(local.join("cat.jpg")).unwrap(), b"meow");
    assert!(sync_logs.contains("TRACE"), "the sync was traced");
    let mut db = std::fs::read(dir.path().join("state/state.sqlite3")).unwrap();
    db.extend(std::fs::read(dir.path().join("state/state.sqlite3-wal")).unwrap_or_default());
    for secret in ["emu-at-", "1//emu-", token.as_str()] {
        assert!(
            !sync_logs.contains(secret),
            "a token leaked into the TRACE log of a sync"
        );
        assert!(
            !db.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "a token is in the state database"
        );
    }

    let missing = run(drivesync(&config).args(["ls", "/Nope"]));
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("no such file or folder on Drive: /Nope"));

    // Logout revokes and forgets; afterwards a sign-in is needed (exit 3).
    let out = run(drivesync(&config).arg("logout"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("state/tokens.json"))
            .unwrap_or_default()
            .matches("1//emu-")
            .count(),
        0
    );
    let who = run(drivesync(&config).arg("whoami"));
    assert_eq!(who.status.code(), Some(3), "{}", text(&who.stderr));
    assert!(text(&who.stderr).contains("drivesync login"));
}

#[tokio::test(flavor = "multi_thread")]
async fn revoked_access_exits_3_and_says_to_sign_in_again() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &emu.base_url(), true);
    let mut child = drivesync(&config)
        .args(["login", "--no-browser"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let url = loop {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap() > 0);
        if line.starts_with("http") {
            break line.trim().to_owned();
        }
    };
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let to = browser.get(&url).send().await.unwrap().headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    browser.get(&to).send().await.unwrap();
    assert!(child.wait().unwrap().success());
    emu.revoke_refresh_tokens().unwrap();
    let who = run(drivesync(&config).arg("whoami"));
    assert_eq!(who.status.code(), Some(3), "{}", text(&who.stderr));
    assert!(
        text(&who.stderr).contains("sign in again"),
        "{}",
        text(&who.stderr)
    );
}

#[test]
fn without_an_oauth_client_the_error_says_where_to_configure_one() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "http://127.0.0.1:9", false);
    let out = run(drivesync(&config).arg("login"));
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("client_id") && err.contains("config.toml"),
        "{err}"
    );
}
