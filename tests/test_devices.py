"""Device health: a kiosk's paper running low reaches the hub, its log and the staff's screens."""

from __future__ import annotations

from conftest import ADMIN, DISPLAY, KIOSK, assert_error

API = "/api/v1"


def test_kiosk_reports_paper_near_end_and_staff_see_it(app, client):
    sio = app.extensions["socketio"].test_client(app, auth={"token": "demo-display-lobby-token"})
    sio.get_received()
    seq_before = client.get(f"{API}/state", headers=DISPLAY).get_json()["seq"]
    body = {"state": "warn", "code": "paper_near_end", "message": {"zh-TW": "紙張即將用完", "en": "Paper low"}}
    r = client.post(f"{API}/devices/self/status", json=body, headers=KIOSK)
    assert r.status_code == 200 and r.get_json()["device"]["id"] == "kiosk-1"
    got = sio.get_received()
    assert [m["name"] for m in got] == ["device"] and "seq" not in got[0]["args"][0]
    state = client.get(f"{API}/state", headers=DISPLAY).get_json()
    assert state["seq"] == seq_before  # seq counts only call, queue and counter
    assert [(d["id"], d["code"]) for d in state["devices"]] == [("kiosk-1", "paper_near_end")]
    assert client.get(f"{API}/devices", headers=ADMIN).get_json()["devices"][0]["state"] == "warn"
    # The same report again is kept quietly; the log has one row per change.
    client.post(f"{API}/devices/self/status", json=body, headers=KIOSK)
    assert sio.get_received() == []
    kinds = [e for e in app.extensions["jiaohao"].store.events() if e["kind"] == "device_status"]
    assert [(e["actor"], e["outcome"]) for e in kinds] == [("kiosk-1", "paper_near_end")]


def test_bad_device_reports(client):
    assert_error(client.post(f"{API}/devices/self/status", json={"state": "fine", "code": "x"}, headers=KIOSK),
                 422, "invalid_state")
    assert_error(client.post(f"{API}/devices/self/status", json={"state": "ok"}, headers=KIOSK), 400,
                 "missing_field")
    assert_error(client.post(f"{API}/devices/self/status", json={"state": "ok", "code": "a b"}, headers=KIOSK),
                 400, "invalid_field")
    assert_error(client.post(f"{API}/devices/self/status", json={"state": "ok", "code": "x"}), 401, "missing_token")
    assert_error(client.get(f"{API}/devices", headers=KIOSK), 403, "role_not_allowed")


def test_last_seen_survives_a_restart_and_is_written_at_most_once_a_minute(app, client, clock, office, tmp_path):
    from server.app import create_app

    hub = app.extensions["jiaohao"]

    def listed(c):
        return {d["id"]: d["last_seen"] for d in c.get(f"{API}/devices", headers=ADMIN).get_json()["devices"]}

    assert client.get(f"{API}/state", headers=KIOSK).status_code == 200
    first = listed(client)["kiosk-1"]
    assert first is not None
    assert "kiosk-1" not in hub.store.device_seen()  # the request itself wrote nothing
    hub.tick()
    assert hub.store.device_seen()["kiosk-1"] == first
    clock.advance(seconds=30)
    client.get(f"{API}/state", headers=KIOSK)
    second = listed(client)["kiosk-1"]
    assert second != first
    hub.tick()
    assert hub.store.device_seen()["kiosk-1"] == first  # written less than a minute ago: not yet
    clock.advance(seconds=31)
    hub.tick()
    assert hub.store.device_seen()["kiosk-1"] == second
    clock.advance(seconds=5)
    client.get(f"{API}/state", headers=KIOSK)
    third = listed(client)["kiosk-1"]
    hub.store_seen(everything=True)  # a clean stop (server/serve.py) writes what the tick has not yet
    assert hub.store.device_seen()["kiosk-1"] == third

    hub.store.close()  # the restart: the same database, the same office file
    again = create_app(office, tmp_path / "hub.db", clock=clock)
    try:
        after = listed(again.test_client())
        assert after["kiosk-1"] == third and after["kiosk-2"] is None
    finally:
        again.extensions["jiaohao"].store.close()
