//! Sync benchmark for P1, P2, P4 and P8 of targets.md
//! (`cargo bench -p drivesync-engine --bench sync [-- --files N --folders F --latency-ms L
//! --noop-files M --p2 0|1 --ours-first 0|1 --repeat R]`), against the in-process emulator.
//!
//! - P1: first sync of N files of 4 KiB in F folders, local -> empty Drive folder. Baseline: a
//!   minimal reqwest client making the same creates (folders, then one multipart create per
//!   file), 8 at a time, from the same files on disk.
//! - P2: first sync of that Drive tree -> an empty local folder. Baseline: the same client
//!   listing the folders and downloading every file (`alt=media`) to disk, 8 at a time.
//! - P8: Drive API requests per new file in P1.
//! - P4: a no-op sync of M tracked files: wall time and API requests.
//!
//! Every timing is printed with its same-run baseline and the ratio. `--repeat R` runs P1 and
//! P2 R times, each against a fresh emulator, and also prints the median ratio: on a shared
//! machine one ratio can move by 0.2 from run to run.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use drive_emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use drivesync_auth::StaticToken;
use drivesync_bench::arg;
use drivesync_drive::{DriveConfig, DriveId, GoogleDrive, NewFile, RemoteStore};
use drivesync_engine::{Engine, StateSessions, SyncOptions};
use drivesync_localfs::StdFs;
use drivesync_model::{GoogleEndpoints, PairSettings, Sensitive};
use drivesync_state::{NewPair, StateDb};
use futures_util::stream::{self, StreamExt};

fn content(i: usize) -> Vec<u8> {
    let mut b = vec![0u8; 4096];
    b[..8].copy_from_slice(&(i as u64).to_le_bytes());
    b
}

fn write_tree(root: &Path, files: usize, folders: usize) {
    for f in 0..folders {
        std::fs::create_dir_all(root.join(format!("d{f:03}"))).unwrap();
    }
    for i in 0..files {
        std::fs::write(
            root.join(format!("d{:03}/f{i:05}.bin", i % folders)),
            content(i),
        )
        .unwrap();
    }
}

struct Rig {
    emu: EmulatorHandle,
    base: String,
    token: String,
    tmp: tempfile::TempDir,
}

impl Rig {
    fn drive(&self) -> GoogleDrive<StaticToken> {
        let endpoints = GoogleEndpoints::at(&url::Url::parse(&self.base).unwrap());
        GoogleDrive::new(
            StaticToken(Sensitive::new(self.token.clone())),
            DriveConfig::at(endpoints),
        )
        .unwrap()
    }

    /// Runs one sync of a new pair (`local` <-> Drive folder `remote_root`); returns the wall
    /// time and the API requests.
    async fn sync_pair(
        &self,
        name: &str,
        local: &Path,
        remote_root: &DriveId,
    ) -> (Duration, u64, Engine, Arc<GoogleDrive<StaticToken>>) {
        let db = Arc::new(StateDb::open(&self.tmp.path().join(format!("{name}.sqlite3"))).unwrap());
        let pair = db
            .add_pair(
                &NewPair {
                    name: name.into(),
                    local_root: local.to_owned(),
                    remote_root: remote_root.clone(),
                    remote_path: format!("/{name}"),
                    settings: PairSettings::default(),
                },
                Utc::now(),
            )
            .unwrap();
        let drive = Arc::new(
            self.drive()
                .with_sessions(Arc::new(StateSessions(db.clone()))),
        );
        let engine = Engine::new(
            drive.clone(),
            Arc::new(StdFs::new(local.to_owned())),
            db,
            pair,
        );
        let t = Instant::now();
        let r = engine.sync(&opts()).await.unwrap();
        let took = t.elapsed();
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        (took, drive.metrics().requests, engine, drive)
    }
}

fn opts() -> SyncOptions {
    SyncOptions {
        dry_run: false,
        force_deletes: false,
        now: Utc::now(),
        host: "bench".into(),
    }
}

async fn raw_folder(http: &reqwest::Client, r: &Rig, parent: &str, name: &str) -> String {
    let v: serde_json::Value = http
        .post(format!("{}/drive/v3/files?fields=id", r.base))
        .bearer_auth(&r.token)
        .json(&serde_json::json!({"name": name, "parents": [parent], "mimeType": "application/vnd.google-apps.folder"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["id"].as_str().unwrap().to_owned()
}

/// The baseline of P1: the same creates with a bare client.
async fn raw_upload_tree(
    r: &Rig,
    local: &Path,
    files: usize,
    folders: usize,
) -> (Duration, String) {
    let http = reqwest::Client::new();
    let t = Instant::now();
    let root = raw_folder(&http, r, "root", "raw").await;
    let ids: Vec<String> = stream::iter(0..folders)
        .map(|f| {
            let (http, root) = (&http, &root);
            async move { raw_folder(http, r, root, &format!("d{f:03}")).await }
        })
        .buffered(8)
        .collect()
        .await;
    stream::iter(0..files)
        .for_each_concurrent(8, |i| {
            let (http, ids) = (&http, &ids);
            async move {
                let path = local.join(format!("d{:03}/f{i:05}.bin", i % folders));
                let bytes = tokio::fs::read(&path).await.unwrap();
                let meta = serde_json::json!({"name": format!("f{i:05}.bin"), "parents": [ids[i % folders]]});
                let mut body = format!("--b\r\ncontent-type: application/json\r\n\r\n{meta}\r\n--b\r\ncontent-type: application/octet-stream\r\n\r\n").into_bytes();
                body.extend_from_slice(&bytes);
                body.extend_from_slice(b"\r\n--b--\r\n");
                let resp = http
                    .post(format!("{}/upload/drive/v3/files?uploadType=multipart&fields=id,md5Checksum", r.base))
                    .bearer_auth(&r.token)
                    .header("content-type", "multipart/related; boundary=b")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert!(resp.status().is_success());
                resp.bytes().await.unwrap();
            }
        })
        .await;
    (t.elapsed(), root)
}

/// The baseline of P2: list every folder, download every file, 8 at a time.
async fn raw_download_tree(r: &Rig, root: &str, to: &Path) -> Duration {
    let http = reqwest::Client::new();
    let t = Instant::now();
    let list = |q: String| {
        let http = &http;
        async move {
            let mut out = Vec::new();
            let mut page: Option<String> = None;
            loop {
                let mut req = http
                    .get(format!("{}/drive/v3/files", r.base))
                    .bearer_auth(&r.token)
                    .query(&[
                        ("q", q.as_str()),
                        ("pageSize", "1000"),
                        ("fields", "nextPageToken,files(id,name,mimeType)"),
                    ]);
                if let Some(p) = &page {
                    req = req.query(&[("pageToken", p.as_str())]);
                }
                let v: serde_json::Value = req.send().await.unwrap().json().await.unwrap();
                out.extend(v["files"].as_array().unwrap().iter().cloned());
                match v["nextPageToken"].as_str() {
                    Some(p) => page = Some(p.to_owned()),
                    None => return out,
                }
            }
        }
    };
    let folders = list(format!("'{root}' in parents and trashed = false")).await;
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    for f in &folders {
        let dir = to.join(f["name"].as_str().unwrap());
        tokio::fs::create_dir_all(&dir).await.unwrap();
        let id = f["id"].as_str().unwrap();
        for c in list(format!("'{id}' in parents and trashed = false")).await {
            files.push((
                dir.join(c["name"].as_str().unwrap()),
                c["id"].as_str().unwrap().to_owned(),
            ));
        }
    }
    stream::iter(files)
        .for_each_concurrent(8, |(path, id)| {
            let http = &http;
            async move {
                let bytes = http
                    .get(format!("{}/drive/v3/files/{id}?alt=media", r.base))
                    .bearer_auth(&r.token)
                    .send()
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap();
                tokio::fs::write(&path, &bytes).await.unwrap();
            }
        })
        .await;
    t.elapsed()
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// One run of P1, P8 and (unless `--p2 0`) P2: their ratios.
async fn p1_p2_p8(files: usize, folders: usize, latency: u64) -> (f64, Option<f64>) {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    emu.set_latency(Duration::from_millis(latency));
    let r = Rig {
        base: emu.base_url(),
        token: emu.mint_tokens(None).unwrap().access_token,
        emu,
        tmp: tempfile::tempdir().unwrap(),
    };
    let src = r.tmp.path().join("src");
    write_tree(&src, files, folders);
    // Whoever goes second finds the other's files on the emulator: `--ours-first 1` checks
    // that the order does not decide the ratio.
    let ours_first = arg("--ours-first", 0) == 1;
    let baseline = if ours_first {
        None
    } else {
        Some(raw_upload_tree(&r, &src, files, folders).await)
    };
    let target = r
        .drive()
        .create_folder(&NewFile::new(DriveId::new("root"), "ours"))
        .await
        .unwrap()
        .id;
    let (ours_up, requests, _, _) = r.sync_pair("up", &src, &target).await;
    let (raw_up, raw_root) = match baseline {
        Some(b) => b,
        None => raw_upload_tree(&r, &src, files, folders).await,
    };
    println!(
        "P1 latency {latency} ms: {files} files in {folders} folders up: drivesync {} vs baseline {} -> ratio {:.2} (target <= 1.25)",
        secs(ours_up),
        secs(raw_up),
        ours_up.as_secs_f64() / raw_up.as_secs_f64()
    );
    println!(
        "P8 latency {latency} ms: {requests} API requests for {files} files and {folders} folders -> {:.3} per new entry (target <= 1.05)",
        requests as f64 / (files + folders) as f64
    );
    let p1 = ours_up.as_secs_f64() / raw_up.as_secs_f64();
    if arg("--p2", 1) == 0 {
        return (p1, None);
    }
    let raw_dest = r.tmp.path().join("raw-down");
    let raw_down = raw_download_tree(&r, &raw_root, &raw_dest).await;
    let dest = r.tmp.path().join("down");
    std::fs::create_dir_all(&dest).unwrap();
    let (ours_down, _, _, _) = r.sync_pair("down", &dest, &target).await;
    println!(
        "P2 latency {latency} ms: {files} files down: drivesync {} vs baseline {} -> ratio {:.2} (target <= 1.25)",
        secs(ours_down),
        secs(raw_down),
        ours_down.as_secs_f64() / raw_down.as_secs_f64()
    );
    drop(r.emu);
    (p1, Some(ours_down.as_secs_f64() / raw_down.as_secs_f64()))
}

/// The median of `ratios` (the mean of the middle two for an even count), with the range.
fn median_line(what: &str, mut ratios: Vec<f64>) -> String {
    ratios.sort_by(f64::total_cmp);
    let n = ratios.len();
    let median = (ratios[(n - 1) / 2] + ratios[n / 2]) / 2.0;
    format!(
        "{what}: median ratio {median:.2} of {n} runs (from {:.2} to {:.2}; target <= 1.25)",
        ratios[0],
        ratios[n - 1]
    )
}

async fn p4(files: usize) {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let r = Rig {
        base: emu.base_url(),
        token: emu.mint_tokens(None).unwrap().access_token,
        emu,
        tmp: tempfile::tempdir().unwrap(),
    };
    let src = r.tmp.path().join("src");
    write_tree(&src, files, (files / 100).max(1));
    let target = r
        .drive()
        .create_folder(&NewFile::new(DriveId::new("root"), "noop"))
        .await
        .unwrap()
        .id;
    let (first, _, engine, drive) = r.sync_pair("noop", &src, &target).await;
    // The first sync's own uploads are in the change feed: the next sync reads them once.
    engine.sync(&opts()).await.unwrap();
    let before = drive.metrics().requests;
    let t = Instant::now();
    let report = engine.sync(&opts()).await.unwrap();
    let took = t.elapsed();
    assert!(report.plan.is_empty());
    println!(
        "P4: no-op sync of {files} tracked files: {} (target < 2 s), {} API request(s) (target 1); first sync took {}",
        secs(took),
        drive.metrics().requests - before,
        secs(first)
    );
    drop(r.emu);
}

#[tokio::main]
async fn main() {
    if std::env::var("RUST_LOG").is_ok() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let files = arg("--files", 10_000) as usize;
    let folders = arg("--folders", 500) as usize;
    let noop = arg("--noop-files", 100_000) as usize;
    let latencies: Vec<u64> = match std::env::args().position(|a| a == "--latency-ms") {
        Some(_) => vec![arg("--latency-ms", 0)],
        None => vec![0, 40],
    };
    let repeat = arg("--repeat", 1).max(1);
    for latency in latencies.into_iter().filter(|_| files > 0) {
        let (mut p1, mut p2) = (Vec::new(), Vec::new());
        for _ in 0..repeat {
            let (up, down) = p1_p2_p8(files, folders, latency).await;
            p1.push(up);
            p2.extend(down);
        }
        if repeat > 1 {
            println!("{}", median_line(&format!("P1 latency {latency} ms"), p1));
            if !p2.is_empty() {
                println!("{}", median_line(&format!("P2 latency {latency} ms"), p2));
            }
        }
    }
    if noop > 0 {
        p4(noop).await;
    }
}
