//! Bandwidth limits against the emulator: 1 MiB up (multipart, resumable) and down under
//! 512 KiB/s takes about two seconds; exports are limited too; a limit raised or removed
//! mid-transfer lets the transfer finish quickly; unlimited transfers are fast; and under a
//! low upload limit, uploads stay within the read timeout (smaller requests, no retries).

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{write_pattern, Env, Refreshing};
use drivesync_drive::{
    Bandwidth, DriveConfig, DriveId, File, GoogleDrive, NewFile, RemoteStore, UploadSource,
};

const SIZE: u64 = 1 << 20;
const LIMIT: u64 = 512 * 1024;

/// A client on `env`'s emulator following `bw`.
fn client(
    env: &Env,
    bw: &Bandwidth,
    tweak: impl FnOnce(&mut DriveConfig),
) -> GoogleDrive<Refreshing> {
    env.new_client(tweak).with_bandwidth(bw.clone())
}

/// Writes a test file of `len` bytes into `dir`.
fn test_file(dir: &tempfile::TempDir, name: &str, len: u64) -> std::path::PathBuf {
    let path = dir.path().join(name);
    write_pattern(&path, len, len ^ name.len() as u64);
    path
}

async fn upload(drive: &GoogleDrive<Refreshing>, source: &UploadSource, name: &str) -> File {
    drive
        .create_file(&NewFile::new(DriveId::new("root"), name), source)
        .await
        .unwrap()
}

/// Fails unless `took` is within the time 1 MiB needs at `LIMIT` (about 1.9 s, the first
/// burst free), with room for a loaded machine.
fn assert_limited(what: &str, took: Duration) {
    let s = took.as_secs_f64();
    assert!((1.6..4.0).contains(&s), "{what} took {s:.2} s");
}

#[tokio::test(flavor = "multi_thread")]
async fn multipart_upload_is_held_to_the_limit() {
    let env = Env::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let path = test_file(&tmp, "multipart", SIZE);
    let bw = Bandwidth::unlimited();
    bw.set_limits(Some(LIMIT), None);
    let drive = client(&env, &bw, |_| {});
    let t = Instant::now();
    let f = upload(&drive, &UploadSource::new(&path), "multipart").await;
    assert_limited("a multipart upload", t.elapsed());
    assert_eq!(f.size, Some(SIZE));
    let m = drive.metrics();
    assert_eq!(
        (m.requests, m.retries),
        (2, 0),
        "ids + one multipart request"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn resumable_upload_is_held_to_the_limit_with_progress_per_chunk() {
    let env = Env::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let path = test_file(&tmp, "resumable", SIZE);
    let bw = Bandwidth::unlimited();
    bw.set_limits(Some(LIMIT), None);
    let drive = client(&env, &bw, |c| {
        c.multipart_max = 256 * 1024;
        c.chunk_size = 256 * 1024;
    });
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let source = UploadSource::new(&path).progress(Arc::new(move |done, _| {
        log.lock().unwrap().push(done);
    }));
    let t = Instant::now();
    let f = upload(&drive, &source, "resumable").await;
    assert_limited("a resumable upload", t.elapsed());
    assert_eq!(f.size, Some(SIZE));
    assert_eq!(
        *seen.lock().unwrap(),
        vec![SIZE / 4, SIZE / 2, 3 * SIZE / 4, SIZE]
    );
    assert_eq!(drive.metrics().retries, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn downloads_and_exports_are_held_to_the_limit() {
    let env = Env::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let path = test_file(&tmp, "down", SIZE);
    let f = upload(&env.drive, &UploadSource::new(&path), "down").await;
    let bw = Bandwidth::unlimited();
    // The upload limit must not matter here.
    bw.set_limits(Some(1), Some(LIMIT));
    let drive = client(&env, &bw, |_| {});
    let t = Instant::now();
    let got = drive
        .download_to_path(&f.id, f.md5_checksum.as_ref(), &tmp.path().join("down.out"))
        .await
        .unwrap();
    assert_limited("a download", t.elapsed());
    assert_eq!((got.size, Some(got.md5)), (SIZE, f.md5_checksum));

    // Exports: at 10 bytes/s, once the burst (16 KiB) is spent, the emulator's export of a
    // Doc (a few bytes: its name) takes about a tenth of a second per byte.
    let small = test_file(&tmp, "burst", 16 * 1024);
    let small = upload(&env.drive, &UploadSource::new(&small), "burst").await;
    let doc = env.google_doc(&DriveId::new("root"), "notes").await;
    // Via unlimited, so that the new limit starts with a full bucket.
    bw.set_limits(None, None);
    bw.set_limits(None, Some(10));
    let t = Instant::now();
    drive
        .download(&small.id, small.md5_checksum.as_ref(), &mut Vec::new())
        .await
        .unwrap();
    assert!(
        t.elapsed() < Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
    let mut text = Vec::new();
    let n = drive.export(&doc, "text/plain", &mut text).await.unwrap();
    let took = t.elapsed().as_secs_f64();
    assert!(n >= 4 && n as usize == text.len(), "{n}");
    let expect = n as f64 / 10.0;
    assert!(
        took >= expect * 0.8 && took < expect + 2.5,
        "an export of {n} bytes at 10 B/s took {took:.2} s"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_limit_raised_or_removed_mid_transfer_applies_at_once() {
    let env = Env::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let path = test_file(&tmp, "mid", SIZE);
    let f = upload(&env.drive, &UploadSource::new(&path), "down").await;
    // 64 KiB/s both ways: 1 MiB would take 16 s.
    let bw = Bandwidth::unlimited();
    bw.set_limits(Some(64 * 1024), Some(64 * 1024));
    let drive = client(&env, &bw, |_| {});
    let mut sink = Vec::new();
    let t = Instant::now();
    let source = UploadSource::new(&path);
    let up = upload(&drive, &source, "up");
    let down = drive.download(&f.id, f.md5_checksum.as_ref(), &mut sink);
    let change = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        // Up: raised far enough for the rest to take ~0.1 s; down: removed.
        bw.set_limits(Some(10 << 20), None);
    };
    let (up, down, ()) = tokio::join!(up, down, change);
    let took = t.elapsed().as_secs_f64();
    assert_eq!(up.size, Some(SIZE));
    assert_eq!(down.unwrap().size, SIZE);
    assert!((0.3..1.5).contains(&took), "{took:.2} s");
    assert_eq!(bw.limits(), (Some(10 << 20), None));
}

#[tokio::test(flavor = "multi_thread")]
async fn unlimited_transfers_are_fast() {
    let env = Env::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let path = test_file(&tmp, "fast", SIZE);
    let bw = Bandwidth::unlimited();
    let drive = client(&env, &bw, |_| {});
    let t = Instant::now();
    let f = upload(&drive, &UploadSource::new(&path), "fast").await;
    drive
        .download(&f.id, f.md5_checksum.as_ref(), &mut Vec::new())
        .await
        .unwrap();
    let took = t.elapsed().as_secs_f64();
    assert!(took < 1.0, "1 MiB up and down took {took:.2} s");
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_uploads_stay_within_the_read_timeout() {
    let env = Env::start().await;
    let tmp = tempfile::tempdir().unwrap();
    // 1.5 MiB at 1 MiB/s would be one 1.5 s multipart request: over a 1 s read timeout, which
    // reqwest counts from the request's start. Under the limit it goes resumably instead, in
    // 256 KiB chunks of about 0.25 s each.
    let len = 3 * SIZE / 2;
    let path = test_file(&tmp, "slow", len);
    let bw = Bandwidth::unlimited();
    bw.set_limits(Some(SIZE), None);
    let drive = client(&env, &bw, |c| c.read_timeout = Duration::from_secs(1));
    let f = upload(&drive, &UploadSource::new(&path), "slow").await;
    assert_eq!(f.size, Some(len));
    let m = drive.metrics();
    assert_eq!(m.retries, 0);
    // ids, session start, 6 chunks.
    assert_eq!(m.requests, 8);
}
