"""The read side: what reports ask of the past, on a connection of its own.

Reports read months and years of the event log. They run on their own read-only connection, under
their own lock, so a long report never holds the hub's lock and never waits for it: in WAL mode a
reader sees the last committed state while the hub goes on writing. Only this module and the Store
know the schema.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

from sqlite_utils import Database


def _seconds(start: str, end: str) -> str:
    """SQL for the seconds from one ISO-8601 column to another (NULL if either is), in SQLite's own C."""
    return f"round((julianday({end}) - julianday({start})) * 86400.0, 3)"


class History:
    def __init__(self, path: str, shared: Database | None = None) -> None:
        """`shared`: for an in-memory database, which no second connection can see, the Store's own."""
        self.path = path
        self._shared = shared
        self._db: Database | None = None
        self._lock = threading.Lock()
        # What reports keep of settled days, which never change (server/reports/settled.py).
        self.memo: dict[str, Any] = {}

    @contextmanager
    def _reading(self) -> Iterator[Database]:
        with self._lock:
            if self._shared is not None:
                yield self._shared
                return
            if self._db is None:
                uri = f"file:{quote(os.path.abspath(self.path))}?mode=ro"
                self._db = Database(sqlite3.connect(uri, uri=True, timeout=10, check_same_thread=False))
            yield self._db

    def query(self, sql: str, args: list[Any] | None = None) -> list[dict[str, Any]]:
        with self._reading() as db:
            return list(db.query(sql, args or []))

    def rows(self, sql: str, args: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """Plain tuples: several times faster than dicts for the year-long reports."""
        with self._reading() as db:
            return db.execute(sql, args or []).fetchall()

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    # -- what reports ask ----------------------------------------------------------------------
    # Every range is of business days, both ends included, as ISO dates: a range on the indexed
    # column, never LIKE (which SQLite cannot answer from the index).

    def visit_events(self, first: str, last: str) -> list[dict[str, Any]]:
        """Finished visits, walk-ins, no-shows, transfers, and staff logins and logouts, in log order.

        Each with its ticket's number, lane and times: the clerk report and the day's review read it.
        """
        return self.query(
            "SELECT e.kind, e.at, e.business_date, e.actor, e.counter, e.service, e.lane, e.ticket, "
            "t.number, t.walk_in, t.issued_at, t.called_at, t.started_at, t.finished_at, "
            f"{_seconds('t.started_at', 't.finished_at')} AS handling_s "
            "FROM events e LEFT JOIN tickets t ON t.id = e.ticket "
            "WHERE e.business_date BETWEEN ? AND ? "
            "AND e.kind IN ('finished', 'no_show', 'transferred', 'walk_in', 'login', 'logout') "
            "ORDER BY e.id", [first, last])

    WAIT_COLUMNS = ("origin", "service", "lane", "status", "issued_minute", "business_date", "wait_s",
                    "handling_s")

    def wait_rows(self, first: str, last: str) -> list[tuple[Any, ...]]:
        """Every numbered ticket of the range, as tuples of WAIT_COLUMNS.

        `origin` is the service it was issued in (a transferred ticket's first), `issued_minute` its
        issue to the minute with the offset (`2026-11-23T01:05+00:00`), `wait_s` the seconds to its
        first call (a transfer's `called_at` is its second), `handling_s` start to finish. The
        seconds are computed by SQLite: a year is 120,000 rows. By business date (the index's
        order: no sort).
        """
        return self.rows(
            "SELECT coalesce(transferred_from, service), service, lane, status, "
            "substr(issued_at, 1, 16) || substr(issued_at, -6), business_date, "
            f"{_seconds('issued_at', 'first_called_at')}, {_seconds('started_at', 'finished_at')} FROM ("
            "SELECT t.business_date, t.service, t.lane, t.status, t.issued_at, t.started_at, t.finished_at, "
            "t.transferred_from, CASE WHEN t.transferred_from IS NULL THEN t.called_at ELSE "
            "(SELECT min(e.at) FROM events e WHERE e.ticket = t.id AND e.kind = 'called') END AS first_called_at "
            "FROM tickets t WHERE t.business_date BETWEEN ? AND ? AND t.walk_in = 0) ORDER BY business_date",
            [first, last])

    def settled_days(self, first: str, last: str) -> set[str]:
        """The business days of the range whose tickets can no longer change.

        A day is settled once a later business day has an event (the hub closes a day before it does
        anything on the next: every ticket still open is then closed) and none of its tickets is
        waiting, called or serving. Days without tickets (weekends) count too: nothing can be added
        to a day that is over.
        """
        newest = self.rows("SELECT max(business_date) FROM events")[0][0]
        if newest is None or newest <= first:
            return set()
        open_days = {d for (d,) in self.rows(
            "SELECT DISTINCT business_date FROM tickets WHERE status IN ('waiting', 'called', 'serving') "
            "AND business_date BETWEEN ? AND ?", [first, last])}
        a, b = date.fromisoformat(first), min(date.fromisoformat(last), date.fromisoformat(newest) - timedelta(days=1))
        days = ((a + timedelta(days=k)).isoformat() for k in range((b - a).days + 1))
        return {d for d in days if d not in open_days}

    def ratings_by_month(self, first: str, last: str) -> list[tuple[str, int, int]]:
        """(YYYY-MM, ratings, satisfied: score 3 or 4) for each month of the range that has ratings."""
        return [(m, n, ok) for m, n, ok in self.rows(
            "SELECT substr(business_date, 1, 7), count(*), sum(score >= 3) FROM ratings "
            "WHERE business_date BETWEEN ? AND ? GROUP BY 1 ORDER BY 1", [first, last])]

    def ratings_by_month_per_group(self, first: str, last: str) -> list[tuple[str, str, str | None, int, int]]:
        """(YYYY-MM, counter, clerk, ratings, satisfied) for each month, counter and clerk with ratings.

        Summed in SQL like ratings_by_month: thirteen months of each counter's and clerk's trend are a
        few hundred rows, not the 40,000 ratings behind them.
        """
        return [(m, counter, clerk or None, n, ok) for m, counter, clerk, n, ok in self.rows(
            "SELECT substr(business_date, 1, 7), counter, clerk, count(*), sum(score >= 3) FROM ratings "
            "WHERE business_date BETWEEN ? AND ? GROUP BY 1, 2, 3 ORDER BY 1, 2, 3", [first, last])]

    def ratings(self, first: str, last: str) -> list[dict[str, Any]]:
        """Satisfaction ratings of the range, oldest first."""
        return self.query("SELECT * FROM ratings WHERE business_date BETWEEN ? AND ? ORDER BY at", [first, last])

    def appointment_day(self, day: str) -> list[dict[str, Any]]:
        """A day's bookings with what became of them: check-in, the ticket's number, call and end."""
        return self.query(
            "SELECT a.code, a.service, a.slot, a.status, a.ticket, a.checked_in_at, a.source, t.number, "
            "t.called_at, t.finished_at, t.counter, t.outcome "
            "FROM appointments a LEFT JOIN tickets t ON t.id = a.ticket "
            "WHERE a.business_date = ? ORDER BY a.slot, a.code", [day])
