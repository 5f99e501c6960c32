"""Waits per service, lane and hour of the day, and the hourly arrivals by weekday (人潮眾多時段).

The wait is from issue (or check-in) to the first call; a transferred ticket keeps its first
wait. A ticket counts where it was issued (issued, waits, no-shows, transfers out), and its visit
where it ended (served, handling time): a ticket sent from 綜合 to 快速 was issued by 綜合 and
served by 快速. Walk-ins have no wait and are not in this report.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
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
        waits = sorted(self.waits)
        wait_median, wait_p90 = median_p90(waits)
        return {"issued": self.issued, "served": self.served, "no_shows": self.no_shows,
                "cancelled": self.cancelled, "transfers": self.transfers,
                "median_wait_s": wait_median, "p90_wait_s": wait_p90,
                "called_within_15_min_pct": pct(bisect_right(waits, WITHIN_S), len(waits)),
                "no_show_pct": pct(self.no_shows, self.issued), "transfer_pct": pct(self.transfers, self.issued),
                "median_handling_s": median(self.handling)}


def waits_report(rows: list[tuple[Any, ...]], office: Office, first: str, last: str) -> dict[str, Any]:
    """The report from History.wait_rows of the range (tuples of History.WAIT_COLUMNS).

    A year is 120,000 rows: the loop does as little as it can per row (counts, one list append per
    wait), and everything per hour is worked out once per distinct minute of issue.
    """
    tz = ZoneInfo(office.timezone)
    # A local hour is a UTC hour where the zone is a whole number of hours off UTC (Asia/Taipei):
    # then one conversion per hour of issue will do instead of one per minute.
    edges = [datetime.fromisoformat(f"{d}T12:00").replace(tzinfo=tz).utcoffset() for d in (first, last)]
    key_len = 13 if all(e is not None and e.total_seconds() % 3600 == 0 for e in edges) else 16
    groups: dict[tuple[str, str], _Group] = defaultdict(_Group)
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
    total = _Group()
    for g in groups.values():
        total.add(g)
    hours: dict[int, list[float | None]] = defaultdict(list)
    heat: dict[tuple[int, int], int] = defaultdict(int)
    days_by_weekday: dict[int, set[str]] = defaultdict(set)
    for minute, waits in by_minute.items():
        local = datetime.fromisoformat(minute[:-6] + (":00" if key_len == 13 else "") + minute[-6:]).astimezone(tz)
        # (the business day is the local date)
        hours[local.hour] += waits
        heat[(local.isoweekday(), local.hour)] += len(waits)
        days_by_weekday[local.isoweekday()].add(local.date().isoformat())
    order = {s.id: i for i, s in enumerate(office.services)}
    lanes = {lane.id: i for i, lane in enumerate(office.lanes)}
    services = [{"service": sid, "lane": lid, **g.json()}
                for (sid, lid), g in sorted(groups.items(), key=lambda kv: (order.get(kv[0][0], 99), kv[0][0],
                                                                           lanes.get(kv[0][1], 99), kv[0][1]))]
    return {
        "from": first, "to": last,
        "services": services,
        "all": total.json(),
        "by_hour": [{"hour": h, "issued": len(v), "median_wait_s": median([w for w in v if w is not None])}
                    for h, v in sorted(hours.items())],
        "heatmap": [{"weekday": wd, "hour": h, "issued": n, "days": len(days_by_weekday[wd]),
                     "per_day": round(n / len(days_by_weekday[wd]), 1)} for (wd, h), n in sorted(heat.items())],
    }


SERVICE_COLUMNS = ["service", "lane", "issued", "served", "no_shows", "cancelled", "transfers", "median_wait_s",
                   "p90_wait_s", "called_within_15_min_pct", "no_show_pct", "transfer_pct", "median_handling_s"]


def table(report: dict[str, Any]) -> list[tuple[str, list[str], list[list[Any]]]]:
    services = [[s[k] for k in SERVICE_COLUMNS] for s in report["services"]]
    hours = [[h["hour"], h["issued"], h["median_wait_s"]] for h in report["by_hour"]]
    heat = [[c["weekday"], c["hour"], c["issued"], c["days"], c["per_day"]] for c in report["heatmap"]]
    return [("services", SERVICE_COLUMNS, services), ("by_hour", ["hour", "issued", "median_wait_s"], hours),
            ("heatmap", ["weekday", "hour", "issued", "days", "per_day"], heat)]
