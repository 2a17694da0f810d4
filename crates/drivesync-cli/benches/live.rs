//! Benchmark of the running daemon (`drivesync run`, the release binary) against the
//! in-process emulator, for P5, P6 and P7 of targets.md:
//!
//! - P5: a local edit while running -> Drive has the new MD5 (p50, p99 over `--edits N`).
//! - P6: a remote edit while running -> the local file has it (over `--remote-edits N`), with
//!   the default 15 s poll; the target is poll + 2 s.
//! - P7: the daemon idle with `--idle-files N` tracked files (default 100,000 in 1,000
//!   folders): CPU over `--idle-secs S` (default 60) from /proc, and RSS at the end.
//!
//! `cargo bench -p drivesync-cli --bench live -- [--edits 20] [--remote-edits 5]
//! [--idle-files 100000] [--idle-secs 60] [--latency-ms 0]`

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use drive_emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use drivesync_bench::{arg, cpu_ticks, rss_kib};

fn md5_hex(bytes: &[u8]) -> String {
    use md5::{Digest, Md5};
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The md5 of the live file at `path` on Drive.
fn drive_md5(emu: &EmulatorHandle, path: &str) -> Option<String> {
    emu.snapshot()
        .files
        .into_iter()
        .find(|f| !f.trashed && f.path.as_deref() == Some(path))
        .and_then(|f| f.md5_checksum)
}

fn drive_id(emu: &EmulatorHandle, path: &str) -> String {
    emu.snapshot()
        .files
        .into_iter()
        .find(|f| !f.trashed && f.path.as_deref() == Some(path))
        .map(|f| f.id)
        .expect("on Drive")
}

fn wait(limit: Duration, mut done: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while !done() {
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Some(start.elapsed())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

struct Rig {
    _dir: tempfile::TempDir,
    config: PathBuf,
    local: PathBuf,
}

/// A signed-in config with one pair `local` <-> `/name`.
async fn rig(emu: &EmulatorHandle, name: &str) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let config = common::write_config(dir.path(), &emu.base_url());
    common::login(common::drivesync(&config)).await.unwrap();
    let local = dir.path().join(name);
    std::fs::create_dir_all(&local).unwrap();
    Rig {
        config,
        local,
        _dir: dir,
    }
}

fn drivesync_ok(config: &Path, args: &[&str]) {
    let out = common::drivesync(config).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "drivesync {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn start(config: &Path) -> Child {
    common::drivesync(config)
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn wait_idle(config: &Path) {
    let ok = wait(Duration::from_secs(600), || {
        let out = common::drivesync(config)
            .args(["status", "--json"])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        v["daemon"]["pairs"][0]["state"] == "idle"
    });
    assert!(ok.is_some(), "the daemon never became idle");
}

async fn p5_p6(emu: &EmulatorHandle, edits: u64, remote_edits: u64) {
    let r = rig(emu, "Edits").await;
    for i in 0..10 {
        std::fs::write(r.local.join(format!("f{i}.txt")), format!("v0 {i}")).unwrap();
    }
    drivesync_ok(
        &r.config,
        &["pair", "add", r.local.to_str().unwrap(), "/Edits"],
    );
    let mut child = start(&r.config);
    wait_idle(&r.config);
    let mut up = Vec::new();
    for n in 0..edits {
        let body = format!("local edit {n}");
        std::fs::write(r.local.join(format!("f{}.txt", n % 10)), &body).unwrap();
        let path = format!("/Edits/f{}.txt", n % 10);
        let want = md5_hex(body.as_bytes());
        let t = wait(Duration::from_secs(30), || {
            drive_md5(emu, &path).as_deref() == Some(want.as_str())
        })
        .expect("the edit reached Drive");
        up.push(t);
        std::thread::sleep(Duration::from_millis(200));
    }
    up.sort();
    println!(
        "P5: local edit -> Drive, {} edits: p50 {:.2} s, p99 {:.2} s, max {:.2} s (target p50 < 2 s, p99 < 5 s)",
        up.len(),
        percentile(&up, 0.5).as_secs_f64(),
        percentile(&up, 0.99).as_secs_f64(),
        up.last().unwrap().as_secs_f64()
    );
    let token = emu.mint_tokens(None).unwrap().access_token;
    let http = reqwest::Client::new();
    let mut down = Vec::new();
    for n in 0..remote_edits {
        let name = format!("f{}.txt", n % 10);
        let id = drive_id(emu, &format!("/Edits/{name}"));
        let body = format!("remote edit {n}");
        http.patch(format!("{}/upload/drive/v3/files/{id}", emu.base_url()))
            .query(&[("uploadType", "media")])
            .bearer_auth(&token)
            .body(body.clone())
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap();
        let file = r.local.join(&name);
        let t = wait(Duration::from_secs(60), || {
            std::fs::read(&file).ok().as_deref() == Some(body.as_bytes())
        })
        .expect("the remote edit reached the disk");
        down.push(t);
        // Land the next edit at a random point of the poll cycle.
        std::thread::sleep(Duration::from_millis(1000 + 2300 * n % 7000));
    }
    down.sort();
    println!(
        "P6: remote edit -> disk, {} edits, poll 15 s: p50 {:.2} s, max {:.2} s (target <= 17 s)",
        down.len(),
        percentile(&down, 0.5).as_secs_f64(),
        down.last().unwrap().as_secs_f64()
    );
    let _ = child.kill();
    let _ = child.wait();
}

async fn p7(emu: &EmulatorHandle, files: u64, secs: u64) {
    let r = rig(emu, "Idle").await;
    let folders = (files / 100).max(1);
    for i in 0..files {
        let dir = r.local.join(format!("d{:04}", i % folders));
        if i < folders {
            std::fs::create_dir_all(&dir).unwrap();
        }
        std::fs::write(dir.join(format!("f{i:06}.txt")), format!("{i}")).unwrap();
    }
    drivesync_ok(
        &r.config,
        &["pair", "add", r.local.to_str().unwrap(), "/Idle"],
    );
    let t = Instant::now();
    drivesync_ok(&r.config, &["sync"]);
    println!(
        "P7 setup: first sync of {files} files took {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let mut child = start(&r.config);
    wait_idle(&r.config);
    // Settle: the first poll after start reads back the first sync's own changes.
    std::thread::sleep(Duration::from_secs(20));
    let pid = child.id();
    let ticks = cpu_ticks(pid);
    let t = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    let used = (cpu_ticks(pid) - ticks) as f64 / 100.0;
    let share = 100.0 * used / t.elapsed().as_secs_f64();
    println!(
        "P7: idle with {files} tracked files over {secs} s: CPU {share:.3} % of a core ({used:.2} s), RSS {:.1} MiB (targets < 0.2 %, < 80 MiB)",
        rss_kib(pid) as f64 / 1024.0
    );
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::main]
async fn main() {
    let latency = arg("--latency-ms", 0);
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    if latency > 0 {
        emu.set_latency(Duration::from_millis(latency));
    }
    let edits = arg("--edits", 20);
    let remote_edits = arg("--remote-edits", 5);
    if edits > 0 || remote_edits > 0 {
        p5_p6(&emu, edits.max(1), remote_edits.max(1)).await;
    }
    let idle = arg("--idle-files", 100_000);
    if idle > 0 {
        p7(&emu, idle, arg("--idle-secs", 60)).await;
    }
}
