"""The queue engine: every operation of DESIGN.md as plain Python over an in-memory state.

An operation never mutates the state: it returns a Change (new ticket and counter versions, the
event-log rows, the calls to announce). The hub stores the Change in one transaction, then calls
`apply`, then announces. Time always comes in as an argument.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .errors import Invalid, InvalidRows, NotFound, WrongState
from .estimate import DEFAULT_CV, EstimateCache, Estimates, mean_seconds
from .model import (
    AT_COUNTER,
    OPEN_STATUSES,
    Appointment,
    AppointmentRef,
    BookingStatus,
    CallNotice,
    Change,
    CounterState,
    Event,
    Override,
    ServiceStat,
    Status,
    Ticket,
)
from .office import Office, Service
from .policy import NO_STEPS, Candidate, ClockSteps, choose, due_head, next_streak

# Weight of the newest visit in a service's handling-time mean: about the last 20 visits count.
# 0.2 (the last 5-10) let one long visit swing every estimate; `jiaohao simulate` measured 0.1
# as keeping more printed ranges (docs/simulate.md).
EWMA_ALPHA = 0.1
# A visit shorter or longer than this still counts, as this long: a slip of the finger or a
# ticket left open over lunch must not swing the estimate for everyone.
MIN_VISIT_S, MAX_VISIT_S = 30.0, 2 * 3600.0


def new_ticket_id() -> str:
    return secrets.token_urlsafe(12)


@dataclass
class QueueState:
    business_date: str
    tickets: dict[str, Ticket] = field(default_factory=dict)
    counters: dict[str, CounterState] = field(default_factory=dict)
    numbering: dict[str, int] = field(default_factory=dict)
    stats: dict[str, ServiceStat] = field(default_factory=dict)
    next_order: int = 1
    # Bookings of today and of the days ahead (earlier days' are in the store only).
    appointments: dict[str, Appointment] = field(default_factory=dict)


class _Draft:
    """The state as an operation sees it while it builds its Change."""

    def __init__(self, engine: QueueEngine, now: datetime, actor: str | None) -> None:
        self.engine, self.now, self.actor = engine, now, actor
        self.state = engine.state
        self.change = Change()

    def ticket(self, tid: str) -> Ticket | None:
        return self.change.tickets.get(tid) or self.state.tickets.get(tid)

    def booking(self, code: str) -> Appointment | None:
        return self.change.appointments.get(code) or self.state.appointments.get(code)

    def counter(self, cid: str) -> CounterState:
        return self.change.counters.get(cid) or self.state.counters[cid]

    def put(self, obj: Ticket | CounterState) -> None:
        if isinstance(obj, Ticket):
            self.change.tickets[obj.id] = obj
            if obj.counter:
                # The counter's shown ticket changed too.
                self.change.counters.setdefault(obj.counter, self.counter(obj.counter))
        else:
            self.change.counters[obj.id] = obj

    def tickets(self) -> Iterator[Ticket]:
        for tid, t in self.state.tickets.items():
            yield self.change.tickets.get(tid, t)
        for tid, t in self.change.tickets.items():
            if tid not in self.state.tickets:
                yield t

    def open_counters(self) -> int:
        return sum(1 for cid in self.state.counters if self.counter(cid).open)

    def log(self, kind: str, ticket: Ticket | None = None, counter: str | None = None, **kw: object) -> None:
        self.change.events.append(
            Event(
                kind=kind,
                at=self.now,
                business_date=self.state.business_date,
                ticket=ticket.id if ticket else None,
                actor=self.actor,
                counter=counter or (ticket.counter if ticket else None),
                service=ticket.service if ticket else None,
                lane=ticket.lane if ticket else None,
                open_counters=self.open_counters(),
                outcome=kw.pop("outcome", None),  # type: ignore[arg-type]
                detail=dict(kw),
            )
        )


class QueueEngine:
    def __init__(
        self, office: Office, state: QueueState, new_id: Callable[[], str] = new_ticket_id
    ) -> None:
        self.office = office
        self.state = state
        self.new_id = new_id
        self.version = 0
        self._estimates = EstimateCache()
        for c in office.counters:
            state.counters.setdefault(c.id, CounterState(c.id, open=c.open_at_start))
        # Indexes kept by apply(): issuing and the `queue` event must not scan the whole day.
        self._waiting: dict[str, Ticket] = {}
        self._waiting_count: dict[str, int] = {}
        self._held: dict[str, int] = {}
        self._reindex()
        # When the next booking not checked in becomes a no-show: the tick is cheap until then.
        self._next_lapse: datetime | None = None
        self._index_bookings()

    def _reindex(self) -> None:
        self._waiting, self._held = {}, {}
        self._waiting_count = {s.id: 0 for s in self.office.services}
        for t in self.state.tickets.values():
            self._index(t, +1)

    def _index(self, t: Ticket, sign: int) -> None:
        if t.status == Status.WAITING:
            if sign > 0:
                self._waiting[t.id] = t
            else:
                self._waiting.pop(t.id, None)
            self._waiting_count[t.service] = self._waiting_count.get(t.service, 0) + sign
        if t.is_open and t.number and t.business_date == self.state.business_date:
            n = self._held.get(t.number, 0) + sign
            if n > 0:
                self._held[t.number] = n
            else:
                self._held.pop(t.number, None)

    # -- reading -------------------------------------------------------------------------------

    def business_date(self, now: datetime) -> str:
        return now.astimezone(self.office.tz).date().isoformat()

    def ticket(self, tid: str) -> Ticket | None:
        return self.state.tickets.get(tid)

    def waiting(self) -> list[Ticket]:
        return list(self._waiting.values())

    def waiting_counts(self) -> dict[str, int]:
        return dict(self._waiting_count)

    def service_open(self, service_id: str) -> bool:
        return any(
            self.state.counters[c.id].open and service_id in c.services for c in self.office.counters
        )

    def counter_ticket(self, cid: str) -> Ticket | None:
        state = self.state.counters.get(cid)
        return self.state.tickets.get(state.ticket) if state and state.ticket else None

    def estimates(self, now: datetime, closes: dict[str, datetime] | None = None,
                  steps: ClockSteps = NO_STEPS) -> Estimates:
        """Ahead and estimated wait for every waiting ticket and service (engine/estimate.py).

        `closes`: counters that a `[[schedule]]` window will close, and when (runtime.planned_closes).
        """
        s = self.state
        return self._estimates.get(self.office, self.waiting, s.counters, s.tickets, s.stats, now, closes, steps)

    # -- the day -------------------------------------------------------------------------------

    def roll_day(self, now: datetime) -> Change:
        """Close what the last business day left open; numbering starts again (DESIGN.md)."""
        today = self.business_date(now)
        if today == self.state.business_date:
            return self._lapse_bookings(now)
        if today < self.state.business_date:
            return Change()  # never close a day on a clock that went backwards: yesterday is no day to end
        d = _Draft(self, now, "system")
        for t in list(d.tickets()):
            if not t.is_open:
                continue
            status = {Status.WAITING: Status.CANCELLED, Status.CALLED: Status.NO_SHOW}.get(
                t.status, Status.DONE
            )
            closed = t.evolve(status=status, outcome="day_end", finished_at=now)
            d.put(closed)
            d.log("day_end", closed, outcome="day_end", status=str(status))
        for cid in self.state.counters:
            if d.counter(cid).ticket:
                d.put(d.counter(cid).evolve(ticket=None))
        self._lapse_bookings(now, d)
        d.change.business_date = today
        return d.change

    # -- tickets -------------------------------------------------------------------------------

    def issue(self, service_id: str, lane_id: str, now: datetime, actor: str | None) -> Change:
        service = self.office.service(service_id)
        if service is None:
            raise Invalid(f"Unknown service '{service_id}'. 沒有這項業務。", code="unknown_service")
        if self.office.lane(lane_id) is None:
            raise Invalid(f"Unknown lane '{lane_id}'. 沒有這個優先類別。", code="unknown_lane")
        self._refuse_in_only_session(service.id, now)
        d = _Draft(self, now, actor)
        ticket = self._numbered(d, service, lane_id, now, actor)
        d.log("issued", ticket, number=ticket.number)
        return d.change

    def _numbered(
        self, d: _Draft, service: Service, lane_id: str, now: datetime, actor: str | None,
        appointment: AppointmentRef | None = None,
    ) -> Ticket:
        """A new waiting ticket with the service's next free number, put into the draft."""
        held = self._held
        n = self.state.numbering.get(service.id, service.first)
        for _ in range(service.last - service.first + 1):
            if n > service.last or n < service.first:
                n = service.first
            if service.number(n) not in held:
                break
            n += 1
        else:
            raise WrongState(
                f"Every number of '{service.id}' is still held by an open ticket today. 今日號碼已用完。",
                code="numbers_exhausted",
            )
        ticket = Ticket(
            id=self.new_id(),
            business_date=self.state.business_date,
            service=service.id,
            lane=lane_id,
            number=service.number(n),
            n=n,
            status=Status.WAITING,
            issued_at=now,
            order=self.state.next_order,
            device=actor,
            appointment=appointment,
        )
        d.put(ticket)
        d.change.numbering[service.id] = n + 1
        d.change.ticket = ticket.id
        return ticket

    def cancel(self, tid: str, now: datetime, actor: str | None) -> Change:
        t = self.state.tickets.get(tid)
        if t is None:
            raise NotFound(f"No ticket '{tid}' is open today. 查無此號碼牌。", code="unknown_ticket")
        if t.status != Status.WAITING:
            raise WrongState(
                f"Ticket {t.number} is {t.status}; only a waiting ticket can be cancelled. 此號碼牌無法取消。",
                code="not_waiting",
            )
        d = _Draft(self, now, actor)
        done = t.evolve(status=Status.CANCELLED, outcome="cancelled", finished_at=now)
        d.put(done)
        d.change.ticket = tid
        d.log("cancelled", done, outcome="cancelled")
        return d.change

    # -- counters ------------------------------------------------------------------------------

    def _counter(self, cid: str) -> CounterState:
        if self.office.counter(cid) is None:
            raise NotFound(f"No counter '{cid}' in this office. 沒有這個櫃台。", code="unknown_counter")
        return self.state.counters[cid]

    def _current(self, d: _Draft, cid: str) -> Ticket:
        state = d.counter(cid)
        t = d.ticket(state.ticket) if state.ticket else None
        if t is None or t.status not in AT_COUNTER:
            raise WrongState(
                f"Counter {cid} has no ticket called. 本櫃台目前沒有叫號。", code="nothing_called"
            )
        return t

    def _finish_current(self, d: _Draft, cid: str) -> None:
        state = d.counter(cid)
        t = d.ticket(state.ticket) if state.ticket else None
        if t is not None and t.status in AT_COUNTER:
            self._close(d, t, Status.DONE, "done")
        elif state.ticket:
            d.put(state.evolve(ticket=None))

    def _close(self, d: _Draft, t: Ticket, status: Status, outcome: str) -> Ticket:
        started = t.started_at or t.called_at or d.now
        done = t.evolve(status=status, outcome=outcome, finished_at=d.now, started_at=started)
        d.put(done)
        if t.counter:
            d.put(d.counter(t.counter).evolve(ticket=None))
        if status == Status.DONE:
            self._learn(d, done)
            self._served(d, done)
        d.log("finished" if status == Status.DONE else "no_show", done, outcome=outcome)
        return done

    def _learn(self, d: _Draft, t: Ticket) -> None:
        if t.started_at is None or t.finished_at is None:
            return
        seconds = (t.finished_at - t.started_at).total_seconds()
        seconds = min(max(seconds, MIN_VISIT_S), MAX_VISIT_S)
        old = d.change.stats.get(t.service) or self.state.stats.get(t.service)
        if old is None or old.visits == 0:
            # One visit says nothing of the spread: start from the default one around it.
            stat = ServiceStat(t.service, seconds, 1, (DEFAULT_CV * seconds) ** 2)
        else:
            # The exponentially weighted variance goes with the mean (its deviation from the old mean).
            dev = seconds - old.mean_s
            var = old.var_s2 if old.var_s2 is not None else (DEFAULT_CV * old.mean_s) ** 2
            stat = ServiceStat(t.service, old.mean_s + EWMA_ALPHA * dev, old.visits + 1,
                               (1 - EWMA_ALPHA) * (var + EWMA_ALPHA * dev * dev))
        d.change.stats[t.service] = stat

    def call_next(self, cid: str, now: datetime, actor: str | None, steps: ClockSteps = NO_STEPS) -> Change:
        state = self._counter(cid)
        if not state.open:
            raise WrongState(f"Counter {cid} is closed. 本櫃台已關閉，請先開啟。", code="counter_closed")
        d = _Draft(self, now, actor)
        self._finish_current(d, cid)
        picked = self.pick(cid, now, d, steps)
        d.change.counter = cid
        if picked is None:
            return d.change
        called = picked.evolve(status=Status.CALLED, called_at=now, counter=cid)
        d.put(called)
        counter = d.counter(cid)
        weight = self.office.weight(called.lane)
        d.put(counter.evolve(ticket=called.id, streak=next_streak(counter.streak, weight)))
        d.change.ticket = called.id
        d.change.calls.append(CallNotice(cid, called.id, False, now))
        d.log("called", called, recall=False)
        return d.change

    def pick(self, cid: str, now: datetime, d: _Draft | None = None, steps: ClockSteps = NO_STEPS) -> Ticket | None:
        """The waiting ticket the policy gives this counter now (DESIGN.md)."""
        counter = self.office.counter(cid)
        assert counter is not None
        heads: dict[tuple[str, str], Ticket] = {}
        for t in self._waiting.values():
            if d is not None:
                t = d.change.tickets.get(t.id, t)
            if t.status != Status.WAITING or t.service not in counter.services or t.lane not in counter.lanes:
                continue
            key = (t.service, t.lane)
            head = heads.get(key)
            if head is None or t.order < head.order:  # the order of issue, not a clock reading
                heads[key] = t
        streak = (d.counter(cid) if d else self.state.counters[cid]).streak
        candidates = [Candidate(t.id, t.issued_at, t.order, self.office.weight(t.lane)) for t in heads.values()]
        due = self._due_head(counter.services, d)
        if due is not None:
            candidates.append(due)
        chosen = choose(candidates, self.office.policy, streak, now, steps)
        if chosen is None:
            return None
        tid = chosen.key
        assert isinstance(tid, str)
        return d.ticket(tid) if d else self.state.tickets[tid]

    def recall(self, cid: str, now: datetime, actor: str | None) -> Change:
        self._counter(cid)
        d = _Draft(self, now, actor)
        t = self._current(d, cid)
        if t.status != Status.CALLED:
            raise WrongState(
                f"Ticket {t.number} is already being served; there is nobody to call again. 已在服務中。",
                code="already_serving",
            )
        d.change.counter, d.change.ticket = cid, t.id
        d.change.calls.append(CallNotice(cid, t.id, True, now))
        d.log("recalled", t, recall=True)
        return d.change

    def start(self, cid: str, now: datetime, actor: str | None) -> Change:
        self._counter(cid)
        d = _Draft(self, now, actor)
        t = self._current(d, cid)
        d.change.counter, d.change.ticket = cid, t.id
        if t.status == Status.CALLED:
            serving = t.evolve(status=Status.SERVING, started_at=now)
            d.put(serving)
            d.log("started", serving)
        return d.change

    def finish(self, cid: str, now: datetime, actor: str | None) -> Change:
        return self._end(cid, Status.DONE, now, actor)

    def no_show(self, cid: str, now: datetime, actor: str | None) -> Change:
        return self._end(cid, Status.NO_SHOW, now, actor)

    def _end(self, cid: str, status: Status, now: datetime, actor: str | None) -> Change:
        self._counter(cid)
        d = _Draft(self, now, actor)
        t = self._current(d, cid)
        self._close(d, t, status, str(status))
        d.change.counter, d.change.ticket = cid, t.id
        return d.change

    def transfer(self, cid: str, service_id: str, now: datetime, actor: str | None) -> Change:
        self._counter(cid)
        if self.office.service(service_id) is None:
            raise Invalid(f"Unknown service '{service_id}'. 沒有這項業務。", code="unknown_service")
        d = _Draft(self, now, actor)
        t = self._current(d, cid)
        if t.walk_in:
            raise WrongState(
                "A walk-in has no number to be called by; finish it and serve the citizen at the other "
                "counter directly. 臨櫃服務沒有號碼，無法轉送。",
                code="walk_in_not_transferable",
            )
        moved = t.evolve(
            status=Status.WAITING,
            service=service_id,
            counter=None,
            called_at=None,
            started_at=None,
            transferred_from=t.service,
        )
        d.put(moved)
        d.put(d.counter(cid).evolve(ticket=None))
        d.change.counter, d.change.ticket = cid, t.id
        d.log("transferred", moved, counter=cid, from_service=t.service, to_service=service_id)
        return d.change

    def set_open(self, cid: str, is_open: bool, now: datetime, actor: str | None) -> Change:
        state = self._counter(cid)
        d = _Draft(self, now, actor)
        d.change.counter = cid
        if state.open != is_open:
            d.put(state.evolve(open=is_open))
            d.log("counter_opened" if is_open else "counter_closed", None, counter=cid)
        return d.change

    def configure_counter(self, cid: str, office: Office, overrides: list[Override], now: datetime,
                          actor: str | None) -> Change:
        """A counter's name, services or lanes changed at run time: used from its next call on.

        `office` is the office with the change made (engine/runtime.py); the ticket it has called
        stays its own, and no ticket's past changes.
        """
        state = self._counter(cid)
        d = _Draft(self, now, actor)
        d.change.office, d.change.overrides, d.change.counter = office, overrides, cid
        d.put(state)
        d.log("counter_configured", None, counter=cid, **{o.key.rpartition(".")[2]: o.value for o in overrides})
        return d.change

    def schedule_edge(self, office: Office, close: list[str], reopen: list[str], now: datetime,
                      kind: str, window: int) -> Change:
        """A `[[schedule]]` window starts (`close` its counters) or ends (`reopen` them), as actor `schedule`."""
        d = _Draft(self, now, "schedule")
        d.change.office = office
        for cid, is_open in [(c, False) for c in close] + [(c, True) for c in reopen]:
            if cid in self.state.counters and d.counter(cid).open != is_open:
                d.put(d.counter(cid).evolve(open=is_open))
                d.log("counter_opened" if is_open else "counter_closed", None, counter=cid, window=window)
        for c in office.counters:
            if c.services != (self.office.counter(c.id) or c).services:
                d.put(d.counter(c.id))  # what it serves changed: its `counter` event goes out
        d.log(kind, None, window=window)
        return d.change

    def walk_in(self, cid: str, service_id: str, lane_id: str, now: datetime, actor: str | None) -> Change:
        """A citizen served without a ticket (樂齡 counters): never announced, always counted."""
        state = self._counter(cid)
        if not state.open:
            raise WrongState(f"Counter {cid} is closed. 本櫃台已關閉，請先開啟。", code="counter_closed")
        if self.office.service(service_id) is None:
            raise Invalid(f"Unknown service '{service_id}'. 沒有這項業務。", code="unknown_service")
        if self.office.lane(lane_id) is None:
            raise Invalid(f"Unknown lane '{lane_id}'. 沒有這個優先類別。", code="unknown_lane")
        d = _Draft(self, now, actor)
        self._finish_current(d, cid)
        t = Ticket(
            id=self.new_id(),
            business_date=self.state.business_date,
            service=service_id,
            lane=lane_id,
            number="",
            n=0,
            status=Status.SERVING,
            issued_at=now,
            order=self.state.next_order,
            called_at=now,
            started_at=now,
            counter=cid,
            device=actor,
            walk_in=True,
        )
        d.put(t)
        d.put(d.counter(cid).evolve(ticket=t.id))
        d.change.counter, d.change.ticket = cid, t.id
        d.log("walk_in", t)
        return d.change

    def note(self, cid: str, kind: str, now: datetime, actor: str | None) -> Change:
        """A log row only (a clerk logging in or out at a counter): for the per-clerk reports."""
        self._counter(cid)
        d = _Draft(self, now, actor)
        d.log(kind, None, counter=cid)
        return d.change

    # -- applying ------------------------------------------------------------------------------

    def apply(self, change: Change) -> None:
        """Make a stored Change the current state."""
        s = self.state
        only_issued = not (change.counters or change.business_date or change.appointments) and all(
            tid not in s.tickets and t.status == Status.WAITING for tid, t in change.tickets.items()
        )
        self._estimates.changed(list(change.tickets.values()) if only_issued else None)
        if change.business_date:
            s.business_date = change.business_date
            s.numbering = {}
            s.tickets = {tid: t for tid, t in s.tickets.items() if t.is_open}
        for tid, t in change.tickets.items():
            old = s.tickets.get(tid)
            if old is None:
                s.next_order = max(s.next_order, t.order + 1)
            else:
                self._index(old, -1)
            s.tickets[tid] = t
            self._index(t, +1)
        if change.business_date:
            s.tickets = {tid: t for tid, t in s.tickets.items() if t.business_date == s.business_date}
            self._reindex()
        if change.office is not None:
            self.office = change.office
        s.counters.update(change.counters)
        s.numbering.update(change.numbering)
        s.stats.update(change.stats)
        if change.appointments or change.business_date:
            s.appointments.update(change.appointments)
            if change.business_date:
                day = s.business_date
                s.appointments = {c: b for c, b in s.appointments.items() if b.business_date >= day}
            self._index_bookings()
        self.version += 1

    def mean_seconds(self, service_id: str) -> float:
        return mean_seconds(self.office, self.state.stats, service_id)

    def open_tickets(self) -> list[Ticket]:
        return [t for t in self.state.tickets.values() if t.status in OPEN_STATUSES]

    # -- appointments (網路預約報到): CONTRACT.md "Appointments", DESIGN.md step 0 ---------------

    def only_session_now(self, service_id: str, now: datetime) -> bool:
        """Whether only booked appointments are served in this service now (no walk-up tickets)."""
        return self.office.appointments.only_session(now.astimezone(self.office.tz), service_id) is not None

    def _refuse_in_only_session(self, service_id: str, now: datetime) -> None:
        session = self.office.appointments.only_session(now.astimezone(self.office.tz), service_id)
        if session is not None:
            raise WrongState(
                f"Until {session.end} only booked appointments are served: check in with the booking code. "
                f"{session.end} 前僅受理預約民眾，請以預約代碼報到。",
                code="appointments_only",
            )

    def book(
        self, entries: list[tuple[int, Appointment]], now: datetime, actor: str | None,
        taken: frozenset[str] = frozenset(), unread: list[dict[str, object]] | None = None,
    ) -> Change:
        """Import bookings, all or none. `taken`: codes the store holds for earlier days; `unread`: the
        lines the reader could not read ({"line", "message"}), refused together with those found here."""
        rows: list[dict[str, object]] = list(unread or [])
        seen: dict[str, int] = {}
        today = self.state.business_date
        known = ", ".join(s.id for s in self.office.services)
        for line, b in entries:
            if self.office.service(b.service) is None:
                problem = f"Unknown service '{b.service}' (known: {known}). 沒有這項業務。"
            elif b.business_date < today:
                problem = f"The slot {b.business_date} is a day already past. 預約日期已過。"
            elif b.code in seen:
                problem = f"The code '{b.code}' is also on line {seen[b.code]}. 預約代碼重複。"
            elif b.code in self.state.appointments or b.code in taken:
                problem = f"The code '{b.code}' is already booked. 此預約代碼已匯入。"
            else:
                problem = ""
            if problem:
                rows.append({"line": line, "message": problem})
            seen.setdefault(b.code, line)
        if rows:
            rows.sort(key=lambda r: int(str(r["line"])))
            raise InvalidRows(f"{len(rows)} row(s) are not valid; nothing was imported. 有 {len(rows)} 筆資料錯誤，"
                              "全部未匯入。", rows, code="invalid_appointments")
        d = _Draft(self, now, actor)
        for _, b in entries:
            b = b.evolve(booked_at=now)
            d.change.appointments[b.code] = b
            d.change.events.append(self._booking_event("appointment_booked", b, now, actor, source=b.source))
        return d.change

    def check_in(self, code: str, now: datetime, actor: str | None, past: Appointment | None = None) -> Change:
        """The kiosk's check-in. `past`: the store's booking of that code when it is of an earlier day.

        The answer's Change has `ticket` set; it has no tickets in it when the code was checked in before.
        """
        b = self.state.appointments.get(code) or past
        if b is None:
            raise NotFound("No booking has this code. 查無此預約。", code="unknown_appointment")
        if b.business_date != self.state.business_date:
            raise WrongState(
                f"This booking is for {b.business_date} {self._hhmm(b.slot)}, not today. "
                f"此預約不是今天（{b.business_date} {self._hhmm(b.slot)}）。",
                code="not_today",
            )
        d = _Draft(self, now, actor)
        if b.ticket is not None:
            d.change.ticket = b.ticket  # the same code again: the same ticket
            return d.change
        rules = self.office.appointments
        opens = b.slot - timedelta(minutes=rules.early_minutes)
        if now < opens:
            raise WrongState(
                f"Check-in for the {self._hhmm(b.slot)} appointment opens at {self._hhmm(opens)}. "
                f"預約 {self._hhmm(b.slot)} 的報到 {self._hhmm(opens)} 起開放。",
                code="too_early",
            )
        service = self.office.service(b.service)
        if service is None:
            raise Invalid(f"The booked service '{b.service}' is no longer offered. 沒有這項業務。",
                          code="unknown_service")
        on_time = now <= b.slot + timedelta(minutes=rules.late_minutes)
        ref = AppointmentRef(b.code, b.slot) if on_time else None
        ticket = self._numbered(d, service, "normal", now, actor, ref)
        d.log("issued", ticket, number=ticket.number, appointment=on_time)
        status = BookingStatus.CHECKED_IN if on_time else BookingStatus.LAPSED
        checked = b.evolve(status=status, ticket=ticket.id, checked_in_at=now)
        d.change.appointments[code] = checked
        late_s = int((now - b.slot).total_seconds())
        d.change.events.append(self._booking_event("appointment_checked_in", checked, now, actor, ticket=ticket.id,
                                                   late_s=late_s))
        return d.change

    def booking(self, code: str) -> Appointment | None:
        return self.state.appointments.get(code)

    def bookings(self, day: str) -> list[Appointment]:
        return sorted((b for b in self.state.appointments.values() if b.business_date == day),
                      key=lambda b: (b.slot, b.code))

    def due_appointments(self, cid: str, now: datetime, limit: int = 5) -> list[Appointment]:
        """The counter's next bookings: not yet served or closed, of the services it serves, by slot."""
        counter = self.office.counter(cid)
        assert counter is not None
        late = timedelta(minutes=self.office.appointments.late_minutes)
        out = []
        for b in self.bookings(self.state.business_date):
            if b.service not in counter.services:
                continue
            t = self.state.tickets.get(b.ticket) if b.ticket else None
            waiting = b.status == BookingStatus.CHECKED_IN and t is not None and t.status == Status.WAITING
            if waiting or (b.status == BookingStatus.BOOKED and now <= b.slot + late):
                out.append(b)
        return out[:limit]

    def appointments_went_ahead(self, tid: str, now: datetime) -> int:
        """How many appointment tickets checked in after this waiting ticket were, or will be, called first."""
        t = self.state.tickets.get(tid)
        if t is None or t.status != Status.WAITING:
            return 0
        n = 0
        for a in self.state.tickets.values():
            if a.appointment is None or a.order <= t.order or a.service != t.service:
                continue
            if a.called_at is not None or (a.status == Status.WAITING and a.appointment.slot <= now):
                n += 1
        return n

    def _due_head(self, services: tuple[str, ...], d: _Draft | None) -> Candidate | None:
        """Step 0's candidate at a counter of `services`: appointment tickets, whatever the counter's lanes."""
        rows = []
        for t in self._waiting.values():
            if d is not None:
                t = d.change.tickets.get(t.id, t)
            if t.appointment is not None and t.status == Status.WAITING and t.service in services:
                rows.append((t.id, t.appointment.slot, t.issued_at, t.order))
        return due_head(rows)

    def _served(self, d: _Draft, t: Ticket) -> None:
        if t.appointment is None or t.outcome != "done":
            return
        b = d.booking(t.appointment.code)
        if b is not None and b.status == BookingStatus.CHECKED_IN:
            served = b.evolve(status=BookingStatus.SERVED)
            d.change.appointments[b.code] = served
            d.change.events.append(self._booking_event("appointment_served", served, d.now, d.actor, ticket=t.id))

    def _lapse_bookings(self, now: datetime, d: _Draft | None = None) -> Change:
        """Bookings never checked in by slot + late_minutes become no-shows (the time-driven step)."""
        if self._next_lapse is None or now <= self._next_lapse:
            return d.change if d else Change()
        d = d or _Draft(self, now, "system")
        late = timedelta(minutes=self.office.appointments.late_minutes)
        for b in self.state.appointments.values():
            if b.status == BookingStatus.BOOKED and now > b.slot + late and b.code not in d.change.appointments:
                gone = b.evolve(status=BookingStatus.NO_SHOW)
                d.change.appointments[b.code] = gone
                d.change.events.append(self._booking_event("appointment_no_show", gone, now, "system"))
        return d.change

    def _index_bookings(self) -> None:
        late = timedelta(minutes=self.office.appointments.late_minutes)
        deadlines = [b.slot + late for b in self.state.appointments.values() if b.status == BookingStatus.BOOKED]
        self._next_lapse = min(deadlines, default=None)

    def _booking_event(
        self, kind: str, b: Appointment, now: datetime, actor: str | None, ticket: str | None = None, **detail: object
    ) -> Event:
        return Event(
            kind=kind, at=now, business_date=b.business_date, ticket=ticket, actor=actor, service=b.service,
            lane="normal", open_counters=sum(1 for c in self.state.counters.values() if c.open),
            outcome=str(b.status), detail={"code": b.code, "slot": b.slot.isoformat(), **detail},
        )

    def _hhmm(self, at: datetime) -> str:
        return at.astimezone(self.office.tz).strftime("%H:%M")
