"""The counter console in a real headless Chromium: log in, call with the keyboard, the board hears it."""

from __future__ import annotations

import subprocess
import sys
import threading

import requests
import socketio
from browser import axe_violations, browser
from conftest import KIOSK, ROOT, HubProcess


def add_clerk(db) -> None:
    r = subprocess.run([sys.executable, "-m", "server.cli", "user", "add", "clerk01", "--role", "clerk", "--db",
                        str(db), "--password-stdin"], cwd=ROOT, input="correct horse\n", capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr


def test_clerk_calls_next_with_space_and_the_board_gets_the_call(hub_process):
    url = hub_process.url
    add_clerk(hub_process.db)  # beside the running hub, as an office would
    t = requests.post(url + "/api/v1/tickets", json={"service": "general", "lane": "elderly"}, headers=KIOSK,
                      timeout=10).json()["ticket"]
    board = socketio.Client(reconnection=False)
    calls: list[dict] = []
    got = threading.Event()

    @board.on("call")
    def _call(data: dict) -> None:
        calls.append(data)
        got.set()

    board.connect(url, auth={"token": "demo-display-lobby-token"}, transports=["websocket"], wait_timeout=10)
    try:
        with browser() as b:
            page = b.new_page(viewport={"width": 400, "height": 300}, locale="zh-TW")
            page.goto(url + "/login")
            page.fill("#name", "clerk01")
            page.fill("#password", "correct horse")
            page.select_option("#counter", "3")
            page.click("button[type=submit]")
            page.wait_for_url(url + "/console")
            page.wait_for_selector("#waiting:has-text('綜合業務 General registration: 1')", timeout=10000)
            assert axe_violations(page) == []
            page.keyboard.press("Space")
            assert got.wait(15), "the board never heard the call"
            assert calls[0]["ticket"]["number"] == t["number"] and calls[0]["counter"]["id"] == "3"
            page.wait_for_selector(f"#number:has-text('{t['number']}')", timeout=10000)
            # Live: a ticket taken at the kiosk shows in the console's waiting count without a reload.
            requests.post(url + "/api/v1/tickets", json={"service": "general"}, headers=KIOSK, timeout=10)
            page.wait_for_selector("#waiting:has-text('綜合業務 General registration: 1')", timeout=10000)
            page.keyboard.press("f")
            page.wait_for_selector("#tstatus:has-text('Nobody called')", timeout=10000)
            # The hub goes away: the console says so instead of pretending.
            hub_process.kill()
            page.wait_for_selector("#banner:not([hidden])", timeout=20000)
    finally:
        board.disconnect()
    from server.store import Store  # the log, read after the hub died

    store = Store(hub_process.db, exclusive=False)
    try:
        mine = [e for e in store.events() if e["actor"] == "user:clerk01"]
        assert [e["kind"] for e in mine] == ["login", "called", "finished"]
        assert {e["counter"] for e in mine} == {"3"}
    finally:
        store.close()


def test_console_reconnects_by_itself_and_a_forgotten_login_goes_back_to_the_login_page(hub_process, tmp_path):
    url = hub_process.url
    add_clerk(hub_process.db)
    with browser() as b:
        page = b.new_page(viewport={"width": 400, "height": 300}, locale="zh-TW")
        page.goto(url + "/login")
        page.fill("#name", "clerk01")
        page.fill("#password", "correct horse")
        page.select_option("#counter", "3")
        page.click("button[type=submit]")
        page.wait_for_url(url + "/console")
        page.wait_for_selector("#waiting:has-text('綜合業務 General registration: 0')", timeout=10000)
        hub_process.kill()
        page.wait_for_selector("#banner:not([hidden])", timeout=20000)
        # The same hub comes back: the console rejoins, hides the banner and reads what it missed.
        again = HubProcess(hub_process.db, port=hub_process.port).start()
        try:
            requests.post(url + "/api/v1/tickets", json={"service": "general"}, headers=KIOSK, timeout=10)
            page.wait_for_selector("#banner", state="hidden", timeout=30000)
            page.wait_for_selector("#waiting:has-text('綜合業務 General registration: 1')", timeout=10000)
        finally:
            again.kill()
        # A hub with another database knows neither the clerk nor the login's key: the socket is refused,
        # and the console says so by going to the login page instead of waiting for ever.
        fresh = HubProcess(tmp_path / "other.db", port=hub_process.port).start()
        try:
            page.wait_for_url(url + "/login", timeout=30000)
        finally:
            fresh.stop()
