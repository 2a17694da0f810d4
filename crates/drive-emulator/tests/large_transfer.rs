//! A 1 GiB file goes up (resumable, 8 MiB chunks) and comes back down with the right MD5, and
//! the emulator process's memory stays bounded: content is streamed, never held whole.
//! Runs the real binary so its RSS can be read from /proc.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use futures_util::StreamExt;
use md5::{Digest, Md5};

const SIZE: u64 = 1 << 30;
const CHUNK: u64 = 8 << 20;
/// Allowed RSS growth of the emulator during the transfers.
const MAX_GROWTH_KIB: u64 = 48 * 1024;

struct Emu(Child);

impl Drop for Emu {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn status_kib(pid: u32, key: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = text.lines().find(|l| l.starts_with(key)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Deterministic bytes for the chunk at `off`: one pseudo-random pattern, stamped with the
/// offset so that no two chunks are equal.
fn block(pattern: &[u8], off: u64) -> Vec<u8> {
    let mut data = pattern.to_vec();
    data[..8].copy_from_slice(&off.to_le_bytes());
    data
}

fn pattern() -> Vec<u8> {
    let mut x: u64 = 0x9E3779B97F4A7C15;
    (0..CHUNK / 8)
        .flat_map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
#[cfg(target_os = "linux")]
async fn one_gib_streams_up_and_down_with_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_drive-emulator"))
        .args(["--port", "0", "--data-dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let emu = Emu(child);
    let pid = emu.0.id();
    let base = line.trim().to_owned();
    let http = reqwest::Client::new();
    let tokens: serde_json::Value = http
        .post(format!("{base}/__emulator/tokens"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let auth = format!("Bearer {}", tokens["access_token"].as_str().unwrap());
    let baseline = status_kib(pid, "VmRSS:");

    let init = http
        .post(format!(
            "{base}/upload/drive/v3/files?uploadType=resumable&fields=id,md5Checksum,size"
        ))
        .header("authorization", &auth)
        .header("x-upload-content-length", SIZE.to_string())
        .json(&serde_json::json!({"name": "big.bin"}))
        .send()
        .await
        .unwrap();
    let session = init.headers()["location"].to_str().unwrap().to_owned();
    let pattern = pattern();
    let mut md5 = Md5::new();
    let mut off = 0;
    let mut last = None;
    while off < SIZE {
        let data = block(&pattern, off);
        md5.update(&data);
        let resp = http
            .put(&session)
            .header(
                "content-range",
                format!("bytes {off}-{}/{SIZE}", off + CHUNK - 1),
            )
            .body(data)
            .send()
            .await
            .unwrap();
        off += CHUNK;
        if off < SIZE {
            assert_eq!(resp.status(), 308);
        } else {
            assert_eq!(resp.status(), 200);
            last = Some(resp.json::<serde_json::Value>().await.unwrap());
        }
    }
    let expected: String = md5.finalize().iter().map(|b| format!("{b:02x}")).collect();
    let file = last.unwrap();
    assert_eq!(file["md5Checksum"], expected.as_str());
    assert_eq!(file["size"], SIZE.to_string());

    let resp = http
        .get(format!(
            "{base}/drive/v3/files/{}?alt=media",
            file["id"].as_str().unwrap()
        ))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut down = Md5::new();
    let mut n = 0u64;
    let mut body = resp.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.unwrap();
        n += chunk.len() as u64;
        down.update(&chunk);
    }
    assert_eq!(n, SIZE);
    let got: String = down.finalize().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(got, expected);

    let peak = status_kib(pid, "VmHWM:");
    eprintln!("emulator RSS: {baseline} KiB before, peak {peak} KiB");
    assert!(
        peak.saturating_sub(baseline) < MAX_GROWTH_KIB,
        "RSS grew from {baseline} KiB to a peak of {peak} KiB"
    );
}
