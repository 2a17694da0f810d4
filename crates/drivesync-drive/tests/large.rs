//! A 1 GiB file goes up (resumable, 8 MiB chunks) and comes back down through GoogleDrive
//! with the right MD5, and the peak RSS of this test process (client and in-process emulator
//! together) grows by less than 64 MiB: content is streamed, never held whole.
//! Its own test binary, so no other test shares the process.

mod common;

use std::time::Instant;

use common::{write_pattern, Env};
use drivesync_drive::{DriveId, NewFile, RemoteStore, UploadSource};

const SIZE: u64 = 1 << 30;
const MAX_GROWTH_KIB: u64 = 64 * 1024;

fn status_kib(key: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = text.lines().find(|l| l.starts_with(key)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn mib_per_s(bytes: u64, secs: f64) -> f64 {
    bytes as f64 / (1 << 20) as f64 / secs
}

#[tokio::test(flavor = "multi_thread")]
#[cfg(target_os = "linux")]
async fn one_gib_up_and_down_with_bounded_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("big.bin");
    let md5 = write_pattern(&src, SIZE, 42);
    let env = Env::start().await;
    // Warm up the connection pool and the emulator's paths with a small upload.
    let small = tmp.path().join("small");
    std::fs::write(&small, b"warm-up").unwrap();
    let root = DriveId::new("root");
    env.drive
        .create_file(
            &NewFile::new(root.clone(), "small"),
            &UploadSource::new(&small),
        )
        .await
        .unwrap();
    // Reset the peak (VmHWM) to the current RSS where the kernel allows it.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let base = if reset {
        status_kib("VmRSS:")
    } else {
        status_kib("VmHWM:")
    };

    let t = Instant::now();
    let up = env
        .drive
        .create_file(&NewFile::new(root, "big.bin"), &UploadSource::new(&src))
        .await
        .unwrap();
    let up_s = t.elapsed().as_secs_f64();
    assert_eq!((up.md5_checksum, up.size), (Some(md5), Some(SIZE)));

    let after_up = status_kib("VmHWM:").saturating_sub(base);
    let dst = tmp.path().join("down.bin");
    let t = Instant::now();
    let down = env
        .drive
        .download_to_path(&up.id, up.md5_checksum.as_ref(), &dst)
        .await
        .unwrap();
    let down_s = t.elapsed().as_secs_f64();
    assert_eq!((down.size, down.md5), (SIZE, md5));
    assert_eq!(std::fs::metadata(&dst).unwrap().len(), SIZE);

    let growth = status_kib("VmHWM:").saturating_sub(base);
    let m = env.drive.metrics();
    println!(
        "1 GiB: upload {up_s:.1} s ({:.0} MiB/s), download {down_s:.1} s ({:.0} MiB/s), \
         peak RSS growth {after_up} KiB after upload, {} KiB after both \
         (peak reset: {reset}), {} requests",
        mib_per_s(SIZE, up_s),
        mib_per_s(SIZE, down_s),
        growth,
        m.requests
    );
    assert!(
        growth < MAX_GROWTH_KIB,
        "peak RSS grew by {growth} KiB during a 1 GiB upload and download"
    );
}
