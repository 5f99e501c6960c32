"""The supervisor's floor over Socket.IO (issue #10): `floor` to staff, pushed on change and at the tick."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import pytest
import requests
from conftest import ADMIN, KIOSK

from server.users import add_user

PAPER_OUT = {"state": "error", "code": "paper_out", "message": {"zh-TW": "出票機缺紙", "en": "Out of paper"}}
FULL = {"at", "local_time", "business_date", "services", "counters", "alerts"}


def floors(sio: Any) -> list[dict[str, Any]]:
    return [m["args"][0] for m in sio.get_received() if m["name"] == "floor"]


def wait_for_floors(sio: Any, seconds: float = 5) -> list[dict[str, Any]]:
    """The `floor` events received, once there is at least one (the push after a change comes ~0.3 s later)."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    while not got and time.monotonic() < deadline:
        got = floors(sio)
        if not got:
            time.sleep(0.05)
    return got


def staff_socket(app: Any, name: str, role: str, counter: str = "") -> Any:
    """A staff member logged in through /login, and a Socket.IO client on that login's session."""
    hub = app.extensions["jiaohao"]
    with hub.lock:
        add_user(hub.store, name, role, "correct horse")
    http = app.test_client()
    csrf = re.search(r'name="csrf" value="([^"]+)"', http.get("/login").get_data(as_text=True)).group(1)
    r = http.post("/login", data={"csrf": csrf, "name": name, "password": "correct horse", "counter": counter})
    assert r.status_code == 302, r.get_data(as_text=True)
    sio = app.extensions["socketio"].test_client(app, flask_test_client=http)
    assert sio.is_connected()
    return sio


def test_supervisors_and_admins_get_the_floor_clerks_their_alerts_boards_nothing(app, clock):
    hub = app.extensions["jiaohao"]
    boss = staff_socket(app, "boss", "supervisor")
    amy = staff_socket(app, "amy", "clerk", "3")
    admin = app.extensions["socketio"].test_client(app, auth={"token": ADMIN["Authorization"].split()[1]})
    board = app.extensions["socketio"].test_client(app, auth={"token": "demo-display-lobby-token"})
    (first,) = floors(boss)  # on connect
    assert set(first) == FULL and first == hub.floor() | {"at": first["at"]}
    assert set(floors(admin)[0]) == FULL
    assert set(floors(amy)[0]) == {"at", "business_date", "alerts"}
    assert {m["name"] for m in board.get_received()} == {"state"}

    app.test_client().post("/api/v1/devices/self/status", json=PAPER_OUT, headers=KIOSK)
    pushed = wait_for_floors(boss)
    assert pushed and [a["kind"] for a in pushed[-1]["alerts"]] == ["device"]
    assert [a["kind"] for a in wait_for_floors(amy)[-1]["alerts"]] == ["device"]
    assert floors(board) == []


def test_pushed_after_a_change_and_at_a_tick_only_when_it_changed(app, clock):
    hub = app.extensions["jiaohao"]
    boss = staff_socket(app, "boss", "supervisor")
    amy = staff_socket(app, "amy", "clerk", "13")
    floors(boss), floors(amy)
    hub.tick()
    assert floors(boss) == [] and floors(amy) == []  # nothing changed: nothing sent
    for _ in range(3):
        hub.issue("english", "normal", "kiosk-1", None)
    pushed = wait_for_floors(boss)
    assert len(pushed) == 1  # three changes in a burst: one push
    english = next(s for s in pushed[0]["services"] if s["id"] == "english")
    assert (english["waiting"], english["longest_wait_s"]) == (3, 0)
    # The clerk's alerts changed too: three in an hour advise a second English counter.
    assert [a["kind"] for a in wait_for_floors(amy)[-1]["alerts"]] == ["advice"]
    hub.issue("general", "normal", "kiosk-1", None)
    assert len(wait_for_floors(boss)) == 1 and floors(amy) == []  # a queue grew, the alerts did not change
    clock.advance(minutes=35)
    hub.tick()  # time alone: the wait grew, the English counter sat idle
    (later,) = floors(boss)
    assert next(s for s in later["services"] if s["id"] == "english")["longest_wait_s"] == 2100
    (alerts,) = floors(amy)
    assert {a["kind"] for a in alerts["alerts"]} >= {"long_wait", "idle_counter"}
    hub.tick()
    assert floors(amy) == []  # the same alerts: not sent again
    boss.disconnect()
    amy.disconnect()


def test_nobody_on_the_floor_means_no_floor_is_read(app, clock, monkeypatch):
    hub = app.extensions["jiaohao"]
    board = app.extensions["socketio"].test_client(app, auth={"token": "demo-display-lobby-token"})
    reads = []
    real = hub.floor
    monkeypatch.setattr(hub, "floor", lambda: reads.append(1) or real())
    hub.issue("general", "normal", "kiosk-1", None)
    hub.tick()
    time.sleep(0.5)  # past the push's delay: had one been asked for, it would have read the floor by now
    assert reads == [] and board.is_connected()


# -- a real hub and a real python-socketio client ---------------------------------------------------

def _login(url: str, name: str, role: str) -> requests.Session:
    r = requests.post(f"{url}/api/v1/users", json={"name": name, "role": role, "password": "correct horse"},
                      headers=ADMIN, timeout=10)
    assert r.status_code == 201, r.text
    http = requests.Session()
    csrf = re.search(r'name="csrf" value="([^"]+)"', http.get(f"{url}/login", timeout=10).text).group(1)
    r = http.post(f"{url}/login", data={"csrf": csrf, "name": name, "password": "correct horse", "counter": ""},
                  timeout=10, allow_redirects=False)
    assert r.status_code == 302, r.text
    return http


@pytest.mark.timeout(60)
def test_a_supervisors_socket_on_a_real_hub_gets_the_floor_as_it_changes(hub_process):
    import socketio

    url = hub_process.url
    http = _login(url, "boss", "supervisor")
    cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
    got: list[dict[str, Any]] = []
    paper = threading.Event()
    sio = socketio.Client(reconnection=False)

    @sio.on("floor")
    def _floor(data: dict[str, Any]) -> None:
        got.append(data)
        if any(a["kind"] == "device" for a in data["alerts"]):
            paper.set()

    sio.connect(url, headers={"Cookie": cookie}, transports=["websocket"], wait_timeout=10)
    try:
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
        assert got and set(got[0]) == FULL and got[0]["alerts"] == []
        assert requests.post(f"{url}/api/v1/tickets", json={"service": "quick"}, headers=KIOSK, timeout=10).ok
        assert requests.post(f"{url}/api/v1/devices/self/status", json=PAPER_OUT, headers=KIOSK, timeout=10).ok
        assert paper.wait(10), "no floor with the kiosk's paper out came"
        last = got[-1]
        assert next(s for s in last["services"] if s["id"] == "quick")["waiting"] == 1
        assert last["alerts"][0]["message"]["zh-TW"].endswith("出票機缺紙")
    finally:
        sio.disconnect()
    # A display's token gets no floor (nor a kiosk's).
    board = socketio.Client(reconnection=False)
    names: list[str] = []
    board.on("*", lambda event, *a: names.append(event))
    board.connect(url, auth={"token": "demo-display-lobby-token"}, transports=["websocket"], wait_timeout=10)
    try:
        assert requests.post(f"{url}/api/v1/tickets", json={"service": "quick"}, headers=KIOSK, timeout=10).ok
        time.sleep(1)
        assert "floor" not in names and "queue" in names
    finally:
        board.disconnect()
