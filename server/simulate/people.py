"""Who comes on a simulated day, and what each of them will do, drawn before the day runs.

Every draw comes from the seeded stream passed in, in a fixed order, so the same seed gives the
same citizens; none of it depends on the staffing or the policy, so two what-ifs of the same day
and seed face exactly the same people (docs/simulate.md).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date

from ..config import Arrivals, Bookings
from ..engine.office import Office

# The built-in profile: each service gets this share of what the counters the office file opens
# for it can serve over the day...
LOAD = 0.85
DEFAULT_HOURS = tuple(range(8, 17))  # 08:00-17:00
# ...spread over the hours by this shape: busier mid-morning and mid-afternoon, quieter at lunch.
SHAPE = {8: 0.7, 9: 1.2, 10: 1.35, 11: 1.1, 12: 0.6, 13: 0.8, 14: 1.2, 15: 1.25, 16: 0.8}
# Lane mix of the built-in profile: the office's first priority lane (seniors, in the demo office)
# takes 12 % of the citizens, every further one 4 %; the rest are normal.
FIRST_PRIORITY_SHARE, OTHER_PRIORITY_SHARE = 0.12, 0.04
# What citizens and clerks do, unless the office file's [simulation] says otherwise (in %).
NO_SHOW_PCT = 3.0  # called, never come
TRANSFER_PCT = 2.0  # the clerk finds the case belongs to another service and transfers the ticket
WALK_IN_PCT = 5.0  # go straight to a counter whose clerk is free, without a ticket, if there is one
# Visit length: log-normal around the service's default_minutes (its mean), spread 0.45: most visits
# take 0.5x-2x the default; none shorter than 30 s or longer than 3 h.
HANDLING_SIGMA = 0.45
MIN_VISIT_S, MAX_VISIT_S = 30.0, 3 * 3600.0
WALK_S = (10.0, 50.0)  # from the call to the counter
# A transfer comes this far into the first visit (a share of its length): the clerk has looked at the case.
TRANSFER_AFTER = (0.2, 0.6)


@dataclass(frozen=True)
class Transfer:
    """What a transferred visit does: when the clerk transfers it, to where, and how long the next visit is."""

    after_share: float  # of the first visit's length
    pick: float  # 0-1: which of the other services, by their share of the day's walk-ups (picked then)
    z: float  # the next visit's length as a standard normal draw: its service is known only then


@dataclass(frozen=True)
class Citizen:
    at: float  # seconds after local midnight: takes a ticket, checks in or walks up
    service: str
    lane: str
    handling_s: float
    walk_s: float
    no_show: bool
    walk_in: bool = False  # goes straight to a free counter, if one is free then
    transfer: Transfer | None = None
    code: str | None = None  # booked: checks in with this code at `at`


@dataclass(frozen=True)
class Booking:
    code: str
    service: str
    slot_s: float  # seconds after local midnight


def visit_s(mean_s: float, z: float) -> float:
    """A visit's length from a standard normal draw: log-normal with mean `mean_s`, clamped."""
    mu = math.log(mean_s) - HANDLING_SIGMA**2 / 2  # so that the mean is mean_s
    return min(max(math.exp(mu + HANDLING_SIGMA * z), MIN_VISIT_S), MAX_VISIT_S)


def lane_shares(office: Office) -> dict[str, float]:
    priority = [lane.id for lane in office.lanes if lane.weight > 0]
    shares = {lid: (FIRST_PRIORITY_SHARE if i == 0 else OTHER_PRIORITY_SHARE) for i, lid in enumerate(priority)}
    return {"normal": 1 - sum(shares.values()), **shares}


def booked_work_s(office: Office, bookings: Bookings | None) -> dict[str, float]:
    """Seconds of counter time a day's bookings take, per service (at default_minutes a visit)."""
    if bookings is None:
        return {}
    out = {}
    for sid, n in bookings.per_slot.items():
        service = office.service(sid)
        assert service is not None
        out[sid] = n * len(bookings.slots) * service.default_minutes * 60
    return out


def capacity(office: Office, service_id: str, shares: dict[str, float], day_s: float,
             booked: dict[str, float] | None = None) -> float:
    """How many walk-up visits of a service the office file's open counters can serve in `day_s`, in this lane mix.

    A counter first takes its part of the booked visits (`booked`: seconds per service, shared by
    the counters that serve it), then gives each of its services without bookings an equal share
    of the rest of its day. A counter kept for some lanes (a priority counter) can only take those
    lanes' visits, so the mix limits what it adds: for every set of lanes, their share of the
    arrivals must fit on the counters that serve them (Hall's condition for this flow), and the
    tightest set decides.
    """
    booked = booked or {}
    service = office.service(service_id)
    assert service is not None
    if service_id in booked:
        return 0.0  # its citizens are the booked ones
    visit_s = service.default_minutes * 60
    opened = [c for c in office.counters if c.open_at_start]
    serving = {sid: sum(1 for c in opened if sid in c.services) for sid in booked}
    counters = []
    for c in opened:
        if service_id not in c.services:
            continue
        left = day_s - sum(booked[sid] / serving[sid] for sid in c.services if sid in booked)
        walk_up = [sid for sid in c.services if sid not in booked]
        counters.append((max(left, 0.0) / len(walk_up) / visit_s, set(c.lanes)))
    lanes = [lid for lid, share in shares.items() if share > 0]
    best = math.inf
    for mask in range(1, 1 << len(lanes)):
        subset = {lid for i, lid in enumerate(lanes) if mask >> i & 1}
        share = sum(shares[lid] for lid in subset)
        can = sum(cap for cap, served in counters if served & subset)
        best = min(best, can / share)
    return 0.0 if best is math.inf else best


def builtin_profile(office: Office, settings: Arrivals | None = None) -> Arrivals:
    """LOAD of what the office file's open counters can serve per service, shaped by SHAPE.

    `settings`: the office file's [simulation] without arrivals of its own (shares, bookings), kept.
    """
    hours = DEFAULT_HOURS
    shares = lane_shares(office)
    booked = booked_work_s(office, settings.bookings if settings else None)
    total_shape = sum(SHAPE[h] for h in hours)
    per_hour: dict[tuple[str, str], tuple[float, ...]] = {}
    for s in office.services:
        daily = LOAD * capacity(office, s.id, shares, len(hours) * 3600.0, booked)
        for lane in office.lanes:
            if daily * shares.get(lane.id, 0.0) > 0:
                per_hour[(s.id, lane.id)] = tuple(daily * shares[lane.id] * SHAPE[h] / total_shape for h in hours)
    if settings is None:
        return Arrivals(hours, per_hour, NO_SHOW_PCT)
    return Arrivals(hours, per_hour, settings.no_show_pct, settings.transfer_pct, settings.walk_in_pct,
                    settings.bookings)


def _pct(value: float | None, default: float) -> float:
    return (default if value is None else value) / 100


def _behaviour(rng: random.Random, mean_s: float, profile: Arrivals) -> tuple[float, float, bool, bool,
                                                                              Transfer | None]:
    """One citizen's visit length, walk, no-show, walk-in and transfer, in a fixed order of draws."""
    handling = visit_s(mean_s, rng.gauss(0.0, 1.0))
    walk = rng.uniform(*WALK_S)
    no_show = rng.random() < _pct(profile.no_show_pct, NO_SHOW_PCT)
    walk_in = rng.random() < _pct(profile.walk_in_pct, WALK_IN_PCT)
    transfer = None
    if rng.random() < _pct(profile.transfer_pct, TRANSFER_PCT):
        transfer = Transfer(rng.uniform(*TRANSFER_AFTER), rng.random(), rng.gauss(0.0, 1.0))
    return handling, walk, no_show, walk_in, transfer


def citizens(office: Office, profile: Arrivals, rng: random.Random) -> list[Citizen]:
    """The day's walk-up citizens in order of arrival: a Poisson stream per (service, lane) and hour."""
    out: list[Citizen] = []
    order = {(s.id, lane.id): i for i, (s, lane) in
             enumerate((s, lane) for s in office.services for lane in office.lanes)}
    for key in sorted(profile.per_hour, key=lambda k: order[k]):
        service = office.service(key[0])
        assert service is not None
        for h, rate in zip(profile.hours, profile.per_hour[key], strict=True):
            t = h * 3600.0
            end = t + 3600.0
            while rate > 0:
                t += rng.expovariate(rate / 3600.0)
                if t >= end:
                    break
                handling, walk, no_show, walk_in, transfer = _behaviour(rng, service.default_minutes * 60, profile)
                out.append(Citizen(t, key[0], key[1], handling, walk, no_show, walk_in, transfer))
    out.sort(key=lambda c: c.at)  # stable: ties keep the order above
    return out


def bookings(office: Office, profile: Arrivals, day: date, opens_s: float,
             rng: random.Random) -> tuple[list[Booking], list[Citizen]]:
    """The day's bookings, and the booked citizens who come (in order of arrival).

    At each slot each service of `per_slot` has that many bookings (a fraction: one more with that
    chance). A booked citizen never comes (`missed_pct`: a no-show at slot + late_minutes), comes
    too late (`late_pct`: 1-30 minutes after slot + late_minutes, an ordinary ticket), or checks in
    from two thirds of early_minutes before the slot to half of late_minutes after it.
    """
    plan = profile.bookings
    if plan is None:
        return [], []
    rules = office.appointments
    made: list[Booking] = []
    out: list[Citizen] = []
    for slot in plan.slots:
        hh, mm = slot.split(":")
        slot_s = int(hh) * 3600.0 + int(mm) * 60.0
        for sid, per in plan.per_slot.items():
            n = int(per) + (rng.random() < per - int(per))
            service = office.service(sid)
            assert service is not None
            for _ in range(n):
                code = f"SIM-{day:%Y%m%d}-{len(made) + 1:03d}"
                made.append(Booking(code, sid, slot_s))
                u = rng.random()
                if u < plan.missed_pct / 100:
                    continue
                if u < (plan.missed_pct + plan.late_pct) / 100:
                    at = slot_s + rules.late_minutes * 60 + rng.uniform(60.0, 1800.0)
                else:
                    at = slot_s + rng.uniform(-rules.early_minutes * 40.0, rules.late_minutes * 30.0)
                handling, walk, no_show, _, transfer = _behaviour(rng, service.default_minutes * 60, profile)
                out.append(Citizen(max(at, opens_s), sid, "normal", handling, walk, no_show, False, transfer, code))
    out.sort(key=lambda c: c.at)
    return made, out
