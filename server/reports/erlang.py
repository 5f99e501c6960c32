"""Erlang C (M/M/c): how many counters to open for an hour's arrivals (shared/reference/domain.md §4.3).

Offered load a = λ/μ Erlangs; with c counters (a < c) the chance that a citizen waits is
C(c, a) = [aᶜ/c! · c/(c−a)] / [Σ_{k<c} aᵏ/k! + aᶜ/c! · c/(c−a)], the mean wait C/(cμ − λ), and the
share called within t: 1 − C·e^{−(cμ−λ)t}. Computed through the Erlang B recursion, which never
overflows. The model assumes Poisson arrivals, exponential visits, nobody leaving and one pool of
counters: it is advice (「建議開 10 個櫃台」), never control.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

MAX_COUNTERS = 60


def p_wait(arrivals_per_hour: float, handling_s: float, counters: int) -> float:
    """The probability that a citizen has to wait; 1.0 when the counters cannot keep up (a ≥ c)."""
    a = arrivals_per_hour * handling_s / 3600
    if counters <= 0 or a >= counters:
        return 1.0
    if a <= 0:
        return 0.0
    b = 1.0  # Erlang B with 0 servers
    for k in range(1, counters + 1):
        b = a * b / (k + a * b)
    return counters * b / (counters - a * (1 - b))


@dataclass(frozen=True)
class Staffing:
    counters: int
    utilisation_pct: float
    p_wait_pct: float
    mean_wait_s: float | None  # None: the queue grows without end
    within_target_pct: float


def staffing(arrivals_per_hour: float, handling_s: float, counters: int, target_s: float) -> Staffing:
    lam = arrivals_per_hour / 3600  # per second
    mu = 1 / handling_s
    a = lam / mu
    c = p_wait(arrivals_per_hour, handling_s, counters)
    if counters <= 0 or a >= counters:
        return Staffing(counters, round(100 * a / counters, 1) if counters > 0 else 100.0, 100.0, None, 0.0)
    drain = counters * mu - lam
    return Staffing(counters, round(100 * a / counters, 1), round(100 * c, 1), round(c / drain, 1),
                    round(100 * (1 - c * math.exp(-drain * target_s)), 1))


def advise(arrivals_per_hour: float, handling_s: float, target_s: float, level_pct: float) -> dict[str, Any]:
    """The fewest counters that call `level_pct` % of citizens within `target_s`, with one fewer and one more.

    `counters` is 0 when nobody arrived; None when even MAX_COUNTERS would not do.
    """
    if arrivals_per_hour <= 0:
        return {"counters": 0, "options": []}
    least = max(1, math.floor(arrivals_per_hour * handling_s / 3600) + 1)  # fewer can never keep up
    for c in range(least, MAX_COUNTERS + 1):
        if staffing(arrivals_per_hour, handling_s, c, target_s).within_target_pct >= level_pct:
            options = [asdict(staffing(arrivals_per_hour, handling_s, k, target_s))
                       for k in (c - 1, c, c + 1) if k > 0]
            return {"counters": c, "options": options}
    return {"counters": None, "options": []}
