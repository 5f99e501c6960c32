"""Who is called next: one rule, used by the real call and by the wait simulation alike.

See DESIGN.md, "Who is called next (per counter)". A counter looks only at the head of each
(service, lane) queue it serves: queues are in issue order, so the head is the earliest ticket.
Appointment tickets are also offered as their own candidates, with their slot (`due_head`): from
the slot on they go first (step 0); before it they are ordinary tickets issued at check-in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from .office import Policy


@dataclass(frozen=True)
class ClockSteps:
    """The forward steps of the wall clock that the hub noticed: (the time just after it, seconds jumped).

    A wait is measured without them: a clock jumping two hours ahead makes nobody's wait two hours
    longer, so `max_wait_minutes` does not take over (CONTRACT.md, Raspberry Pi appliances). The hub
    never hands out a time earlier than one it handed out before, so there are no backward steps here.
    """

    jumps: tuple[tuple[datetime, float], ...] = ()

    def waited_s(self, since: datetime, now: datetime) -> float:
        seconds = (now - since).total_seconds()
        for at, jumped in self.jumps:
            if since < at <= now:
                seconds -= jumped
        return max(seconds, 0.0)


NO_STEPS = ClockSteps()


@dataclass(frozen=True)
class Candidate:
    """The head of one (service, lane) queue, as the policy sees it."""

    key: object
    issued_at: datetime
    order: float
    weight: int
    # Set for an appointment ticket as step 0 sees it: its slot. Before the slot it is also (or
    # only) an ordinary head of its queue, with `slot` None.
    slot: datetime | None = None


def choose(
    heads: Iterable[Candidate], policy: Policy, streak: int, now: datetime, steps: ClockSteps = NO_STEPS
) -> Candidate | None:
    """The candidate this counter calls now, or None when nothing it serves waits.

    `streak` is how many of this counter's latest calls in a row came from lanes of weight > 0.
    """
    heads = list(heads)
    if not heads:
        return None
    # Step 0: an appointment whose slot has come, earliest slot first, then earliest check-in.
    due = [c for c in heads if c.slot is not None and c.slot <= now]
    if due:
        return min(due, key=_slot_key)
    heads = [c for c in heads if c.slot is None]
    if not heads:
        return None
    if policy.max_wait_minutes > 0:
        oldest = min(heads, key=_age_key)
        if steps.waited_s(oldest.issued_at, now) >= policy.max_wait_minutes * 60:
            return oldest
    best = min(heads, key=_strict_key)
    if policy.mode == "interleave" and best.weight > 0 and streak >= policy.priority_run:
        normal = [c for c in heads if c.weight <= 0]
        if normal:
            return min(normal, key=_age_key)
    return best


def next_streak(streak: int, weight: int) -> int:
    return streak + 1 if weight > 0 else 0


# The order of issue (or check-in), never a clock reading: a clock stepping back must not put A004
# before A001. The one waiting longest is the one issued first (a transfer keeps its order, DESIGN.md).
def _slot_key(c: Candidate) -> tuple[datetime, float]:
    assert c.slot is not None
    return (c.slot, c.order)


def _age_key(c: Candidate) -> float:
    return c.order


def _strict_key(c: Candidate) -> tuple[int, float]:
    return (-c.weight, c.order)


def due_head(tickets: Iterable[tuple[object, datetime, datetime, float]]) -> Candidate | None:
    """The step-0 candidate among (key, slot, issued_at, order) of appointment tickets, or None.

    The earliest slot, then the earliest check-in; whether the slot has come is choose()'s to say.
    """
    best = min(tickets, key=lambda x: (x[1], x[3]), default=None)  # check-in by order, not by clock
    if best is None:
        return None
    key, slot, issued_at, order = best
    return Candidate(key, issued_at, order, 0, slot)
