"""The report pages and the supervisor's floor through Flask's client: who may read them, and what they show."""

from __future__ import annotations

import csv
import io
import re

import pytest
from conftest import KIOSK, assert_error

from server.users import add_user


@pytest.fixture
def staff(app):
    hub = app.extensions["jiaohao"]
    with hub.lock:
        add_user(hub.store, "boss", "supervisor", "correct horse")
        add_user(hub.store, "amy", "clerk", "correct horse")
    return hub


def csrf_of(client, path="/login") -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def login(client, name, counter="", **extra):
    return client.post("/login", data={"csrf": csrf_of(client), "name": name, "password": "correct horse",
                                       "counter": counter, **extra})


def visit(hub, clock, cid="3", service="general", minutes=6, actor=None):
    hub.issue(service, "normal", "kiosk-1", None)
    hub.call_next(cid, actor or f"counter-{cid}")
    clock.advance(minutes=minutes)
    hub.finish(cid, actor or f"counter-{cid}")


def test_nobody_logged_in_goes_to_login_and_comes_back(client, staff):
    r = client.get("/reports/clerks?month=2026-11")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=/reports/clerks")
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert 'name="next" value="/reports/clerks?month=2026-11"' in page
    r = login(client, "boss", next="/reports/clerks?month=2026-11")
    assert r.status_code == 302 and r.headers["Location"] == "/reports/clerks?month=2026-11"


def test_login_never_sends_to_another_site(client, staff):
    r = login(client, "boss", next="//evil.example/x")
    assert r.headers["Location"] == "/supervisor"


def test_a_clerk_gets_403_and_needs_a_counter(client, staff):
    r = login(client, "amy")
    assert r.status_code == 400 and "請選擇櫃台" in r.get_data(as_text=True)
    assert login(client, "amy", "3").headers["Location"].endswith("/console")
    for path in ("/reports", "/reports/clerks", "/reports/waits", "/supervisor", "/supervisor/floor"):
        r = client.get(path)
        assert r.status_code == 403 and "沒有權限" in r.get_data(as_text=True), path


def test_a_supervisor_without_a_counter_reads_reports_not_the_console(app, client, staff, clock):
    visit(staff, clock, actor="user:amy")
    r = login(client, "boss")
    assert r.status_code == 302 and r.headers["Location"] == "/supervisor"
    assert client.get("/console").headers["Location"] == "/supervisor"
    assert_error(client.get("/console/api/state"), 403, "no_counter")
    assert not [e for e in staff.store.events() if e["kind"] == "login" and e["actor"] == "user:boss"]
    page = client.get("/reports/clerks?month=2026-11").get_data(as_text=True)
    assert "承辦員績效評比 115年11月" in page and "<td>amy</td>" in page
    assert re.search(r'<svg[^>]+role="img"[^>]+aria-labelledby="chart\d+-t chart\d+-d"', page)
    assert "<title id=" in page and "★" in page
    assert 'href="/reports/clerks?month=2026-11&amp;format=xlsx"' in page
    r = client.get("/reports/clerks?month=2026-11&format=csv")
    rows = list(csv.DictReader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows[0]["clerk"] == "user:amy" and "115%E5%B9%B411%E6%9C%88" in r.headers["Content-Disposition"]


def test_every_report_page_renders_in_the_roc_calendar(client, staff, clock):
    visit(staff, clock)
    staff.rate("3", 4, "謝謝", "tablet-3")
    login(client, "boss")
    expected = {"/reports": "報表", "/reports/waits?from=2026-11-01&to=2026-11-30": "等候時間統計 115年11月",
                "/reports/waits?from=2026-11-23&to=2026-11-24": "115年11月23日至115年11月24日",
                "/reports/satisfaction?month=2026-11": "服務滿意度 115年11月",
                "/reports/day?date=2026-11-23": "櫃台每日案件 115年11月23日",
                "/reports/day": "115年11月23日"}
    for path, text in expected.items():
        r = client.get(path)
        page = r.get_data(as_text=True)
        assert r.status_code == 200 and text in page, path
    # The index has no period: its English title ends without a dangling comma ("Reports,").
    assert '<span lang="en">Reports</span></h1>' in client.get("/reports").get_data(as_text=True)
    assert "Waiting times, " in client.get("/reports/waits?from=2026-11-01&to=2026-11-30").get_data(as_text=True)
    assert "謝謝" in client.get("/reports/satisfaction?month=2026-11").get_data(as_text=True)
    waits = client.get("/reports/waits?from=2026-11-01&to=2026-11-30").get_data(as_text=True)
    assert "9時" in waits and "星期一 Mon" in waits


def test_a_bad_month_on_a_page_says_so(client, staff):
    login(client, "boss")
    r = client.get("/reports/clerks?month=2026-13")
    assert r.status_code == 400 and "YYYY-MM" in r.get_data(as_text=True)
    assert client.get("/reports/clerks?month=2026-11&format=pdf").status_code == 422


def test_the_floor_and_its_alerts(app, client, staff, clock):
    login(client, "boss")
    for _ in range(3):
        staff.issue("english", "normal", "kiosk-1", None)
    staff.report_device("kiosk-1", "error", "paper_out", {"zh-TW": "出票機缺紙", "en": "Out of paper"})
    clock.advance(minutes=35)
    floor = staff.floor()
    kinds = {a["kind"] for a in floor["alerts"]}
    assert {"long_wait", "idle_counter", "device"} <= kinds
    assert floor["alerts"][0]["kind"] == "device"  # errors first
    english = next(s for s in floor["services"] if s["id"] == "english")
    assert (english["waiting"], english["longest_wait_s"], english["arrivals_last_hour"]) == (3, 2100, 3)
    idle = next(a for a in floor["alerts"] if a["kind"] == "idle_counter")
    assert idle["counter"] == "13"  # the English counter: open, nobody called while three came in
    counter13 = next(c for c in floor["counters"] if c["id"] == "13")
    assert counter13["state"] == "idle"
    page = client.get("/supervisor").get_data(as_text=True)
    assert "出票機缺紙" in page and "已有民眾等候 35 分鐘" in page and "閒置" in page
    assert "出票機缺紙" in client.get("/supervisor/floor").get_data(as_text=True)


def test_a_closed_counter_is_away_and_a_serving_one_shows_its_number(client, staff):
    staff.issue("general", "normal", "kiosk-1", None)
    staff.call_next("3", "counter-3")
    staff.set_open("4", False, "counter-4")
    counters = {c["id"]: c for c in staff.floor()["counters"]}
    assert (counters["3"]["state"], counters["3"]["number"]) == ("serving", "A001")
    assert counters["4"]["state"] == "away"


def test_the_console_shows_the_same_alerts(app, client, staff, clock):
    login(client, "amy", "3")
    staff.report_device("kiosk-1", "error", "paper_out", {"zh-TW": "出票機缺紙", "en": "Out of paper"})
    state = client.get("/console/api/state").get_json()
    assert [a["kind"] for a in state["alerts"]] == ["device"]
    assert client.get("/console/api/alerts").get_json()["alerts"] == state["alerts"]


def test_api_reports_still_need_an_admin_token_not_a_session(client, staff):
    login(client, "boss")
    assert_error(client.get("/api/v1/reports/clerks?month=2026-11"), 401)
    assert_error(client.get("/api/v1/reports/clerks?month=2026-11", headers=KIOSK), 403)
