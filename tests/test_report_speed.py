"""The waits report from kept settled days (server/reports/settled.py) is the plain computation's, value for value."""

from __future__ import annotations

import shutil
import sqlite3
import sys
import threading
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from conftest import ADMIN, ROOT, FakeClock

from server.reports import settled
from server.reports.waits import waits_report
from server.store import History

sys.path.insert(0, str(ROOT / "scripts"))
from gen_history import generate  # noqa: E402

START, DAYS = date(2026, 10, 19), 17  # Monday 10-19 to Tuesday 11-04: thirteen business days


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("history") / "weeks.db"
    counts = generate(str(db), START, DAYS, seed=3, per_day=90)
    assert counts["tickets"] > 900  # enough to have every service, lane, hour and outcome
    return db


@pytest.fixture
def db(generated, tmp_path) -> Path:
    copy = tmp_path / "weeks.db"
    shutil.copy(generated, copy)
    return copy


def span(h: History) -> tuple[str, str]:
    return h.rows("SELECT min(business_date), max(business_date) FROM tickets")[0]


def test_kept_days_give_the_plain_report_cold_warm_and_for_any_part_of_the_range(db, office):
    h = History(str(db))
    try:
        first, last = span(h)
        plain = waits_report(h.wait_rows(first, last), office, first, last)
        assert plain["all"]["issued"] > 900 and plain["all"]["transfers"] > 0 and plain["all"]["no_shows"] > 0
        assert len(settled.kept(h)) == 0
        assert settled.waits_report(h, office, first, last) == plain  # cold: read, and kept
        # Every day but the last is settled (the last has no later day), weekends too.
        assert len(settled.kept(h)) == (date.fromisoformat(last) - date.fromisoformat(first)).days
        assert settled.waits_report(h, office, first, last) == plain  # warm: from the kept days
        for a, b in ((first, first), ("2026-10-24", "2026-10-25"), ("2026-10-21", "2026-10-30"), ("2026-10-27", last),
                     ("2026-10-01", "2026-11-30")):
            assert settled.waits_report(h, office, a, b) == waits_report(h.wait_rows(a, b), office, a, b), (a, b)
        # A zone half an hour off UTC is kept apart, minute by minute, and still the same.
        kolkata = replace(office, timezone="Asia/Kolkata")
        assert settled.waits_report(h, kolkata, first, last) == waits_report(h.wait_rows(first, last), kolkata,
                                                                             first, last)
    finally:
        h.close()


def test_settled_days_exclude_the_newest_day_and_a_day_with_a_ticket_still_open(db, office):
    h = History(str(db))
    try:
        first, last = span(h)
        days = h.settled_days(first, last)
        assert last not in days and first in days and "2026-10-24" in days  # a Saturday, over
        assert h.settled_days(last, last) == set()
    finally:
        h.close()
    with sqlite3.connect(db) as c:  # a ticket that the end of its day never closed
        c.execute("UPDATE tickets SET status = 'waiting' WHERE id = (SELECT min(id) FROM tickets "
                  "WHERE business_date = '2026-10-22')")
    h = History(str(db))
    try:
        assert "2026-10-22" not in h.settled_days(first, last) and "2026-10-21" in h.settled_days(first, last)
        plain = waits_report(h.wait_rows(first, last), office, first, last)
        assert settled.waits_report(h, office, first, last) == plain
        assert settled.kept(h).get(office.timezone, "2026-10-22") is None
        assert settled.kept(h).get(office.timezone, "2026-10-21") is not None
    finally:
        h.close()


def test_today_is_read_afresh_on_a_running_hub(db, office):
    """On the hub, today's tickets change under the report: today is never kept, yesterday is once today began."""
    from server.app import create_app

    # The morning after the generated days (2026-11-05, a Thursday, 09:00 in Taipei).
    clock = FakeClock(datetime(2026, 11, 5, 1, 0, tzinfo=UTC))
    app = create_app(office, db, clock=clock)
    hub = app.extensions["jiaohao"]
    client = app.test_client()
    try:
        h = hub.history
        first, today = START.isoformat(), "2026-11-05"

        def both() -> tuple[dict, dict]:
            url = f"/api/v1/reports/waits?from={first}&to={today}"
            return client.get(url, headers=ADMIN).get_json(), waits_report(h.wait_rows(first, today), office, first,
                                                                           today)

        api, plain = both()
        assert api == plain
        for _ in range(3):
            hub.issue("general", "normal", "kiosk-1", None)
        assert "2026-11-04" in h.settled_days(first, today) and today not in h.settled_days(first, today)
        api, plain = both()
        assert api == plain
        clock.advance(minutes=7)
        hub.call_next("3", "counter-3")  # today changes: the report follows
        api2, plain2 = both()
        assert api2 == plain2
        day = client.get(f"/api/v1/reports/waits?from={today}&to={today}", headers=ADMIN).get_json()
        assert (day["all"]["issued"], day["all"]["median_wait_s"], day["by_hour"]) == (
            3, 420, [{"hour": 9, "issued": 3, "median_wait_s": 420}])
        assert settled.kept(h).get(office.timezone, today) is None
    finally:
        hub.store.close()


def test_the_oldest_kept_day_goes_first():
    from server.reports.waits import Parts

    days = settled.SettledDays(max_days=3)
    for d in ("2026-01-05", "2026-01-06", "2026-01-07"):
        days.put("Asia/Taipei", d, Parts())
    assert days.get("Asia/Taipei", "2026-01-05") is not None  # read: now the newest
    days.put("Asia/Taipei", "2026-01-08", Parts())
    assert len(days) == 3 and days.get("Asia/Taipei", "2026-01-06") is None
    assert days.get("Asia/Taipei", "2026-01-05") is not None and days.get("Asia/Kolkata", "2026-01-05") is None


def test_warming_keeps_the_year_so_a_years_report_reads_only_what_is_not_settled(db, office, monkeypatch):
    from server.app import create_app

    clock = FakeClock(datetime(2026, 11, 5, 1, 0, tzinfo=UTC))
    app = create_app(office, db, clock=clock)
    hub = app.extensions["jiaohao"]
    try:
        h = hub.history
        kept = hub.warm_reports()
        # 400 days back from today, but for the last generated day: no later day has begun yet.
        assert kept == 398 and settled.kept(h).get(office.timezone, "2026-11-04") is None
        reads: list[tuple[str, str]] = []
        real = h.wait_rows
        monkeypatch.setattr(h, "wait_rows", lambda a, b: reads.append((a, b)) or real(a, b))
        first, last = "2025-11-05", "2026-11-04"
        fast = app.test_client().get(f"/api/v1/reports/waits?from={first}&to={last}", headers=ADMIN).get_json()
        assert reads == [(last, last)]
        assert fast == waits_report(real(first, last), office, first, last)
    finally:
        hub.store.close()


def test_every_report_is_read_through_the_reports_offload(office, tmp_path):
    """`jiaohao serve` gives the hub a thread of its own for reports: every report's reads go there."""
    from concurrent.futures import ThreadPoolExecutor

    from server.app import create_app
    from server.hub import Hub
    from server.store import Store

    pool = ThreadPoolExecutor(1, thread_name_prefix="reports")
    threads: list[str] = []

    def offload(fn):
        def run():
            threads.append(threading.current_thread().name)
            return fn()
        return pool.submit(run).result()

    store = Store(tmp_path / "hub.db")
    hub = Hub(office, store, clock=FakeClock(), report_offload=offload)
    client = create_app(office, hub=hub).test_client()
    try:
        for path in ("clerks?month=2026-11", "waits?from=2026-11-01&to=2026-11-30", "satisfaction?month=2026-11",
                     "day?date=2026-11-23", "appointments?date=2026-11-23", "clerks?month=2026-11&format=xlsx"):
            assert client.get(f"/api/v1/reports/{path}", headers=ADMIN).status_code == 200, path
        assert len(threads) == 6 and all(t.startswith("reports") for t in threads)
    finally:
        store.close()
        pool.shutdown()
