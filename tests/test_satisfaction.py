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


# -- each counter and clerk against its own past (issue #10) --------------------------------------

def test_each_counter_and_clerk_has_its_trend_and_growth(office, tmp_path):
    import csv
    import io
    from datetime import UTC, datetime

    import openpyxl
    from conftest import FakeClock

    from server.app import create_app

    clock = FakeClock(datetime(2025, 11, 3, 1, 0, tzinfo=UTC))
    app = create_app(office, tmp_path / "sat.db", clock=clock)
    hub = app.extensions["jiaohao"]
    client = app.test_client()

    def rate(cid: str, clerk: str, scores: list[int], comment: str | None = None) -> None:
        for s in scores:
            hub.issue("general", "normal", "kiosk-1", None)
            hub.call_next(cid, clerk)
            clock.advance(minutes=5)
            hub.finish(cid, clerk)
            hub.rate(cid, s, comment, f"tablet-{cid}")

    rate("3", "user:amy", [4, 4, 2, 1])  # 2025-11: amy at 3, 50 %
    rate("4", "user:ben", [4, 4, 4, 4])  # ben at 4, 100 %
    clock.now = datetime(2026, 10, 5, 1, 0, tzinfo=UTC)
    rate("3", "user:amy", [4, 3, 3, 1])  # 2026-10: 75 %
    rate("4", "user:ben", [4, 4, 4, 4, 4])  # 100 %
    clock.now = datetime(2026, 11, 4, 1, 0, tzinfo=UTC)
    rate("3", "user:amy", [4, 4, 3, 3, 3, 3, 3, 3, 3, 2])  # 2026-11: 90 %
    rate("4", "user:ben", [4, 2, 2, 2])  # 25 %
    rate("4", "user:amy", [1], "請聯絡我 0912-345-678，身分證 A123456789")  # amy helps at 4 once
    rate("5", "user:cat", [4])  # a counter and a clerk rated for the first time
    try:
        rep = client.get(f"{API}/reports/satisfaction?month=2026-11", headers=ADMIN).get_json()
        # The office as before: 11 of 16 (68.8 %) against 8 of 9 (88.9 %).
        assert (rep["ratings"], rep["satisfied_pct"], rep["mom"]["pts"]) == (16, 68.8, -20.1)
        counters = {c["counter"]: c for c in rep["by_counter"]}
        three, four, five = counters["3"], counters["4"], counters["5"]
        assert (three["satisfied_pct"], three["met"]) == (90.0, True)
        assert three["mom"] == {"pts": 15.0, "growth_pct": 20.0}
        assert three["yoy"] == {"pts": 40.0, "growth_pct": 80.0}
        assert [t["month"] for t in three["trend"]][0] == "2025-12" and len(three["trend"]) == 12
        assert (three["trend"][-2]["ratings"], three["trend"][-2]["satisfied_pct"]) == (4, 75.0)
        assert three["trend"][-1]["mom"] == three["mom"]
        # Counter 4: ben's four and amy's one (20 %), against 100 % in both months before.
        assert (four["ratings"], four["satisfied_pct"], four["met"]) == (5, 20.0, False)
        assert four["mom"] == {"pts": -80.0, "growth_pct": -80.0} and four["yoy"]["pts"] == -80.0
        assert five["mom"] == {"pts": None, "growth_pct": None} and five["trend"][-2]["satisfied_pct"] is None
        clerks = {c["clerk"]: c for c in rep["by_clerk"]}
        # amy over both counters: 2026-11 9 of 11, 2026-10 3 of 4, 2025-11 2 of 4.
        assert clerks["user:amy"]["satisfied_pct"] == 81.8
        assert clerks["user:amy"]["mom"] == {"pts": 6.8, "growth_pct": 9.1}
        assert clerks["user:amy"]["yoy"] == {"pts": 31.8, "growth_pct": 63.6}
        assert clerks["user:ben"]["mom"]["pts"] == -75.0 and clerks["user:cat"]["yoy"]["pts"] is None
        # The comment names its clerk, and the numbers a citizen typed into it are masked.
        (comment,) = rep["comments"]
        assert comment["clerk"] == "user:amy" and comment["counter"] == "4"
        assert "0912" not in comment["comment"] and "A123456789" not in comment["comment"]
        assert comment["comment"] == "請聯絡我 ＊＊＊，身分證 ＊＊＊"
        # The CSV: a row per counter and clerk with its growth.
        r = client.get(f"{API}/reports/satisfaction?month=2026-11&format=csv", headers=ADMIN)
        rows = {(x["group"], x["id"]): x for x in csv.DictReader(io.StringIO(r.data.decode("utf-8-sig")))}
        assert (rows[("counter", "3")]["mom_pts"], rows[("counter", "3")]["yoy_growth_pct"]) == ("15.0", "80.0")
        assert rows[("counter", "4")]["met"] == "no" and rows[("clerk", "user:ben")]["mom_pts"] == "-75.0"
        assert rows[("office", "")]["met"] == "no"
        book = openpyxl.load_workbook(io.BytesIO(client.get(
            f"{API}/reports/satisfaction?month=2026-11&format=xlsx", headers=ADMIN).data), read_only=True)
        by_group = list(book["trend_by_group"].values)
        assert by_group[0] == ("group", "id", "month", "ratings", "satisfied_pct", "mom_pts", "mom_growth_pct")
        assert ("counter", "3", "2026-10", 4, 75, None, None) in by_group
        assert ("counter", "3", "2026-11", 10, 90, 15, 20) in by_group
        assert len([r for r in by_group[1:] if r[0] == "counter"]) == 12 * 3
        assert list(book["comments"].values)[1][-1] == "user:amy"
        # A month of the past reads the same from its own point of view.
        oct_ = client.get(f"{API}/reports/satisfaction?month=2026-10", headers=ADMIN).get_json()
        assert {c["counter"]: c["yoy"]["pts"] for c in oct_["by_counter"]} == {"3": None, "4": None}
    finally:
        hub.store.close()


def test_a_page_shows_each_counters_small_line_and_growth(office, tmp_path):
    import re
    from datetime import UTC, datetime

    from conftest import FakeClock

    from server.app import create_app

    clock = FakeClock(datetime(2026, 10, 5, 1, 0, tzinfo=UTC))
    app = create_app(office, tmp_path / "sat.db", clock=clock)
    hub = app.extensions["jiaohao"]
    client = app.test_client()
    with hub.lock:
        add_user(hub.store, "boss", "supervisor", "correct horse")
    for day, scores in ((datetime(2026, 10, 5, 1, tzinfo=UTC), [4, 1]), (datetime(2026, 11, 4, 1, tzinfo=UTC), [4])):
        clock.now = day
        for s in scores:
            hub.issue("general", "normal", "kiosk-1", None)
            hub.call_next("3", "user:amy")
            hub.finish("3", "user:amy")
            hub.rate("3", s, None, "tablet-3")
    try:
        html = client.get("/login").get_data(as_text=True)
        csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
        client.post("/login", data={"csrf": csrf, "name": "boss", "password": "correct horse", "counter": ""})
        page = client.get("/reports/satisfaction?month=2026-11").get_data(as_text=True)
        row = re.search(r'<tr data-counter="3">.*?</tr>', page, re.S).group(0)
        assert "+50.0 個百分點 pts" in row and "100.0 %" in row  # 50 % -> 100 %: +50 pts, growth 100 %
        svg = re.search(r"<svg[^>]+>.*?</svg>", row, re.S).group(0)
        assert 'role="img"' in svg and "3號綜合櫃台" in svg and "10月: 50%; 11月: 100%" in svg
        assert '<tr data-clerk="user:amy">' in page
        assert len(re.findall(r'<td class="spark"><svg', page)) == 2  # counter 3 and amy
    finally:
        hub.store.close()


def test_only_id_and_mobile_numbers_are_masked():
    from server.reports.satisfaction import masked

    assert masked("A123456789") == "＊＊＊" and masked("ｂ２２３４５６７８９好") == "＊＊＊好"
    assert masked("居留證 AB12345678 與 A800000001") == "居留證 ＊＊＊ 與 ＊＊＊"
    assert masked("電話0912 345 678") == "電話＊＊＊"
    # Not an ID: a ticket number, a longer run, a year, a short number.
    for kept in ("A023 叫號太快", "XA1234567890", "民國115年", "等了 25 分鐘", "櫃台3很好", "0912345"):
        assert masked(kept) == kept


def test_a_small_line_reads_in_grayscale():
    import re

    from server.reports.charts import spark

    svg = spark("3號綜合櫃台：滿意比率", ["9月", "10月", "11月", "12月"], [95.0, 80.0, None, 92.5], 90, low=70)
    assert re.match(r'<svg [^>]*role="img" [^>]*width="\d+" height="50"', svg)  # its own size, in a table cell
    squares = re.findall(r'<rect [^>]*fill="(#000|#fff)"', svg)
    assert squares == ["#000", "#fff", "#000"]  # met, not met, (no ratings: no square), met
    assert svg.count("<polyline") == 1  # 9月-10月; the month without ratings breaks the line
    assert 'stroke-dasharray' in svg and ">92.5</text>" in svg  # the target, and the last value written
    assert "<desc" in svg and "9月: 95%; 10月: 80%; 11月: —; 12月: 92.5%; 目標 target 90%" in svg
