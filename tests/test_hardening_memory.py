"""Issue #14, item 2: memory does not grow with idempotent issues. A retry needs only the ticket id and
the request, for the business day only, and at most MAX_IDEMPOTENCY_KEYS of them stay in memory."""

from __future__ import annotations

import gc
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from server.commit import Pending
from server.engine.model import Change, Ticket
from server.engine.office import Office
from server.hub import Hub
from server.hub import core as hub_module
from server.store import Store
from tests.conftest import FakeClock


def _count(kind: type) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, kind))


@pytest.fixture
def group_hub(office: Office, tmp_path: Path, clock: FakeClock) -> Any:
    store = Store(tmp_path / "hub.db")
    hub = Hub(office, store, clock=clock, group_commit=True)
    yield hub
    store.close()


def _issue_many(hub: Hub, n: int, prefix: str, clock: FakeClock) -> list[str]:
    ids = []
    for i in range(n):
        view, created = hub.issue("general" if i % 2 else "quick", "normal", "kiosk-1", f"{prefix}-{i}")
        assert created
        ids.append(view["id"])
        clock.advance(seconds=1)
    return ids


def test_idempotent_issues_keep_no_pending_change_and_a_bounded_number_of_keys(
        group_hub: Hub, clock: FakeClock, monkeypatch: Any) -> None:
    monkeypatch.setattr(hub_module, "MAX_IDEMPOTENCY_KEYS", 500)
    ids = _issue_many(group_hub, 1000, "k", clock)
    assert _count(Pending) == 0 and _count(Change) < 50
    assert len(group_hub._idem) <= 500
    # The keys dropped from memory are still answered, from the disk: same ticket, not a new one.
    again, created = group_hub.issue("quick", "normal", "kiosk-1", "k-0")
    assert not created and again["id"] == ids[0]


def test_yesterdays_tickets_and_keys_leave_memory(group_hub: Hub, clock: FakeClock) -> None:
    _issue_many(group_hub, 500, "day1", clock)
    tickets_day1 = _count(Ticket)
    clock.now += timedelta(days=1)
    _issue_many(group_hub, 500, "day2", clock)
    # Flat from day to day: what stays is one day's tickets, and only today's keys.
    assert _count(Ticket) <= tickets_day1 * 1.1
    assert all(key.startswith("day2") for _, key in group_hub._idem)
    assert _count(Pending) == 0
