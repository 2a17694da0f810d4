"""Peer tests: unmodified Google clients (google-api-python-client, google-auth,
google-auth-oauthlib) against drive-emulator.

A session fixture starts the emulator binary (env EMULATOR_BIN, default
<repo>/target/debug/drive-emulator) with `--port 0 --data-dir <tmp>` and reads its
base URL from the first stdout line.  Set EMULATOR_URL instead to test an emulator
that is already running.
"""

import os
import queue
import shutil
import subprocess
import tempfile
import threading

import pytest
import requests

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
DEFAULT_BIN = os.path.join(REPO, "target", "debug", "drive-emulator")

CLIENT_ID = "drivesync-emulator.apps.googleusercontent.com"
CLIENT_SECRET = "emulator-secret"
DRIVE_SCOPE = "https://www.googleapis.com/auth/drive"
STARTUP_TIMEOUT = 30


def _drain(stream, sink):
    for line in iter(stream.readline, b""):
        sink.write(line)
        sink.flush()


@pytest.fixture(scope="session")
def base_url():
    url = os.environ.get("EMULATOR_URL")
    if url:
        yield url.rstrip("/")
        return
    binary = os.environ.get("EMULATOR_BIN", DEFAULT_BIN)
    if not os.path.isfile(binary):
        pytest.exit(f"emulator binary not found: {binary} (set EMULATOR_BIN)", returncode=2)
    data_dir = tempfile.mkdtemp(prefix="drive-emulator-peer-")
    # The emulator's stderr (and any stdout after the first line); kept after the run.
    log_path = os.path.join(tempfile.gettempdir(), "drive-emulator-peer-python.log")
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [binary, "--port", "0", "--data-dir", os.path.join(data_dir, "data")],
        stdout=subprocess.PIPE,
        stderr=log,
        stdin=subprocess.DEVNULL,
    )
    first = queue.Queue()

    def read_first():
        first.put(proc.stdout.readline())
        _drain(proc.stdout, log)

    threading.Thread(target=read_first, daemon=True).start()
    try:
        line = first.get(timeout=STARTUP_TIMEOUT)
    except queue.Empty:
        line = b""
    url = line.decode("utf-8", "replace").strip()
    if not url.startswith("http://"):
        proc.kill()
        proc.wait()
        log.close()
        with open(log_path, "rb") as f:
            tail = f.read()[-2000:].decode("utf-8", "replace")
        pytest.exit(f"emulator did not print its base URL (got {line!r}); stderr:\n{tail}", returncode=2)
    try:
        yield url.rstrip("/")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(data_dir, ignore_errors=True)


class Control:
    """The emulator's /__emulator control API (JSON, no auth)."""

    def __init__(self, base):
        self.base = base

    def post(self, path, body=None):
        r = requests.post(f"{self.base}/__emulator/{path}", json={} if body is None else body, timeout=30)
        assert r.status_code < 300, f"control POST {path}: {r.status_code} {r.text}"
        return r.json() if r.content and r.headers.get("content-type", "").startswith("application/json") else None

    def mint(self, **body):
        tok = self.post("tokens", body)
        assert tok and tok.get("access_token") and tok.get("refresh_token"), tok
        return tok

    def fault(self, **spec):
        full = {"method": "*", "path": "*", "count": 1, "status": None, "reason": None,
                "retry_after": None, "reset_after_bytes": None, "delay_ms": None,
                "query_contains": None}
        full.update(spec)
        return self.post("faults", full)

    def clear_faults(self):
        r = requests.delete(f"{self.base}/__emulator/faults", timeout=30)
        assert r.status_code < 300, r.text

    def snapshot(self):
        r = requests.get(f"{self.base}/__emulator/snapshot", timeout=30)
        assert r.status_code == 200, r.text
        return r.json()

    def reset(self):
        self.post("reset")


@pytest.fixture(scope="session")
def control(base_url):
    return Control(base_url)


@pytest.fixture
def fresh(control):
    """An empty drive, no faults, no latency, consent approved."""
    control.clear_faults()
    control.post("latency", {"ms": 0})
    control.post("consent", {"mode": "approve"})
    control.reset()
    yield control
    control.clear_faults()
    control.post("consent", {"mode": "approve"})


def make_creds(base_url, refresh_token):
    from google.oauth2.credentials import Credentials

    return Credentials(
        token=None,
        refresh_token=refresh_token,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        token_uri=f"{base_url}/token",
    )


def build_drive(base_url, creds):
    from googleapiclient.discovery import build

    return build(
        "drive",
        "v3",
        credentials=creds,
        static_discovery=False,
        cache_discovery=False,
        discoveryServiceUrl=f"{base_url}/discovery/v1/apis/{{api}}/{{apiVersion}}/rest",
    )


@pytest.fixture
def creds(base_url, fresh):
    tok = fresh.mint()
    return make_creds(base_url, tok["refresh_token"])


@pytest.fixture
def drive(base_url, creds):
    return build_drive(base_url, creds)


@pytest.fixture
def bearer(creds):
    """Authorization header for raw requests (refreshes creds through the emulator)."""
    from google.auth.transport.requests import Request

    if not creds.valid:
        creds.refresh(Request())
    return {"Authorization": f"Bearer {creds.token}"}
