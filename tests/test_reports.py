"""The monthly per-clerk statistics, answered from the event log."""

from __future__ import annotations

from conftest import ADMIN, KIOSK, assert_error, counter_auth

from server.users import add_user

API = "/api/v1"


def test_per_clerk_counts_and_handling_times(app, client, clock):
    hub = app.extensions["jiaohao"]
    with hub.lock:
        add_user(hub.store, "clerk01", "clerk", "correct horse")
    hub.note("3", "login", "user:clerk01")
    for _ in range(4):
        client.post(f"{API}/tickets", json={"service": "general"}, headers=KIOSK)
    for minutes in (4, 10):  # two visits by clerk01, through the hub as the console does
        hub.call_next("3", "user:clerk01")
        clock.advance(minutes=minutes)
        hub.finish("3", "user:clerk01")
    hub.call_next("3", "user:clerk01")
    hub.no_show("3", "user:clerk01")
    client.post(f"{API}/counters/4/next", headers=counter_auth("4"))  # a keypad, nobody logged in
    clock.advance(minutes=6)
    client.post(f"{API}/counters/4/finish", headers=counter_auth("4"))
    rep = client.get(f"{API}/reports/clerks?month=2026-11", headers=ADMIN).get_json()
    by = {c["clerk"]: c for c in rep["clerks"]}
    mine = by["user:clerk01"]
    assert (mine["finished"], mine["no_shows"], mine["counters"]) == (2, 1, ["3"])
    assert mine["median_handling_s"] == 420 and mine["p90_handling_s"] == 600
    assert mine["by_service"] == [{"service": "general", "finished": 2, "median_handling_s": 420,
                                   "p90_handling_s": 600}]
    assert by["counter-4"]["finished"] == 1 and by["counter-4"]["median_handling_s"] == 360
    assert client.get(f"{API}/reports/clerks?month=2026-10", headers=ADMIN).get_json()["clerks"] == []
    assert_error(client.get(f"{API}/reports/clerks?month=11-2026", headers=ADMIN), 400, "invalid_month")
    assert_error(client.get(f"{API}/reports/clerks?month=2026-11", headers=KIOSK), 403, "role_not_allowed")
