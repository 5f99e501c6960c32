"""Waits per service, lane and hour of the day, and the hourly arrivals by weekday (人潮眾多時段).

The wait is from issue (or check-in) to the first call; a transferred ticket keeps its first
wait. A ticket counts where it was issued (issued, waits, no-shows, transfers out), and its visit
where it ended (served, handling time): a ticket sent from 綜合 to 快速 was issued by 綜合 and
served by 快速. Walk-ins have no wait and are not in this report.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..engine.office import Office
from .stats import median, median_p90, pct

WITHIN_S = 15 * 60


class _Group:
    __slots__ = ("issued", "served", "no_shows", "cancelled", "transfers", "waits", "within", "handling")

    def __init__(self) -> None:
        self.issued = self.served = self.no_shows = self.cancelled = self.transfers = self.within = 0
        self.waits: list[float] = []
        self.handling: list[float] = []

    def json(self) -> dict[str, Any]:
        wait_median, wait_p90 = median_p90(self.waits)
        return {"issued": self.issued, "served": self.served, "no_shows": self.no_shows,
                "cancelled": self.cancelled, "transfers": self.transfers,
                "median_wait_s": wait_median, "p90_wait_s": wait_p90,
                "called_within_15_min_pct": pct(self.within, len(self.waits)),
                "no_show_pct": pct(self.no_shows, self.issued), "transfer_pct": pct(self.transfers, self.issued),
                "median_handling_s": median(self.handling)}


def waits_report(rows: list[tuple[Any, ...]], office: Office, first: str, last: str) -> dict[str, Any]:
    """The report from History.wait_rows of the range (tuples of History.WAIT_COLUMNS)."""
    tz = ZoneInfo(office.timezone)
    groups: dict[tuple[str, str], _Group] = defaultdict(_Group)
    total = _Group()
    hours: dict[int, list[Any]] = {}
    heat: dict[tuple[int, int], int] = defaultdict(int)
    days_by_weekday: dict[int, set[str]] = defaultdict(set)
    local_of: dict[str, tuple[int, int]] = {}  # the minute -> (weekday, hour) in the office's zone
    for origin_id, service, lane, status, minute, business_date, wait, handling in rows:
        if minute not in local_of:
            local = datetime.fromisoformat(minute).astimezone(tz)
            local_of[minute] = (local.isoweekday(), local.hour)
        weekday, hour_of_day = local_of[minute]
        transferred = origin_id != service
        for g in (groups[(origin_id, lane)], total):
            g.issued += 1
            if status == "no_show":
                g.no_shows += 1
            elif status == "cancelled":
                g.cancelled += 1
            g.transfers += transferred
            if wait is not None:
                g.waits.append(wait)
                g.within += wait <= WITHIN_S
        if status == "done":
            for g in (groups[(service, lane)], total):
                g.served += 1
                if handling is not None:
                    g.handling.append(handling)
        hour = hours.setdefault(hour_of_day, [0, []])
        hour[0] += 1
        if wait is not None:
            hour[1].append(wait)
        heat[(weekday, hour_of_day)] += 1
        days_by_weekday[weekday].add(business_date)
    order = {s.id: i for i, s in enumerate(office.services)}
    lanes = {lane.id: i for i, lane in enumerate(office.lanes)}
    services = [{"service": sid, "lane": lid, **g.json()}
                for (sid, lid), g in sorted(groups.items(), key=lambda kv: (order.get(kv[0][0], 99), kv[0][0],
                                                                           lanes.get(kv[0][1], 99), kv[0][1]))]
    return {
        "from": first, "to": last,
        "services": services,
        "all": total.json(),
        "by_hour": [{"hour": h, "issued": v[0], "median_wait_s": median(v[1])} for h, v in sorted(hours.items())],
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
