"""The month's satisfaction (滿意度) with its trend and growth (趨勢、成長率), against the 90 % target.

The month itself is server/ratings.py's summary (by counter, by clerk, comments). Added here: the
twelve months up to it, and for each the change from the month before and, for the month asked,
from the same month a year before, both in percentage points and as a growth rate
((this - before) / before, the offices' 成長率).
"""

from __future__ import annotations

from typing import Any

from .. import ratings
from .periods import add_months

TREND_MONTHS = 12


def first_month(month: str) -> str:
    """The earliest month the report reads: a year before the month, for year-on-year growth."""
    return add_months(month, -TREND_MONTHS)


def _growth(now: float | None, before: float | None) -> dict[str, float | None]:
    if now is None or before is None:
        return {"pts": None, "growth_pct": None}
    return {"pts": round(now - before, 1), "growth_pct": round(100 * (now - before) / before, 1) if before else None}


def satisfaction_report(rows: list[dict[str, Any]], months: list[tuple[str, int, int]],
                        month: str) -> dict[str, Any]:
    """From History.ratings of the month and History.ratings_by_month from first_month(month) on."""
    counts = {m: n for m, n, _ in months}
    pcts = {m: round(100 * ok / n, 1) for m, n, ok in months if n}
    report = ratings.report(rows, month)
    trend = []
    for k in range(TREND_MONTHS - 1, -1, -1):
        m = add_months(month, -k)
        trend.append({"month": m, "ratings": counts.get(m, 0), "satisfied_pct": pcts.get(m),
                      "mom": _growth(pcts.get(m), pcts.get(add_months(m, -1)))})
    report["trend"] = trend
    report["mom"] = _growth(report["satisfied_pct"], pcts.get(add_months(month, -1)))
    report["yoy"] = _growth(report["satisfied_pct"], pcts.get(add_months(month, -TREND_MONTHS)))
    return report


SUMMARY = ["group", "id", "ratings", "satisfied", "satisfied_pct", "score_4", "score_3", "score_2", "score_1"]


def table(report: dict[str, Any]) -> list[tuple[str, list[str], list[list[Any]]]]:
    def row(group: str, key: str | None, s: dict[str, Any]) -> list[Any]:
        return [group, key, s["ratings"], s["satisfied"], s["satisfied_pct"],
                *(s["by_score"][str(k)] for k in (4, 3, 2, 1))]

    summary = [row("office", None, report)]
    summary += [row("counter", c["counter"], c) for c in report["by_counter"]]
    summary += [row("clerk", c["clerk"], c) for c in report["by_clerk"]]
    trend = [[t["month"], t["ratings"], t["satisfied_pct"], t["mom"]["pts"], t["mom"]["growth_pct"]]
             for t in report["trend"]]
    comments = [[c["at"], c["counter"], c["score"], c["comment"]] for c in report["comments"]]
    return [("satisfaction", SUMMARY, summary),
            ("trend", ["month", "ratings", "satisfied_pct", "mom_pts", "mom_growth_pct"], trend),
            ("comments", ["at", "counter", "score", "comment"], comments)]
