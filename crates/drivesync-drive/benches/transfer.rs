//! Transfer benchmark for P3 (`cargo bench -p drivesync-drive --bench transfer
//! [-- --size-mib N --latency-ms L]`): one large file up and down through `GoogleDrive`,
//! against a baseline measured in the same run: a minimal reqwest client making the same
//! requests (a resumable upload in 8 MiB PUT chunks read from the same file, one streamed
//! `alt=media` GET into a file) to the same in-process emulator, so the ratio is the client's
//! own cost. Each side runs twice, alternating; the best run of each counts.

use std::path::Path;
use std::time::{Duration, Instant};

use drive_emulator::{Emulator, EmulatorConfig};
use drivesync_auth::StaticToken;
use drivesync_bench::arg;
use drivesync_drive::{DriveConfig, DriveId, GoogleDrive, NewFile, RemoteStore, UploadSource};
use drivesync_model::{GoogleEndpoints, Sensitive};
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CHUNK: u64 = 8 << 20;

fn write_file(path: &Path, size: u64) {
    use std::io::Write;
    let mut block = vec![0u8; 1 << 20];
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for b in block.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        b.copy_from_slice(&x.to_le_bytes());
    }
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..size >> 20 {
        block[..8].copy_from_slice(&i.to_le_bytes());
        f.write_all(&block).unwrap();
    }
}

async fn raw_upload(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    path: &Path,
    size: u64,
) -> String {
    let init = http
        .post(format!(
            "{base}/upload/drive/v3/files?uploadType=resumable&fields=id"
        ))
        .bearer_auth(token)
        .header("x-upload-content-length", size)
        .json(&serde_json::json!({"name": "raw.bin"}))
        .send()
        .await
        .unwrap();
    let session = init.headers()["location"].to_str().unwrap().to_owned();
    let mut f = tokio::fs::File::open(path).await.unwrap();
    let mut off = 0;
    loop {
        let n = CHUNK.min(size - off);
        let mut buf = vec![0u8; n as usize];
        f.read_exact(&mut buf).await.unwrap();
        let resp = http
            .put(&session)
            .header(
                "content-range",
                format!("bytes {off}-{}/{size}", off + n - 1),
            )
            .body(buf)
            .send()
            .await
            .unwrap();
        off += n;
        if off == size {
            let v: serde_json::Value = resp.json().await.unwrap();
            return v["id"].as_str().unwrap().to_owned();
        }
        assert_eq!(resp.status(), 308);
    }
}

async fn raw_download(http: &reqwest::Client, base: &str, token: &str, id: &str, to: &Path) {
    let resp = http
        .get(format!("{base}/drive/v3/files/{id}?alt=media"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let mut out = tokio::fs::File::create(to).await.unwrap();
    let mut body = resp.bytes_stream();
    while let Some(b) = body.next().await {
        out.write_all(&b.unwrap()).await.unwrap();
    }
    out.sync_all().await.unwrap();
}

fn mbps(size: u64, d: Duration) -> f64 {
    size as f64 / 1e6 / d.as_secs_f64()
}

#[tokio::main]
async fn main() {
    let size = arg("--size-mib", 1024) << 20;
    let latency = arg("--latency-ms", 0);
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    emu.set_latency(Duration::from_millis(latency));
    let base = emu.base_url();
    let token = emu.mint_tokens(None).unwrap().access_token;
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src.bin");
    write_file(&src, size);
    let http = reqwest::Client::new();
    let endpoints = GoogleEndpoints::at(&url::Url::parse(&base).unwrap());
    let drive = GoogleDrive::new(
        StaticToken(Sensitive::new(token.clone())),
        DriveConfig::at(endpoints),
    )
    .unwrap();
    let root = DriveId::new("root");
    let (mut best_raw, mut best_ours) = ([Duration::MAX; 2], [Duration::MAX; 2]);
    for round in 0..2 {
        let t = Instant::now();
        let id = raw_upload(&http, &base, &token, &src, size).await;
        best_raw[0] = best_raw[0].min(t.elapsed());
        let t = Instant::now();
        raw_download(&http, &base, &token, &id, &tmp.path().join("raw.out")).await;
        best_raw[1] = best_raw[1].min(t.elapsed());

        let t = Instant::now();
        let f = drive
            .create_file(
                &NewFile::new(root.clone(), format!("ours{round}")),
                &UploadSource::new(&src),
            )
            .await
            .unwrap();
        best_ours[0] = best_ours[0].min(t.elapsed());
        let t = Instant::now();
        drive
            .download_to_path(&f.id, f.md5_checksum.as_ref(), &tmp.path().join("ours.out"))
            .await
            .unwrap();
        best_ours[1] = best_ours[1].min(t.elapsed());
        emu.reset().unwrap();
    }
    println!(
        "P3 transfer, {} MiB, emulator latency {latency} ms",
        size >> 20
    );
    for (i, what) in ["upload", "download"].iter().enumerate() {
        let (raw, ours) = (mbps(size, best_raw[i]), mbps(size, best_ours[i]));
        println!(
            "  {what:8}: raw client {raw:7.1} MB/s, GoogleDrive {ours:7.1} MB/s (MD5 checked), ratio {:.2} (target >= 0.8)",
            ours / raw
        );
    }
}
