"""Build small offices and drive the pure engine directly, applying each Change as the hub would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from server.config import parse_office
from server.engine.model import Change, Ticket
from server.engine.office import Office
from server.engine.queue import QueueEngine, QueueState

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 09:00 Asia/Taipei, a Monday


def small_office(mode: str = "strict", priority_run: int = 2, max_wait: int = 0, **extra: Any) -> Office:
    data: dict[str, Any] = {
        "office": {"name": {"zh-TW": "測試戶政事務所", "en": "Test office"}, "timezone": "Asia/Taipei"},
        "services": [
            {"id": "general", "name": "綜合", "prefix": "A", "first": 1, "last": 999, "default_minutes": 10},
            {"id": "quick", "name": "快速", "prefix": "B", "first": 1, "last": 999, "default_minutes": 5},
        ],
        "lanes": [
            {"id": "elderly", "name": "樂齡", "weight": 10},
            {"id": "disability", "name": "愛心", "weight": 20},
        ],
        "policy": {"mode": mode, "priority_run": priority_run, "max_wait_minutes": max_wait},
        "counters": [
            {"id": "1", "name": "1號櫃台", "services": ["general", "quick"]},
            {"id": "2", "name": "2號櫃台", "services": ["quick"]},
        ],
        "devices": [{"id": "k", "role": "kiosk", "token": "kiosk-token-1"}],
    }
    data.update(extra)
    return parse_office(data)


class Driver:
    """The engine plus a clock, applying every Change at once (no store)."""

    def __init__(self, office: Office, start: datetime = T0) -> None:
        ids = count(1)
        self.now = start
        self.engine = QueueEngine(office, QueueState(business_date=office_date(office, start)),
                                  new_id=lambda: f"t{next(ids)}")

    def tick(self, **kw: float) -> None:
        self.now += timedelta(**kw)

    def do(self, change: Change) -> Change:
        self.engine.apply(change)
        return change

    def roll(self) -> Change:
        return self.do(self.engine.roll_day(self.now))

    def issue(self, service: str = "general", lane: str = "normal") -> Ticket:
        ch = self.do(self.engine.issue(service, lane, self.now, "k"))
        assert ch.ticket
        return self.engine.state.tickets[ch.ticket]

    def next(self, counter: str = "1") -> Ticket | None:
        ch = self.do(self.engine.call_next(counter, self.now, "c"))
        return self.engine.state.tickets[ch.ticket] if ch.ticket else None

    def __getattr__(self, name: str) -> Any:
        op = getattr(self.engine, name)

        def run(*args: Any) -> Change:
            return self.do(op(*args, self.now, "c"))

        return run


def office_date(office: Office, when: datetime) -> str:
    return when.astimezone(office.tz).date().isoformat()
