"""The reports of CONTRACT.md "Reports": the ranking, waits, satisfaction, the day's visits, and their exports."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from urllib.parse import unquote

import openpyxl
import pytest
from conftest import ADMIN, DISPLAY, KIOSK, FakeClock, assert_error, counter_auth

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
    assert mine["by_service"] == [{"service": "general", "finished": 2, "points": 2, "median_handling_s": 420,
                                   "p90_handling_s": 600}]
    assert by["counter-4"]["finished"] == 1 and by["counter-4"]["median_handling_s"] == 360
    assert client.get(f"{API}/reports/clerks?month=2026-10", headers=ADMIN).get_json()["clerks"] == []
    assert_error(client.get(f"{API}/reports/clerks?month=11-2026", headers=ADMIN), 400, "invalid_month")
    assert_error(client.get(f"{API}/reports/clerks?month=2026-11", headers=KIOSK), 403, "role_not_allowed")


# -- the ranking (計點), exports, and the errors of CONTRACT.md "Reports" -----------------------



def serve(hub, cid: str, service: str, minutes: float, clock, actor: str | None = None) -> None:
    """One visit of `service` at counter `cid`, issued, called, served for `minutes` and finished."""
    hub.issue(service, "normal", "kiosk-1", None)
    hub.call_next(cid, actor or f"counter-{cid}")
    clock.advance(minutes=minutes)
    hub.finish(cid, actor or f"counter-{cid}")


def test_points_per_service_rank_ties_and_the_clerk_logged_in_at_a_keypad(app, client, clock):
    hub = app.extensions["jiaohao"]
    # english counts 1.5 and quick 0.5 in the demo office; general the default 1.
    assert hub.office.service("english").points == 1.5 and hub.office.service("general").points == 1
    hub.note("3", "login", "user:amy")
    for _ in range(3):
        serve(hub, "3", "general", 5, clock)  # the keypad of counter 3 finishes: amy is logged in there
    hub.note("3", "logout", "user:amy")
    serve(hub, "3", "general", 5, clock)  # nobody logged in: the device
    serve(hub, "13", "english", 8, clock, "user:ben")  # 1.5
    serve(hub, "13", "english", 8, clock, "user:ben")  # 3.0: equal to amy's 3 visits of 1 point
    serve(hub, "5", "general", 3, clock, "user:cat")
    rep = client.get(f"{API}/reports/clerks?month=2026-11", headers=ADMIN).get_json()
    rows = [(c["clerk"], c["finished"], c["points"], c["rank"], c["top_three"]) for c in rep["clerks"]]
    assert rows == [("user:amy", 3, 3, 1, True), ("user:ben", 2, 3, 1, True), ("counter-3", 1, 1, 3, True),
                    ("user:cat", 1, 1, 3, True)]
    ben = rep["clerks"][1]
    assert ben["by_service"] == [{"service": "english", "finished": 2, "points": 3, "median_handling_s": 480,
                                  "p90_handling_s": 480}]


def test_exports_csv_with_bom_and_xlsx_with_roc_file_names(app, client, clock):
    hub = app.extensions["jiaohao"]
    serve(hub, "13", "english", 8, clock, "user:ben")
    r = client.get(f"{API}/reports/clerks?month=2026-11&format=csv", headers=ADMIN)
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert r.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert {"clerk", "finished", "points", "rank"} <= set(rows[0])
    assert (rows[0]["clerk"], rows[0]["finished"], rows[0]["points"], rows[0]["rank"]) == ("user:ben", "1", "1.5",
                                                                                            "1")
    disposition = r.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and 'filename="clerks_2026-11.csv"' in disposition
    assert "115年11月" in unquote(disposition.split("filename*=UTF-8''")[1])
    x = client.get(f"{API}/reports/clerks?month=2026-11&format=xlsx", headers=ADMIN)
    assert x.headers["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    book = openpyxl.load_workbook(io.BytesIO(x.data), read_only=True)
    first = list(book.worksheets[0].values)
    assert {"clerk", "finished", "points", "rank"} <= set(first[0])
    row = dict(zip(first[0], first[1], strict=True))
    assert (row["clerk"], row["finished"], row["points"], row["rank"]) == ("user:ben", 1, 1.5, 1)
    assert "115年11月" in unquote(x.headers["Content-Disposition"])


@pytest.mark.parametrize("path", ["clerks?month=2026-11", "waits?from=2026-11-01&to=2026-11-30",
                                  "satisfaction?month=2026-11", "day?date=2026-11-23"])
def test_every_report_refuses_bad_input_and_other_tokens(client, path):
    ok = client.get(f"{API}/reports/{path}", headers=ADMIN)
    assert ok.status_code == 200
    assert_error(client.get(f"{API}/reports/{path}&format=pdf", headers=ADMIN), 422, "unknown_format")
    for token in (DISPLAY, counter_auth("3"), KIOSK):
        assert_error(client.get(f"{API}/reports/{path}", headers=token), 403, "role_not_allowed")
    assert_error(client.get(f"{API}/reports/{path}"), 401)
    for fmt in ("csv", "xlsx"):
        r = client.get(f"{API}/reports/{path}&format={fmt}", headers=ADMIN)
        assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]


@pytest.mark.parametrize("query,code", [
    ("clerks?month=2026-13", "invalid_month"), ("clerks", "invalid_month"),
    ("satisfaction?month=26-11", "invalid_month"),
    ("waits?from=2026-11-01", "invalid_date"), ("waits?from=2026-11-31&to=2026-12-01", "invalid_date"),
    ("waits?from=2026-11-30&to=2026-11-01", "invalid_date"), ("waits?from=2024-01-01&to=2026-01-01", "invalid_date"),
    ("day?date=2026-11", "invalid_date"), ("clerks?month=9999-12", "invalid_month"),
    ("satisfaction?month=1912-01", "invalid_month"), ("waits?from=0001-01-01&to=0001-01-02", "invalid_date"),
])
def test_a_bad_month_or_date_is_a_400(client, query, code):
    assert_error(client.get(f"{API}/reports/{query}", headers=ADMIN), 400, code)
    # ... also when an unknown format is asked for: the period is read first.
    assert_error(client.get(f"{API}/reports/{query}{'&' if '?' in query else '?'}format=pdf", headers=ADMIN), 400)


def test_a_month_without_data_is_an_empty_table(client):
    assert client.get(f"{API}/reports/clerks?month=2019-02", headers=ADMIN).get_json() == {"month": "2019-02",
                                                                                           "clerks": []}
    waits = client.get(f"{API}/reports/waits?from=2019-02-01&to=2019-02-28", headers=ADMIN).get_json()
    assert waits["services"] == [] and waits["by_hour"] == [] and waits["heatmap"] == []
    r = client.get(f"{API}/reports/clerks?month=2019-02&format=csv", headers=ADMIN)
    assert r.data.decode("utf-8-sig").splitlines() == [
        "rank,clerk,finished,points,walk_ins,no_shows,transfers,median_handling_s,p90_handling_s,counters"]
    sat = client.get(f"{API}/reports/satisfaction?month=2019-02", headers=ADMIN).get_json()
    assert sat["ratings"] == 0 and sat["by_counter"] == [] and len(sat["trend"]) == 12


def test_waits_per_service_lane_and_hour_with_transfers_and_no_shows(app, client, clock):
    hub = app.extensions["jiaohao"]
    hub.issue("general", "normal", "kiosk-1", None)  # 09:00, waits 5 min
    hub.issue("general", "elderly", "kiosk-1", None)  # 09:00, waits 20 min (after the first)
    clock.advance(minutes=5)
    hub.call_next("3", "counter-3")  # the elderly ticket first (interleave gives priority)...
    t = hub.counter("3")["ticket"]
    assert t["lane"] == "elderly"
    clock.advance(minutes=15)
    hub.transfer("3", "english", "counter-3")  # ... sent to English: its wait stays 5 minutes
    hub.call_next("3", "counter-3")  # the general normal one: 20 minutes
    clock.advance(minutes=10)
    hub.no_show("3", "counter-3")
    hub.call_next("13", "counter-13")  # the English counter calls the transferred one
    clock.advance(minutes=4)
    hub.finish("13", "counter-13")
    clock.advance(hours=2)
    hub.issue("general", "normal", "kiosk-1", None)  # 11:34: never called
    rep = client.get(f"{API}/reports/waits?from=2026-11-23&to=2026-11-23", headers=ADMIN).get_json()
    by = {(s["service"], s["lane"]): s for s in rep["services"]}
    elderly, normal, english = by[("general", "elderly")], by[("general", "normal")], by[("english", "elderly")]
    assert (elderly["issued"], elderly["transfers"], elderly["median_wait_s"], elderly["served"]) == (1, 1, 300, 0)
    assert (english["issued"], english["served"], english["median_handling_s"]) == (0, 1, 240)
    assert (normal["issued"], normal["no_shows"], normal["median_wait_s"], normal["called_within_15_min_pct"]) == \
        (2, 1, 1200, 0.0)
    assert normal["no_show_pct"] == 50.0 and elderly["transfer_pct"] == 100.0
    assert rep["all"]["issued"] == 3 and rep["all"]["called_within_15_min_pct"] == 50.0
    assert rep["by_hour"] == [{"hour": 9, "issued": 2, "median_wait_s": 750},
                              {"hour": 11, "issued": 1, "median_wait_s": None}]
    assert {(c["weekday"], c["hour"], c["issued"], c["per_day"]) for c in rep["heatmap"]} == {(1, 9, 2, 2.0),
                                                                                             (1, 11, 1, 1.0)}


def test_the_days_visits_per_counter_for_the_secretary(app, client, clock):
    hub = app.extensions["jiaohao"]
    hub.note("3", "login", "user:amy")
    serve(hub, "3", "general", 6, clock)
    hub.walk_in("15", "general", "elderly", "user:dan")
    clock.advance(minutes=3)
    hub.finish("15", "user:dan")
    rep = client.get(f"{API}/reports/day?date=2026-11-23", headers=ADMIN).get_json()
    assert [(c["counter"], c["visits"], c["finished"]) for c in rep["counters"]] == [("3", 1, 1), ("15", 1, 1)]
    three = rep["counters"][0]["rows"][0]
    assert (three["number"], three["clerk"], three["outcome"], three["handling_s"]) == ("A001", "user:amy", "done",
                                                                                         360)
    assert three["issued_at"] == "09:00:00" and three["ended_at"] == "09:06:00"
    walk = rep["counters"][1]["rows"][0]
    assert walk["walk_in"] is True and walk["number"] is None and walk["clerk"] == "user:dan"


def test_satisfaction_trend_month_on_month_and_year_on_year(office, tmp_path):
    from server.app import create_app

    clock = FakeClock(datetime(2025, 11, 3, 1, 0, tzinfo=UTC))
    app = create_app(office, tmp_path / "sat.db", clock=clock)
    hub = app.extensions["jiaohao"]
    client = app.test_client()

    def rate(scores: list[int], comment: str | None = None) -> None:
        for s in scores:
            serve(hub, "3", "general", 5, clock)
            hub.rate("3", s, comment, "tablet-3")

    rate([4, 4, 2, 1])  # 2025-11: 50 %
    clock.now = datetime(2026, 10, 5, 1, 0, tzinfo=UTC)
    rate([4, 3, 3, 1])  # 2026-10: 75 %
    clock.now = datetime(2026, 11, 4, 1, 0, tzinfo=UTC)
    rate([4, 4, 3, 3, 3, 3, 3, 3, 3, 2], "請多設座椅")  # 2026-11: 90 %
    try:
        rep = client.get(f"{API}/reports/satisfaction?month=2026-11", headers=ADMIN).get_json()
        assert (rep["ratings"], rep["satisfied_pct"], rep["met"]) == (10, 90.0, True)
        assert rep["mom"] == {"pts": 15.0, "growth_pct": 20.0}
        assert rep["yoy"] == {"pts": 40.0, "growth_pct": 80.0}
        assert [t["month"] for t in rep["trend"]][0] == "2025-12" and rep["trend"][-1]["month"] == "2026-11"
        assert rep["trend"][-2]["satisfied_pct"] == 75.0 and rep["trend"][-2]["mom"]["pts"] is None
        assert rep["comments"][0]["comment"] == "請多設座椅"
        book = openpyxl.load_workbook(io.BytesIO(client.get(f"{API}/reports/satisfaction?month=2026-11&format=xlsx",
                                                            headers=ADMIN).data), read_only=True)
        summary = list(book.worksheets[0].values)
        assert summary[0][:5] == ("group", "id", "ratings", "satisfied", "satisfied_pct")
        assert summary[1][:5] == ("office", None, 10, 9, 90)
        assert [ws.title for ws in book.worksheets] == ["satisfaction", "trend", "comments", "trend_by_group"]
    finally:
        hub.store.close()


def test_one_sort_gives_the_same_median_and_p90():
    import random

    from server.reports.stats import median, median_p90, p90

    rng = random.Random(7)
    for n in range(0, 80):
        values = [rng.uniform(0, 3000) for _ in range(n)]
        assert median_p90(values) == (median(values), p90(values))


def test_hours_of_a_zone_half_an_hour_off_utc(office):
    """Asia/Kolkata is UTC+05:30: 03:15 UTC is 08:45 there, 03:45 UTC is 09:15 (minute by minute, not by UTC hour)."""
    from dataclasses import replace

    from server.reports.waits import waits_report

    kolkata = replace(office, timezone="Asia/Kolkata")
    rows = [("general", "general", "normal", "done", "2026-11-23T03:15+00:00", "2026-11-23", 60.0, 300.0),
            ("general", "general", "normal", "done", "2026-11-23T03:45+00:00", "2026-11-23", 120.0, 300.0)]
    rep = waits_report(rows, kolkata, "2026-11-23", "2026-11-23")
    assert [(h["hour"], h["issued"]) for h in rep["by_hour"]] == [(8, 1), (9, 1)]
    taipei = waits_report(rows, office, "2026-11-23", "2026-11-23")
    assert [(h["hour"], h["issued"]) for h in taipei["by_hour"]] == [(11, 2)]
