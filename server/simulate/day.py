"""The simulated day: a discrete-event loop that drives the real engine, as the hub would.

A heap of events, in simulated seconds: citizens take a ticket, check in for their booking or walk
up to a free counter; clerks call the next number when they finish, recall and mark a no-show,
transfer a case that belongs to another service. Every Change the engine returns is applied (and,
with a store, committed) exactly as the hub does, the day rolled over first as before every
operation of the hub. Time comes from the loop only.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from ..commit import stamp_seq
from ..config import Arrivals
from ..engine.model import AT_COUNTER, Appointment, Change, Ticket
from ..engine.office import Office
from ..engine.queue import QueueEngine, QueueState
from .figures import Day, Issued, figures
from .people import Booking, Citizen, bookings, builtin_profile, citizens, visit_s
from .what_if import SimulationError, staffing

REACT_S = (3.0, 20.0)  # an idle clerk notices a new ticket and presses "next"
RECALL_AFTER_S, NO_SHOW_AFTER_S = 45.0, 90.0  # a citizen who does not come: recalled, then marked
# Clerks serve whoever took a number before closing, but not past this: a what-if with far too few
# counters must still end its day (the tickets left are cancelled at day end, as in the hub).
OVERTIME_S = 3 * 3600.0
BATCH = 2000  # Changes per store transaction


@dataclass
class _Counter:
    """What the loop knows of a counter: since when it is busy, and its busy seconds so far."""

    since: float | None = None
    busy_s: float = 0.0

    def take(self, t: float) -> None:
        if self.since is None:
            self.since = t

    def release(self, t: float) -> None:
        if self.since is not None:
            self.busy_s += t - self.since
            self.since = None


@dataclass
class _Today:
    people: dict[str, Citizen] = field(default_factory=dict)  # ticket id -> who holds it
    issued: dict[str, Issued] = field(default_factory=dict)
    first_call: dict[str, datetime] = field(default_factory=dict)
    ended: dict[str, float] = field(default_factory=dict)
    transfers: int = 0


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
            _, self.seq = stamp_seq(change, before, self.seq)  # the hub's numbering, the same function
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
        opens_s, closes_s = profile.hours[0] * 3600.0, (profile.hours[-1] + 1) * 3600.0
        people = citizens(office, profile, rng)
        booked, booked_people = bookings(office, profile, day, opens_s,
                                         random.Random(f"{self.seed}:{day.isoformat()}:bookings"))
        self.do(engine.roll_day(at(opens_s - 600)))
        for cid, want in is_open.items():
            self.do(engine.set_open(cid, want, at(opens_s - 600), self.actor[cid]))
        if booked:
            self.do(engine.book(self._entries(booked, midnight), at(opens_s - 600), "simulate"))
        # The other services a transfer can go to, by their share of the day's walk-ups.
        volume = {s.id: 0.0 for s in office.services}
        for (sid, _), rates in profile.per_hour.items():
            volume[sid] += sum(rates)

        counters = {c.id: c for c in office.counters}
        order = {c.id: i for i, c in enumerate(office.counters)}
        idle: dict[str, float] = {cid: opens_s for cid, o in is_open.items() if o}
        busy = {cid: _Counter() for cid in counters}
        today = _Today()
        heap: list[tuple[float, int, str, Any]] = []
        n = 0

        def push(t: float, kind: str, arg: Any) -> None:
            nonlocal n
            n += 1
            heapq.heappush(heap, (t, n, kind, arg))

        def free_counter(service: str, lane: str) -> str | None:
            """The counter idle longest that can serve this service and lane, taken out of `idle`."""
            free = [cid for cid in idle if service in counters[cid].services and lane in counters[cid].lanes]
            if not free:
                return None
            cid = min(free, key=lambda c: (idle[c], order[c]))
            del idle[cid]
            return cid

        def waiting(tid: str, person: Citizen, t: float, now: datetime) -> None:
            """A ticket now waits: note the range the kiosk printed; a free clerk notices and calls."""
            est = engine.estimates(now).tickets.get(tid)
            today.issued[tid] = Issued(tid, est.ahead if est else 0, est.wait_s if est else None,
                                       est.range_s() if est else None)
            today.people[tid] = person
            cid = free_counter(person.service, person.lane)
            if cid is not None:
                push(t + clerks.uniform(*REACT_S), "call", cid)

        def target(person: Citizen, pick: float, now: datetime) -> str | None:
            """Where a clerk transfers this case: another service that an open counter serves in its lane."""
            served = {s for c in office.counters if engine.state.counters[c.id].open and person.lane in c.lanes
                      for s in c.services}
            options = [(sid, v) for sid, v in volume.items() if sid != person.service and sid in served and v > 0]
            total = sum(v for _, v in options)
            acc = 0.0
            for sid, v in options:
                acc += v / total
                if pick < acc:
                    return sid
            return options[-1][0] if options else None

        for person in people + booked_people:
            push(person.at, "arrive", person)
        while heap:
            t, _, kind, arg = heapq.heappop(heap)
            now = at(t)
            self.do(engine.roll_day(now))  # as before every operation of the hub: lapsed bookings
            if kind == "arrive":
                if arg.code is not None:
                    ch = self.do(engine.check_in(arg.code, now, self.kiosk))
                    assert ch.ticket
                    waiting(ch.ticket, arg, t, now)
                    continue
                cid = free_counter(arg.service, arg.lane) if arg.walk_in else None
                if cid is not None:  # walks up to the free clerk: served without a ticket
                    ch = self.do(engine.walk_in(cid, arg.service, arg.lane, now, self.actor[cid]))
                    busy[cid].take(t)
                    push(t + arg.handling_s, "call", cid)
                    continue
                ch = self.do(engine.issue(arg.service, arg.lane, now, self.kiosk))
                assert ch.ticket
                waiting(ch.ticket, arg, t, now)
            elif kind == "call":
                busy[arg].release(t)
                if t >= closes_s + OVERTIME_S:  # the clerk goes home; who still waits is cancelled at day end
                    current = engine.counter_ticket(arg)
                    if current is not None and current.status in AT_COUNTER:
                        self.do(engine.finish(arg, now, self.actor[arg]))
                    today.ended[arg] = t
                    continue
                ch = self.do(engine.call_next(arg, now, self.actor[arg]))
                today.ended[arg] = t
                if ch.ticket is None:
                    idle[arg] = t
                    continue
                busy[arg].take(t)
                today.first_call.setdefault(ch.ticket, now)
                person = today.people[ch.ticket]
                if person.no_show:
                    push(t + RECALL_AFTER_S, "recall", arg)
                    push(t + NO_SHOW_AFTER_S, "no_show", arg)
                else:
                    push(t + person.walk_s, "start", (arg, person))
            elif kind == "recall":
                self.do(engine.recall(arg, now, self.actor[arg]))
            elif kind == "no_show":
                self.do(engine.no_show(arg, now, self.actor[arg]))
                busy[arg].release(t)
                push(t, "call", arg)
            elif kind == "start":
                cid, person = arg
                self.do(engine.start(cid, now, self.actor[cid]))
                if person.transfer is not None:
                    push(t + person.handling_s * person.transfer.after_share, "transfer", (cid, person))
                else:
                    push(t + person.handling_s, "call", cid)
            elif kind == "transfer":
                cid, person = arg
                assert person.transfer is not None
                to = target(person, person.transfer.pick, now)
                if to is None:  # nowhere to send it: the clerk serves the case after all
                    push(t + person.handling_s * (1 - person.transfer.after_share), "call", cid)
                    continue
                ch = self.do(engine.transfer(cid, to, now, self.actor[cid]))
                busy[cid].release(t)
                today.transfers += 1
                service = office.service(to)
                assert service is not None and ch.ticket
                # The same citizen, already in the hall, now waits for a visit of the other service.
                again = Citizen(t, to, person.lane, visit_s(service.default_minutes * 60, person.transfer.z),
                                person.walk_s, False)
                today.people[ch.ticket] = again
                cid2 = free_counter(to, person.lane)
                if cid2 is not None:
                    push(t + clerks.uniform(*REACT_S), "call", cid2)
                push(t, "call", cid)
        tickets = [t for t in engine.state.tickets.values() if t.business_date == day.isoformat()]
        return Day(day.isoformat(), tickets, today.issued, today.first_call, opens_s, closes_s, dict(is_open),
                   today.ended, {cid: c.busy_s for cid, c in busy.items()}, engine.bookings(day.isoformat()),
                   today.transfers)

    def _entries(self, booked: list[Booking], midnight: datetime) -> list[tuple[int, Appointment]]:
        day = midnight.date().isoformat()
        return [(i + 2, Appointment(code=b.code, service=b.service, slot=midnight + timedelta(seconds=b.slot_s),
                                    business_date=day, source="simulate")) for i, b in enumerate(booked)]

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
    """Simulate the days and return the figures (`jiaohao simulate --json`).

    `profile`: the office file's [simulation] (load_arrivals); without arrivals of its own, the
    built-in profile with its other settings.
    """
    if profile is None or not profile.per_hour:
        profile = builtin_profile(office, profile)
    check_slots(profile)
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


def check_slots(profile: Arrivals) -> None:
    """Booked slots must fall in the opening hours: a slot nobody is there for is a mistake."""
    if profile.bookings is None:
        return
    opens, closes = f"{profile.hours[0]:02d}:00", f"{profile.hours[-1] + 1:02d}:00"
    for slot in profile.bookings.slots:
        if not opens <= slot < closes:
            raise SimulationError(f"simulation.appointments.slots: {slot} is outside the opening hours "
                                  f"{opens}-{closes}")
