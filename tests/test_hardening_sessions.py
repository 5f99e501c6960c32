"""Issue #14, item 6: server-side sessions that logout and disabling end at once, a command and an API
to disable an account, a `secure_cookies` setting, and staff pages that no other page may frame."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from server.app import create_app
from server.config import load_office
from server.users import add_user
from tests.conftest import ADMIN, ROOT, assert_error
from tests.test_console import login


def _clerk(app: Any, name: str = "clerk01") -> str:
    hub = app.extensions["jiaohao"]
    with hub.lock:
        add_user(hub.store, name, "clerk", "correct horse")
    return name


def _csrf(client: Any) -> str:
    page = client.get("/console").get_data(as_text=True)
    found = re.search(r"var CSRF = \"([^\"]+)\"", page)
    assert found
    return found.group(1)


def _copied_cookie(client: Any) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return str(cookie.value)


def _with_cookie(app: Any, value: str) -> Any:
    other = app.test_client()
    other.set_cookie("session", value)
    return other


def test_a_cookie_copied_before_logout_is_dead_after_it(app: Any, client: Any) -> None:
    _clerk(app)
    login(client)
    copied = _copied_cookie(client)
    assert _with_cookie(app, copied).get("/console/api/state").status_code == 200
    assert client.post("/logout", data={"csrf": _csrf(client)}).status_code == 302
    assert_error(_with_cookie(app, copied).get("/console/api/state"), 401, "not_logged_in")
    assert _with_cookie(app, copied).get("/console").status_code == 302


def test_disabling_an_account_ends_its_sessions_at_once(app: Any, client: Any) -> None:
    _clerk(app)
    login(client)
    assert client.get("/console/api/state").status_code == 200
    r = client.post("/api/v1/users/clerk01/disable", headers=ADMIN)
    assert r.status_code == 200 and r.get_json()["user"] == {"name": "clerk01", "role": "clerk", "active": False}
    assert_error(client.get("/console/api/state"), 401, "not_logged_in")
    assert login(client).status_code == 401  # and it cannot log in again
    assert_error(client.post("/api/v1/users/nobody/disable", headers=ADMIN), 404, "unknown_user")
    assert_error(client.post("/api/v1/users/clerk01/disable", headers={"Authorization": "Bearer demo-kiosk-1-token"}),
                 403)


def test_jiaohao_user_disable_works_beside_a_running_hub(app: Any, client: Any, tmp_path: Path) -> None:
    _clerk(app)
    login(client)
    db = app.extensions["jiaohao"].store.path
    done = subprocess.run([sys.executable, "-m", "server.cli", "user", "disable", "clerk01", "--db", db],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert_error(client.get("/console/api/state"), 401, "not_logged_in")
    missing = subprocess.run([sys.executable, "-m", "server.cli", "user", "disable", "nobody", "--db", db],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and len(missing.stderr.strip().splitlines()) == 1


def test_staff_pages_may_not_be_framed(client: Any) -> None:
    for path in ("/login", "/console"):
        r = client.get(path)
        assert r.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]


def test_secure_cookies_behind_tls(tmp_path: Path) -> None:
    text = (ROOT / "server" / "demo_office.toml").read_text("utf-8").replace("secure_cookies = false",
                                                                             "secure_cookies = true")
    path = tmp_path / "office.toml"
    path.write_text(text, "utf-8")
    office = load_office(str(path))
    assert office.secure_cookies
    app = create_app(office, tmp_path / "hub.db")
    try:
        _clerk(app)
        client = app.test_client()
        r = login(client)
        assert "Secure" in r.headers["Set-Cookie"] and "HttpOnly" in r.headers["Set-Cookie"]
    finally:
        app.extensions["jiaohao"].store.close()
    assert not load_office(None).secure_cookies
