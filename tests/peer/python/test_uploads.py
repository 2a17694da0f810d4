"""Resumable uploads with the python client's next_chunk() loop, faults injected mid-way,
and the same dance on the wire with requests."""

import hashlib
import http.client
import io
import random

import google_auth_httplib2
import httplib2
import pytest
import requests
from googleapiclient.errors import HttpError
from googleapiclient.http import MediaIoBaseUpload

KIB256 = 256 * 1024


def payload(n, seed):
    return random.Random(seed).randbytes(n)


def short_http(creds):
    """The client's own authorized transport, with a short socket timeout so that a
    hung connection fails the test quickly instead of after 60 s. Like the client's
    own build_http(), it does not treat 308 (resumable upload progress) as a redirect.
    When a connection is cut mid-chunk, httplib2 silently retries the request on a new
    connection with the chunk's body stream already consumed; the server (Google's too)
    then waits for the declared bytes, so that retry ends only by this timeout."""
    h = httplib2.Http(timeout=5)
    h.redirect_codes = h.redirect_codes - {308}
    return google_auth_httplib2.AuthorizedHttp(creds, http=h)


def finish(req, http, limit=30):
    resp, n = None, 0
    while resp is None:
        n += 1
        assert n <= limit, "upload does not finish"
        _, resp = req.next_chunk(http=http)
    return resp


def test_resumable_create_503_then_resume_and_update(drive, creds, fresh):
    h = short_http(creds)
    data = payload(1_100_000, 1)
    media = MediaIoBaseUpload(io.BytesIO(data), mimetype="application/octet-stream", chunksize=KIB256, resumable=True)
    req = drive.files().create(body={"name": "big.bin"}, media_body=media, fields="id,md5Checksum,size,version")

    status, resp = req.next_chunk(http=h)  # session init + first chunk
    assert resp is None
    assert status.resumable_progress == KIB256
    assert req.resumable_uri.startswith("http://127.0.0.1"), req.resumable_uri

    fresh.fault(method="*", path="/upload/*", count=1, status=503, reason="backendError")
    with pytest.raises(HttpError) as ei:
        req.next_chunk(http=h)
    assert ei.value.resp.status == 503
    assert b"backendError" in ei.value.content

    # The client is now in its error state: the next call sends the status query
    # (PUT, Content-Range: bytes */N) and resumes from the Range the server reports.
    f = finish(req, h)
    assert f["md5Checksum"] == hashlib.md5(data).hexdigest()
    assert f["size"] == str(len(data))

    # Resumable update of the same file.
    new = payload(700_000, 2)
    media2 = MediaIoBaseUpload(io.BytesIO(new), mimetype="application/octet-stream", chunksize=KIB256, resumable=True)
    req2 = drive.files().update(fileId=f["id"], media_body=media2, fields="id,md5Checksum,size,version")
    g = finish(req2, h)
    assert g["id"] == f["id"]
    assert g["md5Checksum"] == hashlib.md5(new).hexdigest()
    assert g["size"] == str(len(new))
    assert int(g["version"]) > int(f["version"])
    assert drive.files().get_media(fileId=f["id"]).execute() == new


def test_resumable_create_connection_cut_then_resume(drive, creds, fresh):
    h = short_http(creds)
    data = payload(1_100_000, 3)
    media = MediaIoBaseUpload(io.BytesIO(data), mimetype="application/octet-stream", chunksize=2 * KIB256, resumable=True)
    req = drive.files().create(body={"name": "cut.bin"}, media_body=media, fields="id,md5Checksum,size")

    status, resp = req.next_chunk(http=h)
    assert resp is None and status.resumable_progress == 2 * KIB256

    fresh.fault(method="*", path="/upload/*", count=1, reset_after_bytes=300000)
    with pytest.raises((OSError, httplib2.HttpLib2Error, http.client.HTTPException)):
        req.next_chunk(http=h)

    f = finish(req, h)
    assert f["md5Checksum"] == hashlib.md5(data).hexdigest()
    assert f["size"] == str(len(data))
    assert drive.files().get_media(fileId=f["id"]).execute() == data


def _init_session(base_url, bearer, name, n):
    r = requests.post(
        f"{base_url}/upload/drive/v3/files",
        params={"uploadType": "resumable", "fields": "id,md5Checksum,size", "alt": "json"},
        headers={**bearer, "Content-Type": "application/json; charset=UTF-8",
                 "X-Upload-Content-Type": "application/octet-stream", "X-Upload-Content-Length": str(n)},
        json={"name": name},
        timeout=30,
    )
    assert r.status_code == 200, f"session init must answer exactly 200: {r.status_code} {r.text}"
    loc = r.headers.get("Location")
    assert loc and loc.startswith("http://"), f"Location must be absolute: {loc!r}"
    return loc


def test_wire_cut_chunk_keeps_aligned_prefix(base_url, bearer, fresh):
    n = 1_100_000
    data = payload(n, 4)
    loc = _init_session(base_url, bearer, "wire.bin", n)

    r = requests.put(loc, data=data[:KIB256], headers={"Content-Range": f"bytes 0-{KIB256 - 1}/{n}"}, timeout=30)
    assert r.status_code == 308, r.text
    assert r.headers.get("Range") == f"bytes=0-{KIB256 - 1}"

    fresh.fault(method="PUT", path="/upload/*", count=1, reset_after_bytes=300000)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.put(loc, data=data[KIB256:3 * KIB256],
                     headers={"Content-Range": f"bytes {KIB256}-{3 * KIB256 - 1}/{n}"}, timeout=20)

    # Status query: 300000 bytes of that chunk arrived, the 256 KiB-aligned part is kept.
    r = requests.put(loc, data=b"", headers={"Content-Range": f"bytes */{n}", "Content-Length": "0"}, timeout=30)
    assert r.status_code == 308, r.text
    assert r.headers.get("Range") == f"bytes=0-{2 * KIB256 - 1}"

    # Finish without Authorization (the upload id is the credential).
    r = requests.put(loc, data=data[2 * KIB256:], headers={"Content-Range": f"bytes {2 * KIB256}-{n - 1}/{n}"}, timeout=30)
    assert r.status_code in (200, 201), r.text
    f = r.json()
    assert f["md5Checksum"] == hashlib.md5(data).hexdigest()
    assert f["size"] == str(n)

    # Status query on a finished session: 200/201 + the file.
    r = requests.put(loc, data=b"", headers={"Content-Range": f"bytes */{n}", "Content-Length": "0"}, timeout=30)
    assert r.status_code in (200, 201), r.text
    assert r.json()["id"] == f["id"]


def test_wire_empty_file_resumable(base_url, bearer, fresh):
    loc = _init_session(base_url, bearer, "empty.bin", 0)
    r = requests.put(loc, data=b"", headers={"Content-Length": "0"}, timeout=30)
    assert r.status_code in (200, 201), r.text
    f = r.json()
    assert f["size"] == "0"
    assert f["md5Checksum"] == hashlib.md5(b"").hexdigest()


def test_wire_expired_upload_session_404(base_url, bearer, fresh):
    n = 600_000
    loc = _init_session(base_url, bearer, "expiring.bin", n)
    r = requests.put(loc, data=b"\0" * KIB256, headers={"Content-Range": f"bytes 0-{KIB256 - 1}/{n}"}, timeout=30)
    assert r.status_code == 308, r.text
    fresh.post("expire-upload-sessions")
    r = requests.put(loc, data=b"", headers={"Content-Range": f"bytes */{n}", "Content-Length": "0"}, timeout=30)
    assert r.status_code == 404, f"an expired session must answer 404 (restart the upload): {r.status_code} {r.text}"


def test_wire_post_chunks_and_resumable_alias(base_url, bearer, fresh):
    """rclone POSTs chunks to the session URI; google-drive3 starts sessions at
    /resumable/upload/drive/v3/files and sends chunks without Authorization."""
    n = KIB256 + 1000
    data = payload(n, 5)
    r = requests.post(
        f"{base_url}/resumable/upload/drive/v3/files",
        params={"uploadType": "resumable", "alt": "json"},
        headers={**bearer, "Content-Type": "application/json",
                 "X-Upload-Content-Type": "application/octet-stream", "X-Upload-Content-Length": str(n)},
        json={"name": "alias.bin"},
        timeout=30,
    )
    assert r.status_code == 200, f"{r.status_code} {r.text}"
    loc = r.headers["Location"]
    assert loc.startswith("http://")
    r = requests.post(loc, data=data[:KIB256], headers={"Content-Range": f"bytes 0-{KIB256 - 1}/{n}"}, timeout=30)
    assert r.status_code == 308 and r.headers.get("Range") == f"bytes=0-{KIB256 - 1}", (r.status_code, r.text)
    r = requests.post(loc, data=data[KIB256:], headers={"Content-Range": f"bytes {KIB256}-{n - 1}/{n}"}, timeout=30)
    assert r.status_code in (200, 201), r.text
    fid = r.json()["id"]
    g = requests.get(f"{base_url}/drive/v3/files/{fid}", params={"fields": "md5Checksum,size,name"},
                     headers=bearer, timeout=30).json()
    assert g == {"md5Checksum": hashlib.md5(data).hexdigest(), "size": str(n), "name": "alias.bin"}
