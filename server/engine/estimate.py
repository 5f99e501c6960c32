"""People ahead and the estimated wait, by simulating the calls the policy will make.

The open counters are played forward from now: each one, when it becomes free, calls what the
policy (engine/policy.py) would call, and is busy for the service's recent handling time. A ticket's
estimated wait is when it is called in that play; `ahead` is how many tickets are called before it by
counters that could have served it. No new arrivals are assumed, except that tickets of higher lanes
keep coming as in the last hour (`_priority_stretch`): so the estimate leans high and is rounded up to
the minute.

The counters busy now free up in the play in the order of their expected rest, but at the times
the first, second, ... of them are expected to be free when each visit's length varies as the
service's measured spread says (`_first_free`): the first of twelve busy clerks is free much sooner
than the visit that is expected to end first, because one of the twelve is nearly always about to
finish (issue #12, docs/simulate.md).

Probes, one per (service, lane), stand for "a ticket taken now": they are called like any ticket but
take no time, so they disturb nothing, and give each service's estimate for the board and the kiosk.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Reversible
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .model import CounterState, ServiceStat, Status, Ticket
from .office import Office
from .policy import NO_STEPS, Candidate, ClockSteps, choose, due_head, next_streak

# What part of its handling time a visit still needs when it already ran longer than usual
# (the order in which busy counters free up in the play, and far past any spread).
_OVERRUN_SHARE = 0.25
_ROUND_TO_S = 60
# The spread of a service's visits (standard deviation / mean) before it has a measured one, and
# the most and least a measurement is taken at (a day of identical visits still varies a little).
DEFAULT_CV, MIN_CV, MAX_CV = 0.5, 0.2, 1.5
# The printed range is the estimate ± (RANGE_Z + RANGE_Z_FEW / √(n + 1)) x that spread for n ahead
# (docs/simulate.md: what `jiaohao simulate` measured best).
RANGE_Z, RANGE_Z_FEW = 0.8, 0.2
# The window over which the higher lanes' arrival rate is measured, and the most of a line's
# counters that they are assumed to take.
RECENT_S = 3600.0
MAX_RHO = 0.5


@dataclass(frozen=True)
class Estimate:
    ahead: int
    wait_s: int | None
    # The play's time before rounding, and the spread of the visits its range is made of (DESIGN.md:
    # "a range, not a promise"). Not part of equality: two estimates are the same estimate when
    # they say the same to the citizen.
    raw_s: float | None = field(default=None, compare=False)
    cv: float = field(default=DEFAULT_CV, compare=False)

    def range_s(self) -> tuple[int, int] | None:
        """The estimate ± (0.8 + 0.2 / √(n + 1)) x `cv` (the measured spread of the visits), whole minutes.

        The one place the printed range is made: the kiosk, the ticket page and the simulator all
        show this. Made from the play's time before rounding, so a wait of 20 s is "under 1 min",
        not the 0-2 min of a minute rounded up first; the low end to the nearest minute, the high
        end rounded up (people forgive a short wait, not a long one), so the range always holds the
        estimate rounded up (`wait_s`). At least a minute wide: "0 minutes" would promise that a
        clerk presses "next" the very second the ticket is taken. `jiaohao simulate` measures how
        often it holds (docs/simulate.md).
        """
        if self.wait_s is None:
            return None
        raw = self.wait_s if self.raw_s is None else self.raw_s
        share = self.cv * (RANGE_Z + RANGE_Z_FEW / math.sqrt(self.ahead + 1))
        low = max(0, math.floor(raw * (1 - share) / _ROUND_TO_S + 0.5) * _ROUND_TO_S)
        high = math.ceil(raw * (1 + share) / _ROUND_TO_S) * _ROUND_TO_S
        return (low, max(high, self.wait_s, low + _ROUND_TO_S))


@dataclass
class Estimates:
    tickets: dict[str, Estimate]
    # (service, lane) -> the estimate for a ticket taken now.
    probes: dict[tuple[str, str], Estimate]
    # (service, lane) -> the open counters that serve it, as the simulation saw them.
    eligible: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def service(self, service_id: str, lane: str = "normal") -> Estimate:
        return self.probes.get((service_id, lane), Estimate(0, None))


@dataclass
class _Item:
    ticket: str | None  # None for a probe
    service: str
    lane: str
    issued_at: datetime
    order: float
    # An appointment ticket's slot (policy step 0), and whether the play has called it already.
    slot: datetime | None = None
    taken: bool = False


def _round_up(seconds: float) -> int:
    return int(math.ceil(max(seconds, 0) / _ROUND_TO_S) * _ROUND_TO_S)


def mean_seconds(office: Office, stats: Mapping[str, ServiceStat], service_id: str) -> float:
    stat = stats.get(service_id)
    if stat is not None and stat.visits > 0:
        return stat.mean_s
    service = office.service(service_id)
    return (service.default_minutes if service else 8.0) * 60


def spread(stats: Mapping[str, ServiceStat], service_id: str) -> float:
    """The measured spread of a service's visits: standard deviation / mean (DEFAULT_CV before any)."""
    stat = stats.get(service_id)
    if stat is None or stat.visits == 0 or stat.var_s2 is None or stat.mean_s <= 0:
        return DEFAULT_CV
    return min(max(math.sqrt(stat.var_s2) / stat.mean_s, MIN_CV), MAX_CV)


def _survival(x: float, mu: float, sigma: float) -> float:
    """P(a log-normal visit lasts longer than x)."""
    if x <= 0:
        return 1.0
    return 0.5 * math.erfc((math.log(x) - mu) / (sigma * math.sqrt(2)))


# The grid of times on which _first_free counts the counters expected free: 1 s to 16 x the
# longest expected rest, geometric, interpolated between. 48 points put every time within 2 % of
# a grid twice as fine, at half the cost (about 0.1 ms for 16 busy counters here).
_GRID = 48


def _first_free(busy: list[tuple[float, float, float, float]]) -> list[float]:
    """When the busy counters free up in the play: the j-th (in the order given) when j - 1/2 of them are
    expected to have finished.

    `busy`: (mean, elapsed, spread, expected rest) of each counter's current visit, in the order
    of their expected rest. Each visit's length is taken as log-normal with that mean and spread,
    given that it has lasted `elapsed` so far; the expected number of them over by time t is the
    sum of their chances. Deterministic, and about 50 x the counters of arithmetic: the grid is
    fixed, never a clock.
    """
    if not busy:
        return []
    laws = []
    for mean, elapsed, cv, rest in busy:
        sigma = math.sqrt(math.log(1 + cv * cv))
        mu = math.log(mean) - sigma * sigma / 2
        alive = _survival(elapsed, mu, sigma)
        # Far past any spread (a visit left open over lunch), the law says nothing useful: the
        # visit is taken to end about its expected rest from now, as an exponential.
        laws.append((mu, sigma, elapsed, alive, rest))
    top = 16 * max(max(b[3] for b in busy), 1.0)
    ratio = top ** (1 / (_GRID - 1))
    out: list[float] = []
    prev_t, prev_n, t, j = 0.0, 0.0, 1.0, 1
    while j <= len(busy):
        n = 0.0
        for mu, sigma, elapsed, alive, rest in laws:
            if alive < 1e-9:
                n += 1 - math.exp(-t / max(rest, 1.0))
            else:
                n += 1 - _survival(elapsed + t, mu, sigma) / alive
        while j <= len(busy) and (n >= j - 0.5 or t >= top):
            want = j - 0.5
            share = 1.0 if n <= prev_n else min(max((want - prev_n) / (n - prev_n), 0.0), 1.0)
            out.append(prev_t + share * (t - prev_t))
            j += 1
        prev_t, prev_n, t = t, n, t * ratio
    return out


def simulate(
    office: Office,
    waiting: Iterable[Ticket],
    counters: Mapping[str, CounterState],
    tickets: Mapping[str, Ticket],
    stats: Mapping[str, ServiceStat],
    now: datetime,
    closes: Mapping[str, datetime] | None = None,
    steps: ClockSteps = NO_STEPS,
) -> Estimates:
    """`closes`: counters that will close at a known time (a `[[schedule]]` window): they call nothing after it."""
    stop = {cid: (at - now).total_seconds() for cid, at in (closes or {}).items()}
    queues: dict[tuple[str, str], deque[_Item]] = {}
    items: list[_Item] = [
        _Item(t.id, t.service, t.lane, t.issued_at, t.order, t.appointment.slot if t.appointment else None)
        for t in waiting if t.status == Status.WAITING
    ]
    for s in office.services:
        for lane in office.lanes:
            items.append(_Item(None, s.id, lane.id, now, math.inf))
    items.sort(key=lambda i: i.order)  # the order of issue; probes (order inf) last
    for item in items:
        queues.setdefault((item.service, item.lane), deque()).append(item)
    # Appointment tickets are also step-0 candidates, per service, at every counter of that service
    # whatever its lanes: in the order step 0 takes them, the play's key for them is (None, service).
    booked: dict[str, deque[_Item]] = {}
    for item in sorted((i for i in items if i.slot is not None), key=lambda i: (i.slot, i.order)):
        booked.setdefault(item.service, deque()).append(item)

    open_counters = [c for c in office.counters if counters.get(c.id) and counters[c.id].open]
    eligible: dict[tuple[str, str], list[str]] = {key: [] for key in queues}
    serves: dict[str, list[tuple[str, str]]] = {}
    for c in open_counters:
        keys = [k for k in queues if k[0] in c.services and k[1] in c.lanes]
        serves[c.id] = keys
        for k in keys:
            eligible[k].append(c.id)

    stretch = _priority_stretch(office, _newest_first(tickets), stats, now, eligible)
    # A line's wait is made of the visits of every service its counters serve: their mean spread.
    spreads: dict[tuple[str, str], float] = {}
    by_id = {c.id: c for c in open_counters}
    for key, mine in eligible.items():
        served = sorted({sid for cid in mine for sid in by_id[cid].services})
        cvs = [spread(stats, sid) for sid in served] or [spread(stats, key[0])]
        spreads[key] = sum(cvs) / len(cvs)

    heap: list[tuple[float, int, str]] = []
    busy: list[tuple[float, int, str, float, float, float]] = []
    for idx, c in enumerate(open_counters):
        state = counters[c.id]
        current = tickets.get(state.ticket) if state.ticket else None
        if current is not None and current.status in (Status.CALLED, Status.SERVING):
            mean = mean_seconds(office, stats, current.service)
            since = current.started_at or current.called_at or now
            elapsed = (now - since).total_seconds()
            rest = max(mean - elapsed, mean * _OVERRUN_SHARE)
            busy.append((rest, idx, c.id, mean, max(elapsed, 0.0), spread(stats, current.service)))
        else:
            heap.append((0.0, idx, c.id))
    busy.sort()  # the order of their expected rest (then of the office file): who frees first in the play
    for (_, idx, cid, *_), free_in in zip(busy, _first_free([(m, e, cv, r) for r, _, _, m, e, cv in busy]),
                                          strict=True):
        heap.append((free_in, idx, cid))
    heapq.heapify(heap)

    streak = {c.id: counters[c.id].streak for c in open_counters}
    weights = {lane.id: lane.weight for lane in office.lanes}
    means = {sv.id: mean_seconds(office, stats, sv.id) for sv in office.services}
    result: dict[str, Estimate] = {}
    probes: dict[tuple[str, str], Estimate] = {}
    policy = office.policy
    timed = policy.max_wait_minutes > 0 or bool(booked)  # only then does the policy look at the clock
    # The head of each line as the policy sees it, kept as the play takes from the line; and how
    # many calls the counters that serve each line have made (its `ahead`).
    head: dict[tuple[str, str], Candidate] = {}
    ahead_of = {key: 0 for key in queues}

    ahead_due = dict.fromkeys(booked, 0)
    due_of = {c.id: [sid for sid in booked if sid in c.services] for c in open_counters}

    def set_head(key: tuple[str, str]) -> None:
        q = queues[key]
        while q and q[0].taken:  # called already by step 0
            q.popleft()
        if q:
            head[key] = Candidate(key, q[0].issued_at, q[0].order, weights.get(key[1], 0))  # type: ignore[arg-type]
        else:
            head.pop(key, None)

    for key in queues:
        set_head(key)

    while heap:
        t, idx, cid = heapq.heappop(heap)
        if t >= stop.get(cid, math.inf):
            continue  # closed by then: it drops out of the play
        heads = [head[key] for key in serves[cid] if key in head]
        for sid in due_of[cid]:
            q = booked[sid]
            while q and q[0].taken:
                q.popleft()
            if q and (due := due_head([((None, sid), q[0].slot, q[0].issued_at, q[0].order)])):
                heads.append(due)
        picked = choose(heads, policy, streak[cid], _at(now, t) if timed else now, steps)
        if picked is None:
            continue  # nothing left that this counter serves: it drops out of the play
        key = picked.key  # type: ignore[assignment]
        if key[0] is None:  # step 0: the earliest slot of that service
            item = booked[key[1]].popleft()
            item.taken = True
            set_head((item.service, item.lane))
            ahead = ahead_due[key[1]]
        else:
            item = queues[key].popleft()
            item.taken = True
            set_head(key)
            ahead = ahead_of[key]
        line = (item.service, item.lane)
        raw = t * stretch.get(key, 1.0)  # step 0's key (None, service): an appointment is not stretched
        if item.ticket is None:
            probes[line] = Estimate(ahead, _round_up(raw), raw, spreads[line])
            heapq.heappush(heap, (t, idx, cid))
            continue
        result[item.ticket] = Estimate(ahead, _round_up(raw), raw, spreads.get(line, DEFAULT_CV))
        for k in serves[cid]:
            ahead_of[k] += 1
        for sid in due_of[cid]:
            ahead_due[sid] += 1
        streak[cid] = next_streak(streak[cid], picked.weight)
        heapq.heappush(heap, (t + means.get(item.service, 480.0), idx, cid))

    # Whatever no open counter serves: counted in issue order, with no time to promise.
    for q in queues.values():
        for pos, item in enumerate(i for i in q if not i.taken):
            est = Estimate(pos, None)
            if item.ticket is None:
                probes[(item.service, item.lane)] = est
            else:
                result[item.ticket] = est
    return Estimates(result, probes, eligible)


def _newest_first(tickets: Mapping[str, Ticket]) -> Iterable[Ticket]:
    """The day's tickets from the newest issued: the engine keeps them in the order of issue."""
    values = tickets.values()
    return reversed(values) if isinstance(values, Reversible) else sorted(values, key=lambda t: t.order, reverse=True)


def _priority_stretch(
    office: Office,
    tickets: Iterable[Ticket],  # newest first
    stats: Mapping[str, ServiceStat],
    now: datetime,
    eligible: Mapping[tuple[str, str], list[str]],
) -> dict[tuple[str, str], float]:
    """How much tickets of higher lanes, still to come, stretch each (service, lane)'s wait.

    The play assumes no arrivals, but a priority ticket taken later is called before a normal one
    that waits now. If the higher lanes keep arriving as they did over the last RECENT_S, they take
    a share rho of the counters that could serve this line, and the wait becomes wait / (1 - rho).
    Their load is spread over every open counter that serves them, so a priority counter of its
    own takes its part. Lean high: rho is capped at MAX_RHO, not dropped.
    """
    since = now - timedelta(seconds=RECENT_S)
    recent: dict[tuple[str, str], int] = {}
    for t in tickets:
        if t.issued_at <= since:
            break
        if t.issued_at <= now and not t.walk_in:
            recent[(t.service, t.lane)] = recent.get((t.service, t.lane), 0) + 1
    weights = {lane.id: lane.weight for lane in office.lanes}
    # The share of one counter's time that the higher lanes' arrivals of each line need.
    load = {k: n * mean_seconds(office, stats, k[0]) / RECENT_S for k, n in recent.items() if weights.get(k[1], 0)}
    out: dict[tuple[str, str], float] = {}
    for key, mine in eligible.items():
        rho = 0.0
        if mine and load:
            own = set(mine)
            for other, need in load.items():
                theirs = eligible.get(other) or []
                if weights[other[1]] > weights.get(key[1], 0) and theirs:
                    shared = sum(1 for c in theirs if c in own)
                    rho += need * shared / len(theirs) / len(mine)
        out[key] = 1 / (1 - min(rho, MAX_RHO))
    return out


def _at(now: datetime, offset_s: float) -> datetime:
    return now + timedelta(seconds=offset_s)


def play_work(waiting: int, probes: int, open_counters: int) -> int:
    """The size of one full play, in units of "one ticket seen by one counter".

    Each call in the play looks at the heads of the lines its counter serves and counts the calls of
    every counter that could have served it, so a play grows with the tickets (and probes) times the
    open counters. This is what decides how often the play runs: never the clock, so the same queue
    gets the same estimates on a fast laptop and on a slow Raspberry Pi (issue #8).
    """
    return (waiting + probes) * max(1, open_counters)


class EstimateCache:
    """The simulation, run again only when its answer may have changed.

    After any call, finish or counter change it runs again at once. While tickets are only being
    issued (a morning rush, or a benchmark) and the last play was large (COSTLY_WORK units of
    `play_work`: a long queue over many counters), new tickets are placed after it by the
    queue-length rule for a while, and then the full play runs again: after a second or 50 new
    tickets, or longer for a very long queue, so that the play never takes more than about 5 % of
    the hub's time on the reference machine. Small plays are always run in full. Every one of
    these decisions depends on the queue and on `now` only, never on how long the play took.
    """

    # About 2 ms on the machine of docs/benchmarks.md (≈ 5 µs a unit there): e.g. 25 waiting
    # tickets and the demo office's 18 probes over 10 open counters.
    COSTLY_WORK = 400
    # The assumed time of one unit, for the play budget below (the machine of docs/benchmarks.md;
    # a Raspberry Pi 4 is about three times slower, which the 5 % share leaves room for).
    UNIT_S = 5e-6
    MAX_AGE_S = 1.0
    MAX_NEW = 50
    # At most this share of the time between full plays goes into the play itself.
    PLAY_SHARE = 0.05
    STALE_S = 15.0

    def __init__(self) -> None:
        self.base: Estimates | None = None
        self.at: datetime | None = None
        self.work = 0
        self.dirty = True
        self.new: list[Ticket] = []
        self._ext: Estimates | None = None
        self._ext_n = 0
        self.steps = NO_STEPS

    def changed(self, new_tickets: list[Ticket] | None) -> None:
        """Tell the cache about an applied change: `new_tickets` when it only issued tickets."""
        if new_tickets is None:
            self.dirty = True
        else:
            self.new.extend(new_tickets)

    def get(
        self,
        office: Office,
        waiting: Callable[[], Iterable[Ticket]],
        counters: Mapping[str, CounterState],
        tickets: Mapping[str, Ticket],
        stats: Mapping[str, ServiceStat],
        now: datetime,
        closes: Mapping[str, datetime] | None = None,
        steps: ClockSteps = NO_STEPS,
    ) -> Estimates:
        if steps != self.steps:
            self.steps, self.dirty = steps, True
        if self.base is not None and self.at is not None and not self.dirty:
            age = (now - self.at).total_seconds()
            if not self.new and 0 <= age < self.STALE_S:
                return self.base
            max_age = max(self.MAX_AGE_S, self.work * self.UNIT_S / self.PLAY_SHARE)
            max_new = max(self.MAX_NEW, len(self.base.tickets) // 4)
            if self.new and self.work >= self.COSTLY_WORK and 0 <= age < max_age and len(self.new) <= max_new:
                return self._extended(office, stats)
        queue = [t for t in waiting() if t.status == Status.WAITING]
        self.base = simulate(office, queue, counters, tickets, stats, now, closes, steps)
        open_counters = sum(1 for c in office.counters if counters.get(c.id) and counters[c.id].open)
        self.work = play_work(len(queue), len(self.base.probes), open_counters)
        self.at, self.dirty, self.new = now, False, []
        self._ext, self._ext_n = None, 0
        return self.base

    def _extended(self, office: Office, stats: Mapping[str, ServiceStat]) -> Estimates:
        base = self.base
        assert base is not None
        if self._ext is None:
            self._ext = Estimates(dict(base.tickets), dict(base.probes), base.eligible)
        ext = self._ext
        weights = {lane.id: lane.weight for lane in office.lanes}
        for t in self.new[self._ext_n:]:
            key = (t.service, t.lane)
            mine = set(base.eligible.get(key, ()))
            probe = ext.probes.get(key, Estimate(0, None))
            ext.tickets[t.id] = probe
            # Everyone who would take a ticket after this one, in a line it shares, is one further back.
            mean = mean_seconds(office, stats, t.service)
            for pkey, p in list(ext.probes.items()):
                theirs = base.eligible.get(pkey, ())
                if weights.get(pkey[1], 0) > weights.get(t.lane, 0) or not mine.intersection(theirs):
                    continue
                if p.wait_s is None:
                    ext.probes[pkey] = Estimate(p.ahead + 1, None)
                    continue
                raw = (p.wait_s if p.raw_s is None else p.raw_s) + mean / max(1, len(theirs))
                ext.probes[pkey] = Estimate(p.ahead + 1, _round_up(raw), raw, p.cv)
        self._ext_n = len(self.new)
        return ext
