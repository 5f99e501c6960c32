"""Staff accounts, login and the counter console: the clerk's actions are recorded against clerk and counter."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import KIOSK, ROOT, assert_error

from server.users import add_user


@pytest.fixture
def clerk(app):
    hub = app.extensions["jiaohao"]
    with hub.lock:
        add_user(hub.store, "clerk01", "clerk", "correct horse")
    return "clerk01"


def csrf_of(client, path="/login") -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def login(client, name="clerk01", password="correct horse", counter="3"):
    return client.post("/login", data={"csrf": csrf_of(client), "name": name, "password": password,
                                       "counter": counter})


def test_login_then_call_next_is_recorded_against_clerk_and_counter(app, client, clerk):
    t = client.post("/api/v1/tickets", json={"service": "general"}, headers=KIOSK).get_json()["ticket"]
    r = login(client)
    assert r.status_code == 302 and r.headers["Location"].endswith("/console")
    page = client.get("/console").get_data(as_text=True)
    assert "3號綜合櫃台" in page and "clerk01" in page
    token = re.search(r"var CSRF = \"([^\"]+)\"", page).group(1)
    r = client.post("/console/api/next", headers={"X-CSRF-Token": token}, json={})
    assert r.status_code == 200 and r.get_json()["ticket"]["id"] == t["id"]
    events = app.extensions["jiaohao"].store.events()
    called = [e for e in events if e["kind"] == "called"]
    assert called[-1]["actor"] == "user:clerk01" and called[-1]["counter"] == "3"
    assert [e["kind"] for e in events if e["actor"] == "user:clerk01"][:1] == ["login"]


def test_console_actions_need_the_csrf_token(client, clerk):
    login(client)
    assert_error(client.post("/console/api/next", json={}), 403, "csrf_failed")
    assert_error(client.post("/console/api/next", headers={"X-CSRF-Token": "forged"}, json={}), 403, "csrf_failed")


def test_login_form_needs_the_csrf_token(client, clerk):
    r = client.post("/login", data={"csrf": "nope", "name": "clerk01", "password": "correct horse", "counter": "3"})
    assert_error(r, 403, "csrf_failed")


def test_wrong_password_and_rate_limited_logins(client, clerk):
    for _ in range(5):
        r = login(client, password="wrong one")
        assert r.status_code == 401 and "帳號或密碼錯誤" in r.get_data(as_text=True)
    r = login(client)  # even the right password waits now
    assert r.status_code == 429 and "Too many failed logins" in r.get_data(as_text=True)


def test_console_without_login_redirects_and_api_is_401(client):
    assert client.get("/console").headers["Location"].endswith("/login")
    assert_error(client.get("/console/api/state"), 401, "not_logged_in")


def test_logout_ends_the_session(client, clerk):
    login(client)
    page = client.get("/console").get_data(as_text=True)
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    assert client.post("/logout", data={"csrf": token}).status_code == 302
    assert client.get("/console").headers["Location"].endswith("/login")


def test_passwords_are_stored_as_slow_hashes(app, clerk):
    row = app.extensions["jiaohao"].store.user("clerk01")
    assert row["password_hash"].startswith("scrypt:") and "correct horse" not in row["password_hash"]


def test_user_add_cli(tmp_path):
    db = tmp_path / "hub.db"
    run = lambda *a, stdin="": subprocess.run(  # noqa: E731
        [sys.executable, "-m", "server.cli", "user", "add", *a, "--db", str(db), "--password-stdin"],
        cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=30)
    ok = run("clerk07", "--role", "clerk", stdin="long enough pw\n")
    assert ok.returncode == 0 and "added clerk clerk07" in ok.stdout
    again = run("clerk07", "--role", "clerk", stdin="long enough pw\n")
    assert again.returncode == 1 and again.stderr.count("\n") == 1 and "already exists" in again.stderr
    short = run("clerk08", "--role", "clerk", stdin="short\n")
    assert short.returncode == 1 and "at least 10" in short.stderr
    bad_role = run("clerk09", "--role", "boss", stdin="long enough pw\n")
    assert bad_role.returncode == 1


def test_user_add_cli_without_a_terminal_says_so_in_one_line(tmp_path):
    # A script that pipes the password in without --password-stdin: one line naming the option, not a
    # traceback of getpass, and no account (start_new_session: no controlling terminal, as under cron).
    db = tmp_path / "hub.db"
    r = subprocess.run([sys.executable, "-m", "server.cli", "user", "add", "clerk10", "--role", "clerk", "--db",
                        str(db)], cwd=ROOT, input="long enough pw\n", capture_output=True, text=True, timeout=30,
                       start_new_session=True)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "--password-stdin" in r.stderr, r.stderr
    ok = subprocess.run([sys.executable, "-m", "server.cli", "user", "add", "clerk10", "--role", "clerk", "--db",
                         str(db), "--password-stdin"], cwd=ROOT, input="long enough pw\n", capture_output=True,
                        text=True, timeout=30)
    assert ok.returncode == 0, ok.stderr  # nothing was added by the refused one
