//! Uploads (`media`, `multipart`, `resumable`) and ranged downloads over real HTTP, in the
//! shapes real clients send (drive-wire.md).

mod common;

use common::*;
use drive_emulator::FaultSpec;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Sends `data` as the chunk at `start` of a `total`-byte upload, without Authorization.
async fn chunk(
    session: &str,
    method: Method,
    data: &[u8],
    start: usize,
    total: usize,
) -> (StatusCode, Option<String>, Value) {
    let range = format!("bytes {start}-{}/{total}", start + data.len() - 1);
    let rb = client()
        .request(method, session)
        .header("content-range", range)
        .body(data.to_vec());
    let (s, h, v) = send(rb).await;
    (s, header(&h, "range"), v)
}

/// A status query (`Content-Range: bytes */N`, empty body).
async fn status_query(session: &str, total: usize) -> (StatusCode, Option<String>, Value) {
    let rb = client()
        .put(session)
        .header("content-range", format!("bytes */{total}"))
        .body(Vec::<u8>::new());
    let (s, h, v) = send(rb).await;
    (s, header(&h, "range"), v)
}

fn range_to(end_incl: usize) -> Option<String> {
    Some(format!("bytes=0-{end_incl}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn multipart_accepts_crlf_lf_and_chunked_bodies() {
    let env = Env::start().await;
    let data = pattern(300_000);
    let want = md5_hex(&data);
    for nl in ["\r\n", "\n"] {
        let (s, v) = env.multipart(&json!({"name": "m"}), &data, nl).await;
        assert_eq!(s, StatusCode::OK, "{nl:?}: {v}");
        assert_eq!(v["md5Checksum"], want.as_str());
        assert_eq!(v["size"], "300000");
    }
    let body = multipart_body(&json!({"name": "chunked"}), &data, "\r\n");
    let pieces: Vec<Result<Vec<u8>, std::io::Error>> =
        body.chunks(7_919).map(|c| Ok(c.to_vec())).collect();
    let rb = env
        .req(
            Method::POST,
            "/upload/drive/v3/files?uploadType=multipart&fields=id,name,md5Checksum",
        )
        .header(
            "content-type",
            format!("multipart/related; boundary={BOUNDARY}"),
        )
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            pieces,
        )));
    let (s, _, v) = send(rb).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["name"], "chunked");
    assert_eq!(v["md5Checksum"], want.as_str());
    let (_, _, got) = env.download(v["id"].as_str().unwrap(), None).await;
    assert_eq!(got, data);
}

#[tokio::test(flavor = "multi_thread")]
async fn media_upload_stores_the_body_only() {
    let env = Env::start().await;
    let rb = env
        .req(
            Method::POST,
            "/upload/drive/v3/files?uploadType=media&fields=*",
        )
        .header("content-type", "text/plain")
        .body("hello media");
    let (s, _, v) = send(rb).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["md5Checksum"], md5_hex(b"hello media"));
    assert_eq!(v["mimeType"], "text/plain");
    assert_eq!(v["size"], "11");
}

#[tokio::test(flavor = "multi_thread")]
async fn resumable_chunks_by_put_and_post_without_auth_then_complete() {
    let env = Env::start().await;
    let data = pattern(3 * KIB256 + 1000);
    let total = data.len();
    let session = env
        .resumable_start(&json!({"name": "big.bin"}), Some(total as u64))
        .await;
    assert!(session.starts_with(&env.base), "not absolute: {session}");
    assert!(session.contains("upload_id="), "{session}");

    let (s, r, _) = status_query(&session, total).await;
    assert_eq!((s.as_u16(), r), (308, None), "nothing stored yet");
    let (s, r, _) = chunk(&session, Method::PUT, &data[..KIB256], 0, total).await;
    assert_eq!((s.as_u16(), r), (308, range_to(KIB256 - 1)));
    let (s, r, _) = status_query(&session, total).await;
    assert_eq!((s.as_u16(), r), (308, range_to(KIB256 - 1)));
    let (s, r, _) = chunk(
        &session,
        Method::POST,
        &data[KIB256..3 * KIB256],
        KIB256,
        total,
    )
    .await;
    assert_eq!((s.as_u16(), r), (308, range_to(3 * KIB256 - 1)));
    let (s, _, v) = chunk(
        &session,
        Method::PUT,
        &data[3 * KIB256..],
        3 * KIB256,
        total,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["name"], "big.bin");
    assert_eq!(v["md5Checksum"], md5_hex(&data));
    assert_eq!(v["size"], total.to_string());
    let (s, _, again) = status_query(&session, total).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(again["id"], v["id"]);
    let (_, _, got) = env.download(v["id"].as_str().unwrap(), None).await;
    assert_eq!(got, data);
}

#[tokio::test(flavor = "multi_thread")]
async fn resumable_empty_file_and_resumable_alias() {
    let env = Env::start().await;
    let session = env
        .resumable_start(&json!({"name": "empty"}), Some(0))
        .await;
    let (s, _, v) = send(client().put(&session)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["md5Checksum"], EMPTY_MD5);
    assert_eq!(v["size"], "0");

    let rb = env
        .req(
            Method::POST,
            "/resumable/upload/drive/v3/files?uploadType=resumable&fields=id,md5Checksum",
        )
        .header("x-upload-content-length", "5")
        .json(&json!({"name": "alias"}));
    let (s, h, v) = send(rb).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let session = location(&h);
    assert!(session.starts_with("http://"), "{session}");
    let (s, _, v) = chunk(&session, Method::POST, b"hello", 0, 5).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["md5Checksum"], md5_hex(b"hello"));
}

#[tokio::test(flavor = "multi_thread")]
async fn resumable_refuses_bad_chunks_unknown_and_expired_sessions() {
    let env = Env::start().await;
    let total = 2 * KIB256 + 10;
    let data = pattern(total);
    let session = env
        .resumable_start(&json!({"name": "x"}), Some(total as u64))
        .await;
    let (s, _, v) = chunk(&session, Method::PUT, &data[..1000], 0, total).await;
    assert_error(s, &v, 400, "badRequest");
    let (s, _, v) = chunk(&session, Method::PUT, &data[..KIB256], 0, total + 1).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "size mismatch: {v}");
    for bad in ["bytes 0-x/10", "bytes 10-5/100", "0-1/2", "octets 0-1/2"] {
        let rb = client()
            .put(&session)
            .header("content-range", bad)
            .body(data[..KIB256].to_vec());
        let (s, _, v) = send(rb).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {v}");
    }
    let (s, r, _) = status_query(&session, total).await;
    assert_eq!(
        (s.as_u16(), r),
        (308, None),
        "refused chunks stored nothing"
    );

    let unknown = format!(
        "{}/upload/drive/v3/files?uploadType=resumable&upload_id=nosuchsession",
        env.base
    );
    let (s, _, v) = chunk(&unknown, Method::PUT, &data[..KIB256], 0, total).await;
    assert_error(s, &v, 404, "notFound");

    let (s, _, _) = chunk(&session, Method::PUT, &data[..KIB256], 0, total).await;
    assert_eq!(s.as_u16(), 308);
    env.emu.expire_upload_sessions().unwrap();
    let (s, _, v) = chunk(&session, Method::PUT, &data[KIB256..], KIB256, total).await;
    assert_error(s, &v, 404, "notFound");
    let (s, _, _) = status_query(&session, total).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn resumable_patch_updates_content_version_and_revision() {
    let env = Env::start().await;
    let old = env.upload("doc.bin", None, b"old content").await;
    let id = old["id"].as_str().unwrap();
    let data = pattern(KIB256 + 77);
    let rb = env
        .req(
            Method::PATCH,
            &format!("/upload/drive/v3/files/{id}?uploadType=resumable&fields=*"),
        )
        .header("x-upload-content-length", data.len())
        .json(&json!({"name": "renamed.bin"}));
    let (s, h, v) = send(rb).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let session = location(&h);
    let (s, r, _) = chunk(&session, Method::PUT, &data[..KIB256], 0, data.len()).await;
    assert_eq!((s.as_u16(), r), (308, range_to(KIB256 - 1)));
    let (s, _, new) = chunk(&session, Method::PUT, &data[KIB256..], KIB256, data.len()).await;
    assert_eq!(s, StatusCode::OK, "{new}");
    assert_eq!(new["id"], old["id"]);
    assert_eq!(new["name"], "renamed.bin");
    assert_eq!(new["md5Checksum"], md5_hex(&data));
    assert_ne!(new["md5Checksum"], old["md5Checksum"]);
    assert_ne!(new["headRevisionId"], old["headRevisionId"]);
    let ver = |v: &Value| v["version"].as_str().unwrap().parse::<u64>().unwrap();
    assert!(ver(&new) > ver(&old));
    let (_, _, got) = env.download(id, None).await;
    assert_eq!(got, data);
}

#[tokio::test(flavor = "multi_thread")]
async fn resumable_with_unknown_total_until_the_last_chunk() {
    let env = Env::start().await;
    let data = pattern(2 * KIB256 + 3);
    let session = env.resumable_start(&json!({"name": "stream"}), None).await;
    let rb = client()
        .put(&session)
        .header("content-range", format!("bytes 0-{}/*", KIB256 - 1))
        .body(data[..KIB256].to_vec());
    let (s, h, v) = send(rb).await;
    assert_eq!(s.as_u16(), 308, "{v}");
    assert_eq!(header(&h, "range"), range_to(KIB256 - 1));
    let (s, _, v) = chunk(&session, Method::PUT, &data[KIB256..], KIB256, data.len()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["md5Checksum"], md5_hex(&data));
}

#[tokio::test(flavor = "multi_thread")]
async fn multipart_patch_updates_content_and_metadata() {
    let env = Env::start().await;
    let old = env.upload("a.txt", None, b"one").await;
    let id = old["id"].as_str().unwrap();
    let rb = env
        .req(
            Method::PATCH,
            &format!("/upload/drive/v3/files/{id}?uploadType=multipart&fields=*"),
        )
        .header(
            "content-type",
            format!("multipart/related; boundary={BOUNDARY}"),
        )
        .body(multipart_body(&json!({"name": "b.txt"}), b"two!", "\n"));
    let (s, _, v) = send(rb).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["id"], old["id"]);
    assert_eq!(v["name"], "b.txt");
    assert_eq!(v["md5Checksum"], md5_hex(b"two!"));
    assert_eq!(v["size"], "4");
    assert_ne!(v["headRevisionId"], old["headRevisionId"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn connection_reset_mid_chunk_keeps_aligned_prefix_and_resume_completes() {
    let env = Env::start().await;
    let data = pattern(3 * KIB256 + 500);
    let total = data.len();
    let session = env
        .resumable_start(&json!({"name": "r.bin"}), Some(total as u64))
        .await;
    let upload_id = session.split("upload_id=").nth(1).unwrap().to_owned();
    env.emu.add_fault(FaultSpec {
        method: Some("PUT".into()),
        path: Some("/upload/*".into()),
        query_contains: Some(upload_id),
        reset_after_bytes: Some(KIB256 as u64 + 100_000),
        ..Default::default()
    });
    let range = format!("bytes 0-{}/{total}", 3 * KIB256 - 1);
    let outcome = async {
        let resp = client()
            .put(&session)
            .header("content-range", range)
            .body(data[..3 * KIB256].to_vec())
            .send()
            .await?;
        resp.bytes().await
    }
    .await;
    assert!(outcome.is_err(), "the client must see the cut: {outcome:?}");
    let (s, r, _) = status_query(&session, total).await;
    assert_eq!(s.as_u16(), 308);
    let r = r.expect("some bytes were kept");
    let end: usize = r.strip_prefix("bytes=0-").unwrap().parse().unwrap();
    let stored = end + 1;
    assert_eq!(
        stored, KIB256,
        "the 256 KiB-aligned prefix of the cut chunk: {r}"
    );
    let (s, _, v) = chunk(&session, Method::PUT, &data[stored..], stored, total).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["md5Checksum"], md5_hex(&data));
    let (_, _, got) = env.download(v["id"].as_str().unwrap(), None).await;
    assert_eq!(got, data);
}

#[tokio::test(flavor = "multi_thread")]
async fn ranged_download_partial_clamped_unsatisfiable_and_full() {
    let env = Env::start().await;
    let data = pattern(512_000);
    let f = env.upload("r", None, &data).await;
    let id = f["id"].as_str().unwrap();
    let (s, h, body) = env.download(id, Some("bytes=0-409599")).await;
    assert_eq!(s, StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        header(&h, "content-range").unwrap(),
        "bytes 0-409599/512000"
    );
    assert_eq!(body, data[..409_600]);
    let (s, h, body) = env.download(id, Some("bytes=409600-819199")).await;
    assert_eq!(s, StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        header(&h, "content-range").unwrap(),
        "bytes 409600-511999/512000"
    );
    assert_eq!(body, data[409_600..]);
    let (s, _, body) = env.download(id, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body, data);

    let empty = env.upload("e", None, b"").await;
    assert_eq!(empty["md5Checksum"], EMPTY_MD5);
    let eid = empty["id"].as_str().unwrap();
    let (s, h, _) = env.download(eid, Some("bytes=0-409599")).await;
    assert_eq!(s, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(header(&h, "content-range").unwrap(), "bytes */0");
    let (s, _, body) = env.download(eid, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.is_empty());
}

fn chunked_body(data: Vec<u8>) -> reqwest::Body {
    let parts: Vec<Result<Vec<u8>, std::io::Error>> =
        data.chunks(100_000).map(|c| Ok(c.to_vec())).collect();
    reqwest::Body::wrap_stream(futures_util::stream::iter(parts))
}

#[tokio::test(flavor = "multi_thread")]
async fn single_request_resumable_with_chunked_body_completes() {
    let env = Env::start().await;
    let data = pattern(700_000);
    let session = env
        .resumable_start(&json!({"name": "streamed.bin"}), None)
        .await;
    let (status, _, v) = send(env.http.put(&session).body(chunked_body(data.clone()))).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["md5Checksum"], md5_hex(&data).as_str());
    assert_eq!(v["size"], "700000");
}

#[tokio::test(flavor = "multi_thread")]
async fn single_request_resumable_with_wrong_declared_total_is_refused() {
    let env = Env::start().await;
    let data = pattern(300_000);
    let session = env
        .resumable_start(&json!({"name": "short.bin"}), Some(400_000))
        .await;
    let (status, _, v) = send(env.http.put(&session).body(chunked_body(data))).await;
    assert_error(status, &v, 400, "badRequest");
    let (status, h, _) = send(
        env.http
            .put(&session)
            .header("content-range", "bytes */400000")
            .header("content-length", "0"),
    )
    .await;
    assert_eq!(status, StatusCode::PERMANENT_REDIRECT);
    assert!(
        h.get("range").is_none(),
        "nothing kept from the refused request"
    );
}

/// A client killed mid-chunk leaves that request running until its body errors; the client
/// that resumes queries the session meanwhile. Requests on one session run one at a time, so
/// the cut chunk cannot lower the stored size after the resumed client was told it (found by
/// the `resume_after_kill` scenario: the next chunk was refused as beyond the stored size).
#[tokio::test(flavor = "multi_thread")]
async fn a_cut_chunk_finishes_before_the_next_request_on_its_session_starts() {
    let env = Env::start().await;
    let total = 1_048_576;
    let session = env
        .resumable_start(&json!({"name": "cut"}), Some(total as u64))
        .await;
    let data = pattern(total);
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    tx.send(Ok(data[..524_288].to_vec())).await.unwrap();
    let body = reqwest::Body::wrap_stream(tokio_stream_of(rx));
    let cut = tokio::spawn({
        let session = session.clone();
        async move {
            let rb = client()
                .put(&session)
                .header("content-range", format!("bytes 0-{}/{total}", total - 1))
                .header("content-length", total)
                .body(body);
            send(rb).await.0
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let query = tokio::spawn({
        let session = session.clone();
        async move { status_query(&session, total).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(
        !query.is_finished(),
        "the query waits for the chunk in flight"
    );
    tx.send(Err(std::io::Error::other("client killed")))
        .await
        .unwrap();
    drop(tx);
    let _ = cut.await;
    let (s, range, _) = query.await.unwrap();
    assert_eq!(s.as_u16(), 308);
    assert_eq!(range, range_to(524_287));
    let (s, _, v) = chunk(&session, Method::PUT, &data[524_288..], 524_288, total).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["md5Checksum"], md5_hex(&data).as_str());
}

/// The items of `rx` as a stream.
fn tokio_stream_of<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> + Send + 'static {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
