//! Injected faults and latency, through the library and the `/__emulator` control API: Google's
//! error bodies and retry reasons, matching rules, counts, delays and cut connections.

mod common;

use std::time::{Duration, Instant};

use common::*;
use drive_emulator::{FaultSpec, Snapshot};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const ROOT: &str = "/drive/v3/files/root?fields=id";

fn fault(path: &str, status: u16) -> FaultSpec {
    FaultSpec {
        path: Some(path.into()),
        status: Some(status),
        ..Default::default()
    }
}

async fn status_of(env: &Env, method: Method, path: &str) -> StatusCode {
    env.call(method, path, None).await.0
}

#[tokio::test(flavor = "multi_thread")]
async fn status_faults_answer_with_google_error_bodies_and_reasons() {
    let env = Env::start().await;
    let cases = [
        (500, None, "backendError"),
        (503, None, "backendError"),
        (429, None, "rateLimitExceeded"),
        (403, None, "rateLimitExceeded"),
        (403, Some("userRateLimitExceeded"), "userRateLimitExceeded"),
        (403, Some("rateLimitExceeded"), "rateLimitExceeded"),
    ];
    for (status, reason, want) in cases {
        env.emu.add_fault(FaultSpec {
            reason: reason.map(str::to_owned),
            ..fault("/drive/v3/files/root", status)
        });
        let (s, v) = env.get_json(ROOT).await;
        assert_error(s, &v, status, want);
        let (s, v) = env.get_json(ROOT).await;
        assert_eq!(s, StatusCode::OK, "one-shot fault fired twice: {v}");
    }
    env.emu.add_fault(FaultSpec {
        message: Some("Custom words".into()),
        ..fault("/drive/v3/files/root", 500)
    });
    let (_, v) = env.get_json(ROOT).await;
    assert_eq!(v["error"]["message"], "Custom words");
    assert_eq!(v["error"]["errors"][0]["message"], "Custom words");
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_after_header_is_sent_when_asked() {
    let env = Env::start().await;
    env.emu.add_fault(FaultSpec {
        retry_after: Some(7),
        ..fault("*", 429)
    });
    let (s, h, v) = send(env.get(ROOT)).await;
    assert_error(s, &v, 429, "rateLimitExceeded");
    assert_eq!(header(&h, "retry-after").as_deref(), Some("7"));
    env.emu.add_fault(fault("*", 503));
    let (_, h, _) = send(env.get(ROOT)).await;
    assert_eq!(header(&h, "retry-after"), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn count_applies_to_exactly_n_requests() {
    let env = Env::start().await;
    env.emu.add_fault(FaultSpec {
        count: Some(3),
        ..fault("/drive/v3/files/*", 503)
    });
    for i in 0..3 {
        assert_eq!(
            status_of(&env, Method::GET, ROOT).await,
            StatusCode::SERVICE_UNAVAILABLE,
            "request {i}"
        );
    }
    for _ in 0..3 {
        assert_eq!(status_of(&env, Method::GET, ROOT).await, StatusCode::OK);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn method_and_path_glob_decide_which_requests_match() {
    let env = Env::start().await;
    let f = env.upload("victim", None, b"v").await;
    let path = format!("/drive/v3/files/{}", f["id"].as_str().unwrap());
    env.emu.add_fault(FaultSpec {
        method: Some("delete".into()),
        ..fault("/drive/v3/files/*", 500)
    });
    assert_eq!(status_of(&env, Method::GET, &path).await, StatusCode::OK);
    assert_eq!(
        status_of(&env, Method::GET, "/drive/v3/files").await,
        StatusCode::OK,
        "the glob needs something after files/"
    );
    assert_eq!(
        status_of(&env, Method::DELETE, &path).await,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        status_of(&env, Method::DELETE, &path).await,
        StatusCode::NO_CONTENT
    );

    env.emu.add_fault(fault("/upload/*", 503));
    assert_eq!(status_of(&env, Method::GET, ROOT).await, StatusCode::OK);
    let (s, _) = env.multipart(&json!({"name": "u"}), b"u", "\r\n").await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);

    env.emu.add_fault(fault("*/about", 500));
    assert_eq!(status_of(&env, Method::GET, ROOT).await, StatusCode::OK);
    assert_eq!(
        status_of(&env, Method::GET, "/drive/v3/about?fields=user").await,
        StatusCode::INTERNAL_SERVER_ERROR
    );

    env.emu.add_fault(fault("/token", 503));
    let resp = env
        .http
        .post(env.url("/token"))
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "OAuth routes too"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn query_contains_narrows_the_match() {
    let env = Env::start().await;
    env.emu.add_fault(FaultSpec {
        query_contains: Some("pageSize=7".into()),
        ..fault("/drive/v3/files", 500)
    });
    assert_eq!(
        status_of(&env, Method::GET, "/drive/v3/files?pageSize=8").await,
        StatusCode::OK
    );
    assert_eq!(
        status_of(&env, Method::GET, "/drive/v3/files?pageSize=7").await,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        status_of(&env, Method::GET, "/drive/v3/files?pageSize=7").await,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn delay_fault_and_latency_slow_requests_down() {
    let env = Env::start().await;
    env.emu.add_fault(FaultSpec {
        path: Some("/drive/v3/files/root".into()),
        delay_ms: Some(400),
        ..Default::default()
    });
    let t = Instant::now();
    assert_eq!(status_of(&env, Method::GET, ROOT).await, StatusCode::OK);
    let delayed = t.elapsed();
    assert!(delayed >= Duration::from_millis(400), "{delayed:?}");
    assert!(delayed < Duration::from_secs(10), "{delayed:?}");

    env.emu.add_fault(FaultSpec {
        delay_ms: Some(300),
        ..fault("/drive/v3/files/root", 503)
    });
    let t = Instant::now();
    assert_eq!(
        status_of(&env, Method::GET, ROOT).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert!(t.elapsed() >= Duration::from_millis(300));

    env.emu.set_latency(Duration::from_millis(350));
    let t = Instant::now();
    assert_eq!(status_of(&env, Method::GET, ROOT).await, StatusCode::OK);
    let slow = t.elapsed();
    assert!(slow >= Duration::from_millis(350), "{slow:?}");
    assert!(slow < Duration::from_secs(10), "{slow:?}");

    let (s, _, _) = send(
        env.http
            .post(env.url("/__emulator/latency"))
            .json(&json!({"ms": 0})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let t = Instant::now();
    assert_eq!(status_of(&env, Method::GET, ROOT).await, StatusCode::OK);
    assert!(
        t.elapsed() < Duration::from_millis(350),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn reset_after_bytes_cuts_a_download_short() {
    let env = Env::start().await;
    let data = pattern(600_000);
    let f = env.upload("big", None, &data).await;
    let id = f["id"].as_str().unwrap();
    env.emu.add_fault(FaultSpec {
        method: Some("GET".into()),
        path: Some(format!("/drive/v3/files/{id}")),
        query_contains: Some("alt=media".into()),
        reset_after_bytes: Some(100_000),
        ..Default::default()
    });
    let mut resp = env
        .get(&format!("/drive/v3/files/{id}?alt=media"))
        .send()
        .await
        .expect("headers arrive before the cut");
    let mut got = Vec::new();
    let err = loop {
        match resp.chunk().await {
            Ok(Some(c)) => got.extend_from_slice(&c),
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    assert!(err.is_some(), "the client must see an error");
    assert!(got.len() <= 100_000, "{} bytes", got.len());
    assert_eq!(got, data[..got.len()]);
    let (s, _, all) = env.download(id, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(all, data, "the fault fired once");
}

#[tokio::test(flavor = "multi_thread")]
async fn control_api_over_http_adds_and_clears_faults() {
    let env = Env::start().await;
    let faults = env.url("/__emulator/faults");
    let (s, _, v) = send(env.http.post(&faults).json(&json!({
        "method": "GET", "path": "/drive/v3/about", "count": 5, "status": 403,
        "reason": "userRateLimitExceeded", "retry_after": 2
    })))
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, h, v) = send(env.get("/drive/v3/about?fields=user")).await;
    assert_error(s, &v, 403, "userRateLimitExceeded");
    assert_eq!(header(&h, "retry-after").as_deref(), Some("2"));
    let (s, _, _) = send(env.http.delete(&faults)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        status_of(&env, Method::GET, "/drive/v3/about?fields=user").await,
        StatusCode::OK
    );
    let (s, _, _) = send(env.http.post(&faults).body("{not json")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    env.emu.add_fault(fault("*", 500));
    let (s, _, v) = send(env.http.get(env.url("/__emulator/snapshot"))).await;
    assert_eq!(s, StatusCode::OK, "control routes are never faulted: {v}");
    assert_eq!(
        status_of(&env, Method::GET, ROOT).await,
        StatusCode::INTERNAL_SERVER_ERROR
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn control_api_snapshot_and_reset() {
    let env = Env::start().await;
    let dir = env.folder("dir", None).await;
    env.upload("a.txt", Some(&dir), b"abc").await;
    let (s, _, v) = send(env.http.get(env.url("/__emulator/snapshot"))).await;
    assert_eq!(s, StatusCode::OK);
    let snap: Snapshot = serde_json::from_value(v.clone()).expect("snapshot JSON");
    assert_eq!(snap, env.emu.snapshot());
    let paths: Vec<_> = snap.files.iter().map(|f| f.path.clone().unwrap()).collect();
    assert_eq!(paths, ["/dir", "/dir/a.txt"]);
    let file = &v["files"][1];
    assert_eq!(file["md5Checksum"], md5_hex(b"abc"));
    assert_eq!(file["size"], 3);
    let token_before = env.get_json("/drive/v3/changes/startPageToken").await.1["startPageToken"]
        .as_str()
        .unwrap()
        .parse::<u64>()
        .unwrap();

    let (s, _, _) = send(env.http.post(env.url("/__emulator/reset"))).await;
    assert_eq!(s, StatusCode::OK);
    let after = env.emu.snapshot();
    assert!(after.files.is_empty(), "{after:?}");
    assert_ne!(after.root_id, snap.root_id);
    let (s, root) = env.get_json(ROOT).await;
    assert_eq!(s, StatusCode::OK, "tokens survive a reset: {root}");
    assert_eq!(root["id"], after.root_id.as_str());
    let (s, v) = env.get_json(&format!("/drive/v3/files/{dir}")).await;
    assert_error(s, &v, 404, "notFound");
    let token_after: Value = env.get_json("/drive/v3/changes/startPageToken").await.1;
    let token_after: u64 = token_after["startPageToken"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(token_after >= token_before, "page tokens keep growing");
    env.emu.reset().unwrap();
    assert!(env.emu.snapshot().files.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn request_cut_mid_upload_closes_the_connection_at_once() {
    let env = Env::start().await;
    let session = env
        .resumable_start(
            &serde_json::json!({"name": "cut.bin"}),
            Some(4 * KIB256 as u64),
        )
        .await;
    env.emu.add_fault(FaultSpec {
        path: Some("/upload/*".into()),
        reset_after_bytes: Some(300_000),
        ..Default::default()
    });
    let started = std::time::Instant::now();
    let result = reqwest::Client::new()
        .put(&session)
        .header(
            "content-range",
            format!("bytes 0-{}/{}", 2 * KIB256 - 1, 4 * KIB256),
        )
        .body(pattern(2 * KIB256))
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await;
    assert!(
        result.is_err(),
        "the client sees a cut connection, not an answer: {result:?}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "cut after {:?}",
        started.elapsed()
    );
    let (status, headers, _) = send(
        env.http
            .put(&session)
            .header("content-range", format!("bytes */{}", 4 * KIB256))
            .header("content-length", "0"),
    )
    .await;
    assert_eq!(status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(
        header(&headers, "range").as_deref(),
        Some("bytes=0-262143"),
        "the aligned prefix was kept"
    );
}
