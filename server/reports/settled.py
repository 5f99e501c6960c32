"""The waits report from what is kept of settled days: a year's report without reading a year.

A business day is settled when nothing can change its tickets any more (History.settled_days: a
later day has begun, which the hub only does after closing this one, and none of its tickets is
still waiting, called or serving). The event log is append-only and a settled day's tickets are
final, so the Parts of such a day (server/reports/waits.py: counts and the waits and handling
times, before any median) are the same tomorrow as today. They are kept with the History, for
the life of the hub, and a report over a range reads from the database only the days not kept
yet, and the days that are still open (today).

The result is the plain computation's, value for value (tests/test_report_speed.py): Parts add up,
and every median and percentile is taken at the end over all the values of the range.
"""

from __future__ import annotations

import threading
from array import array
from collections import OrderedDict
from datetime import date, timedelta
from itertools import groupby
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

from ..engine.office import Office
from ..store import History
from .periods import MAX_RANGE_DAYS
from .waits import Parts, assemble, key_length, parts

# Days kept, the least recently read first out: about 25 KB a business day of 800 tickets (a busy
# year is 9 MB), so at most ~20 MB.
MAX_DAYS = 800
_day = itemgetter(5)  # the business date in History.WAIT_COLUMNS
CHUNK_DAYS = 31
ONE = timedelta(days=1)


class SettledDays:
    """The kept Parts of settled days, by (time zone, business date)."""

    def __init__(self, max_days: int = MAX_DAYS) -> None:
        self.max_days = max_days
        self._days: OrderedDict[tuple[str, str], Parts] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, zone: str, day: str) -> Parts | None:
        with self._lock:
            p = self._days.get((zone, day))
            if p is not None:
                self._days.move_to_end((zone, day))
            return p

    def put(self, zone: str, day: str, p: Parts) -> None:
        with self._lock:
            self._days[(zone, day)] = _compact(p)
            self._days.move_to_end((zone, day))
            while len(self._days) > self.max_days:
                self._days.popitem(last=False)

    def __len__(self) -> int:
        return len(self._days)


def _compact(p: Parts) -> Parts:
    """The values as arrays of doubles (8 bytes each, not a float object's 32): the same numbers."""
    for g in p.groups.values():
        g.waits = array("d", g.waits)  # type: ignore[assignment]
        g.handling = array("d", g.handling)  # type: ignore[assignment]
    for c in p.cells.values():
        c.waits = array("d", c.waits)  # type: ignore[assignment]
    return p


def kept(history: History) -> SettledDays:
    """The History's kept days (made on first use; the History lives as long as the hub)."""
    memo: dict[str, Any] = history.memo
    if "settled_days" not in memo:
        memo.setdefault("settled_days", SettledDays())
    return memo["settled_days"]


def _days(first: str, last: str) -> list[str]:
    a, b = date.fromisoformat(first), date.fromisoformat(last)
    return [(a + timedelta(days=k)).isoformat() for k in range((b - a).days + 1)]


def waits_report(history: History, office: Office, first: str, last: str) -> dict[str, Any]:
    """The waits report of the range, from the kept days and a read of the rest."""
    zone, tz = office.timezone, ZoneInfo(office.timezone)
    cache = kept(history)
    settled = history.settled_days(first, last)  # before the rows: a day settled then stays so
    total = Parts()
    missing: list[str] = []
    for day in _days(first, last):
        p = cache.get(zone, day) if day in settled else None
        if p is None:
            missing.append(day)
        else:
            total.add(p)
    for chunk in _chunks(missing):
        # The rows come by business date (History.wait_rows): split in runs by C, not row by row.
        rows_by_day: dict[str, list[tuple[Any, ...]]] = {}
        for d, rows in groupby(history.wait_rows(chunk[0], chunk[-1]), _day):
            rows_by_day.setdefault(d, []).extend(rows)
        for day in chunk:
            p = parts(rows_by_day.pop(day, []), tz, key_length(tz, day, day))
            total.add(p)
            if day in settled:
                cache.put(zone, day, p)
    return assemble(total, office, first, last)


def _chunks(days: list[str]) -> list[list[str]]:
    """Runs of consecutive days, at most CHUNK_DAYS long: one read each, so that a cold year is never
    all in memory at once as rows (a busy year's rows are over 100 MB as Python tuples)."""
    out: list[list[str]] = []
    for day in days:
        if out and len(out[-1]) < CHUNK_DAYS and date.fromisoformat(day) - date.fromisoformat(out[-1][-1]) == ONE:
            out[-1].append(day)
        else:
            out.append([day])
    return out


def warm(history: History, office: Office, today: str) -> int:
    """Keep the settled days of the longest range a report may ask for, up to today: how many are kept then.

    `jiaohao serve` does this once, a while after it starts and on the reports' own thread, so that the
    first year's report after a restart is as quick as the next.
    """
    last = date.fromisoformat(today) - ONE
    first = last - timedelta(days=MAX_RANGE_DAYS - 2)
    waits_report(history, office, first.isoformat(), last.isoformat())
    return len(kept(history))
