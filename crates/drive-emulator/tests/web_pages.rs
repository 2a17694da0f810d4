//! The read-only web pages at drive.google.com's paths, which "Open in Drive" reaches in the
//! demo: a folder lists its content, a file shows its metadata, names are escaped.

mod common;

use common::{client, md5_hex, Env};
use reqwest::StatusCode;

async fn page(env: &Env, path: &str) -> (StatusCode, String) {
    let r = client().get(env.url(path)).send().await.unwrap();
    let status = r.status();
    let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/html"), "{ct}");
    (status, r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn folders_and_files_have_pages_with_escaped_names() {
    let env = Env::start().await;
    let work = env.folder("Work <2026>", None).await;
    let f = env.upload("a&b.txt", Some(&work), b"hello").await;
    let id = f["id"].as_str().unwrap();

    let (status, root) = page(&env, "/drive/folders/root").await;
    assert_eq!(status, StatusCode::OK);
    assert!(root.contains("My Drive"), "{root}");
    assert!(
        root.contains(&format!(
            "href=\"/drive/folders/{work}\">Work &lt;2026&gt;</a>"
        )),
        "{root}"
    );

    let (_, folder) = page(&env, &format!("/drive/folders/{work}")).await;
    assert!(
        folder.contains(&format!("href=\"/file/d/{id}/view\">a&amp;b.txt</a>")),
        "{folder}"
    );
    assert!(!folder.contains("<2026>"), "names are escaped: {folder}");

    let (_, file) = page(&env, &format!("/file/d/{id}/view")).await;
    assert!(file.contains(&md5_hex(b"hello")), "{file}");
    assert!(file.contains("/Work &lt;2026&gt;/a&amp;b.txt"), "{file}");

    let (status, _) = page(&env, "/file/d/no-such-id/view").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
