"""What a supervisor changes for a simulated day: counters open, the policy, the days (docs/simulate.md)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta

from ..engine.office import Office, Policy
from ..wire.errors import UsageError


class SimulationError(UsageError):
    """A value of `jiaohao simulate` that cannot be used: one line, exit 1 (a FixableError)."""


def parse_counters(value: str, office: Office) -> dict[str, int]:
    """`general=4,quick=2` as {service: open counters}, or SimulationError saying what is wrong."""
    out: dict[str, int] = {}
    for part in value.split(","):
        sid, eq, n = part.strip().partition("=")
        if not eq or not sid:
            raise SimulationError(f"--counters: '{part.strip()}' is not SERVICE=N (e.g. general=4,quick=2)")
        if office.service(sid) is None:
            raise SimulationError(f"--counters: '{sid}' is not a service id "
                                  f"(known: {', '.join(s.id for s in office.services)})")
        if sid in out:
            raise SimulationError(f"--counters: '{sid}' is named twice")
        if not n.strip().isdigit():
            raise SimulationError(f"--counters: {sid}={n} is not a whole number of counters, 0 or more")
        out[sid] = int(n)
    return out


def staffing(office: Office, wanted: dict[str, int] | None) -> dict[str, bool]:
    """Which counters are open: the office file's choice, or just enough for `wanted`.

    For each named service in turn, counters that serve it are opened in the office file's order
    until it has its number, skipping one that would give another named service more than it asked
    for. Counters that serve no named service keep the office file's choice.
    """
    if wanted is None:
        return {c.id: c.open_at_start for c in office.counters}
    is_open = {c.id: c.open_at_start and not set(c.services) & set(wanted) for c in office.counters}

    def count(sid: str) -> int:
        return sum(1 for c in office.counters if is_open[c.id] and sid in c.services)

    for sid, n in wanted.items():
        for c in office.counters:
            if count(sid) >= n:
                break
            if is_open[c.id] or sid not in c.services:
                continue
            if any(count(o) >= wanted[o] for o in c.services if o in wanted and o != sid):
                continue
            is_open[c.id] = True
        have = sum(1 for c in office.counters if sid in c.services)
        if have < n:
            raise SimulationError(f"--counters: {sid}={n}, but only {have} counters serve '{sid}'")
        if count(sid) != n:
            raise SimulationError(f"--counters: {sid}={n} does not fit beside the other counts asked for "
                                  f"({count(sid)} open counters would serve '{sid}')")
    return is_open


def with_policy(office: Office, mode: str | None, max_wait: int | None) -> Office:
    if mode is None and max_wait is None:
        return office
    p = office.policy
    policy = Policy(mode or p.mode, p.priority_run, p.max_wait_minutes if max_wait is None else max_wait)
    return dataclasses.replace(office, policy=policy, _by_id={})


def business_days(first: date, n: int) -> list[date]:
    """`n` days from `first`: `first` itself, then the weekdays after it."""
    days = [first]
    d = first
    while len(days) < n:
        d += timedelta(days=1)
        if d.weekday() < 5:
            days.append(d)
    return days


def default_first_day(office: Office, n: int, now: datetime) -> date:
    """The first of the `n` weekdays that end on the last weekday before today (office time)."""
    d = now.astimezone(office.tz).date()
    ends: list[date] = []
    while len(ends) < n:
        d -= timedelta(days=1)
        if d.weekday() < 5:
            ends.append(d)
    return ends[-1]
