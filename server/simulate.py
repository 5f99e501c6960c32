"""`jiaohao simulate`: business days of the office run through the real engine on a simulated clock.

A discrete-event loop (a heap of events, in simulated seconds) drives the same QueueEngine the hub
runs: citizens arrive by an hourly profile and take a ticket, clerks call the next number when they
finish, the called citizen walks to the counter (or never comes), and each visit lasts a time drawn
around its service's `default_minutes`. Every Change the engine returns is applied (and, with a
store, committed) exactly as the hub does. Randomness comes from seeded `random.Random` streams
only and time from the loop only, so the same seed and inputs give the same day, to the byte.

What the citizens do (arrival times, service, lane, visit length, no-show) is drawn from its own
stream before the day runs, independently of the staffing: two staffings of the same day and seed
face the same citizens. Appointments are not simulated: the engine has no appointments yet
(issue #11); an "appointment" service is an ordinary queue here.

docs/simulate.md says what every figure means.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
import random
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from .config import Arrivals
from .engine.model import AT_COUNTER, Change, Status, Ticket
from .engine.office import Office, Policy
from .engine.queue import QueueEngine, QueueState
from .wire.errors import UsageError

# The built-in profile: each service gets this share of what the counters the office file opens
# for it can serve over the day...
LOAD = 0.85
DEFAULT_HOURS = tuple(range(8, 17))  # 08:00-17:00
# ...spread over the hours by this shape: busier mid-morning and mid-afternoon, quieter at lunch.
SHAPE = {8: 0.7, 9: 1.2, 10: 1.35, 11: 1.1, 12: 0.6, 13: 0.8, 14: 1.2, 15: 1.25, 16: 0.8}
# Lane mix of the built-in profile: the office's first priority lane (seniors, in the demo office)
# takes 12 % of the citizens, every further one 4 %; the rest are normal.
FIRST_PRIORITY_SHARE, OTHER_PRIORITY_SHARE = 0.12, 0.04
NO_SHOW_PCT = 3.0
# Visit length: log-normal around the service's default_minutes (its mean), spread 0.45: most visits
# take 0.5x-2x the default; none shorter than 30 s or longer than 3 h.
HANDLING_SIGMA = 0.45
MIN_VISIT_S, MAX_VISIT_S = 30.0, 3 * 3600.0
WALK_S = (10.0, 50.0)  # from the call to the counter
REACT_S = (3.0, 20.0)  # an idle clerk notices a new ticket and presses "next"
RECALL_AFTER_S, NO_SHOW_AFTER_S = 45.0, 90.0  # a citizen who does not come: recalled, then marked
# Clerks serve whoever took a number before closing, but not past this: a what-if with far too few
# counters must still end its day (the tickets left are cancelled at day end, as in the hub).
OVERTIME_S = 3 * 3600.0
BATCH = 2000  # Changes per store transaction


class SimulationError(UsageError):
    """A value of `jiaohao simulate` that cannot be used: one line, exit 1 (a FixableError)."""


@dataclass(frozen=True)
class Citizen:
    at: float  # seconds after local midnight
    service: str
    lane: str
    handling_s: float
    walk_s: float
    no_show: bool


@dataclass
class Issued:
    ticket: str
    ahead: int
    estimate_s: int | None
    range_s: tuple[int, int] | None


@dataclass
class Day:
    date: str
    tickets: list[Ticket]
    issued: dict[str, Issued]
    opens_s: float
    closes_s: float
    staffed: dict[str, bool]
    ended_s: dict[str, float] = field(default_factory=dict)


# -- what-if settings ------------------------------------------------------------------------------


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


# -- the citizens ----------------------------------------------------------------------------------


def lane_shares(office: Office) -> dict[str, float]:
    priority = [lane.id for lane in office.lanes if lane.weight > 0]
    shares = {lid: (FIRST_PRIORITY_SHARE if i == 0 else OTHER_PRIORITY_SHARE) for i, lid in enumerate(priority)}
    return {"normal": 1 - sum(shares.values()), **shares}


def capacity(office: Office, service_id: str, shares: dict[str, float], day_s: float) -> float:
    """How many visits of a service the office file's open counters can serve in `day_s`, in this lane mix.

    A counter of several services gives each an equal share of its day. A counter kept for some
    lanes (a priority counter) can only take those lanes' visits, so the mix limits what it adds:
    for every set of lanes, their share of the arrivals must fit on the counters that serve them
    (Hall's condition for this flow), and the tightest set decides.
    """
    service = office.service(service_id)
    assert service is not None
    visit_s = service.default_minutes * 60
    counters = [(day_s / len(c.services) / visit_s, set(c.lanes)) for c in office.counters
                if c.open_at_start and service_id in c.services]
    lanes = [lid for lid, share in shares.items() if share > 0]
    best = math.inf
    for mask in range(1, 1 << len(lanes)):
        subset = {lid for i, lid in enumerate(lanes) if mask >> i & 1}
        share = sum(shares[lid] for lid in subset)
        can = sum(cap for cap, served in counters if served & subset)
        best = min(best, can / share)
    return 0.0 if best is math.inf else best


def builtin_profile(office: Office) -> Arrivals:
    """LOAD of what the office file's open counters can serve per service, shaped by SHAPE."""
    hours = DEFAULT_HOURS
    shares = lane_shares(office)
    total_shape = sum(SHAPE[h] for h in hours)
    per_hour: dict[tuple[str, str], tuple[float, ...]] = {}
    for s in office.services:
        daily = LOAD * capacity(office, s.id, shares, len(hours) * 3600.0)
        for lane in office.lanes:
            if daily * shares.get(lane.id, 0.0) > 0:
                per_hour[(s.id, lane.id)] = tuple(daily * shares[lane.id] * SHAPE[h] / total_shape for h in hours)
    return Arrivals(hours, per_hour, NO_SHOW_PCT)


def citizens(office: Office, profile: Arrivals, rng: random.Random) -> list[Citizen]:
    """The day's citizens in order of arrival: a Poisson stream per (service, lane) and hour."""
    no_show = (profile.no_show_pct if profile.no_show_pct is not None else NO_SHOW_PCT) / 100
    out: list[Citizen] = []
    order = {(s.id, lane.id): i for i, (s, lane) in
             enumerate((s, lane) for s in office.services for lane in office.lanes)}
    for key in sorted(profile.per_hour, key=lambda k: order[k]):
        service = office.service(key[0])
        assert service is not None
        mean_s = service.default_minutes * 60
        mu = math.log(mean_s) - HANDLING_SIGMA**2 / 2  # so that the mean is default_minutes
        for h, rate in zip(profile.hours, profile.per_hour[key], strict=True):
            t = h * 3600.0
            end = t + 3600.0
            while rate > 0:
                t += rng.expovariate(rate / 3600.0)
                if t >= end:
                    break
                handling = min(max(rng.lognormvariate(mu, HANDLING_SIGMA), MIN_VISIT_S), MAX_VISIT_S)
                out.append(Citizen(t, key[0], key[1], handling, rng.uniform(*WALK_S), rng.random() < no_show))
    out.sort(key=lambda c: c.at)  # stable: ties keep the order above
    return out


# -- the day ---------------------------------------------------------------------------------------


class Simulation:
    """The engine, its clock and, optionally, a store that every Change is written to."""

    def __init__(self, office: Office, seed: int, store: Any = None) -> None:
        self.office, self.seed, self.store = office, seed, store
        # Simulated tickets get ids from the seed and the day (run_day): the same seed, the same database.
        self.ids = random.Random(f"{seed}:ticket-ids")
        state = QueueState(business_date="") if store is None else store.load("")
        self.engine = QueueEngine(office, state, new_id=lambda: self.ids.randbytes(12).hex())
        self.seq = int(store.meta("seq") or 0) if store is not None else 0
        self.batch: list[tuple[Change, dict[str, Ticket], str, int | None, None]] = []
        kiosks = [d.id for d in office.devices if d.role == "kiosk"]
        self.kiosk = kiosks[0] if kiosks else "kiosk"
        self.actor = {c.id: f"counter-{c.id}" for c in office.counters}
        for d in office.devices:
            if d.role == "counter" and d.counter:
                self.actor[d.counter] = d.id

    def do(self, change: Change) -> Change:
        """Commit (if there is a store) and apply one Change, as the hub does."""
        if change.empty:
            return change
        state = self.engine.state
        if self.store is not None:
            before = {tid: state.tickets[tid] for tid in change.tickets if tid in state.tickets}
            # The hub's event numbering (CONTRACT.md `seq`), so that a hub started on this database
            # goes on from the right number.
            calls = [e for e in change.events if e.kind in ("called", "recalled")]
            for k, e in enumerate(calls):
                e.detail["seq"] = self.seq + 1 + k
            self.seq += len(change.calls) + int(change.queue_changed(before)) + len(change.counters)
            self.batch.append((change, before, state.business_date, self.seq, None))
            if len(self.batch) >= BATCH:
                self.flush()
        self.engine.apply(change)
        return change

    def flush(self) -> None:
        if self.store is not None and self.batch:
            self.store.commit_batch(self.batch)
            self.batch = []

    def run_day(self, day: date, profile: Arrivals, is_open: dict[str, bool]) -> Day:
        office, engine = self.office, self.engine
        midnight = datetime.combine(day, time(0), tzinfo=office.tz)

        def at(s: float) -> datetime:
            return (midnight + timedelta(seconds=s)).astimezone(UTC)

        rng = random.Random(f"{self.seed}:{day.isoformat()}:citizens")
        clerks = random.Random(f"{self.seed}:{day.isoformat()}:clerks")
        self.ids = random.Random(f"{self.seed}:{day.isoformat()}:ticket-ids")
        people = citizens(office, profile, rng)
        opens_s, closes_s = profile.hours[0] * 3600.0, (profile.hours[-1] + 1) * 3600.0
        self.do(engine.roll_day(at(opens_s - 600)))
        for cid, want in is_open.items():
            self.do(engine.set_open(cid, want, at(opens_s - 600), self.actor[cid]))

        counters = {c.id: c for c in office.counters}
        order = {c.id: i for i, c in enumerate(office.counters)}
        idle: dict[str, float] = {cid: opens_s for cid, o in is_open.items() if o}
        who: dict[str, Citizen] = {}
        issued: dict[str, Issued] = {}
        ended: dict[str, float] = {}
        heap: list[tuple[float, int, str, Any]] = []
        n = 0

        def push(t: float, kind: str, arg: Any) -> None:
            nonlocal n
            n += 1
            heapq.heappush(heap, (t, n, kind, arg))

        for person in people:
            push(person.at, "arrive", person)
        while heap:
            t, _, kind, arg = heapq.heappop(heap)
            now = at(t)
            if kind == "arrive":
                ch = self.do(engine.issue(arg.service, arg.lane, now, self.kiosk))
                assert ch.ticket
                est = engine.estimates(now).tickets.get(ch.ticket)
                issued[ch.ticket] = Issued(ch.ticket, est.ahead if est else 0, est.wait_s if est else None,
                                           est.range_s() if est else None)
                who[ch.ticket] = arg
                # The clerk idle longest at a counter that can serve it notices and calls.
                free = [cid for cid in idle if arg.service in counters[cid].services
                        and arg.lane in counters[cid].lanes]
                if free:
                    cid = min(free, key=lambda c: (idle[c], order[c]))
                    del idle[cid]
                    push(t + clerks.uniform(*REACT_S), "call", cid)
            elif kind == "call":
                if t >= closes_s + OVERTIME_S:  # the clerk goes home; who still waits is cancelled at day end
                    current = engine.counter_ticket(arg)
                    if current is not None and current.status in AT_COUNTER:
                        self.do(engine.finish(arg, now, self.actor[arg]))
                    ended[arg] = t
                    continue
                ch = self.do(engine.call_next(arg, now, self.actor[arg]))
                ended[arg] = t
                if ch.ticket is None:
                    idle[arg] = t
                    continue
                person = who[ch.ticket]
                if person.no_show:
                    push(t + RECALL_AFTER_S, "recall", arg)
                    push(t + NO_SHOW_AFTER_S, "no_show", arg)
                else:
                    push(t + person.walk_s, "start", (arg, person))
            elif kind == "recall":
                self.do(engine.recall(arg, now, self.actor[arg]))
            elif kind == "no_show":
                self.do(engine.no_show(arg, now, self.actor[arg]))
                push(t, "call", arg)
            elif kind == "start":
                cid, person = arg
                self.do(engine.start(cid, now, self.actor[cid]))
                push(t + person.handling_s, "call", cid)
        tickets = [t for t in engine.state.tickets.values() if t.business_date == day.isoformat()]
        return Day(day.isoformat(), tickets, issued, opens_s, closes_s, dict(is_open), ended)

    def restore_counters(self, when: datetime) -> None:
        """Leave the counters as the office file opens them, for the hub that starts on this database."""
        for c in self.office.counters:
            self.do(self.engine.set_open(c.id, c.open_at_start, when, self.actor[c.id]))


def run(
    office: Office,
    days: list[date],
    seed: int,
    profile: Arrivals | None = None,
    wanted: dict[str, int] | None = None,
    store: Any = None,
) -> dict[str, Any]:
    """Simulate the days and return the figures (`jiaohao simulate --json`)."""
    profile = profile or builtin_profile(office)
    is_open = staffing(office, wanted)
    sim = Simulation(office, seed, store)
    current = sim.engine.state.business_date
    if current and current >= days[0].isoformat():
        raise SimulationError(f"--db: the database already holds {current}; simulate days after it "
                              "or use a new file")
    results = [sim.run_day(d, profile, is_open) for d in days]
    if store is not None:
        last = datetime.combine(days[-1], time(23, 0), tzinfo=office.tz)
        sim.restore_counters(last.astimezone(UTC))
        sim.flush()
    return figures(office, seed, results, profile)


# -- the figures -----------------------------------------------------------------------------------


def wait_stats(waits: Iterable[float]) -> dict[str, int | None]:
    ordered = sorted(waits)
    if not ordered:
        return {"count": 0, "median_wait_s": None, "p90_wait_s": None, "max_wait_s": None}
    return {"count": len(ordered), "median_wait_s": round(statistics.median(ordered)),
            "p90_wait_s": round(_p90(ordered)), "max_wait_s": round(ordered[-1])}


def _p90(ordered: list[float]) -> float:
    # The same nearest-rank rule as the reports (server/reports.py).
    return ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]


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
    per_day = []
    for day in days:
        day_waits = []
        for t in day.tickets:
            if t.called_at is not None:
                wait = (t.called_at - t.issued_at).total_seconds()
                waits.append((t, wait))
                day_waits.append(wait)
                issued = day.issued.get(t.id)
                if issued and issued.range_s and issued.estimate_s is not None:
                    low, high = issued.range_s
                    within += low <= wait <= high
                    below += wait < low
                    above += wait > high
                    errors.append(abs(issued.estimate_s - wait))
                    widths.append(high - low)
            if t.counter and t.called_at and t.finished_at:
                busy[t.counter] += (t.finished_at - t.called_at).total_seconds()
                served[t.counter] += t.status == Status.DONE
                no_shows[t.counter] += t.status == Status.NO_SHOW
        for cid, was_open in day.staffed.items():
            if was_open:
                span[cid] += max(day.closes_s, day.ended_s.get(cid, 0.0)) - day.opens_s
        per_day.append({"date": day.date, "tickets": len(day.tickets),
                        "served": sum(t.status == Status.DONE for t in day.tickets), **wait_stats(day_waits)})
    tickets = [t for day in days for t in day.tickets]
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
        },
        "counters": {cid: {"open": span[cid] > 0, "served": served[cid], "no_shows": no_shows[cid],
                           "busy_pct": _pct(round(busy[cid]), round(span[cid]))} for cid in busy},
        "by_day": per_day,
    }


def table(fig: dict[str, Any]) -> str:
    """The figures as a few readable tables (`jiaohao simulate` without --json)."""

    def mins(s: int | None) -> str:
        return "-" if s is None else f"{s / 60:.1f}"

    lines = [
        f"jiaohao simulate: {fig['date']} ({fig['days']} day(s)), {fig['opens']}-{fig['closes']}, seed {fig['seed']}, "
        f"policy {fig['policy']['mode']}",
        f"tickets {fig['tickets']}, served {fig['served']}, no-shows {fig['no_shows']}, unserved {fig['unserved']}",
        "",
        f"{'wait (minutes)':<28} {'tickets':>7} {'median':>7} {'p90':>7} {'max':>7}",
    ]

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
        "",
        f"{'counter':<8} {'served':>7} {'no-shows':>9} {'busy %':>7}",
    ]
    for cid, c in fig["counters"].items():
        lines.append(f"{cid:<8} {c['served']:>7} {c['no_shows']:>9} {c['busy_pct']:>7}" if c["open"]
                     else f"{cid:<8} {'closed':>7}")
    return "\n".join(lines)


# -- the command -----------------------------------------------------------------------------------


def command(args: Any) -> int:
    """`jiaohao simulate` (server/cli.py registers its options and turns SimulationError into one line)."""
    import json
    import sys

    from .config import load_arrivals, load_office

    office = with_policy(load_office(args.config), args.policy, args.max_wait)
    wanted = parse_counters(args.counters, office) if args.counters else None
    if args.days < 1:
        raise SimulationError(f"--days must be 1 or more (got {args.days})")
    if args.date:
        try:
            first = date.fromisoformat(args.date)
        except ValueError:
            raise SimulationError(f"--date: '{args.date}' is not a date like 2026-11-02") from None
    else:
        first = default_first_day(office, args.days, datetime.now(UTC))
    days = business_days(first, args.days)
    profile = load_arrivals(args.config, office)
    store = None
    if args.db:
        from .store import Store, StoreLocked

        try:
            store = Store(args.db)
        except StoreLocked as e:
            raise SimulationError(str(e)) from None
    try:
        fig = run(office, days, args.seed, profile, wanted, store)
    finally:
        if store is not None:
            store.close()
    sys.stdout.write((json.dumps(fig, ensure_ascii=False) if args.json else table(fig)) + "\n")
    return 0
