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


def _console_socket(hub_url: str, name: str) -> tuple[Any, Any, Any]:
    """A clerk logged in over HTTP, and a real python-socketio client on that login's cookie, as the console."""
    import threading

    import requests
    import socketio

    r = requests.post(f"{hub_url}/api/v1/users", json={"name": name, "role": "clerk", "password": "correct horse"},
                      headers=ADMIN, timeout=10)
    assert r.status_code == 201, r.text
    http = requests.Session()
    page = http.get(f"{hub_url}/login", timeout=10).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf
    r = http.post(f"{hub_url}/login", data={"csrf": csrf.group(1), "name": name, "password": "correct horse",
                                            "counter": "3"}, timeout=10, allow_redirects=False)
    assert r.status_code == 302, r.text
    cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
    sio = socketio.Client(reconnection=False)
    gone = threading.Event()
    sio.on("disconnect", lambda *a: gone.set())
    sio.connect(hub_url, headers={"Cookie": cookie}, transports=["websocket"], wait_timeout=10)
    return http, sio, gone


def test_an_open_console_socket_closes_when_its_session_ends(hub_process: Any) -> None:
    """Issue #14's gap: disabling an account (API or `jiaohao user disable` in another process) or logging
    out closes the console sockets opened with those sessions, not only their next action."""
    import requests

    url = hub_process.url
    _, by_api, gone_api = _console_socket(url, "clerk-api")
    other_http, other, other_gone = _console_socket(url, "clerk-other")
    try:
        assert requests.post(f"{url}/api/v1/users/clerk-api/disable", headers=ADMIN, timeout=10).status_code == 200
        assert gone_api.wait(10), "the disabled clerk's console socket stayed open"
        assert other.connected and not other_gone.is_set()  # another clerk's console is not touched
    finally:
        by_api.disconnect()

    http, by_logout, gone_logout = _console_socket(url, "clerk-out")
    try:
        page = http.get(f"{url}/console", timeout=10).text
        csrf = re.search(r"var CSRF = \"([^\"]+)\"", page)
        assert csrf
        assert http.post(f"{url}/logout", data={"csrf": csrf.group(1)}, timeout=10,
                         allow_redirects=False).status_code == 302
        assert gone_logout.wait(10), "the socket of a logged-out console stayed open"
    finally:
        by_logout.disconnect()

    try:
        done = subprocess.run([sys.executable, "-m", "server.cli", "user", "disable", "clerk-other", "--db",
                               str(hub_process.db)], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        # Another process changed the database: the hub finds it at its next tick (every few seconds).
        assert other_gone.wait(30), "a console disabled from the command line stayed open"
    finally:
        other.disconnect()
        other_http.close()
