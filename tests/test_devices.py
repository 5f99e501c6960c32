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
