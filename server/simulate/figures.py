"""The figures of simulated days (`jiaohao simulate --json`), and the same as readable tables.

docs/simulate.md says what every figure means.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..config import Arrivals
from ..engine.model import Appointment, BookingStatus, Status, Ticket
from ..engine.office import Office


@dataclass
class Issued:
    """What the kiosk printed on a ticket when it was issued (or checked in)."""

    ticket: str
    ahead: int
    estimate_s: int | None
    range_s: tuple[int, int] | None


@dataclass
class Day:
    date: str
    tickets: list[Ticket]
    issued: dict[str, Issued]
    first_call: dict[str, datetime]  # ticket id -> its first call
    opens_s: float
    closes_s: float
    staffed: dict[str, bool]
    ended_s: dict[str, float] = field(default_factory=dict)
    busy_s: dict[str, float] = field(default_factory=dict)  # per counter: a ticket called or served
    bookings: list[Appointment] = field(default_factory=list)
    transfers: int = 0


def wait_stats(waits: Iterable[float]) -> dict[str, int | None]:
    ordered = sorted(waits)
    if not ordered:
        return {"count": 0, "median_wait_s": None, "p90_wait_s": None, "max_wait_s": None}
    return {"count": len(ordered), "median_wait_s": round(statistics.median(ordered)),
            "p90_wait_s": round(_p90(ordered)), "max_wait_s": round(ordered[-1])}


def _p90(ordered: list[float]) -> float:
    # The same nearest-rank rule as the reports (server/reports.py).
    return ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]


# How many were ahead of a ticket when it was issued: the share inside the range, per group.
AHEAD_GROUPS = ("0", "1-2", "3-9", "10+")


def _ahead_group(ahead: int) -> str:
    return "0" if ahead == 0 else "1-2" if ahead <= 2 else "3-9" if ahead <= 9 else "10+"


def _pct(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def figures(office: Office, seed: int, days: list[Day], profile: Arrivals) -> dict[str, Any]:
    waits: list[tuple[Ticket, float]] = []
    within = below = above = 0
    errors: list[float] = []
    widths: list[float] = []
    busy = {c.id: 0.0 for c in office.counters}
    span = {c.id: 0.0 for c in office.counters}
    served = {c.id: 0 for c in office.counters}
    no_shows = {c.id: 0 for c in office.counters}
    after_slot: list[float] = []
    by_ahead = {group: [0, 0] for group in AHEAD_GROUPS}  # tickets, inside their range
    per_day = []
    for day in days:
        day_waits = []
        slots = {b.ticket: b.slot for b in day.bookings if b.ticket and b.status != BookingStatus.LAPSED}
        for t in day.tickets:
            first = day.first_call.get(t.id)
            if first is not None and not t.walk_in:
                # From issue (or check-in) to the first call, as the reports count it: a transferred
                # ticket's second wait is not the one its printed range spoke of.
                wait = (first - t.issued_at).total_seconds()
                waits.append((t, wait))
                day_waits.append(wait)
                issued = day.issued.get(t.id)
                if issued and issued.range_s and issued.estimate_s is not None:
                    low, high = issued.range_s
                    within += low <= wait <= high
                    group = by_ahead[_ahead_group(issued.ahead)]
                    group[0] += 1
                    group[1] += low <= wait <= high
                    below += wait < low
                    above += wait > high
                    errors.append(abs(issued.estimate_s - wait))
                    widths.append(high - low)
                if t.id in slots:
                    after_slot.append(max((first - max(slots[t.id], t.issued_at)).total_seconds(), 0.0))
            if t.counter:
                served[t.counter] += t.status == Status.DONE
                no_shows[t.counter] += t.status == Status.NO_SHOW
        for cid, seconds in day.busy_s.items():
            busy[cid] += seconds
        for cid, was_open in day.staffed.items():
            if was_open:
                span[cid] += max(day.closes_s, day.ended_s.get(cid, 0.0)) - day.opens_s
        per_day.append({"date": day.date, "tickets": len(day.tickets),
                        "served": sum(t.status == Status.DONE for t in day.tickets), **wait_stats(day_waits)})
    tickets = [t for day in days for t in day.tickets]
    booked = [b for day in days for b in day.bookings]
    rated = within + below + above
    lanes = {lane.id: wait_stats(w for t, w in waits if t.lane == lane.id) for lane in office.lanes}
    services = {}
    for s in office.services:
        mine = [(t, w) for t, w in waits if t.service == s.id]
        services[s.id] = {**wait_stats(w for _, w in mine),
                          "lanes": {lane.id: wait_stats(w for t, w in mine if t.lane == lane.id)
                                    for lane in office.lanes}}
    return {
        "seed": seed,
        "date": days[0].date,
        "days": len(days),
        "opens": f"{profile.hours[0]:02d}:00",
        "closes": f"{profile.hours[-1] + 1:02d}:00",
        "policy": dataclasses.asdict(office.policy),
        "tickets": len(tickets),
        "served": sum(t.status == Status.DONE for t in tickets),
        "no_shows": sum(t.status == Status.NO_SHOW for t in tickets),
        "unserved": sum(t.status in (Status.WAITING, Status.CANCELLED) for t in tickets),
        "walk_ins": sum(t.walk_in for t in tickets),
        "transfers": sum(day.transfers for day in days),
        "appointments": {
            "booked": len(booked),
            "checked_in": sum(b.status in (BookingStatus.CHECKED_IN, BookingStatus.SERVED) for b in booked),
            "served": sum(b.status == BookingStatus.SERVED for b in booked),
            "lapsed": sum(b.status == BookingStatus.LAPSED for b in booked),
            "no_show": sum(b.status == BookingStatus.NO_SHOW for b in booked),
            # On-time appointment tickets: from the slot (or the check-in, if later) to the call.
            **{k.replace("_wait_s", "_after_slot_s"): v for k, v in wait_stats(after_slot).items() if k != "count"},
        },
        "lanes": lanes,
        "all": wait_stats(w for _, w in waits),
        "services": services,
        "estimate": {
            "tickets": rated,
            "within_range_pct": _pct(within, rated),
            "below_range_pct": _pct(below, rated),
            "above_range_pct": _pct(above, rated),
            "median_abs_error_s": round(statistics.median(errors)) if errors else None,
            "median_range_width_s": round(statistics.median(widths)) if widths else None,
            "by_ahead": {group: {"tickets": n, "within_range_pct": _pct(inside, n)}
                         for group, (n, inside) in by_ahead.items()},
        },
        "counters": {cid: {"open": span[cid] > 0, "served": served[cid], "no_shows": no_shows[cid],
                           "busy_pct": _pct(round(busy[cid]), round(span[cid]))} for cid in busy},
        "by_day": per_day,
    }


def table(fig: dict[str, Any]) -> str:
    """The figures as a few readable tables (`jiaohao simulate` without --json)."""

    def mins(s: int | None) -> str:
        return "-" if s is None else f"{s / 60:.1f}"

    a = fig["appointments"]
    lines = [
        f"jiaohao simulate: {fig['date']} ({fig['days']} day(s)), {fig['opens']}-{fig['closes']}, seed {fig['seed']}, "
        f"policy {fig['policy']['mode']}",
        f"tickets {fig['tickets']}, served {fig['served']}, no-shows {fig['no_shows']}, unserved {fig['unserved']}, "
        f"walk-ins {fig['walk_ins']}, transfers {fig['transfers']}",
    ]
    if a["booked"]:
        lines.append(f"appointments {a['booked']}: checked in {a['checked_in']}, lapsed {a['lapsed']}, "
                     f"no-shows {a['no_show']}; called a median {mins(a['median_after_slot_s'])} min after "
                     f"the slot (longest {mins(a['max_after_slot_s'])})")
    lines += ["", f"{'wait (minutes)':<28} {'tickets':>7} {'median':>7} {'p90':>7} {'max':>7}"]

    def row(name: str, s: dict[str, Any]) -> str:
        return f"{name:<28} {s['count']:>7} {mins(s['median_wait_s']):>7} {mins(s['p90_wait_s']):>7} " \
               f"{mins(s['max_wait_s']):>7}"

    lines.append(row("all", fig["all"]))
    for lid, s in fig["lanes"].items():
        if s["count"]:
            lines.append(row(f"lane {lid}", s))
    for sid, s in fig["services"].items():
        for lid, ls in s["lanes"].items():
            if ls["count"]:
                lines.append(row(f"{sid} / {lid}", ls))
    e = fig["estimate"]
    lines += [
        "",
        f"printed range held for {e['within_range_pct']} % of {e['tickets']} tickets "
        f"(waited less: {e['below_range_pct']} %, longer: {e['above_range_pct']} %); "
        f"median error {mins(e['median_abs_error_s'])} min, median range width {mins(e['median_range_width_s'])} min",
        "held, by how many were ahead: " + ", ".join(f"{g}: {v['within_range_pct']} % of {v['tickets']}"
                                                     for g, v in e["by_ahead"].items()),
        "",
        f"{'counter':<8} {'served':>7} {'no-shows':>9} {'busy %':>7}",
    ]
    for cid, c in fig["counters"].items():
        lines.append(f"{cid:<8} {c['served']:>7} {c['no_shows']:>9} {c['busy_pct']:>7}" if c["open"]
                     else f"{cid:<8} {'closed':>7}")
    return "\n".join(lines)
