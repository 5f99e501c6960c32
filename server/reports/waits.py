"""Waits per service, lane and hour of the day, and the hourly arrivals by weekday (人潮眾多時段).

The wait is from issue (or check-in) to the first call; a transferred ticket keeps its first
wait. A ticket counts where it was issued (issued, waits, no-shows, transfers out), and its visit
where it ended (served, handling time): a ticket sent from 綜合 to 快速 was issued by 綜合 and
served by 快速. Walk-ins have no wait and are not in this report.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..engine.office import Office
from .stats import median, median_p90, pct

WITHIN_S = 15 * 60


class _Group:
    __slots__ = ("issued", "served", "no_shows", "cancelled", "transfers", "waits", "handling")

    def __init__(self) -> None:
        self.issued = self.served = self.no_shows = self.cancelled = self.transfers = 0
        self.waits: list[float] = []
        self.handling: list[float] = []

    def add(self, other: _Group) -> None:
        self.issued += other.issued
        self.served += other.served
        self.no_shows += other.no_shows
        self.cancelled += other.cancelled
        self.transfers += other.transfers
        self.waits += other.waits
        self.handling += other.handling

    def json(self) -> dict[str, Any]:
        """Sorts its own values first: a list of sorted runs (the groups' sorted lists together, for
        the whole office) is then sorted by merging the runs, several times faster than anew."""
        self.waits = waits = sorted(self.waits)
        self.handling = sorted(self.handling)
        wait_median, wait_p90 = median_p90(waits)
        return {"issued": self.issued, "served": self.served, "no_shows": self.no_shows,
                "cancelled": self.cancelled, "transfers": self.transfers,
                "median_wait_s": wait_median, "p90_wait_s": wait_p90,
                "called_within_15_min_pct": pct(bisect_right(waits, WITHIN_S), len(waits)),
                "no_show_pct": pct(self.no_shows, self.issued), "transfer_pct": pct(self.transfers, self.issued),
                "median_handling_s": median(self.handling)}


class _Cell:
    """The tickets issued in one local hour of one day: how many, and the waits of those called."""

    __slots__ = ("issued", "waits")

    def __init__(self) -> None:
        self.issued = 0
        self.waits: list[float] = []


class Parts:
    """What some rows add to the report, before any median: the groups, and the cells by local hour.

    Two Parts add up to the Parts of their rows together (medians are taken only at the end, over
    every value), so a settled day's Parts can be kept and a year assembled from them
    (server/reports/settled.py) to the same report as the plain computation over the year's rows.
    """

    __slots__ = ("groups", "cells")

    def __init__(self) -> None:
        self.groups: dict[tuple[str, str], _Group] = defaultdict(_Group)
        self.cells: dict[tuple[str, int, int], _Cell] = {}  # (local date, weekday, hour)

    def add(self, other: Parts) -> None:
        for key, g in other.groups.items():
            self.groups[key].add(g)
        for key, c in other.cells.items():
            mine = self.cells.get(key)
            if mine is None:
                mine = self.cells[key] = _Cell()
            mine.issued += c.issued
            mine.waits += c.waits


def key_length(tz: ZoneInfo, first: str, last: str) -> int:
    """13 (to the UTC hour) where the zone is a whole number of hours off UTC at both ends, else 16.

    A local hour is then a UTC hour (Asia/Taipei): one conversion per hour of issue will do instead
    of one per minute.
    """
    edges = [datetime.fromisoformat(f"{d}T12:00").replace(tzinfo=tz).utcoffset() for d in (first, last)]
    return 13 if all(e is not None and e.total_seconds() % 3600 == 0 for e in edges) else 16


def parts(rows: Iterable[tuple[Any, ...]], tz: ZoneInfo, key_len: int) -> Parts:
    """The Parts of History.wait_rows tuples (WAIT_COLUMNS).

    A year is 120,000 rows: the loop does as little as it can per row (counts, one list append per
    wait), and everything per hour is worked out once per distinct minute (or hour) of issue.
    """
    out = Parts()
    groups = out.groups
    by_minute: dict[str, list[float | None]] = defaultdict(list)  # waits (None: never called)
    for origin_id, service, lane, status, minute, _day, wait, handling in rows:
        g = groups[(origin_id, lane)]
        g.issued += 1
        if status == "done":
            done = groups[(service, lane)] if service != origin_id else g
            done.served += 1
            if handling is not None:
                done.handling.append(handling)
        elif status == "no_show":
            g.no_shows += 1
        elif status == "cancelled":
            g.cancelled += 1
        if service != origin_id:
            g.transfers += 1
        if wait is not None:
            g.waits.append(wait)
        by_minute[minute[:key_len] + minute[-6:]].append(wait)
    for minute, waits in by_minute.items():
        local = datetime.fromisoformat(minute[:-6] + (":00" if key_len == 13 else "") + minute[-6:]).astimezone(tz)
        # (the business day is the local date)
        key = (local.date().isoformat(), local.isoweekday(), local.hour)
        cell = out.cells.get(key)
        if cell is None:
            cell = out.cells[key] = _Cell()
        cell.issued += len(waits)
        cell.waits += [w for w in waits if w is not None]
    return out


def assemble(p: Parts, office: Office, first: str, last: str) -> dict[str, Any]:
    """The report from the Parts of every row of the range."""
    order = {s.id: i for i, s in enumerate(office.services)}
    lanes = {lane.id: i for i, lane in enumerate(office.lanes)}
    services = [{"service": sid, "lane": lid, **g.json()}
                for (sid, lid), g in sorted(p.groups.items(), key=lambda kv: (order.get(kv[0][0], 99), kv[0][0],
                                                                             lanes.get(kv[0][1], 99), kv[0][1]))]
    total = _Group()
    for g in p.groups.values():
        total.add(g)  # (each group's values sorted now, by its json())
    hours: dict[int, _Cell] = defaultdict(_Cell)
    heat: dict[tuple[int, int], int] = defaultdict(int)
    days_by_weekday: dict[int, set[str]] = defaultdict(set)
    for (day, weekday, hour), cell in p.cells.items():
        h = hours[hour]
        h.issued += cell.issued
        h.waits += cell.waits
        heat[(weekday, hour)] += cell.issued
        days_by_weekday[weekday].add(day)
    return {
        "from": first, "to": last,
        "services": services,
        "all": total.json(),
        "by_hour": [{"hour": h, "issued": c.issued, "median_wait_s": median(c.waits)}
                    for h, c in sorted(hours.items())],
        "heatmap": [{"weekday": wd, "hour": h, "issued": n, "days": len(days_by_weekday[wd]),
                     "per_day": round(n / len(days_by_weekday[wd]), 1)} for (wd, h), n in sorted(heat.items())],
    }


def waits_report(rows: list[tuple[Any, ...]], office: Office, first: str, last: str) -> dict[str, Any]:
    """The plain computation: the report from History.wait_rows of the range, in one pass."""
    tz = ZoneInfo(office.timezone)
    return assemble(parts(rows, tz, key_length(tz, first, last)), office, first, last)


SERVICE_COLUMNS = ["service", "lane", "issued", "served", "no_shows", "cancelled", "transfers", "median_wait_s",
                   "p90_wait_s", "called_within_15_min_pct", "no_show_pct", "transfer_pct", "median_handling_s"]


def table(report: dict[str, Any]) -> list[tuple[str, list[str], list[list[Any]]]]:
    services = [[s[k] for k in SERVICE_COLUMNS] for s in report["services"]]
    hours = [[h["hour"], h["issued"], h["median_wait_s"]] for h in report["by_hour"]]
    heat = [[c["weekday"], c["hour"], c["issued"], c["days"], c["per_day"]] for c in report["heatmap"]]
    return [("services", SERVICE_COLUMNS, services), ("by_hour", ["hour", "issued", "median_wait_s"], hours),
            ("heatmap", ["weekday", "hour", "issued", "days", "per_day"], heat)]
