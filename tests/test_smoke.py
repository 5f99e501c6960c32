from conftest import KIOSK, counter_auth


def test_issue_then_call(client):
    r = client.post("/api/v1/tickets", json={"service": "general"}, headers=KIOSK)
    assert r.status_code == 201
    t = r.get_json()["ticket"]
    assert t["number"] == "A001" and t["status"] == "waiting"
    r = client.post("/api/v1/counters/3/next", headers=counter_auth("3"))
    assert r.get_json()["ticket"]["id"] == t["id"]


def test_state_after_midnight_shows_no_stale_tickets(client, clock):
    client.post("/api/v1/tickets", json={"service": "general"}, headers=KIOSK)
    s = client.get("/api/v1/state", headers=KIOSK).get_json()
    assert [x["waiting"] for x in s["services"] if x["id"] == "general"] == [1]
    clock.advance(hours=16)  # past local midnight, with no operation in between
    s2 = client.get("/api/v1/state", headers=KIOSK).get_json()
    assert s2["business_date"] == "2026-11-24" and all(x["waiting"] == 0 for x in s2["services"])
    assert s2["seq"] > s["seq"]  # the day's end was announced as a queue event
