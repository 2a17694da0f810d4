//! P9 of targets.md, on the release app (`CARGO_BIN_EXE_drivesync-app`) against the
//! in-process emulator:
//!
//! - start to tray icon: from the spawn of the app until its tray icon's X window exists
//!   (`xwininfo -root -tree`), over `--runs N` launches (default 5; the first warms the page
//!   cache and is reported apart);
//! - idle: the app left running with `--files N` tracked files (default 100,000 in 1,000
//!   folders, synced first through the facade), CPU over `--idle-secs S` (default 60) after
//!   20 s of settling, and RSS at the end; the app's own process and its WebKit helper
//!   processes each.
//!
//! `cargo bench -p drivesync-app --bench start -- [--files 100000] [--runs 5] [--idle-secs 60]`
//!
//! Needs an X display; without one it runs itself again under `xvfb-run` and
//! `dbus-run-session` (Debian: xvfb, xauth, x11-utils, dbus; `./x setup` installs them).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use drive_emulator::{Emulator, EmulatorConfig};
use drivesync::demo::emulator_config;
use drivesync::{Drivesync, Events, Overrides, SyncRequest};
use drivesync_bench::{arg, cpu_ticks, rss_kib};

const APP: &str = env!("CARGO_BIN_EXE_drivesync-app");

/// Runs this benchmark again inside a virtual X server and a private D-Bus session.
fn under_xvfb() -> ! {
    let status = Command::new("xvfb-run")
        .args([
            "-a",
            "-s",
            "-screen 0 1280x800x24",
            "dbus-run-session",
            "--",
        ])
        .arg(std::env::current_exe().unwrap())
        .args(std::env::args().skip(1))
        .env("P9_INSIDE_XVFB", "1")
        .status()
        .expect("xvfb-run (Debian: apt-get install xvfb xauth x11-utils dbus)");
    std::process::exit(status.code().unwrap_or(1));
}

/// Whether an X window of process `pid`'s tray icon exists: the tray falls back to a small X
/// window named after the app when no StatusNotifier host runs (as under Xvfb).
fn tray_window() -> Option<String> {
    let out = Command::new("xwininfo")
        .args(["-root", "-tree"])
        .output()
        .expect("xwininfo (Debian: x11-utils)");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.contains("tray") && l.contains("drivesync"))
        .map(|l| l.trim().to_owned())
}

fn tray_shown() -> bool {
    tray_window().is_some()
}

/// Starts the app; its own folders (autostart entry, WebKit caches) go under `home`.
fn start(config: &Path, home: &Path) -> Child {
    Command::new(APP)
        .args(["--config", config.to_str().unwrap()])
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the app starts")
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
    // The WebKit helpers leave with their parent; give the X server a moment to drop the
    // windows, so the next run cannot see the last one's tray.
    let end = Instant::now() + Duration::from_secs(10);
    while tray_shown() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The processes whose parent is `pid` (the WebKit web and network processes).
fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        if after.split(' ').nth(1) == Some(&pid.to_string()) {
            out.push(child);
        }
    }
    out
}

/// A signed-in configuration for the emulator with one pair of `files` files, synced.
async fn setup(dir: &Path, base_url: &str, files: u64) -> PathBuf {
    let config = dir.join("config.toml");
    std::fs::write(&config, emulator_config(base_url)).unwrap();
    let app = Drivesync::open(&Overrides {
        config_file: Some(config.clone()),
        endpoint: None,
    })
    .unwrap();
    app.login_unattended().await.unwrap();
    let local = dir.join("Idle");
    let folders = (files / 100).max(1);
    for i in 0..files {
        let d = local.join(format!("d{:04}", i % folders));
        if i < folders {
            std::fs::create_dir_all(&d).unwrap();
        }
        std::fs::write(d.join(format!("f{i:06}.txt")), format!("{i}")).unwrap();
    }
    std::fs::create_dir_all(&local).unwrap();
    app.pair_add(&local, "/Idle", Some("Idle")).await.unwrap();
    let t = Instant::now();
    for (pair, result) in app
        .sync(None, SyncRequest::default(), Events::none())
        .await
        .unwrap()
    {
        let report = result.unwrap_or_else(|e| panic!("{}: {e}", pair.name));
        assert!(report.is_clean(), "{report:?}");
    }
    println!(
        "P9 setup: {files} files synced in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    config
}

fn main() {
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("P9_INSIDE_XVFB").is_none() {
        under_xvfb();
    }
    let files = arg("--files", 100_000);
    let runs = arg("--runs", 5).max(2);
    let idle_secs = arg("--idle-secs", 60);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emu = rt
        .block_on(Emulator::start(EmulatorConfig::default()))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = rt.block_on(setup(dir.path(), &emu.base_url(), files));
    let home = dir.path().join("home");

    let mut times = Vec::new();
    for run in 0..runs {
        let t = Instant::now();
        let child = start(&config, &home);
        while !tray_shown() {
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "no tray icon after 60 s"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let took = t.elapsed();
        println!(
            "P9 run {run}: start to tray icon {:.3} s (X window: {})",
            took.as_secs_f64(),
            tray_window().unwrap_or_default()
        );
        if run > 0 {
            times.push(took);
        }
        if run + 1 < runs {
            stop(child);
            continue;
        }
        // The last run stays up for the idle figures.
        std::thread::sleep(Duration::from_secs(20));
        let pid = child.id();
        let helpers = children(pid);
        let before: Vec<u64> = std::iter::once(pid)
            .chain(helpers.iter().copied())
            .map(cpu_ticks)
            .collect();
        let t = Instant::now();
        std::thread::sleep(Duration::from_secs(idle_secs));
        let secs = t.elapsed().as_secs_f64();
        for (i, p) in std::iter::once(pid)
            .chain(helpers.iter().copied())
            .enumerate()
        {
            let used = cpu_ticks(p).saturating_sub(before[i]) as f64 / 100.0;
            let name = std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default();
            println!(
                "P9 idle with {files} tracked files over {idle_secs} s: {} (pid {p}): CPU {:.3} % of a core ({used:.2} s), RSS {:.1} MiB",
                name.trim(),
                100.0 * used / secs,
                rss_kib(p) as f64 / 1024.0
            );
        }
        stop(child);
    }
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "P9: start to tray icon, release build: median {:.3} s, max {:.3} s over {} runs after a first warm-up (target < 1 s)",
        median.as_secs_f64(),
        times.last().unwrap().as_secs_f64(),
        times.len()
    );
}
