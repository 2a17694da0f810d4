"""OAuth 2.0 through google-auth and google-auth-oauthlib, plus the wire shapes."""

import base64
import hashlib
import secrets
import threading
import urllib.parse
import webbrowser

import pytest
import requests
from google.auth.exceptions import RefreshError
from google.auth.transport.requests import Request
from google_auth_oauthlib.flow import InstalledAppFlow

from conftest import CLIENT_ID, CLIENT_SECRET, DRIVE_SCOPE, build_drive, make_creds


def test_expired_access_token_401_then_client_refreshes(drive, creds, base_url, fresh):
    drive.files().list(fields="files(id)").execute()
    old = creds.token
    assert old

    fresh.post("expire-tokens")
    r = requests.get(f"{base_url}/drive/v3/files", params={"fields": "files(id)", "alt": "json"},
                     headers={"Authorization": f"Bearer {old}"}, timeout=30)
    assert r.status_code == 401, r.text
    assert r.json()["error"]["errors"][0]["reason"] == "authError", r.text

    # The client sees the 401, refreshes once through /token, replays the call.
    out = drive.files().list(fields="files(id)").execute()
    assert out == {"files": []}
    assert creds.token and creds.token != old


def _pkce():
    verifier = secrets.token_urlsafe(64)[:96]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def _auth_params(redirect_uri, state, challenge):
    return {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": redirect_uri,
            "scope": DRIVE_SCOPE, "state": state, "code_challenge": challenge,
            "code_challenge_method": "S256", "access_type": "offline", "prompt": "consent"}


def test_installed_app_flow_run_local_server(base_url, fresh, monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    seen = {}

    class ThreadBrowser:
        """'The browser': GETs the auth URL and follows the redirect to the local server."""

        def open(self, url, new=0, autoraise=True):
            seen["url"] = url

            def go():
                try:
                    seen["resp"] = requests.get(url, timeout=30)
                except Exception as e:  # reported below
                    seen["err"] = e

            t = threading.Thread(target=go, daemon=True)
            t.start()
            seen["thread"] = t
            return True

        open_new = open_new_tab = open

    monkeypatch.setattr(webbrowser, "get", lambda using=None: ThreadBrowser())
    monkeypatch.setattr(webbrowser, "open", lambda url, *a, **k: ThreadBrowser().open(url))

    flow = InstalledAppFlow.from_client_config(
        {"installed": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                       "auth_uri": f"{base_url}/auth", "token_uri": f"{base_url}/token",
                       "redirect_uris": ["http://127.0.0.1"]}},
        scopes=[DRIVE_SCOPE],
        autogenerate_code_verifier=True,
    )
    creds = flow.run_local_server(host="127.0.0.1", port=0, open_browser=True, timeout_seconds=30,
                                  authorization_prompt_message=None)
    seen["thread"].join(timeout=30)
    assert "err" not in seen, seen.get("err")
    assert seen["resp"].status_code == 200  # the local server's success page

    q = urllib.parse.parse_qs(urllib.parse.urlparse(seen["url"]).query)
    assert q["code_challenge_method"] == ["S256"], "PKCE was not used"
    assert len(q["code_challenge"][0]) == 43
    assert q["redirect_uri"][0].startswith("http://127.0.0.1:")

    assert creds.token
    assert creds.refresh_token, "no refresh_token returned for access_type=offline"
    drive = build_drive(base_url, creds)
    assert "files" in drive.files().list(pageSize=5, fields="files(id,name)").execute()


def test_wire_auth_code_pkce_and_refresh(base_url, fresh):
    verifier, challenge = _pkce()
    redirect = "http://127.0.0.1:9/"
    r = requests.get(f"{base_url}/auth", params=_auth_params(redirect, "s-1", challenge),
                     allow_redirects=False, timeout=30)
    # Google answers 302; the exact code is checked in test_consent_denied.
    assert r.status_code in (302, 303), r.text
    loc = r.headers["Location"]
    assert loc.startswith(redirect)
    q = urllib.parse.parse_qs(urllib.parse.urlparse(loc).query)
    assert q["state"] == ["s-1"]
    code = q["code"][0]

    token_url = f"{base_url}/token"
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect}
    bad = requests.post(token_url, data={**form, "code_verifier": "x" * 60, "client_id": CLIENT_ID,
                                         "client_secret": CLIENT_SECRET}, timeout=30)
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant", bad.text

    # Fresh code; client credentials in HTTP Basic this time.
    r = requests.get(f"{base_url}/auth", params=_auth_params(redirect, "s-2", challenge),
                     allow_redirects=False, timeout=30)
    code = urllib.parse.parse_qs(urllib.parse.urlparse(r.headers["Location"]).query)["code"][0]
    good = requests.post(token_url, data={**form, "code": code, "code_verifier": verifier},
                         auth=(CLIENT_ID, CLIENT_SECRET), timeout=30)
    assert good.status_code == 200, good.text
    tok = good.json()
    assert tok["token_type"] == "Bearer" and tok["access_token"] and tok["refresh_token"]
    assert isinstance(tok["expires_in"], int) and tok["expires_in"] > 0

    reused = requests.post(token_url, data={**form, "code": code, "code_verifier": verifier,
                                            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}, timeout=30)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant", reused.text

    ref = requests.post(token_url, data={"grant_type": "refresh_token", "refresh_token": tok["refresh_token"],
                                         "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}, timeout=30)
    assert ref.status_code == 200, ref.text
    rj = ref.json()
    assert rj["access_token"] and rj["token_type"] == "Bearer" and rj["expires_in"] > 0
    assert rj.get("refresh_token") in (None, tok["refresh_token"]), "Google does not rotate refresh tokens"


def test_invalid_grant_after_revoke_endpoint(base_url, fresh):
    tok = fresh.mint()
    r = requests.post(f"{base_url}/revoke", params={"token": tok["refresh_token"]}, timeout=30)
    assert r.status_code == 200, r.text
    c = make_creds(base_url, tok["refresh_token"])
    with pytest.raises(RefreshError) as ei:
        c.refresh(Request())
    assert "invalid_grant" in str(ei.value)


def test_invalid_grant_after_control_revoke(base_url, fresh):
    tok = fresh.mint()
    c = make_creds(base_url, tok["refresh_token"])
    c.refresh(Request())  # works before
    fresh.post("revoke-refresh-tokens")
    with pytest.raises(RefreshError) as ei:
        c.refresh(Request())
    assert "invalid_grant" in str(ei.value)
    raw = requests.post(f"{base_url}/token", data={"grant_type": "refresh_token", "refresh_token": tok["refresh_token"],
                                                   "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}, timeout=30)
    assert raw.status_code == 400 and raw.json()["error"] == "invalid_grant", raw.text


def test_consent_denied(base_url, fresh):
    fresh.post("consent", {"mode": "deny"})
    _, challenge = _pkce()
    redirect = "http://127.0.0.1:9/"
    r = requests.get(f"{base_url}/auth", params=_auth_params(redirect, "st-deny", challenge),
                     allow_redirects=False, timeout=30)
    assert r.status_code == 302, r.text
    loc = r.headers["Location"]
    assert loc.startswith(redirect)
    q = urllib.parse.parse_qs(urllib.parse.urlparse(loc).query)
    assert q.get("error") == ["access_denied"], loc
    assert q.get("state") == ["st-deny"], loc
    assert "code" not in q

    fresh.post("consent", {"mode": "approve"})
    r = requests.get(f"{base_url}/auth", params=_auth_params(redirect, "st-ok", challenge),
                     allow_redirects=False, timeout=30)
    assert r.status_code == 302, r.text
    q = urllib.parse.parse_qs(urllib.parse.urlparse(r.headers["Location"]).query)
    assert "code" in q and q["state"] == ["st-ok"]
