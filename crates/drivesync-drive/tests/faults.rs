//! Every injected fault (500, 503, 429 with Retry-After, 403 rate limits, a connection reset
//! mid-transfer, slow answers within and beyond the read timeout) on listing, the change feed,
//! multipart and resumable uploads and downloads: the operation completes correctly and the
//! retries are exactly the faults injected. A 404 fails at once; a 401 refreshes once.

mod common;

use std::future::Future;
use std::time::{Duration, Instant};

use common::{write_pattern, Env};
use drive_emulator::FaultSpec;
use drivesync_auth::StaticToken;
use drivesync_drive::{
    DriveConfig, DriveError, DriveId, GoogleDrive, NewFile, RemoteStore, UploadSource,
};
use drivesync_model::{GoogleEndpoints, Sensitive};

const READ_TIMEOUT: Duration = Duration::from_secs(2);

/// One kind of fault, how often it fires, and the retries it must cause.
struct Case {
    name: &'static str,
    count: u32,
    retries: u64,
    min_time: Duration,
    set: fn(&mut FaultSpec, u64),
}

fn status(s: &mut FaultSpec, code: u16, reason: Option<&str>) {
    s.status = Some(code);
    s.reason = reason.map(String::from);
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "500",
            count: 2,
            retries: 2,
            min_time: Duration::ZERO,
            set: |s, _| status(s, 500, None),
        },
        Case {
            name: "503",
            count: 2,
            retries: 2,
            min_time: Duration::ZERO,
            set: |s, _| status(s, 503, None),
        },
        Case {
            name: "429 Retry-After 1",
            count: 1,
            retries: 1,
            min_time: Duration::from_secs(1),
            set: |s, _| {
                status(s, 429, None);
                s.retry_after = Some(1);
            },
        },
        Case {
            name: "403 rateLimitExceeded",
            count: 2,
            retries: 2,
            min_time: Duration::ZERO,
            set: |s, _| status(s, 403, Some("rateLimitExceeded")),
        },
        Case {
            name: "403 userRateLimitExceeded",
            count: 1,
            retries: 1,
            min_time: Duration::ZERO,
            set: |s, _| status(s, 403, Some("userRateLimitExceeded")),
        },
        Case {
            name: "connection reset",
            count: 1,
            retries: 1,
            min_time: Duration::ZERO,
            set: |s, at| s.reset_after_bytes = Some(at),
        },
        Case {
            name: "slow (300 ms)",
            count: 1,
            retries: 0,
            min_time: Duration::from_millis(300),
            set: |s, _| s.delay_ms = Some(300),
        },
        Case {
            name: "stalled beyond the read timeout",
            count: 1,
            retries: 1,
            min_time: READ_TIMEOUT,
            set: |s, _| s.delay_ms = Some(READ_TIMEOUT.as_millis() as u64 + 3000),
        },
    ]
}

async fn env() -> Env {
    Env::start_with(|c| {
        c.list_page_size = 3;
        c.changes_page_size = 2;
        c.multipart_max = 1 << 20;
        c.chunk_size = 1 << 20;
        c.read_timeout = READ_TIMEOUT;
    })
    .await
}

/// Runs `op` once per fault case, the fault matching `method path [query]`, and checks the
/// retries it caused.
async fn each_fault<F, Fut>(
    env: &Env,
    method: &str,
    path: &str,
    query: Option<&str>,
    reset_at: u64,
    mut op: F,
) where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = ()>,
{
    for (i, case) in cases().into_iter().enumerate() {
        env.fault(method, path, case.count, |s| {
            s.query_contains = query.map(String::from);
            (case.set)(s, reset_at);
        });
        let before = env.drive.metrics();
        let started = Instant::now();
        op(i).await;
        let took = started.elapsed();
        let after = env.drive.metrics();
        assert_eq!(
            after.retries - before.retries,
            case.retries,
            "{}: retries",
            case.name
        );
        assert!(took >= case.min_time, "{}: took {took:?}", case.name);
        assert!(
            took < case.min_time + Duration::from_secs(10),
            "{}: took {took:?}",
            case.name
        );
        env.emu.clear_faults();
    }
}

async fn folder_with_files(env: &Env, n: usize) -> (DriveId, Vec<String>) {
    let dir = env
        .drive
        .create_folder(&NewFile::new(DriveId::new("root"), "dir"))
        .await
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut names = Vec::new();
    for i in 0..n {
        let p = tmp.path().join("f");
        std::fs::write(&p, format!("file {i}")).unwrap();
        let name = format!("f{i}");
        env.drive
            .create_file(&NewFile::new(dir.id.clone(), &name), &UploadSource::new(&p))
            .await
            .unwrap();
        names.push(name);
    }
    (dir.id, names)
}

#[tokio::test(flavor = "multi_thread")]
async fn listing_survives_every_fault() {
    let env = env().await;
    let (dir, want) = folder_with_files(&env, 7).await;
    each_fault(
        &env,
        "GET",
        "/drive/v3/files",
        Some("pageToken"),
        100,
        |_| {
            let (env, dir, want) = (&env, &dir, &want);
            async move {
                let got = env.drive.list_children(dir).await.unwrap();
                let names: Vec<_> = got.into_iter().map(|f| f.name).collect();
                assert_eq!(&names, want);
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn changes_survive_every_fault() {
    let env = env().await;
    let start = env.drive.start_page_token().await.unwrap();
    let (_, names) = folder_with_files(&env, 5).await;
    each_fault(
        &env,
        "GET",
        "/drive/v3/changes",
        Some("pageToken"),
        100,
        |_| {
            let (env, start, names) = (&env, &start, &names);
            async move {
                let all = env.drive.list_changes(start).await.unwrap();
                assert_eq!(
                    all.changes.len(),
                    names.len() + 1,
                    "the folder and its files"
                );
            }
        },
    )
    .await;
}

/// Uploads `len`-byte files under faults; each ends as exactly one file with the right MD5.
async fn uploads_survive_every_fault(len: u64, method: &str, reset_at: u64) {
    let env = env().await;
    let tmp = tempfile::tempdir().unwrap();
    let mut expected = Vec::new();
    each_fault(
        &env,
        method,
        "/upload/drive/v3/files*",
        None,
        reset_at,
        |i| {
            let (env, tmp) = (&env, &tmp);
            let path = tmp.path().join(format!("up{i}"));
            let md5 = write_pattern(&path, len, i as u64);
            expected.push((format!("/up{i}"), md5));
            async move {
                let f = env
                    .drive
                    .create_file(
                        &NewFile::new(DriveId::new("root"), format!("up{i}")),
                        &UploadSource::new(&path),
                    )
                    .await
                    .unwrap();
                assert_eq!((f.md5_checksum, f.size), (Some(md5), Some(len)));
            }
        },
    )
    .await;
    let snap = env.emu.snapshot();
    let got: Vec<(String, drivesync_drive::Md5)> = snap
        .files
        .iter()
        .map(|f| {
            (
                f.path.clone().unwrap(),
                f.md5_checksum.clone().unwrap().parse().unwrap(),
            )
        })
        .collect();
    expected.sort();
    assert_eq!(got, expected, "one file per upload, none duplicated");
}

#[tokio::test(flavor = "multi_thread")]
async fn multipart_uploads_survive_every_fault() {
    uploads_survive_every_fault(200_000, "POST", 50_000).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn resumable_uploads_survive_every_fault() {
    // 3.5 MiB in 1 MiB chunks; faults hit chunk PUTs, the reset one mid-chunk.
    uploads_survive_every_fault(3_670_016, "PUT", 300_000).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn downloads_survive_every_fault() {
    let env = env().await;
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("big");
    let md5 = write_pattern(&path, 3 << 20, 9);
    let f = env
        .drive
        .create_file(
            &NewFile::new(DriveId::new("root"), "big"),
            &UploadSource::new(&path),
        )
        .await
        .unwrap();
    each_fault(
        &env,
        "GET",
        &format!("/drive/v3/files/{}", f.id),
        Some("alt=media"),
        1_000_000,
        |_| {
            let (env, id) = (&env, &f.id);
            async move {
                let mut out = Vec::new();
                let got = env.drive.download(id, Some(&md5), &mut out).await.unwrap();
                assert_eq!((got.size, got.md5, out.len()), (3 << 20, md5, 3 << 20));
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn not_found_fails_at_once_and_retries_are_bounded() {
    let env = env().await;
    env.fault("GET", "/drive/v3/files", 1, |s| s.status = Some(404));
    let before = env.drive.metrics();
    let e = env
        .drive
        .list_children(&DriveId::new("root"))
        .await
        .unwrap_err();
    assert!(matches!(e, DriveError::NotFound { .. }), "{e:?}");
    let after = env.drive.metrics();
    assert_eq!(
        (
            after.requests - before.requests,
            after.retries - before.retries
        ),
        (1, 0)
    );

    env.fault("GET", "/drive/v3/about", 100, |s| s.status = Some(503));
    let e = env.drive.about().await.unwrap_err();
    assert!(
        matches!(
            e,
            DriveError::Transient {
                status: Some(503),
                ..
            }
        ),
        "{e:?}"
    );
    let last = env.drive.metrics();
    let attempts = common::fast_retry().max_attempts as u64;
    assert_eq!(
        last.requests - after.requests,
        attempts,
        "max_attempts tries, no more"
    );
    env.emu.clear_faults();

    env.fault("GET", "/drive/v3/about", 1, |s| {
        s.status = Some(429);
        s.retry_after = Some(3600);
    });
    let e = env.drive.about().await.unwrap_err();
    assert!(
        matches!(e, DriveError::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(3600)),
        "a Retry-After beyond the limit is handed to the caller: {e:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_token_is_refreshed_once_and_the_call_replayed() {
    let env = env().await;
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("f");
    std::fs::write(&p, b"after refresh").unwrap();
    env.emu.expire_access_tokens().unwrap();
    let f = env
        .drive
        .create_file(
            &NewFile::new(DriveId::new("root"), "f"),
            &UploadSource::new(&p),
        )
        .await
        .unwrap();
    assert_eq!(env.drive.metrics().token_refreshes, 1);
    env.emu.expire_access_tokens().unwrap();
    let mut out = Vec::new();
    env.drive.download(&f.id, None, &mut out).await.unwrap();
    assert_eq!(out, b"after refresh");
    env.emu.expire_access_tokens().unwrap();
    assert_eq!(
        env.drive
            .list_children(&DriveId::new("root"))
            .await
            .unwrap()
            .len(),
        1
    );
    let m = env.drive.metrics();
    assert_eq!((m.token_refreshes, m.retries), (3, 0));

    // A token that cannot be refreshed: the account must sign in again.
    let endpoints = GoogleEndpoints::at(&url::Url::parse(&env.base).unwrap());
    let fixed = GoogleDrive::new(
        StaticToken(Sensitive::new(env.token.clone())),
        DriveConfig::at(endpoints),
    )
    .unwrap();
    let e = fixed.about().await.unwrap_err();
    assert!(e.needs_sign_in(), "{e:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn unauthorized_chunk_or_download_refreshes_and_continues() {
    let env = env().await;
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("big");
    let md5 = write_pattern(&path, 3 << 20, 11);
    env.fault("PUT", "/upload/*", 1, |s| s.status = Some(401));
    let f = env
        .drive
        .create_file(
            &NewFile::new(DriveId::new("root"), "big"),
            &UploadSource::new(&path),
        )
        .await
        .unwrap();
    assert_eq!(f.md5_checksum, Some(md5));
    assert_eq!(env.drive.metrics().token_refreshes, 1);
    env.fault("GET", &format!("/drive/v3/files/{}", f.id), 1, |s| {
        s.status = Some(401);
        s.query_contains = Some("alt=media".into());
    });
    let mut out = Vec::new();
    env.drive
        .download(&f.id, Some(&md5), &mut out)
        .await
        .unwrap();
    assert_eq!(out.len(), 3 << 20);
    let m = env.drive.metrics();
    assert_eq!((m.token_refreshes, m.retries), (2, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn client_wide_rate_limit_paces_requests() {
    let env = Env::start_with(|c| c.max_requests_per_second = Some(20.0)).await;
    let started = Instant::now();
    for _ in 0..30 {
        env.drive.about().await.unwrap();
    }
    // 20 at once (one second's burst), then 10 at 50 ms intervals.
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(450), "{took:?}");
}
