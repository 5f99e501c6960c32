"""`jiaohao serve` ticks the hub every few seconds: the day closes at midnight without any request."""

from __future__ import annotations

from conftest import KIOSK

API = "/api/v1"


def test_tick_closes_the_day_at_midnight_without_a_request(app, client, clock):
    hub = app.extensions["jiaohao"]
    tid = client.post(f"{API}/tickets", json={"service": "general"}, headers=KIOSK).get_json()["ticket"]["id"]
    events: list[str] = []
    hub.listeners.append(lambda name, data: events.append(name))
    clock.advance(hours=16)  # 09:00 + 16 h: past local midnight in Taipei
    hub.tick()
    assert "queue" in events  # announced at the tick, not at the next request
    closed = hub.store.ticket(tid)
    assert closed is not None and closed.status == "cancelled" and closed.outcome == "day_end"
    hub.tick()  # nothing more to do: no new event
    assert events.count("queue") == 1
