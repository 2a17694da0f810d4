"""Ranged downloads: MediaIoBaseDownload (Range: bytes=a-b per chunk) and raw Range edge cases."""

import io
import random

import requests
from googleapiclient.http import MediaIoBaseDownload, MediaIoBaseUpload


def upload(drive, name, data):
    return drive.files().create(
        body={"name": name},
        media_body=MediaIoBaseUpload(io.BytesIO(data), mimetype="application/octet-stream", resumable=False),
        fields="id,size",
    ).execute()


def test_chunked_download(drive):
    data = random.Random(7).randbytes(350_000)
    f = upload(drive, "dl.bin", data)
    out = io.BytesIO()
    dl = MediaIoBaseDownload(out, drive.files().get_media(fileId=f["id"]), chunksize=100_000)
    done, calls, last = False, 0, 0
    while not done:
        status, done = dl.next_chunk()
        calls += 1
        assert calls <= 10
        assert status.total_size == len(data)
        assert status.resumable_progress > last
        last = status.resumable_progress
    assert calls == 4
    assert out.getvalue() == data


def test_range_past_eof_is_clamped(drive, base_url, bearer):
    n = 350_000
    data = random.Random(8).randbytes(n)
    f = upload(drive, "clamp.bin", data)
    url = f"{base_url}/drive/v3/files/{f['id']}"
    r = requests.get(url, params={"alt": "media"}, headers={**bearer, "Range": "bytes=300000-999999"}, timeout=30)
    assert r.status_code == 206, r.text
    assert r.headers.get("Content-Range") == f"bytes 300000-{n - 1}/{n}"
    assert r.content == data[300000:]

    r = requests.get(url, params={"alt": "media"}, headers={**bearer, "Range": "bytes=0-99"}, timeout=30)
    assert r.status_code == 206
    assert r.headers.get("Content-Range") == f"bytes 0-99/{n}"
    assert r.content == data[:100]

    # No Range (rclone): 200 with the whole body, also when gzip is accepted.
    r = requests.get(url, params={"alt": "media"}, headers={**bearer, "Accept-Encoding": "gzip"}, timeout=30)
    assert r.status_code == 200
    assert r.content == data


def test_empty_file_range_416(drive, base_url, bearer):
    f = upload(drive, "empty.bin", b"")
    assert f["size"] == "0"
    r = requests.get(f"{base_url}/drive/v3/files/{f['id']}", params={"alt": "media"},
                     headers={**bearer, "Range": "bytes=0-99"}, timeout=30)
    assert r.status_code == 416, f"{r.status_code} {r.headers} {r.text}"
    assert r.headers.get("Content-Range") == "bytes */0"


def test_download_cut_mid_body_then_resume(drive, fresh):
    import http.client

    import httplib2

    data = random.Random(9).randbytes(350_000)
    f = upload(drive, "cut-dl.bin", data)
    out = io.BytesIO()
    dl = MediaIoBaseDownload(out, drive.files().get_media(fileId=f["id"]), chunksize=100_000)
    status, done = dl.next_chunk()
    assert status.resumable_progress == 100_000 and not done

    # The next ranged GET has its response cut after 50,000 body bytes. Depending on
    # timing the client sees an IncompleteRead/reset (raised: call again) or a
    # connection dropped before the status line (httplib2 silently reconnects).
    fresh.fault(method="GET", path="/drive/v3/files/*", query_contains="alt=media", count=1,
                reset_after_bytes=50_000)
    calls = errors = 0
    while not done:
        calls += 1
        assert calls <= 12
        try:
            _, done = dl.next_chunk()
        except (OSError, httplib2.HttpLib2Error, http.client.HTTPException):
            errors += 1
            assert errors <= 2
    assert out.getvalue() == data
