//! With `--data-dir`, files, the change log, upload sessions and tokens survive a restart.

mod common;

use common::md5_hex;
use drive_emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use serde_json::Value;

async fn start(dir: &std::path::Path) -> EmulatorHandle {
    Emulator::start(EmulatorConfig {
        data_dir: Some(dir.to_owned()),
        ..Default::default()
    })
    .await
    .unwrap()
}

async fn json(resp: reqwest::Response) -> Value {
    let status = resp.status();
    let v: Value = resp.json().await.unwrap();
    assert!(status.is_success(), "{status}: {v}");
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn files_changes_sessions_and_tokens_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let emu = start(dir.path()).await;
    let base = emu.base_url();
    let tokens = emu.mint_tokens(None).unwrap();
    let auth = format!("Bearer {}", tokens.access_token);

    let start_token = json(
        http.get(format!("{base}/drive/v3/changes/startPageToken"))
            .header("authorization", &auth)
            .send()
            .await
            .unwrap(),
    )
    .await["startPageToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = b"persisted content".to_vec();
    let file = json(
        http.post(format!(
            "{base}/upload/drive/v3/files?uploadType=media&fields=id,md5Checksum,version"
        ))
        .header("authorization", &auth)
        .header("content-type", "text/plain")
        .body(body.clone())
        .send()
        .await
        .unwrap(),
    )
    .await;
    let file_id = file["id"].as_str().unwrap().to_owned();
    assert_eq!(file["md5Checksum"], md5_hex(&body));

    // A resumable upload, one chunk in, interrupted by the restart.
    let big: Vec<u8> = (0..600_000u32).map(|i| (i % 251) as u8).collect();
    let init = http
        .post(format!(
            "{base}/upload/drive/v3/files?uploadType=resumable&fields=id,md5Checksum,size"
        ))
        .header("authorization", &auth)
        .header("x-upload-content-length", big.len().to_string())
        .json(&serde_json::json!({"name": "big.bin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(init.status(), 200);
    let session = init.headers()["location"].to_str().unwrap().to_owned();
    let first = http
        .put(&session)
        .header("content-range", format!("bytes 0-262143/{}", big.len()))
        .body(big[..262_144].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 308);
    let snapshot_before = emu.snapshot();
    emu.shutdown().await;

    let emu = start(dir.path()).await;
    let base2 = emu.base_url();
    assert_eq!(
        emu.snapshot(),
        snapshot_before,
        "the same Drive after a restart"
    );

    // The access token still works; the content is intact.
    let got = http
        .get(format!("{base2}/drive/v3/files/{file_id}?alt=media"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.unwrap().as_ref(), body.as_slice());

    // The change feed from the old token still lists the file.
    let changes = json(
        http.get(format!("{base2}/drive/v3/changes?pageToken={start_token}&fields=newStartPageToken,changes(fileId,removed)"))
            .header("authorization", &auth)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(changes["changes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["fileId"] == file_id.as_str()));

    // The upload session resumes from its stored offset (the port changed: use the new base).
    let session2 = session.replace(&base, &base2);
    let status = http
        .put(&session2)
        .header("content-range", format!("bytes */{}", big.len()))
        .header("content-length", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 308);
    assert_eq!(status.headers()["range"], "bytes=0-262143");
    let done = http
        .put(&session2)
        .header(
            "content-range",
            format!("bytes 262144-{}/{}", big.len() - 1, big.len()),
        )
        .body(big[262_144..].to_vec())
        .send()
        .await
        .unwrap();
    let done = json(done).await;
    assert_eq!(done["md5Checksum"], md5_hex(&big));
    assert_eq!(done["size"], big.len().to_string());

    // The refresh token still refreshes.
    let refreshed = http
        .post(format!("{base2}/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens.refresh_token.as_deref().unwrap()),
            ("client_id", drive_emulator::DEFAULT_CLIENT_ID),
            ("client_secret", drive_emulator::DEFAULT_CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 200);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_torn_journal_tail_is_ignored_and_earlier_state_kept() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start(dir.path()).await;
    let auth = format!("Bearer {}", emu.mint_tokens(None).unwrap().access_token);
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/drive/v3/files", emu.base_url()))
        .header("authorization", &auth)
        .json(
            &serde_json::json!({"name": "kept", "mimeType": "application/vnd.google-apps.folder"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let before = emu.snapshot();
    emu.shutdown().await;
    use std::io::Write;
    let mut j = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.path().join("journal.jsonl"))
        .unwrap();
    j.write_all(br#"{"PutFile":{"file":{"id":"half"#).unwrap();
    drop(j);
    let emu = start(dir.path()).await;
    assert_eq!(emu.snapshot(), before);
    emu.shutdown().await;
}
