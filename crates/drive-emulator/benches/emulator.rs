//! drive-emulator benchmark (`cargo bench -p drive-emulator --bench emulator [-- --size-mib N --secs S]`).
//!
//! Every figure is reported with a baseline measured in the same run on the same machine:
//! * metadata: `files.get` and `files.list` (1,000 entries) per second with 8 concurrent
//!   clients, against a minimal axum server answering a fixed JSON body;
//! * transfers: MB/s of a large upload (resumable, 8 MiB chunks) and download, against a raw
//!   loopback HTTP server that streams the same bytes to and from a file on the same disk.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::routing::get;
use bytes::Bytes;
use drive_emulator::{Emulator, EmulatorConfig};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

const CLIENTS: usize = 8;
const CHUNK: usize = 8 << 20;

struct Args {
    size_mib: u64,
    secs: u64,
}

fn args() -> Args {
    let mut a = Args {
        size_mib: 1024,
        secs: 3,
    };
    let v: Vec<String> = std::env::args().collect();
    for w in v.windows(2) {
        match w[0].as_str() {
            "--size-mib" => a.size_mib = w[1].parse().expect("--size-mib N"),
            "--secs" => a.secs = w[1].parse().expect("--secs S"),
            _ => {}
        }
    }
    a
}

/// Requests per second of `CLIENTS` loops calling `url` for `secs`.
async fn hammer(http: &reqwest::Client, url: String, auth: Option<String>, secs: u64) -> f64 {
    let count = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (http, url, auth, count) = (http.clone(), url.clone(), auth.clone(), count.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let mut req = http.get(&url);
                    if let Some(a) = &auth {
                        req = req.header("authorization", a);
                    }
                    let resp = req.send().await.expect("request");
                    assert!(resp.status().is_success(), "{}", resp.status());
                    resp.bytes().await.expect("body");
                    count.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("client task");
    }
    count.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

/// A minimal server: `GET /json` answers a fixed body; `PUT /raw` streams the body to a file;
/// `GET /raw` streams the file back.
async fn baseline_server(dir: std::path::PathBuf) -> String {
    let put_dir = dir.clone();
    let app = axum::Router::new()
        .route(
            "/json",
            get(|| async {
                axum::Json(serde_json::json!({"id": "x", "name": "y", "mimeType": "text/plain"}))
            }),
        )
        .route(
            "/raw",
            get(move || {
                let path = dir.join("raw");
                async move {
                    let f = tokio::fs::File::open(path).await.expect("raw file");
                    Body::from_stream(tokio_util::io::ReaderStream::with_capacity(f, 256 * 1024))
                }
            })
            .put(move |q: axum::extract::RawQuery, body: Body| {
                let path = put_dir.join("raw");
                let hash = q.0.as_deref() == Some("md5");
                async move {
                    let mut md5 = hash.then(<md5::Md5 as md5::Digest>::new);
                    let mut f = tokio::io::BufWriter::with_capacity(
                        1 << 20,
                        tokio::fs::File::create(path).await.expect("create"),
                    );
                    let mut s = body.into_data_stream();
                    while let Some(c) = s.next().await {
                        let c = c.expect("body");
                        if let Some(h) = md5.as_mut() {
                            md5::Digest::update(h, &c);
                        }
                        f.write_all(&c).await.expect("write");
                    }
                    f.flush().await.expect("flush");
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    format!("http://{addr}")
}

fn mbps(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

async fn download(http: &reqwest::Client, url: &str, auth: Option<&str>) -> (u64, Duration) {
    let t = Instant::now();
    let mut req = http.get(url);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let mut s = req.send().await.expect("download").bytes_stream();
    let mut n = 0u64;
    while let Some(c) = s.next().await {
        n += c.expect("chunk").len() as u64;
    }
    (n, t.elapsed())
}

#[tokio::main]
async fn main() {
    let a = args();
    let dir = tempfile::tempdir().expect("tempdir");
    let emu = Emulator::start(EmulatorConfig {
        data_dir: Some(dir.path().join("emu")),
        ..Default::default()
    })
    .await
    .expect("emulator");
    let base = emu.base_url();
    let raw = baseline_server(dir.path().to_owned()).await;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .build()
        .expect("client");
    let auth = format!(
        "Bearer {}",
        emu.mint_tokens(None).expect("tokens").access_token
    );

    // 1,000 small files in one folder.
    let folder: serde_json::Value = http
        .post(format!("{base}/drive/v3/files"))
        .header("authorization", &auth)
        .json(
            &serde_json::json!({"name": "bench", "mimeType": "application/vnd.google-apps.folder"}),
        )
        .send()
        .await
        .expect("folder")
        .json()
        .await
        .expect("json");
    let folder = folder["id"].as_str().expect("id").to_owned();
    let mut first = String::new();
    for i in 0..1000 {
        let body = format!(
            "--b\r\ncontent-type: application/json\r\n\r\n{{\"name\":\"f{i}.txt\",\"parents\":[\"{folder}\"]}}\r\n--b\r\ncontent-type: text/plain\r\n\r\nfile {i}\r\n--b--\r\n"
        );
        let f: serde_json::Value = http
            .post(format!(
                "{base}/upload/drive/v3/files?uploadType=multipart&fields=id"
            ))
            .header("authorization", &auth)
            .header("content-type", "multipart/related; boundary=b")
            .body(body)
            .send()
            .await
            .expect("create")
            .json()
            .await
            .expect("json");
        if i == 0 {
            first = f["id"].as_str().expect("id").to_owned();
        }
    }
    let q = format!("'{folder}' in parents and trashed = false");
    let list_url = format!(
        "{base}/drive/v3/files?pageSize=1000&fields=nextPageToken,files(id,name,md5Checksum,size,modifiedTime,parents)&q={}",
        url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
    );
    let get_url =
        format!("{base}/drive/v3/files/{first}?fields=id,name,md5Checksum,size,version,parents");

    let base_rps = hammer(&http, format!("{raw}/json"), None, a.secs).await;
    let get_rps = hammer(&http, get_url, Some(auth.clone()), a.secs).await;
    let listed: serde_json::Value = http
        .get(&list_url)
        .header("authorization", &auth)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(
        listed["files"].as_array().map(Vec::len),
        Some(1000),
        "the folder lists its 1,000 files"
    );
    let list_rps = hammer(&http, list_url, Some(auth.clone()), a.secs).await;
    println!(
        "## metadata ({CLIENTS} concurrent clients, {}s each)",
        a.secs
    );
    println!("| figure | per second | ratio to baseline |");
    println!("|---|---|---|");
    println!("| baseline: minimal axum JSON GET | {base_rps:.0} | 1.00 |");
    println!(
        "| files.get (6 fields) | {get_rps:.0} | {:.2} |",
        get_rps / base_rps
    );
    println!(
        "| files.list, 1,000 entries per page | {list_rps:.1} ({:.0} entries/s) | {:.3} |",
        list_rps * 1000.0,
        list_rps / base_rps
    );

    // Large transfers.
    let size = a.size_mib << 20;
    let pattern = Bytes::from(
        (0..CHUNK)
            .map(|i| (i * 31 % 251) as u8)
            .collect::<Vec<u8>>(),
    );
    let chunks = (size as usize).div_ceil(CHUNK);
    let body = |n: usize| {
        let p = pattern.clone();
        Body::from_stream(futures_util::stream::iter(
            (0..n).map(move |_| Ok::<_, std::io::Error>(p.clone())),
        ))
    };

    let t = Instant::now();
    let r = http
        .put(format!("{raw}/raw"))
        .body(reqwest::Body::wrap_stream(body(chunks).into_data_stream()))
        .send()
        .await
        .expect("raw put");
    assert!(r.status().is_success());
    let raw_up = mbps(size, t.elapsed());
    let t = Instant::now();
    let r = http
        .put(format!("{raw}/raw?md5"))
        .body(reqwest::Body::wrap_stream(body(chunks).into_data_stream()))
        .send()
        .await
        .expect("raw put");
    assert!(r.status().is_success());
    let raw_md5_up = mbps(size, t.elapsed());
    let (n, d) = download(&http, &format!("{raw}/raw"), None).await;
    assert_eq!(n, size);
    let raw_down = mbps(size, d);

    let init = http
        .post(format!(
            "{base}/upload/drive/v3/files?uploadType=resumable&fields=id,md5Checksum"
        ))
        .header("authorization", &auth)
        .header("x-upload-content-length", size.to_string())
        .json(&serde_json::json!({"name": "big.bin"}))
        .send()
        .await
        .expect("init");
    let session = init.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let t = Instant::now();
    let mut id = String::new();
    for i in 0..chunks {
        let (from, to) = (i * CHUNK, ((i + 1) * CHUNK).min(size as usize));
        let resp = http
            .put(&session)
            .header("content-range", format!("bytes {from}-{}/{size}", to - 1))
            .body(pattern.slice(..to - from))
            .send()
            .await
            .expect("chunk");
        if i + 1 == chunks {
            let v: serde_json::Value = resp.json().await.expect("file");
            id = v["id"].as_str().expect("id").to_owned();
        }
    }
    let emu_up = mbps(size, t.elapsed());
    let (n, d) = download(
        &http,
        &format!("{base}/drive/v3/files/{id}?alt=media"),
        Some(&auth),
    )
    .await;
    assert_eq!(n, size);
    let emu_down = mbps(size, d);
    println!();
    println!(
        "## transfers ({} MiB, resumable upload in 8 MiB chunks)",
        a.size_mib
    );
    println!("| direction | raw loopback MB/s | raw + MD5 MB/s | emulator MB/s | ratio to raw | ratio to raw + MD5 |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| upload | {raw_up:.0} | {raw_md5_up:.0} | {emu_up:.0} | {:.2} | {:.2} |",
        emu_up / raw_up,
        emu_up / raw_md5_up
    );
    println!(
        "| download | {raw_down:.0} | n/a | {emu_down:.0} | {:.2} | n/a |",
        emu_down / raw_down
    );
    emu.shutdown().await;
}
