//! Upload shapes and costs: a small file is one API call returning id, md5, size, version and
//! headRevisionId (P8: at most 1.05 calls per new file with the id pool); empty files; progress;
//! and an MD5 that differs from the bytes sent is an error, for multipart and resumable.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use common::{md5_of, write_pattern, Env};
use drivesync_auth::StaticToken;
use drivesync_drive::{
    DriveConfig, DriveError, DriveId, GoogleDrive, Md5, NewFile, RemoteStore, UploadSource,
};
use drivesync_model::{GoogleEndpoints, Sensitive};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread")]
async fn small_upload_is_one_call_with_everything_the_engine_needs() {
    let env = Env::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("a.txt");
    std::fs::write(&path, b"small file").unwrap();
    // The first create also fetches a batch of ids for idempotent creates.
    let before = env.drive.metrics().requests;
    env.drive
        .create_file(
            &NewFile::new(DriveId::new("root"), "warm-up"),
            &UploadSource::new(&path),
        )
        .await
        .unwrap();
    assert_eq!(env.drive.metrics().requests - before, 2);

    let n = 50;
    let before = env.drive.metrics().requests;
    for i in 0..n {
        let f = env
            .drive
            .create_file(
                &NewFile::new(DriveId::new("root"), format!("f{i}")),
                &UploadSource::new(&path),
            )
            .await
            .unwrap();
        assert_eq!(f.md5_checksum, Some(md5_of(b"small file")));
        assert_eq!(f.size, Some(10));
        assert!(f.version.is_some() && f.head_revision_id.is_some() && f.modified_time.is_some());
        assert_eq!(f.parents.len(), 1);
    }
    assert_eq!(
        env.drive.metrics().requests - before,
        n,
        "exactly one request per small file"
    );
    assert_eq!(env.emu.snapshot().files.len(), n as usize + 1);
    // P8 over the whole run, id batch included.
    let calls = env.drive.metrics().requests as f64 / (n + 1) as f64;
    assert!(calls <= 1.05, "{calls} calls per file");
}

#[tokio::test(flavor = "multi_thread")]
async fn empty_files_and_progress() {
    let env = Env::start_with(|c| {
        c.multipart_max = 1 << 20;
        c.chunk_size = 1 << 20;
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::write(&empty, b"").unwrap();
    let f = env
        .drive
        .create_file(
            &NewFile::new(DriveId::new("root"), "empty"),
            &UploadSource::new(&empty).mime_type("text/plain"),
        )
        .await
        .unwrap();
    assert_eq!((f.size, f.md5_checksum), (Some(0), Some(md5_of(b""))));
    assert_eq!(f.mime_type, "text/plain");
    let mut out = Vec::new();
    let got = env.drive.download(&f.id, None, &mut out).await.unwrap();
    assert_eq!((got.size, out.len()), (0, 0));

    let big = tmp.path().join("big");
    write_pattern(&big, 3 << 20, 1);
    let seen = Arc::new(AtomicU64::new(0));
    let calls = Arc::new(AtomicU64::new(0));
    let (s, c) = (seen.clone(), calls.clone());
    let t = chrono::DateTime::parse_from_rfc3339("2021-03-04T05:06:07.000Z")
        .unwrap()
        .to_utc();
    let source = UploadSource::new(&big)
        .modified_time(t)
        .progress(Arc::new(move |done, total| {
            assert_eq!(total, 3 << 20);
            assert!(
                done >= s.swap(done, Ordering::SeqCst),
                "progress never goes back"
            );
            c.fetch_add(1, Ordering::SeqCst);
        }));
    let f = env
        .drive
        .create_file(&NewFile::new(DriveId::new("root"), "big"), &source)
        .await
        .unwrap();
    assert_eq!(f.modified_time, Some(t));
    assert_eq!(seen.load(Ordering::SeqCst), 3 << 20);
    assert!(calls.load(Ordering::SeqCst) >= 3, "one report per chunk");
}

/// A stand-in for Drive that accepts any upload and reports the wrong MD5 (or, for
/// resumable uploads, 308 until the last chunk). Chunks must carry a Content-Length.
async fn lying_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let location = format!("{base}/session");
    tokio::spawn(async move {
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            let location = location.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 65536];
                loop {
                    let Some(head_end) = find(&buf, b"\r\n\r\n") else {
                        let n = sock.read(&mut chunk).await.unwrap();
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
                    let body_start = head_end + 4;
                    let header = |name: &str| {
                        head.lines().find_map(|l| {
                            l.strip_prefix(&format!("{name}: "))
                                .map(|v| v.trim().to_owned())
                        })
                    };
                    let complete = match header("content-length") {
                        Some(n) => buf.len() >= body_start + n.parse::<usize>().unwrap(),
                        None if header("transfer-encoding").is_some() => {
                            find(&buf[body_start..], b"0\r\n\r\n").is_some()
                        }
                        None => true,
                    };
                    if !complete {
                        let n = sock.read(&mut chunk).await.unwrap();
                        buf.extend_from_slice(&chunk[..n]);
                        continue;
                    }
                    let file = r#"{"id":"fake","name":"f","mimeType":"application/octet-stream","md5Checksum":"00000000000000000000000000000000","size":"1","version":"1"}"#;
                    let chunked_chunk = head.starts_with("put ")
                        && (header("content-length").is_none()
                            || header("transfer-encoding").is_some());
                    let resp = if chunked_chunk {
                        "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".to_owned()
                    } else if head.starts_with("post /upload/drive/v3/files?uploadtype=resumable") {
                        format!(
                            "HTTP/1.1 200 OK\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n"
                        )
                    } else if let Some((end, total)) = header("content-range")
                        .and_then(|r| {
                            let (range, total) = r.strip_prefix("bytes ")?.split_once('/')?;
                            Some((
                                range.split_once('-')?.1.parse::<u64>().ok()?,
                                total.parse::<u64>().ok()?,
                            ))
                        })
                        .filter(|(end, total)| end + 1 < *total)
                    {
                        let _ = total;
                        format!("HTTP/1.1 308 Resume Incomplete\r\nRange: bytes=0-{end}\r\nContent-Length: 0\r\n\r\n")
                    } else {
                        format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{file}", file.len())
                    };
                    sock.write_all(resp.as_bytes()).await.unwrap();
                    buf.clear();
                }
            });
        }
    });
    base
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread")]
async fn content_in_memory_is_sent_without_reading_the_path() {
    let env = Env::start().await;
    let tmp = tempfile::tempdir().unwrap();
    // The path is only named in messages: it does not even exist.
    let path = tmp.path().join("gone.txt");
    let f = env
        .drive
        .create_file(
            &NewFile::new(DriveId::new("root"), "mem.txt"),
            &UploadSource::new(&path).content(&b"from memory"[..]),
        )
        .await
        .unwrap();
    assert_eq!(f.md5_checksum, Some(md5_of(b"from memory")));
    assert_eq!(f.size, Some(11));
    let f = env
        .drive
        .update_content(&f.id, &UploadSource::new(&path).content(&b"second"[..]))
        .await
        .unwrap();
    assert_eq!(f.md5_checksum, Some(md5_of(b"second")));
    let mut got = Vec::new();
    env.drive.download(&f.id, None, &mut got).await.unwrap();
    assert_eq!(got, b"second");
}

#[tokio::test(flavor = "multi_thread")]
async fn md5_mismatch_is_an_error_not_a_success() {
    let base = lying_server().await;
    let mut config = DriveConfig::at(GoogleEndpoints::at(&url::Url::parse(&base).unwrap()));
    config.multipart_max = 1 << 20;
    config.chunk_size = 1 << 20;
    config.id_batch = 0;
    let drive = GoogleDrive::new(StaticToken(Sensitive::new("t".into())), config).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    for len in [1000u64, 3 << 20] {
        let path = tmp.path().join(format!("f{len}"));
        let local = write_pattern(&path, len, len);
        let e = drive
            .create_file(
                &NewFile::new(DriveId::new("root"), "f"),
                &UploadSource::new(&path),
            )
            .await
            .unwrap_err();
        match e {
            DriveError::ChecksumMismatch {
                expected, actual, ..
            } => {
                assert_eq!((expected, actual), (local, Md5([0; 16])), "{len}");
            }
            other => panic!("{len}: {other:?}"),
        }
    }
    // The same check for content sent from memory.
    let e = drive
        .create_file(
            &NewFile::new(DriveId::new("root"), "f"),
            &UploadSource::new(tmp.path().join("m")).content(&b"memory"[..]),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, DriveError::ChecksumMismatch { expected, .. } if expected == md5_of(b"memory")),
        "{e:?}"
    );
}
