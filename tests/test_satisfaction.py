"""滿意度: a rating belongs to the visit that just ended, its counter and its clerk; the month's report."""

from __future__ import annotations

from conftest import ADMIN, KIOSK, assert_error, counter_auth

from server.users import add_user

API = "/api/v1"


def serve_one(client, cid="3"):
    t = client.post(f"{API}/tickets", json={"service": "general"}, headers=KIOSK).get_json()["ticket"]
    client.post(f"{API}/counters/{cid}/next", headers=counter_auth(cid))
    client.post(f"{API}/counters/{cid}/finish", headers=counter_auth(cid))
    return t


def test_keypad_rates_the_visit_that_just_ended(app, client, clock):
    assert client.get(f"{API}/counters/3/rating", headers=counter_auth("3")).get_json() == {"visit": None}
    t = serve_one(client)
    pending = client.get(f"{API}/counters/3/rating", headers=counter_auth("3")).get_json()["visit"]
    assert pending["number"] == t["number"]
    r = client.post(f"{API}/counters/3/rating", json={"score": 4, "comment": "很親切"}, headers=counter_auth("3"))
    assert r.status_code == 201 and r.get_json()["rating"]["label"]["zh-TW"] == "很滿意"
    # Once per visit.
    assert_error(client.post(f"{API}/counters/3/rating", json={"score": 1}, headers=counter_auth("3")), 409,
                 "nothing_to_rate")
    kinds = [e["kind"] for e in app.extensions["jiaohao"].store.events()]
    assert kinds[-1] == "rated"


def test_rating_window_closes_after_ten_minutes(client, clock):
    serve_one(client)
    clock.advance(minutes=11)
    assert client.get(f"{API}/counters/3/rating", headers=counter_auth("3")).get_json() == {"visit": None}
    assert_error(client.post(f"{API}/counters/3/rating", json={"score": 3}, headers=counter_auth("3")), 409,
                 "nothing_to_rate")


def test_bad_scores_and_other_counters(client):
    serve_one(client)
    for bad in (0, 5, "4", True, 3.5):
        assert_error(client.post(f"{API}/counters/3/rating", json={"score": bad}, headers=counter_auth("3")), 422,
                     "invalid_score")
    assert_error(client.post(f"{API}/counters/3/rating", json={}, headers=counter_auth("3")), 400, "missing_field")
    assert_error(client.post(f"{API}/counters/3/rating", json={"score": 4}, headers=counter_auth("5")), 403,
                 "wrong_counter")
    assert_error(client.post(f"{API}/counters/3/rating", json={"score": 4, "comment": "x" * 501},
                             headers=counter_auth("3")), 400, "invalid_field")


def test_monthly_report_per_counter_and_clerk_with_the_90_percent_target(app, client):
    hub = app.extensions["jiaohao"]
    with hub.lock:
        add_user(hub.store, "clerk01", "clerk", "correct horse")
    # clerk01 logs in at counter 3 (through the console's own log row), then serves three visits.
    hub.note("3", "login", "user:clerk01")
    for score in (4, 3, 1):
        serve_one(client, "3")
        r = client.post(f"{API}/counters/3/rating", json={"score": score}, headers=counter_auth("3"))
        assert r.status_code == 201
    serve_one(client, "4")
    client.post(f"{API}/counters/4/rating", json={"score": 4, "comment": "快速"}, headers=counter_auth("4"))
    rep = client.get(f"{API}/reports/satisfaction?month=2026-11", headers=ADMIN).get_json()
    assert (rep["ratings"], rep["satisfied"], rep["satisfied_pct"], rep["target_pct"], rep["met"]) == (
        4, 3, 75.0, 90, False)
    by_clerk = {r["clerk"]: r for r in rep["by_clerk"]}
    assert by_clerk["user:clerk01"]["ratings"] == 3 and by_clerk["user:clerk01"]["satisfied_pct"] == 66.7
    assert by_clerk[None]["ratings"] == 1  # nobody was logged in at counter 4
    assert {r["counter"]: r["ratings"] for r in rep["by_counter"]} == {"3": 3, "4": 1}
    assert [c["comment"] for c in rep["comments"]] == ["快速"]
    assert_error(client.get(f"{API}/reports/satisfaction?month=2026-13", headers=ADMIN), 400, "invalid_month")
    assert_error(client.get(f"{API}/reports/satisfaction?month=2026-11", headers=KIOSK), 403, "role_not_allowed")
