"""The office at run time (DESIGN.md "The office changes during the day"), as pure functions.

The office file gives the Office the hub starts with; admins change counters, announcements and
devices while it runs, and the office file's `[[schedule]]` changes counters by time of day. Each
of these is a function from (office, change, now) to a new frozen Office or a plain answer: the
hub stores what they decide and swaps the Office in, so every later operation sees the new one and
no ticket's past is rewritten. Time always comes in as an argument.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, time

from ..wire.text import Text
from .errors import Invalid
from .office import Counter, CounterSet, Office


@dataclass(frozen=True)
class Announcement:
    """One marquee line: shown while `starts_at <= now < ends_at` (either may be open)."""

    id: str
    text: Text
    starts_at: datetime | None = None
    ends_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        return (self.starts_at is None or self.starts_at <= now) and (self.ends_at is None or now < self.ends_at)

    def as_json(self, now: datetime) -> dict[str, object]:
        return {"id": self.id, "text": self.text.as_json(),
                "starts_at": self.starts_at.isoformat() if self.starts_at else None,
                "ends_at": self.ends_at.isoformat() if self.ends_at else None,
                "active": self.active(now)}


def file_announcements(office: Office) -> list[Announcement]:
    """The office file's `[[announcements]]`, named by their place in the file: office-1, office-2, ..."""
    return [Announcement(f"office-{i}", text) for i, text in enumerate(office.announcements, 1)]


def active_ids(announcements: list[Announcement], now: datetime) -> tuple[str, ...]:
    return tuple(a.id for a in announcements if a.active(now))


def next_edge(announcements: list[Announcement], now: datetime) -> datetime | None:
    """The next moment the active set may change by itself (a start or an end still ahead)."""
    edges = [t for a in announcements for t in (a.starts_at, a.ends_at) if t is not None and t > now]
    return min(edges) if edges else None


# -- counters ------------------------------------------------------------------------------------

COUNTER_KEYS = ("name", "services", "lanes")


def check_counter(office: Office, cid: str, name: Text | None, services: list[str] | None,
                  lanes: list[str] | None) -> None:
    """422 for what no counter may serve: an unknown service or lane, or none at all."""
    if services is not None:
        if not services:
            raise Invalid("A counter must serve at least one service. 櫃台至少要辦理一項業務。", code="no_services")
        for sid in services:
            if office.service(sid) is None:
                raise Invalid(f"Unknown service '{sid}'. 沒有這項業務。", code="unknown_service")
    if lanes is not None:
        if not lanes:
            raise Invalid("A counter must take at least one lane. 櫃台至少要服務一個類別。", code="no_lanes")
        for lid in lanes:
            if office.lane(lid) is None:
                raise Invalid(f"Unknown lane '{lid}'. 沒有這個優先類別。", code="unknown_lane")


def with_counters(office: Office, counters: dict[str, Counter]) -> Office:
    """The same office with some counters replaced (same ids, same order)."""
    return replace(office, counters=tuple(counters.get(c.id, c) for c in office.counters), _by_id={})


def overlay(office: Office, overrides: dict[str, object]) -> Office:
    """The office file's office with the admins' stored changes on top: `counters.ID.KEY` -> value.

    A key for a counter the file no longer has is ignored (and GET /office says so); a service or
    lane the file no longer has is dropped from a stored list, and a list left empty falls back to
    the file's.
    """
    changed: dict[str, Counter] = {}
    for key, value in overrides.items():
        kind, _, rest = key.partition(".")
        cid, _, field = rest.rpartition(".")
        c = changed.get(cid) or office.counter(cid)
        if kind != "counters" or c is None:
            continue
        if field == "name" and isinstance(value, dict):
            changed[cid] = replace(c, name=Text(str(value.get("zh-TW", c.name.zh)), str(value.get("en", c.name.en))))
        elif field == "services" and isinstance(value, list):
            kept = tuple(s for s in value if office.service(str(s)) is not None)
            changed[cid] = replace(c, services=kept or c.services)
        elif field == "lanes" and isinstance(value, list):
            kept = tuple(lane for lane in value if office.lane(str(lane)) is not None)
            changed[cid] = replace(c, lanes=kept or c.lanes)
    return with_counters(office, changed) if changed else office


# -- counter sets by time of day -------------------------------------------------------------------

def window_at(office: Office, local: datetime) -> int | None:
    """The index of the office file's `[[schedule]]` window in force at this local time, if any.

    Windows are office-local clock times (`from` inclusive, `to` exclusive), on the weekdays they
    name; the first matching one wins.
    """
    t = local.time().replace(tzinfo=None)
    for i, w in enumerate(office.schedule):
        if local.isoweekday() in w.days and w.starts <= t < w.ends:
            return i
    return None


def planned_closes(office: Office, local: datetime) -> dict[str, datetime]:
    """Counters that a window still ahead today will close, and when: what the estimate plays.

    Only closings are planned: a counter that reopens later is left out, so the estimate leans high.
    """
    out: dict[str, datetime] = {}
    for w in office.schedule:
        if local.isoweekday() not in w.days:
            continue
        at = local.replace(hour=w.starts.hour, minute=w.starts.minute, second=0, microsecond=0)
        if at > local:
            for cid in w.close:
                out[cid] = min(out.get(cid, at), at)
    return out


def scheduled(office: Office, window: CounterSet | None, since: dict[str, datetime],
              started: datetime | None) -> Office:
    """The office with a window's `serves` on top: what counters serve during it.

    An admin's change to a counter's services made after the window started wins over the window
    (`since`: when each counter's services were last set by an admin).
    """
    if window is None:
        return office
    changed = {}
    for cid, services in window.serves.items():
        c = office.counter(cid)
        set_at = since.get(cid)
        if c is None or (set_at is not None and started is not None and set_at >= started):
            continue
        changed[cid] = replace(c, services=tuple(s for s in services if office.service(s)) or c.services)
    return with_counters(office, changed) if changed else office


def parse_clock(value: str) -> time | None:
    try:
        return time.fromisoformat(value)
    except ValueError:
        return None
