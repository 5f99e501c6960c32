"""The office file (TOML, CONTRACT.md) into a typed, frozen Office, once, at start.

Every mistake is refused with one line that names the key path: `services[2].prefix: ...`.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .engine.office import (
    COUNTER_ROLES,
    POLICY_MODES,
    ROLES,
    WEEKDAYS,
    Alerts,
    AppointmentRules,
    Counter,
    CounterSet,
    Device,
    Lane,
    Office,
    OnlySession,
    Policy,
    Service,
)
from .engine.runtime import parse_clock
from .wire.errors import ConfigError
from .wire.text import Text
from .wire.tomlfile import Reader, read_toml

DEMO_OFFICE = "demo_office.toml"

# Every key the office file may have, per table ("" is the top level; an array of tables by its
# name). The reader refuses any other, and tests/test_docs.py checks that docs/configuration.md
# describes each one.
OFFICE_KEYS: dict[str, tuple[str, ...]] = {
    "": ("office", "services", "lanes", "policy", "counters", "devices", "announcements", "simulation",
         "appointments", "alerts", "schedule", "web"),
    "office": ("name", "timezone", "ticket_footer", "public_url", "demo"),
    "services": ("id", "name", "prefix", "first", "last", "default_minutes", "private", "public_name", "points"),
    "lanes": ("id", "name", "weight"),
    "policy": ("mode", "priority_run", "max_wait_minutes"),
    "counters": ("id", "name", "services", "lanes", "open"),
    "devices": ("id", "role", "token", "counter"),
    "announcements": ("text",),
    # parse_arrivals; arrivals.SERVICE.LANE are ids
    "simulation": ("hours", "arrivals", "no_show_pct", "transfer_pct", "walk_in_pct", "appointments"),
    "simulation.appointments": ("slots", "per_slot", "missed_pct", "late_pct"),  # per_slot.SERVICE are ids
    "appointments": ("early_minutes", "late_minutes", "only"),
    "alerts": ("wait_minutes", "idle_minutes", "target_wait_minutes", "service_level_pct"),  # issue #10
    "schedule": ("from", "to", "close", "serves", "days"),  # serves.COUNTER are ids
    "web": ("secure_cookies",),
}
# [[appointments.only]]: a session that takes only booked appointments.
ONLY_KEYS = ("days", "dates", "from", "to", "services")


def load_office(path: str | Path | None = None) -> Office:
    """Read an office file, or the built-in demo office when `path` is None."""
    if path is None:
        data = tomllib.loads(resources.files("server").joinpath(DEMO_OFFICE).read_text("utf-8"))
        source = f"<built-in {DEMO_OFFICE}>"
    else:
        data, source = read_toml(path, "office file"), str(path)
    try:
        return parse_office(data)
    except ConfigError as e:
        raise ConfigError(f"{source}: {e}") from None


def parse_office(data: dict[str, Any]) -> Office:
    top = Reader(data)
    top.unknown(OFFICE_KEYS[""])  # [simulation]: read by load_arrivals below
    o = top.table("office")
    o.unknown(OFFICE_KEYS["office"])
    name = o.text("name")
    tz = o.get("timezone", str, "Asia/Taipei")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise o.fail("timezone", f"is not a known time zone (got {tz!r}; e.g. 'Asia/Taipei')") from None
    footer = o.text("ticket_footer", None)
    public_url = o.get("public_url", str, "")
    if public_url and not re.match(r"^https?://", public_url):
        raise o.fail("public_url", f"must start with http:// or https:// (got {public_url!r})")

    services: list[Service] = []
    for r in top.items("services"):
        r.unknown(OFFICE_KEYS["services"])
        sid = r.ident("id")
        prefix = r.get("prefix", str)
        if not re.fullmatch(r"[A-Z]{0,3}", prefix):
            raise r.fail("prefix", f"must be at most 3 capital letters A-Z, or \"\" (got {prefix!r})")
        first, last = r.get("first", int, 1), r.get("last", int, 999)
        if first < 0:
            raise r.fail("first", f"must be 0 or more (got {first})")
        if last < first or last > 99999:
            raise r.fail("last", f"must be from first ({first}) to 99999 (got {last})")
        minutes = r.get("default_minutes", (int, float), 8)
        if not 0 < minutes <= 240:
            raise r.fail("default_minutes", f"must be more than 0 and at most 240 (got {minutes})")
        points = r.get("points", (int, float), 1)
        if not 0 <= points <= 100:
            raise r.fail("points", f"must be from 0 to 100 (got {points})")
        services.append(
            Service(sid, r.text("name"), prefix, first, last, float(minutes), r.get("private", bool, False),
                    r.text("public_name", None), float(points))
        )
    if not services:
        raise top.fail("services", "must list at least one service")
    _unique(top, "services", [s.id for s in services])
    for i, s in enumerate(services):
        if s.prefix and any(o.prefix == s.prefix for o in services[:i]):
            raise top.fail(f"services[{i}].prefix", f"'{s.prefix}' is used by another service too: "
                           "numbers of two services would look alike")

    lanes = [Lane("normal", Text("一般", "General"), 0)]
    for r in top.items("lanes"):
        r.unknown(OFFICE_KEYS["lanes"])
        lid = r.ident("id")
        weight = r.get("weight", int)
        if lid == "normal":
            if weight != 0:
                raise r.fail("weight", "the normal lane always has weight 0")
            lanes[0] = Lane("normal", r.text("name"), 0)
            continue
        if not 0 <= weight <= 1000:
            raise r.fail("weight", f"must be from 0 to 1000 (got {weight})")
        lanes.append(Lane(lid, r.text("name"), weight))
    _unique(top, "lanes", [lane.id for lane in lanes[1:]])

    p = top.table("policy")
    p.unknown(OFFICE_KEYS["policy"])
    mode = p.get("mode", str, "strict")
    if mode not in POLICY_MODES:
        raise p.fail("mode", f"must be one of {', '.join(POLICY_MODES)} (got {mode!r})")
    run = p.get("priority_run", int, 2)
    if run < 1:
        raise p.fail("priority_run", f"must be 1 or more (got {run})")
    max_wait = p.get("max_wait_minutes", int, 0)
    if max_wait < 0:
        raise p.fail("max_wait_minutes", f"must be 0 (off) or more (got {max_wait})")
    policy = Policy(mode, run, max_wait)

    service_ids = {s.id for s in services}
    lane_ids = [lane.id for lane in lanes]
    counters: list[Counter] = []
    for r in top.items("counters"):
        r.unknown(OFFICE_KEYS["counters"])
        cid = r.ident("id")
        serves = r.get("services", list)
        if not serves:
            raise r.fail("services", "must name at least one service")
        for j, sid in enumerate(serves):
            if sid not in service_ids:
                raise r.fail(f"services[{j}]", f"'{sid}' is not a service id (known: {', '.join(sorted(service_ids))})")
        counter_lanes = r.get("lanes", list, lane_ids)
        for j, lid in enumerate(counter_lanes):
            if lid not in lane_ids:
                raise r.fail(f"lanes[{j}]", f"'{lid}' is not a lane id (known: {', '.join(lane_ids)})")
        counters.append(Counter(cid, r.text("name"), tuple(serves), tuple(counter_lanes), r.get("open", bool, True)))
    _unique(top, "counters", [c.id for c in counters])

    devices: list[Device] = []
    counter_ids = {c.id for c in counters}
    for r in top.items("devices"):
        r.unknown(OFFICE_KEYS["devices"])
        did = r.ident("id")
        role = r.get("role", str)
        if role not in ROLES:
            raise r.fail("role", f"must be one of {', '.join(ROLES)} (got {role!r})")
        token = r.get("token", str)
        if len(token) < 8:
            raise r.fail("token", "must be at least 8 characters")
        counter = r.get("counter", str, None)
        if role in COUNTER_ROLES:
            if counter is None:
                raise r.fail("counter", f"is required for a device with role {role}")
            if counter not in counter_ids:
                raise r.fail("counter", f"'{counter}' is not a counter id")
        elif counter is not None:
            raise r.fail("counter", "only a device with role counter or tablet names a counter")
        devices.append(Device(did, role, token, counter))
    _unique(top, "devices", [d.id for d in devices])
    for i, d in enumerate(devices):
        if any(o.token == d.token for o in devices[:i]):
            raise top.fail(f"devices[{i}].token", "is the same as another device's token: every device needs its own")

    announcements = []
    for r in top.items("announcements"):
        r.unknown(OFFICE_KEYS["announcements"])
        announcements.append(r.text("text"))
    return Office(
        name=name,
        timezone=tz,
        services=tuple(services),
        lanes=tuple(lanes),
        policy=policy,
        counters=tuple(counters),
        devices=tuple(devices),
        announcements=tuple(announcements),
        ticket_footer=footer,
        public_url=public_url.rstrip("/"),
        demo=o.get("demo", bool, False),
        appointments=_appointments(top.table("appointments"), service_ids),
        alerts=_alerts(top.table("alerts")),
        schedule=_schedule(top, service_ids, counter_ids),
        secure_cookies=_web(top.table("web")),
    )


def _alerts(a: Reader) -> Alerts:
    """[alerts]: thresholds of the supervisor's view (issue #10); every key optional."""
    a.unknown(OFFICE_KEYS["alerts"])
    values = {}
    for key, low, high in (("wait_minutes", 1, 600), ("idle_minutes", 1, 240), ("target_wait_minutes", 1, 240),
                           ("service_level_pct", 1, 99)):
        value = a.get(key, int, getattr(Alerts, key))
        if not low <= value <= high:
            raise a.fail(key, f"must be from {low} to {high} (got {value})")
        values[key] = value
    return Alerts(**values)


def _schedule(top: Reader, service_ids: set[str], counter_ids: set[str]) -> tuple[CounterSet, ...]:
    """`[[schedule]]`: counter sets by time of day (lunch, evening), applied by the hub at the edges."""
    out = []
    for r in top.items("schedule"):
        r.unknown(OFFICE_KEYS["schedule"])
        starts, ends = parse_clock(r.get("from", str)), parse_clock(r.get("to", str))
        if starts is None:
            raise r.fail("from", "must be a time of day like \"12:00\"")
        if ends is None or ends <= starts:
            raise r.fail("to", "must be a time of day like \"13:30\", after from")
        close = r.get("close", list, [])
        for j, cid in enumerate(close):
            if cid not in counter_ids:
                raise r.fail(f"close[{j}]", f"'{cid}' is not a counter id")
        serves = r.table("serves")
        plan: dict[str, tuple[str, ...]] = {}
        for cid in serves.data:
            if cid not in counter_ids:
                raise serves.fail(cid, f"'{cid}' is not a counter id")
            ids = serves.get(cid, list)
            if not ids or any(sid not in service_ids for sid in ids):
                raise serves.fail(cid, f"must list services of this office (known: {', '.join(sorted(service_ids))})")
            plan[cid] = tuple(ids)
        days = r.get("days", list, [1, 2, 3, 4, 5, 6, 7])
        if not days or any(not isinstance(d, int) or isinstance(d, bool) or not 1 <= d <= 7 for d in days):
            raise r.fail("days", "must list weekdays 1 (Monday) to 7 (Sunday)")
        out.append(CounterSet(starts, ends, tuple(close), plan, tuple(days)))
    return tuple(out)


def _web(w: Reader) -> bool:
    w.unknown(OFFICE_KEYS["web"])
    return bool(w.get("secure_cookies", bool, False))


def _unique(top: Reader, key: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for i, x in enumerate(ids):
        if x in seen:
            raise top.fail(f"{key}[{i}].id", f"'{x}' is used twice")
        seen.add(x)


# -- [simulation]: the arrivals `jiaohao simulate` uses instead of its built-in profile ------------


@dataclass(frozen=True)
class Bookings:
    """`[simulation.appointments]`: the bookings a simulated day holds, and what their citizens do."""

    slots: tuple[str, ...]  # "HH:MM", office-local
    per_slot: dict[str, float]  # service id -> bookings at each slot (fractions: on average)
    missed_pct: float = 10.0  # never come: the booking becomes a no-show at slot + late_minutes
    late_pct: float = 5.0  # come after slot + late_minutes: the booking lapses, an ordinary ticket


@dataclass(frozen=True)
class Arrivals:
    """Citizens per hour, per (service, lane), over the opening hours `hours` (local, whole hours).

    `hours` and `per_hour` are empty when the office file gives no arrivals of its own: then the
    simulator brings its built-in profile, with the rest of these settings.
    """

    hours: tuple[int, ...]
    per_hour: dict[tuple[str, str], tuple[float, ...]]
    no_show_pct: float | None = None
    transfer_pct: float | None = None
    walk_in_pct: float | None = None
    bookings: Bookings | None = None


def load_arrivals(path: str | Path | None, office: Office) -> Arrivals | None:
    """The office file's `[simulation]` table (docs/configuration.md), or None when it has none.

    `path` None is the built-in demo office, whose file has one too.
    """
    if path is None:
        data = tomllib.loads(resources.files("server").joinpath(DEMO_OFFICE).read_text("utf-8"))
        source = f"<built-in {DEMO_OFFICE}>"
    else:
        data, source = read_toml(path, "office file"), str(path)
    table = data.get("simulation")
    if table is None:
        return None
    try:
        return parse_arrivals(table, office)
    except ConfigError as e:
        raise ConfigError(f"{source}: {e}") from None


def _pct(r: Reader, key: str, most: float) -> float | None:
    value = r.get(key, (int, float), None)
    if value is not None and not 0 <= value <= most:
        raise r.fail(key, f"must be from 0 to {most:g} (got {value})")
    return None if value is None else float(value)


def parse_arrivals(table: Any, office: Office) -> Arrivals:
    if not isinstance(table, dict):
        raise ConfigError("simulation: must be a table")
    r = Reader(table, "simulation")
    r.unknown(OFFICE_KEYS["simulation"])
    no_show, transfer, walk_in = _pct(r, "no_show_pct", 50), _pct(r, "transfer_pct", 50), _pct(r, "walk_in_pct", 50)
    bookings = _bookings(r.table("appointments"), office) if "appointments" in table else None
    if "hours" not in table and "arrivals" not in table:
        return Arrivals((), {}, no_show, transfer, walk_in, bookings)  # the built-in profile
    if "arrivals" not in table:
        raise r.fail("arrivals", "is required with simulation.hours (without both, the built-in profile is used)")
    hours = r.get("hours", list)
    if not hours or any(isinstance(h, bool) or not isinstance(h, int) for h in hours) \
            or hours != list(range(hours[0], hours[0] + len(hours))) or not 0 <= hours[0] <= hours[-1] <= 23:
        raise r.fail("hours", f"must be consecutive whole hours from 0 to 23, e.g. [8, 9, 10] (got {hours!r})")
    per_hour: dict[tuple[str, str], tuple[float, ...]] = {}
    arrivals = r.table("arrivals")
    for sid in arrivals.data:
        if office.service(sid) is None:
            known = ", ".join(s.id for s in office.services)
            raise arrivals.fail(sid, f"is not a service id (known: {known})")
        lanes = arrivals.table(sid)
        for lid in lanes.data:
            if office.lane(lid) is None:
                raise lanes.fail(lid, f"is not a lane id (known: {', '.join(lane.id for lane in office.lanes)})")
            counts = lanes.get(lid, list)
            if len(counts) != len(hours) or any(
                isinstance(n, bool) or not isinstance(n, int | float) or n < 0 for n in counts
            ):
                raise lanes.fail(lid, f"must hold one number of 0 or more per entry of simulation.hours "
                                 f"({len(hours)} in all; got {counts!r})")
            per_hour[(sid, lid)] = tuple(float(n) for n in counts)
    if not per_hour:
        raise r.fail("arrivals", "must list at least one service, e.g. [simulation.arrivals.general]")
    return Arrivals(tuple(hours), per_hour, no_show, transfer, walk_in, bookings)


def _bookings(r: Reader, office: Office) -> Bookings:
    """[simulation.appointments]: slots, bookings per slot and service, and who is late or never comes."""
    r.unknown(OFFICE_KEYS["simulation.appointments"])
    slots = r.get("slots", list, ["08:30", "09:00", "09:30"])
    for j, slot in enumerate(slots):
        if not isinstance(slot, str) or not _HHMM.match(slot):
            raise r.fail(f"slots[{j}]", f"must be a time HH:MM in quotes (got {slot!r})")
    if len(set(slots)) != len(slots):
        raise r.fail("slots", f"names a time twice (got {slots!r})")
    per = r.table("per_slot")
    per_slot: dict[str, float] = {}
    for sid in per.data:
        if office.service(sid) is None:
            raise per.fail(sid, f"is not a service id (known: {', '.join(s.id for s in office.services)})")
        n = per.get(sid, (int, float))
        if not 0 <= n <= 100:
            raise per.fail(sid, f"must be from 0 to 100 bookings a slot (got {n})")
        per_slot[sid] = float(n)
    if not per_slot:
        raise r.fail("per_slot", "must give at least one service its bookings a slot, e.g. { general = 4 }")
    missed, late = _pct(r, "missed_pct", 50), _pct(r, "late_pct", 50)
    return Bookings(tuple(sorted(slots)), per_slot, 10.0 if missed is None else missed, 5.0 if late is None else late)


_HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


def _appointments(r: Reader, service_ids: set[str]) -> AppointmentRules:
    """[appointments]: the check-in window, and [[appointments.only]] sessions that take only bookings."""
    r.unknown(OFFICE_KEYS["appointments"])
    early, late = r.get("early_minutes", int, 30), r.get("late_minutes", int, 15)
    for key, value in (("early_minutes", early), ("late_minutes", late)):
        if not 0 <= value <= 24 * 60:
            raise r.fail(key, f"must be from 0 to 1440 (got {value})")
    sessions = []
    for s in r.items("only"):
        s.unknown(ONLY_KEYS)
        days, dates = s.get("days", list, []), s.get("dates", list, [])
        for j, day in enumerate(days):
            if day not in WEEKDAYS:
                raise s.fail(f"days[{j}]", f"must be one of {', '.join(WEEKDAYS)} (got {day!r})")
        for j, date in enumerate(dates):
            if not isinstance(date, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
                raise s.fail(f"dates[{j}]", f"must be a date YYYY-MM-DD in quotes (got {date!r})")
        if not days and not dates:
            raise s.fail("days", "is required (or dates): when the session is")
        start, end = s.get("from", str), s.get("to", str)
        for key, value in (("from", start), ("to", end)):
            if not _HHMM.match(value):
                raise s.fail(key, f"must be a time HH:MM (got {value!r})")
        if end <= start:
            raise s.fail("to", f"must be after from ({start})")
        services = s.get("services", list, [])
        for j, sid in enumerate(services):
            if sid not in service_ids:
                raise s.fail(f"services[{j}]", f"'{sid}' is not a service id")
        sessions.append(OnlySession(tuple(days), start, end, tuple(dates), tuple(services)))
    return AppointmentRules(early, late, tuple(sessions))
