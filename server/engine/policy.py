"""Who is called next: one rule, used by the real call and by the wait simulation alike.

See DESIGN.md, "Who is called next (per counter)". A counter looks only at the head of each
(service, lane) queue it serves: queues are in issue order, so the head is the earliest ticket.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from .office import Policy


@dataclass(frozen=True)
class Candidate:
    """The head of one (service, lane) queue, as the policy sees it."""

    key: object
    issued_at: datetime
    order: int
    weight: int


def choose(
    heads: Iterable[Candidate], policy: Policy, streak: int, now: datetime
) -> Candidate | None:
    """The candidate this counter calls now, or None when nothing it serves waits.

    `streak` is how many of this counter's latest calls in a row came from lanes of weight > 0.
    """
    heads = list(heads)
    if not heads:
        return None
    if policy.max_wait_minutes > 0:
        oldest = min(heads, key=_age_key)
        if (now - oldest.issued_at).total_seconds() >= policy.max_wait_minutes * 60:
            return oldest
    best = min(heads, key=_strict_key)
    if policy.mode == "interleave" and best.weight > 0 and streak >= policy.priority_run:
        normal = [c for c in heads if c.weight <= 0]
        if normal:
            return min(normal, key=_age_key)
    return best


def next_streak(streak: int, weight: int) -> int:
    return streak + 1 if weight > 0 else 0


def _age_key(c: Candidate) -> tuple[datetime, int]:
    return (c.issued_at, c.order)


def _strict_key(c: Candidate) -> tuple[int, datetime, int]:
    return (-c.weight, c.issued_at, c.order)
