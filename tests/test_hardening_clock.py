"""Issue #14, item 1: a wrong clock. The queue follows the order of issue, waits are measured so that
a clock step cannot bend them, and a hub started on a clock behind its database changes nothing."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from server.app import create_app
from server.clock import HubClock
from server.engine.model import Status
from server.engine.office import Office
from server.engine.policy import ClockSteps
from server.engine.queue import QueueEngine, QueueState
from server.hub import Hub
from server.store import Store
from tests.conftest import KIOSK, assert_error, counter_auth


class Clocks:
    """A wall clock and a monotonic clock that tests move apart, as NTP or a missing RTC does."""

    def __init__(self) -> None:
        self.wall = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 09:00 in Taipei
        self.mono = 1000.0

    def pass_(self, seconds: float) -> None:
        """Real time passing: both clocks move."""
        self.wall += timedelta(seconds=seconds)
        self.mono += seconds

    def step(self, seconds: float) -> None:
        """The wall clock alone is set (a step); no real time passes."""
        self.wall += timedelta(seconds=seconds)


@pytest.fixture
def clocks() -> Clocks:
    return Clocks()


def _app(office: Office, path: Path, clocks: Clocks) -> Any:
    hub = Hub(office, Store(path), clock=lambda: clocks.wall, monotonic=lambda: clocks.mono)
    return create_app(office, hub=hub)


@pytest.fixture
def live(office: Office, tmp_path: Path, clocks: Clocks) -> Iterator[Any]:
    app = _app(office, tmp_path / "hub.db", clocks)
    yield app
    app.extensions["jiaohao"].store.close()


def _issue(client: Any, lane: str = "normal") -> dict[str, Any]:
    r = client.post("/api/v1/tickets", json={"service": "general", "lane": lane}, headers=KIOSK)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["ticket"]


def _next(client: Any, cid: str = "3") -> dict[str, Any] | None:
    r = client.post(f"/api/v1/counters/{cid}/next", headers=counter_auth(cid))
    assert r.status_code == 200, r.get_json()
    return r.get_json()["ticket"]


def test_the_engine_calls_in_order_of_issue_whatever_the_issue_times_say(office: Office) -> None:
    engine = QueueEngine(office, QueueState("2026-11-23"))
    t0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    numbers = []
    for minutes in (0, 1, 2, -20):  # the fourth ticket was issued after a step back of 20 minutes
        change = engine.issue("general", "normal", t0 + timedelta(minutes=minutes), "kiosk-1")
        engine.apply(change)
    for _ in range(4):
        change = engine.call_next("3", t0 + timedelta(minutes=5), "counter-3")
        engine.apply(change)
        assert change.ticket
        numbers.append(engine.state.tickets[change.ticket].number)
    assert numbers == ["A001", "A002", "A003", "A004"]


def test_waits_do_not_count_a_forward_step() -> None:
    t0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    steps = ClockSteps(((t0 + timedelta(minutes=10), 7200.0),))
    assert steps.waited_s(t0, t0 + timedelta(hours=2, minutes=15)) == 15 * 60
    # A ticket issued after the step waits from its issue, untouched.
    assert steps.waited_s(t0 + timedelta(minutes=20), t0 + timedelta(minutes=50)) == 30 * 60


def test_a_clock_stepping_back_keeps_the_order_of_issue_and_the_hubs_time(live: Any, clocks: Clocks,
                                                                          caplog: Any) -> None:
    client = live.test_client()
    first = [_issue(client)["number"] for _ in range(3)]
    clocks.pass_(60)
    before = datetime.fromisoformat(_issue(client)["issued_at"])
    with caplog.at_level(logging.WARNING, logger="jiaohao.clock"):
        clocks.step(-20 * 60)
        clocks.pass_(5)
        late = _issue(client)
    assert any("stepped back" in r.getMessage() for r in caplog.records)
    # Counted as no time passing: the hub's time went on from where it was, never back.
    assert datetime.fromisoformat(late["issued_at"]) >= before
    called = [(_next(client) or {}).get("number") for _ in range(5)]
    assert called == [*first, "A004", late["number"]]


def test_a_forward_step_does_not_make_max_wait_fire(live: Any, clocks: Clocks) -> None:
    client = live.test_client()
    _issue(client)  # A001, normal
    clocks.pass_(60)
    elderly = _issue(client, "elderly")
    clocks.step(2 * 3600)  # NTP, or someone setting the clock two hours ahead
    clocks.pass_(60)
    # Two minutes of real waiting: the policy's strict order holds, the senior is called first.
    assert (_next(client) or {})["number"] == elderly["number"]


def test_real_waiting_still_makes_max_wait_fire(live: Any, clocks: Clocks) -> None:
    client = live.test_client()
    normal = _issue(client)
    clocks.pass_(61 * 60)
    _issue(client, "elderly")
    assert (_next(client) or {})["number"] == normal["number"]


def test_a_hub_started_on_a_clock_behind_its_database_changes_nothing_until_it_catches_up(
        office: Office, tmp_path: Path, clocks: Clocks) -> None:
    db = tmp_path / "hub.db"
    app = _app(office, db, clocks)
    client = app.test_client()
    waiting = [_issue(client)["id"] for _ in range(10)]
    app.extensions["jiaohao"].store.close()

    clocks.wall = datetime(1970, 1, 1, tzinfo=UTC)  # a Pi without its real-time clock, before NTP
    app = _app(office, db, clocks)
    client = app.test_client()
    try:
        for path, body, auth in (("/api/v1/tickets", {"service": "general"}, KIOSK),
                                 ("/api/v1/counters/3/next", None, counter_auth("3")),
                                 ("/api/v1/counters/3/close", None, counter_auth("3"))):
            err = assert_error(client.post(path, json=body, headers=auth), 503, "clock_behind")
            assert "clock" in err["message"] and "時間" in err["message"]
        # Reads go on, and say why nothing moves.
        state = client.get("/api/v1/state", headers=KIOSK)
        assert state.status_code == 200
        assert state.get_json()["hub"]["status"] == "clock_behind"
        assert state.get_json()["hub"]["message"]["en"]
        for tid in waiting:
            assert client.get(f"/api/v1/tickets/{tid}", headers=KIOSK).get_json()["ticket"]["status"] == "waiting"

        clocks.wall = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)  # NTP has synced: it goes on by itself
        assert _issue(client)["number"] == "A011"
        assert client.get("/api/v1/state", headers=KIOSK).get_json()["hub"]["status"] == "ok"
        hub = app.extensions["jiaohao"]
        assert all(hub.engine.state.tickets[tid].status == Status.WAITING for tid in waiting)
    finally:
        app.extensions["jiaohao"].store.close()


def test_a_business_day_is_never_closed_on_a_clock_that_went_backwards(office: Office) -> None:
    engine = QueueEngine(office, QueueState("2026-11-23"))
    t0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    engine.apply(engine.issue("general", "normal", t0, "kiosk-1"))
    change = engine.roll_day(datetime(2026, 11, 22, 1, 0, tzinfo=UTC))
    assert change.empty


def test_the_hub_clock_takes_a_forward_step_for_the_date_and_remembers_it(caplog: Any) -> None:
    wall = [datetime(2026, 11, 23, 1, 0, tzinfo=UTC)]
    mono = [0.0]
    clock = HubClock(lambda: wall[0], lambda: mono[0])
    start = clock()
    wall[0] += timedelta(hours=3)
    with caplog.at_level(logging.WARNING, logger="jiaohao.clock"):
        after = clock()
    assert after - start == timedelta(hours=3)
    assert [round(j) for _, j in clock.steps.jumps] == [3 * 3600]
    assert any("stepped forward" in r.getMessage() for r in caplog.records)
    # A step back, then the wall clock catching up again: only the forward part beyond it is a step.
    wall[0] -= timedelta(minutes=20)
    assert clock() == after
    wall[0] += timedelta(minutes=20)
    assert clock() == after
    assert len(clock.steps.jumps) == 1
