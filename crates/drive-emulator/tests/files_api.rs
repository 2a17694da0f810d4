//! `files.*`, `about.get` and `files.export` over real HTTP, against what Drive does on the wire.

mod common;

use std::collections::HashSet;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn ids(files: &[Value]) -> Vec<String> {
    files
        .iter()
        .map(|f| f["id"].as_str().expect("id").to_owned())
        .collect()
}

async fn list_page(env: &Env, params: &[(&str, &str)]) -> (StatusCode, Value) {
    let (s, _, v) = send(env.get("/drive/v3/files").query(params)).await;
    (s, v)
}

#[tokio::test(flavor = "multi_thread")]
async fn list_pages_through_every_file_once_and_bounds_page_size() {
    let env = Env::start().await;
    let dir = env.folder("d", None).await;
    let mut want = HashSet::new();
    for i in 0..5 {
        want.insert(env.upload(&format!("f{i}"), Some(&dir), b"x").await["id"].to_string());
    }
    let q = format!("'{dir}' in parents");
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut p = vec![
            ("q", q.as_str()),
            ("pageSize", "2"),
            ("fields", "nextPageToken,files(id)"),
        ];
        if let Some(t) = &token {
            p.push(("pageToken", t));
        }
        let (s, v) = list_page(&env, &p).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        pages += 1;
        let files = v["files"].as_array().unwrap();
        assert!(files.len() <= 2);
        seen.extend(files.iter().map(|f| f["id"].to_string()));
        match v["nextPageToken"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 5);
    assert_eq!(seen.into_iter().collect::<HashSet<_>>(), want);
    for ok in ["1", "1000"] {
        let (s, v) = list_page(&env, &[("pageSize", ok)]).await;
        assert_eq!(s, StatusCode::OK, "pageSize {ok}: {v}");
        assert_eq!(v["kind"], "drive#fileList");
        assert_eq!(v["incompleteSearch"], false);
    }
    for bad in ["0", "1001"] {
        let (s, v) = list_page(&env, &[("pageSize", bad)]).await;
        assert_error(s, &v, 400, "invalid");
    }
    let (_, v) = list_page(&env, &[("q", &q), ("pageSize", "1")]).await;
    let token = v["nextPageToken"].as_str().expect("more pages").to_owned();
    let (s, v) = list_page(&env, &[("q", "trashed = false"), ("pageToken", &token)]).await;
    assert_error(s, &v, 400, "invalid");
    let (s, v) = list_page(&env, &[("q", &q), ("pageToken", "garbage!")]).await;
    assert_error(s, &v, 400, "invalid");
}

#[tokio::test(flavor = "multi_thread")]
async fn list_order_by_name_folder_and_modified_time_desc() {
    let env = Env::start().await;
    let dir = env.folder("d", None).await;
    for (name, t) in [
        ("b", "2021-01-01T00:00:00.000Z"),
        ("A", "2023-01-01T00:00:00.000Z"),
        ("c", "2022-01-01T00:00:00.000Z"),
    ] {
        env.create(json!({"name": name, "parents": [dir], "modifiedTime": t}))
            .await;
    }
    env.create(json!({"name": "z", "mimeType": FOLDER, "parents": [dir],
        "modifiedTime": "2020-01-01T00:00:00.000Z"}))
        .await;
    let q = format!("'{dir}' in parents");
    let order = |o: &'static str| {
        let q = q.clone();
        let env = &env;
        async move {
            let (s, v) =
                list_page(env, &[("q", &q), ("orderBy", o), ("fields", "files(name)")]).await;
            assert_eq!(s, StatusCode::OK, "{v}");
            v["files"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(order("name").await, ["A", "b", "c", "z"]);
    assert_eq!(order("name desc").await, ["z", "c", "b", "A"]);
    assert_eq!(order("folder,name").await, ["z", "A", "b", "c"]);
    assert_eq!(order("modifiedTime desc").await, ["A", "c", "b", "z"]);
    let (s, v) = list_page(&env, &[("orderBy", "sideways")]).await;
    assert_error(s, &v, 400, "invalid");
}

#[tokio::test(flavor = "multi_thread")]
async fn list_q_supports_the_terms_sync_clients_send() {
    let env = Env::start().await;
    let dir = env.folder("dir", None).await;
    let sub = env.folder("sub", Some(&dir)).await;
    for (name, t) in [
        ("report.txt", "2020-06-01T00:00:00Z"),
        ("annual report", "2022-06-01T00:00:00Z"),
        ("it's", "2024-06-01T00:00:00Z"),
    ] {
        env.create(json!({"name": name, "parents": [dir], "modifiedTime": t}))
            .await;
    }
    let doc = env
        .create(json!({"name": "notes", "mimeType": DOC, "parents": [dir]}))
        .await;
    let gone = env.upload("gone", Some(&dir), b"bye").await;
    env.patch(gone["id"].as_str().unwrap(), "", json!({"trashed": true}))
        .await;
    env.upload("top", None, b"t").await;

    let p = format!("'{dir}' in parents");
    let all = [
        "annual report",
        "gone",
        "it's",
        "notes",
        "report.txt",
        "sub",
    ];
    assert_eq!(env.names(&p).await, all);
    assert_eq!(env.names("'root' in parents").await, ["dir", "top"]);
    assert_eq!(
        env.names(&format!("'{sub}' in parents")).await,
        Vec::<String>::new()
    );
    assert_eq!(
        env.names(&format!("{p} and name = 'report.txt'")).await,
        ["report.txt"]
    );
    assert_eq!(
        env.names(&format!("{p} and name contains 'rep'")).await,
        ["annual report", "report.txt"]
    );
    assert_eq!(
        env.names(&format!("{p} and name = 'it\\'s'")).await,
        ["it's"]
    );
    assert_eq!(
        env.names(&format!("{p} and trashed = true")).await,
        ["gone"]
    );
    assert_eq!(
        env.names(&format!("{p} and trashed = false")).await.len(),
        5
    );
    assert_eq!(
        env.names(&format!("{p} and mimeType = '{FOLDER}'")).await,
        ["sub"]
    );
    assert_eq!(
        env.names(&format!(
            "{p} and mimeType != '{FOLDER}' and mimeType != '{DOC}'"
        ))
        .await,
        ["annual report", "gone", "it's", "report.txt"]
    );
    assert_eq!(
        env.names(&format!(
            "{p} and modifiedTime > '2021-01-01T00:00:00' and modifiedTime < '2023-01-01T00:00:00'"
        ))
        .await,
        ["annual report"]
    );
    assert_eq!(
        env.names(&format!(
            "trashed=false and ({p}) and (name='notes' or mimeType='{FOLDER}')"
        ))
        .await,
        ["notes", "sub"]
    );
    assert_eq!(
        env.names(&format!(
            "{p} and not name contains 'report' and not trashed = true"
        ))
        .await,
        ["it's", "notes", "sub"]
    );
    assert_eq!(doc["mimeType"], DOC);
    let rclone = format!(
        "trashed=false and ('{dir}' in parents) and (name='sub') and \
         (mimeType='{FOLDER}' or mimeType='application/vnd.google-apps.shortcut')"
    );
    assert_eq!(env.names(&rclone).await, ["sub"]);

    for bad in [
        "fullText contains 'x'",
        "name = ",
        "name = 'x' and",
        "size > 3",
    ] {
        let (s, v) = list_page(&env, &[("q", bad)]).await;
        assert_error(s, &v, 400, "invalid");
        assert_eq!(v["error"]["errors"][0]["location"], "q", "{bad}: {v}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn list_applies_fields_with_spaces_and_refuses_garbage() {
    let env = Env::start().await;
    env.upload("a.txt", None, b"abc").await;
    let (s, v) = list_page(&env, &[("fields", "nextPageToken, files(id,name)")]).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v.as_object().unwrap().keys().collect::<Vec<_>>(), ["files"]);
    let f = &v["files"][0];
    let mut keys: Vec<_> = f.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["id", "name"]);
    let (s, v) = list_page(&env, &[("fields", "files(id, size ,md5Checksum)")]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["files"][0]["size"], "3");
    assert_eq!(v["files"][0]["md5Checksum"], md5_hex(b"abc"));
    assert!(v["files"][0].get("name").is_none());
    for bad in ["files(id,bogus)", "files(", "nonsense"] {
        let (s, v) = list_page(&env, &[("fields", bad)]).await;
        assert_error(s, &v, 400, "invalidParameter");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn get_resolves_root_alias_and_unknown_id_is_google_not_found() {
    let env = Env::start().await;
    let (s, root) = env
        .get_json("/drive/v3/files/root?fields=id,name,mimeType")
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(root["mimeType"], FOLDER);
    assert_eq!(root["id"], env.emu.snapshot().root_id.as_str());
    let (s, v) = env.get_json("/drive/v3/files/root").await;
    assert_eq!(s, StatusCode::OK);
    let mut keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["id", "kind", "mimeType", "name"]);
    let (s, v) = env.get_json("/drive/v3/files/nope123").await;
    assert_error(s, &v, 404, "notFound");
    assert_eq!(v["error"]["message"], "File not found: nope123.");
}

#[tokio::test(flavor = "multi_thread")]
async fn create_metadata_only_folder_doc_shortcut_and_empty_file() {
    let env = Env::start().await;
    let folder = env.create(json!({"name": "F", "mimeType": FOLDER})).await;
    assert_eq!(folder["mimeType"], FOLDER);
    assert!(folder.get("md5Checksum").is_none() && folder.get("size").is_none());
    assert_eq!(folder["capabilities"]["canAddChildren"], true);

    let doc = env.create(json!({"name": "D", "mimeType": DOC})).await;
    assert!(doc.get("md5Checksum").is_none());
    assert!(doc.get("size").is_none());
    assert!(doc.get("headRevisionId").is_none());
    assert!(doc["exportLinks"]["text/plain"]
        .as_str()
        .unwrap()
        .contains("/export?mimeType=text/plain"));

    let sc = env
        .create(
            json!({"name": "S", "mimeType": "application/vnd.google-apps.shortcut",
            "shortcutDetails": {"targetId": doc["id"]}}),
        )
        .await;
    assert_eq!(sc["shortcutDetails"]["targetId"], doc["id"]);
    assert_eq!(sc["shortcutDetails"]["targetMimeType"], DOC);

    let empty = env.create(json!({"name": "e.bin"})).await;
    assert_eq!(empty["md5Checksum"], EMPTY_MD5);
    assert_eq!(empty["size"], "0");
    assert!(empty["headRevisionId"].is_string());
    for f in [&folder, &doc, &sc, &empty] {
        assert!(f["version"].is_string(), "{f}");
        assert!(f["quotaBytesUsed"].is_string(), "{f}");
        assert!(f["capabilities"]["canEdit"].is_boolean(), "{f}");
        assert_eq!(f["parents"], json!([env.emu.snapshot().root_id]));
    }
    let up = env.upload("x", None, b"12345").await;
    assert_eq!(up["size"], "5");
    assert_eq!(up["quotaBytesUsed"], "5");
}

#[tokio::test(flavor = "multi_thread")]
async fn names_are_not_unique_and_may_contain_slashes() {
    let env = Env::start().await;
    let a = env.upload("same", None, b"1").await;
    let b = env.upload("same", None, b"2").await;
    assert_ne!(a["id"], b["id"]);
    let slash = env.folder("a/b", None).await;
    assert_eq!(env.file(&slash).await["name"], "a/b");
    assert_eq!(env.names("name = 'same'").await, ["same", "same"]);
    assert_eq!(env.names("name = 'a/b'").await, ["a/b"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn version_grows_on_every_change() {
    let env = Env::start().await;
    let dir = env.folder("d", None).await;
    let f = env.upload("v", None, b"1").await;
    let id = f["id"].as_str().unwrap();
    let ver = |v: &Value| v["version"].as_str().unwrap().parse::<u64>().unwrap();
    let mut last = ver(&f);
    for (q, body) in [
        ("", json!({"name": "v2"})),
        ("", json!({"starred": true})),
        ("", json!({"description": "d"})),
        (&*format!("addParents={dir}&removeParents=root"), json!({})),
        ("", json!({"trashed": true})),
        ("", json!({"trashed": false})),
    ] {
        let (s, v) = env.patch(id, q, body).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert!(ver(&v) > last, "version did not grow: {v}");
        last = ver(&v);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn update_renames_moves_and_refuses_second_parent_or_parents_field() {
    let env = Env::start().await;
    let a = env.folder("a", None).await;
    let b = env.folder("b", None).await;
    let f = env.upload("f", Some(&a), b"x").await;
    let id = f["id"].as_str().unwrap();
    let (s, v) = env.patch(id, "", json!({"name": "renamed"})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["name"], "renamed");
    let (s, v) = env
        .patch(id, &format!("addParents={b}&removeParents={a}"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["parents"], json!([b]));
    let (s, v) = env.patch(id, &format!("addParents={a}"), json!({})).await;
    assert_error(s, &v, 403, "cannotAddParent");
    let (s, v) = env.patch(id, "", json!({"parents": [a]})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(env.file(id).await["parents"], json!([b]));
}

#[tokio::test(flavor = "multi_thread")]
async fn trashing_a_folder_trashes_its_subtree_and_untrash_restores_it() {
    let env = Env::start().await;
    let top = env.folder("top", None).await;
    let mid = env.folder("mid", Some(&top)).await;
    let leaf = env.upload("leaf", Some(&mid), b"l").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, v) = env.patch(&top, "", json!({"trashed": true})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["trashed"], true);
    assert_eq!(v["explicitlyTrashed"], true);
    for id in [&mid, &leaf] {
        let f = env.file(id).await;
        assert_eq!(f["trashed"], true, "{f}");
        assert_eq!(f["explicitlyTrashed"], false, "{f}");
    }
    let (s, _) = env.patch(&top, "", json!({"trashed": false})).await;
    assert_eq!(s, StatusCode::OK);
    for id in [&top, &mid, &leaf] {
        assert_eq!(env.file(id).await["trashed"], false);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn modified_time_is_settable_on_create_and_update() {
    let env = Env::start().await;
    let f = env
        .create(json!({"name": "t", "modifiedTime": "2001-02-03T04:05:06.789Z"}))
        .await;
    assert_eq!(f["modifiedTime"], "2001-02-03T04:05:06.789Z");
    let (s, v) = env
        .patch(
            f["id"].as_str().unwrap(),
            "",
            json!({"modifiedTime": "2011-12-13T14:15:16.000Z"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["modifiedTime"], "2011-12-13T14:15:16.000Z");
}

#[tokio::test(flavor = "multi_thread")]
async fn copy_duplicates_content_under_a_new_id() {
    let env = Env::start().await;
    let dir = env.folder("d", None).await;
    let f = env.upload("orig.txt", None, b"copy me").await;
    let (s, c) = env
        .call(
            Method::POST,
            &format!(
                "/drive/v3/files/{}/copy?fields=*",
                f["id"].as_str().unwrap()
            ),
            Some(json!({"name": "copy.txt", "parents": [dir]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_ne!(c["id"], f["id"]);
    assert_eq!(c["name"], "copy.txt");
    assert_eq!(c["parents"], json!([dir]));
    assert_eq!(c["md5Checksum"], md5_hex(b"copy me"));
    let (_, _, body) = env.download(c["id"].as_str().unwrap(), None).await;
    assert_eq!(body, b"copy me");
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_removes_a_folder_subtree_and_empty_trash_purges() {
    let env = Env::start().await;
    let top = env.folder("top", None).await;
    let inner = env.upload("inner", Some(&top), b"i").await;
    let resp = env
        .req(Method::DELETE, &format!("/drive/v3/files/{top}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert!(resp.bytes().await.unwrap().is_empty());
    for id in [top.as_str(), inner["id"].as_str().unwrap()] {
        let (s, v) = env.get_json(&format!("/drive/v3/files/{id}")).await;
        assert_error(s, &v, 404, "notFound");
    }
    let keep = env.upload("keep", None, b"k").await;
    let bin = env.folder("bin", None).await;
    env.upload("deep", Some(&bin), b"d").await;
    env.patch(&bin, "", json!({"trashed": true})).await;
    let (s, _) = env
        .call(Method::DELETE, "/drive/v3/files/trash", None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let snap = env.emu.snapshot();
    assert_eq!(
        snap.files
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>(),
        ["keep"]
    );
    assert_eq!(snap.files[0].id, keep["id"].as_str().unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn generated_ids_are_usable_and_made_up_ids_are_not() {
    let env = Env::start().await;
    let (s, v) = env.get_json("/drive/v3/files/generateIds?count=3").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["kind"], "drive#generatedIds");
    let got: Vec<String> = v["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got.len(), 3);
    let f = env.create(json!({"id": got[0], "name": "pre"})).await;
    assert_eq!(f["id"], got[0].as_str());
    let (s, v) = env
        .call(
            Method::POST,
            "/drive/v3/files",
            Some(json!({"id": "madeUpId12345", "name": "x"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, _) = env
        .call(
            Method::POST,
            "/drive/v3/files",
            Some(json!({"id": got[0], "name": "again"})),
        )
        .await;
    assert!(s.is_client_error());
}

#[tokio::test(flavor = "multi_thread")]
async fn export_converts_docs_and_refuses_binary_files() {
    let env = Env::start().await;
    let doc = env.create(json!({"name": "My Doc", "mimeType": DOC})).await;
    let resp = env
        .get(&format!(
            "/drive/v3/files/{}/export?mimeType=text/plain",
            doc["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert!(resp.text().await.unwrap().contains("My Doc"));
    let (s, v) = env
        .get_json(&format!(
            "/drive/v3/files/{}?alt=media",
            doc["id"].as_str().unwrap()
        ))
        .await;
    assert_error(s, &v, 403, "fileNotDownloadable");
    let bin = env.upload("b.bin", None, b"bin").await;
    let (s, v) = env
        .get_json(&format!(
            "/drive/v3/files/{}/export?mimeType=text/plain",
            bin["id"].as_str().unwrap()
        ))
        .await;
    assert_error(s, &v, 403, "fileNotExportable");
}

#[tokio::test(flavor = "multi_thread")]
async fn about_requires_fields_and_reports_quota_as_strings() {
    let env = Env::start().await;
    let (s, v) = env.get_json("/drive/v3/about").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    env.upload("q", None, b"1234").await;
    let (s, v) = env
        .get_json("/drive/v3/about?fields=user,storageQuota")
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mut keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["storageQuota", "user"]);
    assert!(v["user"]["emailAddress"].is_string());
    assert!(v["storageQuota"]["limit"].is_string());
    assert_eq!(v["storageQuota"]["usage"], "4");
    assert_eq!(v["storageQuota"]["usageInDrive"], "4");
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_json_body_is_a_parse_error_and_changes_nothing() {
    let env = Env::start().await;
    let f = env.upload("keep", None, b"k").await;
    let before = env.emu.snapshot();
    let bad = "{\"name\": \"x\",";
    let (s, _, v) = send(
        env.req(Method::POST, "/drive/v3/files")
            .header("content-type", "application/json")
            .body(bad),
    )
    .await;
    assert_error(s, &v, 400, "parseError");
    let (s, _, v) = send(
        env.req(
            Method::PATCH,
            &format!("/drive/v3/files/{}", f["id"].as_str().unwrap()),
        )
        .header("content-type", "application/json")
        .body(bad),
    )
    .await;
    assert_error(s, &v, 400, "parseError");
    assert_eq!(env.emu.snapshot(), before);
    assert_eq!(
        ids(&env.list("trashed = false").await),
        [f["id"].as_str().unwrap()]
    );
}
