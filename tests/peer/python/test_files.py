"""files.* through google-api-python-client: list paging, multipart create, get, delete."""

import hashlib
import io
import json
import re

import pytest
import requests
from googleapiclient.errors import HttpError
from googleapiclient.http import MediaIoBaseUpload

FOLDER = "application/vnd.google-apps.folder"


def error_reason(err: HttpError):
    body = json.loads(err.content.decode("utf-8"))
    return body["error"]["errors"][0]["reason"], body


def test_list_paging_and_fields(drive):
    folder = drive.files().create(body={"name": "paging", "mimeType": FOLDER}, fields="id").execute()
    fid = folder["id"]
    created = set()
    for i in range(7):
        f = drive.files().create(
            body={"name": f"file-{i}.txt", "parents": [fid]},
            media_body=MediaIoBaseUpload(io.BytesIO(b"x" * i), mimetype="text/plain", resumable=False),
            fields="id",
        ).execute()
        created.add(f["id"])
    assert len(created) == 7

    q = f"'{fid}' in parents and trashed = false"
    fields = "nextPageToken, files(id,name)"

    # Manual nextPageToken loop.
    ids, pages, token = [], 0, None
    while True:
        kw = dict(q=q, pageSize=3, fields=fields)
        if token:
            kw["pageToken"] = token
        resp = drive.files().list(**kw).execute()
        pages += 1
        assert set(resp) <= {"nextPageToken", "files"}, f"fields not applied at top level: {sorted(resp)}"
        assert len(resp["files"]) <= 3
        for f in resp["files"]:
            assert set(f) == {"id", "name"}, f"fields not applied to files: {f}"
            ids.append(f["id"])
        token = resp.get("nextPageToken")
        if not token:
            break
        assert pages < 10, "paging does not terminate"
    assert pages == 3
    assert len(ids) == 7 and set(ids) == created

    # The client's list_next helper.
    ids2 = []
    req = drive.files().list(q=q, pageSize=3, fields=fields)
    while req is not None:
        resp = req.execute()
        ids2 += [f["id"] for f in resp["files"]]
        req = drive.files().list_next(req, resp)
    assert sorted(ids2) == sorted(ids)


def test_multipart_create_md5_and_size_string(drive, base_url, bearer, fresh):
    data = b"multipart body\n\x00\x01\xff" * 1000 + b"\r\n--not-a-boundary\r\n"
    f = drive.files().create(
        body={"name": "a/b: weird name.bin"},
        media_body=MediaIoBaseUpload(io.BytesIO(data), mimetype="application/octet-stream", resumable=False),
        fields="id,name,md5Checksum,size,mimeType",
    ).execute()
    assert f["name"] == "a/b: weird name.bin"
    assert f["md5Checksum"] == hashlib.md5(data).hexdigest()
    assert f["size"] == str(len(data)) and isinstance(f["size"], str)
    assert f["mimeType"] == "application/octet-stream"

    # Raw JSON: int64 fields are strings.
    r = requests.get(
        f"{base_url}/drive/v3/files/{f['id']}",
        params={"fields": "size,version,md5Checksum", "alt": "json"},
        headers=bearer,
        timeout=30,
    )
    assert r.status_code == 200, r.text
    assert re.search(r'"size"\s*:\s*"', r.text), f"size is not a JSON string: {r.text}"
    raw = r.json()
    assert raw["size"] == str(len(data))
    assert isinstance(raw["version"], str)

    snap = {x["id"]: x for x in fresh.snapshot()["files"]}
    assert snap[f["id"]]["md5Checksum"] == hashlib.md5(data).hexdigest()

    # Content round-trips.
    assert drive.files().get_media(fileId=f["id"]).execute() == data


def test_get_root_alias(drive):
    root = drive.files().get(fileId="root", fields="id").execute()
    assert set(root) == {"id"} and root["id"] and root["id"] != "root"
    f = drive.files().create(body={"name": "in-root"}, fields="id,parents").execute()
    assert f["parents"] == [root["id"]]


def test_rename_and_move(drive):
    a = drive.files().create(body={"name": "A", "mimeType": FOLDER}, fields="id").execute()["id"]
    b = drive.files().create(body={"name": "B", "mimeType": FOLDER}, fields="id").execute()["id"]
    f = drive.files().create(body={"name": "f.txt", "parents": [a]}, fields="id,version").execute()
    moved = drive.files().update(
        fileId=f["id"], addParents=b, removeParents=a, body={"name": "g.txt"}, fields="id,name,parents,version"
    ).execute()
    assert moved["name"] == "g.txt"
    assert moved["parents"] == [b]
    assert int(moved["version"]) > int(f["version"])
    in_a = drive.files().list(q=f"'{a}' in parents and trashed = false", fields="files(id)").execute()
    assert in_a["files"] == []


def test_about(drive):
    about = drive.about().get(fields="user,storageQuota").execute()
    assert set(about) <= {"user", "storageQuota"}
    assert about["user"]["emailAddress"] == "user@example.com"
    assert about["user"]["displayName"] == "Emulator User"
    assert isinstance(about["storageQuota"]["usage"], str)
    int(about["storageQuota"]["usage"])


def test_delete_then_get_404(drive, base_url, bearer):
    f = drive.files().create(body={"name": "doomed.txt"}, fields="id").execute()
    assert drive.files().delete(fileId=f["id"]).execute() == ""
    with pytest.raises(HttpError) as ei:
        drive.files().get(fileId=f["id"]).execute()
    assert ei.value.resp.status == 404
    reason, body = error_reason(ei.value)
    assert reason == "notFound"
    assert body["error"]["code"] == 404
    assert body["error"]["errors"][0]["domain"] == "global"

    # DELETE on the wire answers 204 with an empty body.
    g = drive.files().create(body={"name": "doomed2.txt"}, fields="id").execute()
    r = requests.delete(f"{base_url}/drive/v3/files/{g['id']}", headers=bearer, timeout=30)
    assert r.status_code == 204 and r.content == b""


def test_trash_and_empty_trash(drive):
    f = drive.files().create(body={"name": "t.txt"}, fields="id").execute()
    t = drive.files().update(fileId=f["id"], body={"trashed": True}, fields="trashed").execute()
    assert t["trashed"] is True
    listed = drive.files().list(q="trashed = false", fields="files(id)").execute()["files"]
    assert f["id"] not in [x["id"] for x in listed]
    drive.files().emptyTrash().execute()
    with pytest.raises(HttpError) as ei:
        drive.files().get(fileId=f["id"]).execute()
    assert ei.value.resp.status == 404


def test_client_retries_rate_limit_and_5xx(drive, fresh):
    drive.files().create(body={"name": "one"}, fields="id").execute()
    # The python client retries 403 whose reason is (user)rateLimitExceeded, 429 and 5xx.
    fresh.fault(method="GET", path="/drive/v3/files", count=1, status=403, reason="userRateLimitExceeded")
    fresh.fault(method="GET", path="/drive/v3/files", count=1, status=429, reason="rateLimitExceeded")
    fresh.fault(method="GET", path="/drive/v3/files", count=1, status=500, reason="backendError")
    out = drive.files().list(fields="files(name)").execute(num_retries=4)
    assert out == {"files": [{"name": "one"}]}

    # A 403 with another reason is not retried: the caller sees it.
    fresh.fault(method="GET", path="/drive/v3/files", count=1, status=403, reason="insufficientFilePermissions")
    with pytest.raises(HttpError) as ei:
        drive.files().list(fields="files(name)").execute(num_retries=4)
    assert ei.value.resp.status == 403
    assert error_reason(ei.value)[0] == "insufficientFilePermissions"
