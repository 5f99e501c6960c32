"""The few statistics every report uses, the same way everywhere."""

from __future__ import annotations

import statistics


def median(values: list[float]) -> int | None:
    return round(statistics.median(values)) if values else None


def p90(values: list[float]) -> int | None:
    """The 90th percentile, nearest rank on the sorted values (as the clerk report always did)."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))])


def pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def median_p90(values: list[float]) -> tuple[int | None, int | None]:
    """Both from one sort: a year's waits are 120,000 values."""
    if not values:
        return None, None
    ordered = sorted(values)
    n = len(ordered)
    mid = ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2
    return round(mid), round(ordered[min(n - 1, int(round(0.9 * (n - 1))))])
