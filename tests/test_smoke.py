from conftest import KIOSK, counter_auth


def test_issue_then_call(client):
    r = client.post("/api/v1/tickets", json={"service": "general"}, headers=KIOSK)
    assert r.status_code == 201
    t = r.get_json()["ticket"]
    assert t["number"] == "A001" and t["status"] == "waiting"
    r = client.post("/api/v1/counters/3/next", headers=counter_auth("3"))
    assert r.get_json()["ticket"]["id"] == t["id"]
