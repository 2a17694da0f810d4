//! `changes.getStartPageToken` and `changes.list` over real HTTP: paging to
//! `newStartPageToken`, removals, trash, one entry per file.

mod common;

use std::collections::HashMap;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const FIELDS: &str =
    "nextPageToken, newStartPageToken, changes(kind,changeType,removed,fileId,time,file(id,name,trashed,parents))";

async fn start_token(env: &Env) -> String {
    let (s, v) = env
        .get_json("/drive/v3/changes/startPageToken?supportsAllDrives=true&alt=json")
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["kind"], "drive#startPageToken");
    v["startPageToken"]
        .as_str()
        .expect("a string token")
        .to_owned()
}

async fn changes_page(env: &Env, token: &str, extra: &[(&str, &str)]) -> (StatusCode, Value) {
    let mut p = vec![
        ("pageToken", token),
        ("spaces", "drive"),
        ("restrictToMyDrive", "false"),
        ("fields", FIELDS),
    ];
    p.extend_from_slice(extra);
    let (s, _, v) = send(env.get("/drive/v3/changes").query(&p)).await;
    (s, v)
}

/// Every change from `token` (pages of `size`), checking the paging contract; returns the
/// changes and `newStartPageToken`.
async fn drain(env: &Env, token: &str, size: &str, removed: &str) -> (Vec<Value>, String, usize) {
    let mut out = Vec::new();
    let mut token = token.to_owned();
    let mut pages = 0;
    loop {
        let (s, v) = changes_page(
            env,
            &token,
            &[("pageSize", size), ("includeRemoved", removed)],
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        pages += 1;
        let changes = v["changes"].as_array().expect("changes");
        assert!(changes.len() <= size.parse().unwrap());
        out.extend(changes.iter().cloned());
        match (v["nextPageToken"].as_str(), v["newStartPageToken"].as_str()) {
            (Some(next), None) => token = next.to_owned(),
            (None, Some(new)) => return (out, new.to_owned(), pages),
            _ => panic!("exactly one of nextPageToken/newStartPageToken: {v}"),
        }
    }
}

fn by_id(changes: &[Value]) -> HashMap<String, Value> {
    let mut m = HashMap::new();
    for c in changes {
        let id = c["fileId"].as_str().expect("fileId").to_owned();
        assert!(m.insert(id, c.clone()).is_none(), "file listed twice: {c}");
    }
    m
}

#[tokio::test(flavor = "multi_thread")]
async fn changes_list_pages_to_new_start_token_with_latest_state_of_each_file() {
    let env = Env::start().await;
    let untouched = env.upload("before", None, b"0").await;
    let token = start_token(&env).await;
    let a = env.upload("a", None, b"a").await;
    let b = env.upload("b", None, b"b").await;
    let c = env.upload("c", None, b"c").await;
    let d = env.folder("d", None).await;
    let id = |v: &Value| v["id"].as_str().unwrap().to_owned();
    env.patch(&id(&a), "", json!({"name": "a2"})).await;
    env.patch(&id(&a), "", json!({"name": "a3"})).await;
    env.patch(&id(&b), "", json!({"trashed": true})).await;
    let (s, _) = env
        .call(Method::DELETE, &format!("/drive/v3/files/{}", id(&c)), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    let (changes, new_token, pages) = drain(&env, &token, "2", "true").await;
    assert_eq!(changes.len(), 4, "{changes:?}");
    assert_eq!(pages, 2);
    let m = by_id(&changes);
    assert!(!m.contains_key(untouched["id"].as_str().unwrap()));
    for ch in &changes {
        assert_eq!(ch["kind"], "drive#change");
        assert_eq!(ch["changeType"], "file");
        assert!(ch["time"].is_string());
    }
    let ca = &m[&id(&a)];
    assert_eq!(ca["removed"], false);
    assert_eq!(ca["file"]["name"], "a3");
    assert_eq!(m[&id(&b)]["file"]["trashed"], true);
    assert_eq!(m[&d]["file"]["name"], "d");
    let cc = &m[&id(&c)];
    assert_eq!(cc["removed"], true);
    assert_eq!(cc["fileId"], c["id"]);
    assert!(
        cc.get("file").is_none(),
        "removed entries carry no file: {cc}"
    );

    let (s, v) = changes_page(&env, &new_token, &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["changes"], json!([]));
    assert_eq!(v["newStartPageToken"], new_token.as_str());
    assert!(v.get("nextPageToken").is_none());
    assert_eq!(start_token(&env).await, new_token);

    env.patch(&d, "", json!({"name": "d2"})).await;
    let (later, _, _) = drain(&env, &new_token, "100", "true").await;
    assert_eq!(later.len(), 1);
    assert_eq!(later[0]["file"]["name"], "d2");
}

#[tokio::test(flavor = "multi_thread")]
async fn trashing_a_folder_reports_its_children_too() {
    let env = Env::start().await;
    let top = env.folder("top", None).await;
    let kid = env.upload("kid", Some(&top), b"k").await;
    let token = start_token(&env).await;
    env.patch(&top, "", json!({"trashed": true})).await;
    let (changes, _, _) = drain(&env, &token, "1", "true").await;
    let m = by_id(&changes);
    assert_eq!(m[&top]["file"]["trashed"], true);
    assert_eq!(m[kid["id"].as_str().unwrap()]["file"]["trashed"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn include_removed_false_hides_removals() {
    let env = Env::start().await;
    let token = start_token(&env).await;
    let keep = env.upload("keep", None, b"k").await;
    let gone = env.upload("gone", None, b"g").await;
    env.call(
        Method::DELETE,
        &format!("/drive/v3/files/{}", gone["id"].as_str().unwrap()),
        None,
    )
    .await;
    let (changes, _, _) = drain(&env, &token, "1", "false").await;
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["fileId"], keep["id"]);
    let (all, _, _) = drain(&env, &token, "1", "true").await;
    assert_eq!(all.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn garbage_or_missing_page_token_is_refused() {
    let env = Env::start().await;
    for bad in ["garbage", "-1", "0", "99999999"] {
        let (s, v) = changes_page(&env, bad, &[]).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {v}");
        assert!(v["error"]["errors"][0]["reason"].is_string(), "{v}");
    }
    let (s, v) = env.get_json("/drive/v3/changes").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let token = start_token(&env).await;
    let (s, v) = changes_page(&env, &token, &[("pageSize", "0")]).await;
    assert_error(s, &v, 400, "invalid");
}
