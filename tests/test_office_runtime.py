"""The office at run time (CONTRACT.md): counters, announcements, devices and staff changed through
the API while the hub runs, in effect at once, in the log with who did it, kept across a restart."""

from __future__ import annotations

import tomllib
from datetime import timedelta
from importlib import resources

import pytest
from conftest import ADMIN, DISPLAY, KIOSK, FakeClock, assert_error, counter_auth

from server.app import create_app
from server.config import ConfigError, parse_office

API = "/api/v1"
TEXT = {"zh-TW": "今日 12:00 起午休輪值", "en": "Lunch-hour counters from 12:00"}


def demo_data() -> dict:
    return tomllib.loads(resources.files("server").joinpath("demo_office.toml").read_text("utf-8"))


@pytest.fixture
def reopen(office, clock, tmp_path):
    """Open the same database again, as `jiaohao serve` does after a restart, with the same office file."""
    apps = []

    def again(first, the_office=office):
        first.extensions["jiaohao"].store.close()
        app = create_app(the_office, tmp_path / "hub.db", clock=clock)
        apps.append(app)
        return app

    yield again
    for a in apps:
        a.extensions["jiaohao"].store.close()


def events(app, kind):
    return [e for e in app.extensions["jiaohao"].store.events() if e["kind"] == kind]


# -- GET /office --------------------------------------------------------------------------------

def test_office_is_for_admins_and_has_no_tokens(client):
    assert_error(client.get(f"{API}/office"), 401)
    assert_error(client.get(f"{API}/office", headers=KIOSK), 403, "role_not_allowed")
    r = client.get(f"{API}/office", headers=ADMIN)
    assert r.status_code == 200
    office = r.get_json()
    assert {"office", "services", "lanes", "policy", "counters", "devices", "announcements"} <= set(office)
    assert office["office"]["timezone"] == "Asia/Taipei"
    assert [c["id"] for c in office["counters"]][:3] == ["1", "2", "3"]
    assert "demo-admin-token" not in r.get_data(as_text=True) and "token" not in office["devices"][0]
    assert office["overridden"] == []


# -- PUT /counters/{id} -------------------------------------------------------------------------

def test_a_counter_serves_what_the_admin_says_from_its_next_call_on(app, client, reopen):
    sio = app.extensions["socketio"].test_client(app, auth={"token": "demo-display-lobby-token"})
    sio.get_received()
    english = client.post(f"{API}/tickets", json={"service": "english"}, headers=KIOSK).get_json()["ticket"]
    assert client.post(f"{API}/counters/3/next", headers=counter_auth("3")).get_json()["ticket"] is None
    r = client.put(f"{API}/counters/3", json={"services": ["english"], "name": {"zh-TW": "3號英語", "en": "C3 En"}},
                   headers=ADMIN)
    assert r.status_code == 200
    counter = r.get_json()["counter"]
    assert counter["services"] == ["english"] and counter["name"]["en"] == "C3 En"
    got = [m for m in sio.get_received() if m["name"] == "counter"]
    assert got and got[-1]["args"][0]["counter"]["services"] == ["english"] and "seq" in got[-1]["args"][0]
    called = client.post(f"{API}/counters/3/next", headers=counter_auth("3")).get_json()["ticket"]
    assert called["id"] == english["id"]
    [row] = events(app, "counter_configured")
    assert row["actor"] == "admin" and row["counter"] == "3" and row["detail"]["services"] == ["english"]

    app2 = reopen(app)
    c2 = app2.test_client()
    assert c2.get(f"{API}/counters/3", headers=ADMIN).get_json()["counter"]["services"] == ["english"]
    over = {o["key"]: o for o in c2.get(f"{API}/office", headers=ADMIN).get_json()["overridden"]}
    assert set(over) == {"counters.3.services", "counters.3.name"}
    assert over["counters.3.services"]["file"] == ["general", "quick"]
    assert over["counters.3.services"]["set_by"] == "admin"


def test_bad_counter_changes_change_nothing(client):
    before = client.get(f"{API}/counters/3", headers=ADMIN).get_json()["counter"]
    assert_error(client.put(f"{API}/counters/3", json={"services": ["passports"]}, headers=ADMIN), 422,
                 "unknown_service")
    assert_error(client.put(f"{API}/counters/3", json={"name": {"zh-TW": "3"}, "lanes": ["vip"]}, headers=ADMIN),
                 422)
    assert_error(client.put(f"{API}/counters/3", json={"services": "general"}, headers=ADMIN), 422, "invalid_field")
    assert_error(client.put(f"{API}/counters/3", json={"services": []}, headers=ADMIN), 422, "no_services")
    assert_error(client.put(f"{API}/counters/3", data="{x", content_type="application/json", headers=ADMIN), 400)
    assert client.get(f"{API}/counters/3", headers=ADMIN).get_json()["counter"] == before
    # Permission before existence.
    assert_error(client.put(f"{API}/counters/99", json={}, headers=counter_auth("3")), 403)
    assert_error(client.put(f"{API}/counters/99", json={}, headers=ADMIN), 404, "unknown_counter")


# -- announcements --------------------------------------------------------------------------------

def test_announcements_follow_every_edit_and_survive_a_restart(app, client, clock, reopen):
    sio = app.extensions["socketio"].test_client(app, auth={"token": "demo-display-lobby-token"})
    sio.get_received()
    listed = client.get(f"{API}/announcements", headers=DISPLAY).get_json()["announcements"]
    assert [a["id"] for a in listed] == ["office-1", "office-2", "office-3"] and all(a["active"] for a in listed)
    assert_error(client.post(f"{API}/announcements", json={}, headers=ADMIN), 422, "missing_text")
    assert_error(client.post(f"{API}/announcements", json={"text": {"zh-TW": "只有中文"}}, headers=ADMIN), 422)
    assert_error(client.post(f"{API}/announcements", json={"text": TEXT}, headers=DISPLAY), 403)
    r = client.post(f"{API}/announcements", json={"text": TEXT}, headers=ADMIN)
    assert r.status_code == 201
    made = r.get_json()["announcement"]
    assert made["text"] == TEXT and made["active"] and made["starts_at"] is None
    [msg] = [m for m in sio.get_received() if m["name"] == "announcements"]
    shown = msg["args"][0]
    assert "seq" not in shown and [a["id"] for a in shown["announcements"]][-1] == made["id"]
    assert client.get(f"{API}/state", headers=DISPLAY).get_json()["announcements"][-1]["text"] == TEXT

    new_text = {"zh-TW": "改過的公告", "en": "Changed"}
    assert client.put(f"{API}/announcements/{made['id']}", json={"text": new_text},
                      headers=ADMIN).get_json()["announcement"]["text"] == new_text
    assert client.delete(f"{API}/announcements/office-2", headers=ADMIN).status_code == 200
    assert_error(client.delete(f"{API}/announcements/office-2", headers=ADMIN), 404, "unknown_announcement")
    kinds = [e["kind"] for e in app.extensions["jiaohao"].store.events() if e["kind"].startswith("announcement")]
    assert kinds == ["announcement_added", "announcement_changed", "announcement_deleted"]

    app2 = reopen(app)
    ids = [a["id"] for a in app2.test_client().get(f"{API}/announcements", headers=DISPLAY).get_json()["announcements"]]
    assert ids == ["office-1", "office-3", made["id"]]


def test_a_scheduled_announcement_starts_and_ends_by_itself(app, client, clock):
    sio = app.extensions["socketio"].test_client(app, auth={"token": "demo-display-lobby-token"})
    hub = app.extensions["jiaohao"]
    start, end = clock.now + timedelta(minutes=10), clock.now + timedelta(minutes=20)
    r = client.post(f"{API}/announcements", json={"text": TEXT, "starts_at": start.isoformat(),
                                                   "ends_at": end.isoformat()}, headers=ADMIN)
    assert r.status_code == 201 and r.get_json()["announcement"]["active"] is False
    sio.get_received()
    clock.advance(minutes=10)
    hub.tick()
    [msg] = [m["args"][0] for m in sio.get_received() if m["name"] == "announcements"]
    assert TEXT in [a["text"] for a in msg["announcements"]]
    clock.advance(minutes=10)
    hub.tick()
    [msg] = [m["args"][0] for m in sio.get_received() if m["name"] == "announcements"]
    assert TEXT not in [a["text"] for a in msg["announcements"]]
    hub.tick()
    assert [m for m in sio.get_received() if m["name"] == "announcements"] == []  # nothing changed: nothing sent
    assert_error(client.post(f"{API}/announcements", json={"text": TEXT, "starts_at": "noon"}, headers=ADMIN), 422,
                 "invalid_time")
    assert_error(client.post(f"{API}/announcements", json={"text": TEXT, "starts_at": end.isoformat(),
                                                            "ends_at": start.isoformat()}, headers=ADMIN), 422)


# -- devices ----------------------------------------------------------------------------------------

def test_a_device_issued_and_revoked(app, client, reopen, tmp_path):
    assert_error(client.post(f"{API}/devices", json={"id": "board-2", "role": "display"}, headers=KIOSK), 403)
    r = client.post(f"{API}/devices", json={"id": "board-2", "role": "display"}, headers=ADMIN)
    assert r.status_code == 201
    token = r.get_json()["token"]
    assert r.get_json()["device"]["id"] == "board-2" and len(token) >= 20
    mine = {"Authorization": f"Bearer {token}"}
    assert client.get(f"{API}/state", headers=mine).status_code == 200
    assert_error(client.post(f"{API}/devices", json={"id": "board-2", "role": "display"}, headers=ADMIN), 409,
                 "device_exists")
    assert_error(client.post(f"{API}/devices", json={"id": "kiosk-1", "role": "kiosk"}, headers=ADMIN), 409,
                 "device_exists")
    assert_error(client.post(f"{API}/devices", json={"id": "c-9", "role": "counter"}, headers=ADMIN), 422)
    assert_error(client.post(f"{API}/devices", json={"id": "x", "role": "boss"}, headers=ADMIN), 422, "invalid_role")
    listed = {d["id"]: d for d in client.get(f"{API}/devices", headers=ADMIN).get_json()["devices"]}
    assert listed["board-2"]["last_seen"] is not None and listed["board-2"]["source"] == "api"
    assert listed["kiosk-2"]["last_seen"] is None
    # Only a hash of the token is kept.
    app2 = reopen(app)
    assert token.encode() not in (tmp_path / "hub.db").read_bytes()
    c2 = app2.test_client()
    assert c2.get(f"{API}/state", headers=mine).status_code == 200

    sio = app2.extensions["socketio"].test_client(app2, auth={"token": token})
    kiosk_sio = app2.extensions["socketio"].test_client(app2, auth={"token": "demo-kiosk-2-token"})
    assert sio.is_connected() and kiosk_sio.is_connected()
    assert c2.delete(f"{API}/devices/board-2", headers=ADMIN).status_code == 200
    assert c2.delete(f"{API}/devices/kiosk-2", headers=ADMIN).status_code == 200
    assert not sio.is_connected() and not kiosk_sio.is_connected()
    assert_error(c2.get(f"{API}/state", headers=mine), 401, "invalid_token")
    assert_error(c2.get(f"{API}/state", headers={"Authorization": "Bearer demo-kiosk-2-token"}), 401)
    assert_error(c2.delete(f"{API}/devices/board-2", headers=ADMIN), 404, "unknown_device")
    assert [e["actor"] for e in events(app2, "device_revoked")] == ["admin", "admin"]
    # The file's id stays taken (its token is in the file); one issued here may be issued again.
    assert_error(c2.post(f"{API}/devices", json={"id": "kiosk-2", "role": "kiosk"}, headers=ADMIN), 409)
    again = c2.post(f"{API}/devices", json={"id": "board-2", "role": "display"}, headers=ADMIN)
    assert again.status_code == 201 and again.get_json()["token"] != token
    assert_error(c2.get(f"{API}/state", headers=mine), 401)

    app3 = reopen(app2)  # a revoked file device stays revoked, though the file still lists it
    assert_error(app3.test_client().get(f"{API}/state", headers={"Authorization": "Bearer demo-kiosk-2-token"}), 401)


# -- staff --------------------------------------------------------------------------------------------

def test_staff_accounts_from_the_api(app, client):
    body = {"name": "clerk42", "role": "clerk", "password": "ten chars!"}
    assert_error(client.post(f"{API}/users", json=body, headers=KIOSK), 403)
    assert_error(client.post(f"{API}/users", json={**body, "password": "nine char"}, headers=ADMIN), 422,
                 "password_too_short")
    assert_error(client.post(f"{API}/users", json={**body, "role": "boss"}, headers=ADMIN), 422)
    r = client.post(f"{API}/users", json=body, headers=ADMIN)
    assert r.status_code == 201 and "password" not in r.get_json()["user"]
    assert_error(client.post(f"{API}/users", json=body, headers=ADMIN), 409, "user_exists")
    hub = app.extensions["jiaohao"]
    assert hub.authenticate("clerk42", "ten chars!").role == "clerk"
    assert events(app, "user_added")[0]["actor"] == "admin"
    hub.set_user("clerk42", "user:boss", active=False)
    assert hub.authenticate("clerk42", "ten chars!") is None


# -- counter sets by time of day ----------------------------------------------------------------------

def lunch_office():
    data = demo_data()
    data["schedule"] = [{"from": "12:00", "to": "13:30", "close": ["4", "5"], "serves": {"3": ["general", "quick",
                                                                                             "certificate"]}}]
    return parse_office(data)


def test_lunch_closes_counters_and_widens_one_then_ends(tmp_path):
    clock = FakeClock()
    clock.now = clock.now.replace(hour=3, minute=59)  # 11:59 in Taipei
    app = create_app(lunch_office(), tmp_path / "lunch.db", clock=clock)
    try:
        hub, client = app.extensions["jiaohao"], app.test_client()
        sio = app.extensions["socketio"].test_client(app, auth={"token": "demo-display-lobby-token"})
        sio.get_received()
        hub.tick()
        assert client.get(f"{API}/counters/4", headers=ADMIN).get_json()["counter"]["open"] is True
        clock.advance(minutes=1)
        hub.tick()
        assert client.get(f"{API}/counters/4", headers=ADMIN).get_json()["counter"]["open"] is False
        assert client.get(f"{API}/counters/5", headers=ADMIN).get_json()["counter"]["open"] is False
        c3 = client.get(f"{API}/counters/3", headers=ADMIN).get_json()["counter"]
        assert c3["services"] == ["general", "quick", "certificate"]
        sent = {m["args"][0]["counter"]["id"] for m in sio.get_received() if m["name"] == "counter"}
        assert {"3", "4", "5"} <= sent
        closed = [e for e in hub.store.events() if e["kind"] == "counter_closed"]
        assert {(e["counter"], e["actor"]) for e in closed} == {("4", "schedule"), ("5", "schedule")}
        # The estimate plays only the counters now open: 4 and 5 take no ticket.
        ticket = client.post(f"{API}/tickets", json={"service": "certificate"}, headers=KIOSK).get_json()["ticket"]
        assert ticket["estimated_wait_s"] is not None
        assert client.post(f"{API}/counters/3/next", headers=counter_auth("3")).get_json()["ticket"]["id"] \
            == ticket["id"]
        clock.advance(minutes=90)
        hub.tick()
        assert client.get(f"{API}/counters/4", headers=ADMIN).get_json()["counter"]["open"] is True
        assert client.get(f"{API}/counters/3", headers=ADMIN).get_json()["counter"]["services"] == ["general", "quick"]
        kinds = [e["kind"] for e in hub.store.events() if e["kind"].startswith("schedule_")]
        assert kinds == ["schedule_started", "schedule_ended"]
    finally:
        app.extensions["jiaohao"].store.close()


def test_a_restart_inside_the_window_does_not_close_again(tmp_path):
    clock = FakeClock()
    clock.now = clock.now.replace(hour=4, minute=30)  # 12:30
    app = create_app(lunch_office(), tmp_path / "lunch.db", clock=clock)
    client = app.test_client()
    assert client.get(f"{API}/counters/4", headers=ADMIN).get_json()["counter"]["open"] is False
    assert client.post(f"{API}/counters/4/open", headers=ADMIN).status_code == 200  # a supervisor's call
    app.extensions["jiaohao"].store.close()
    app = create_app(lunch_office(), tmp_path / "lunch.db", clock=clock)
    try:
        assert app.test_client().get(f"{API}/counters/4", headers=ADMIN).get_json()["counter"]["open"] is True
        assert len([e for e in app.extensions["jiaohao"].store.events() if e["kind"] == "schedule_started"]) == 1
    finally:
        app.extensions["jiaohao"].store.close()


@pytest.mark.parametrize("entry, message", [
    ({"from": "12:00", "to": "11:00"}, "schedule[0].to"),
    ({"from": "noon", "to": "13:00"}, "schedule[0].from"),
    ({"from": "12:00", "to": "13:00", "close": ["99"]}, "schedule[0].close[0]"),
    ({"from": "12:00", "to": "13:00", "serves": {"3": ["passports"]}}, "schedule[0].serves.3"),
    ({"from": "12:00", "to": "13:00", "days": [8]}, "schedule[0].days"),
])
def test_bad_schedules_are_refused_with_the_key(entry, message):
    data = demo_data()
    data["schedule"] = [entry]
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_office(data)


def test_a_revoked_boards_socket_is_closed_on_the_real_hub(hub_process):
    import threading

    import requests
    import socketio

    api = hub_process.url + API
    r = requests.post(f"{api}/devices", json={"id": "board-live", "role": "display"}, headers=ADMIN, timeout=10)
    token = r.json()["token"]
    sio = socketio.Client(reconnection=False)
    gone = threading.Event()
    sio.on("disconnect", lambda *a: gone.set())
    sio.connect(hub_process.url, auth={"token": token}, transports=["websocket"], wait_timeout=10)
    try:
        assert requests.delete(f"{api}/devices/board-live", headers=ADMIN, timeout=10).status_code == 200
        assert gone.wait(10), "the revoked board's socket stayed open"
        with pytest.raises(socketio.exceptions.ConnectionError):
            socketio.Client(reconnection=False).connect(hub_process.url, auth={"token": token},
                                                        transports=["websocket"], wait_timeout=5)
    finally:
        sio.disconnect()


def test_the_estimate_before_lunch_plays_the_counters_that_will_close(tmp_path):
    """At 11:50 a long general queue: with counters 4-8 closing at 12:00, the last ticket waits longer."""
    waits = []
    for name, office in [("plain", parse_office(demo_data())), ("lunch", lunch_office())]:
        clock = FakeClock()
        clock.now = clock.now.replace(hour=3, minute=50)  # 11:50
        app = create_app(office, tmp_path / f"{name}.db", clock=clock)
        try:
            client = app.test_client()
            last = None
            for _ in range(60):
                last = client.post(f"{API}/tickets", json={"service": "general"}, headers=KIOSK).get_json()["ticket"]
            waits.append(client.get(f"{API}/tickets/{last['id']}", headers=ADMIN).get_json()["ticket"]
                         ["estimated_wait_s"])
        finally:
            app.extensions["jiaohao"].store.close()
    plain, lunch = waits
    assert plain is not None and lunch is not None and lunch > plain


# -- media for the boards -------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_media_is_checked_by_its_bytes_kept_beside_the_db_and_served_inert(app, client, tmp_path):
    import io

    def upload(data, name="x.png", headers=ADMIN):
        return client.post(f"{API}/media", data={"file": (io.BytesIO(data), name)}, headers=headers,
                           content_type="multipart/form-data")

    assert_error(upload(PNG, headers=DISPLAY), 403)
    err = assert_error(upload(b"<svg onload=alert(1)></svg>", "poster.png"), 422, "unsupported_media")
    assert "PNG" in err["message"]
    assert_error(upload(b"#!/bin/sh\nrm -rf /\n", "clip.mp4"), 422, "unsupported_media")
    assert_error(client.post(f"{API}/media", json={"file": "x"}, headers=ADMIN), 422, "missing_file")
    r = upload(PNG, "海報.png")
    assert r.status_code == 201
    item = r.get_json()["media"]
    assert item["kind"] == "image" and item["type"] == "image/png" and item["size"] == len(PNG)
    stored = tmp_path / "media" / f"{item['id']}.png"
    assert stored.read_bytes() == PNG and not stored.stat().st_mode & 0o111
    assert [m["id"] for m in client.get(f"{API}/media", headers=DISPLAY).get_json()["media"]] == [item["id"]]
    got = client.get(item["url"], headers=DISPLAY)
    assert got.status_code == 200 and got.data == PNG and got.headers["Content-Type"] == "image/png"
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    video = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 32
    assert upload(video, "clip.mp4").get_json()["media"]["kind"] == "video"
    # Bigger than a JSON body may be, yet within an image's limit.
    assert upload(PNG + b"\x00" * 100_000).status_code == 201
    assert client.delete(item["url"], headers=ADMIN).status_code == 200
    assert not stored.exists()
    assert_error(client.get(item["url"], headers=DISPLAY), 404, "unknown_media")
    assert [e["actor"] for e in events(app, "media_added")] == ["admin"] * 3


def test_an_image_over_its_limit_is_refused(client, monkeypatch):
    import io

    from server import media

    monkeypatch.setitem(media.MAX_BYTES, "image", 1000)
    r = client.post(f"{API}/media", data={"file": (io.BytesIO(PNG + b"\x00" * 2000), "big.png")}, headers=ADMIN,
                    content_type="multipart/form-data")
    assert_error(r, 413, "media_too_large")
