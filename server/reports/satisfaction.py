"""The month's satisfaction (滿意度) with its trend and growth (趨勢、成長率), against the 90 % target.

The month itself is server/ratings.py's summary (by counter, by clerk, comments). Added here: the
twelve months up to it, and for each the change from the month before and, for the month asked,
from the same month a year before, both in percentage points and as a growth rate
((this - before) / before, the offices' 成長率); the same for every counter and clerk rated in the
month, each against its own past. The comments go round the office (傳閱): an ID number or a
mobile number a citizen typed into one is masked here.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from .. import ratings
from .periods import add_months

TREND_MONTHS = 12
GROUPS = (("by_counter", "counter"), ("by_clerk", "clerk"))
MASK = "＊＊＊"
# 身分證 (A123456789), 居留證 (A800000000, old AB12345678), and a mobile number (0912-345-678), in
# half- or full-width characters (\d takes both digits), never inside a longer run of letters or digits.
_PRIVATE = re.compile(
    r"(?<![A-Za-zＡ-Ｚａ-ｚ\d])(?:[A-Za-zＡ-Ｚａ-ｚ][1289A-Da-d１２８９Ａ-Ｄａ-ｄ]\d{8}"
    r"|[0０][9９]\d{2}[-－\s]?\d{3}[-－\s]?\d{3})(?![A-Za-zＡ-Ｚａ-ｚ\d])")


def first_month(month: str) -> str:
    """The earliest month the report reads: a year before the month, for year-on-year growth."""
    return add_months(month, -TREND_MONTHS)


def masked(comment: str) -> str:
    return _PRIVATE.sub(MASK, comment)


def _growth(now: float | None, before: float | None) -> dict[str, float | None]:
    if now is None or before is None:
        return {"pts": None, "growth_pct": None}
    return {"pts": round(now - before, 1), "growth_pct": round(100 * (now - before) / before, 1) if before else None}


class _Months:
    """Ratings and satisfied per month of one series (the office, a counter, a clerk)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = defaultdict(int)
        self.ok: dict[str, int] = defaultdict(int)

    def add(self, month: str, n: int, ok: int) -> None:
        self.counts[month] += n
        self.ok[month] += ok

    def pct(self, month: str) -> float | None:
        n = self.counts.get(month, 0)
        return round(100 * self.ok[month] / n, 1) if n else None

    def trend(self, month: str) -> list[dict[str, Any]]:
        out = []
        for k in range(TREND_MONTHS - 1, -1, -1):
            m = add_months(month, -k)
            out.append({"month": m, "ratings": self.counts.get(m, 0), "satisfied_pct": self.pct(m),
                        "mom": _growth(self.pct(m), self.pct(add_months(m, -1)))})
        return out

    def growth(self, now: float | None, month: str) -> dict[str, dict[str, float | None]]:
        return {"mom": _growth(now, self.pct(add_months(month, -1))),
                "yoy": _growth(now, self.pct(add_months(month, -TREND_MONTHS)))}


def satisfaction_report(rows: list[dict[str, Any]], months: list[tuple[str, int, int]], month: str,
                        groups: list[tuple[str, str, str | None, int, int]] | None = None) -> dict[str, Any]:
    """From History.ratings of the month, and from first_month(month) on History.ratings_by_month
    (the office's trend) and History.ratings_by_month_per_group (each counter's and clerk's)."""
    office = _Months()
    for m, n, ok in months:
        office.add(m, n, ok)
    series: dict[str, dict[str | None, _Months]] = {"counter": defaultdict(_Months), "clerk": defaultdict(_Months)}
    for m, counter, clerk, n, ok in groups or []:
        series["counter"][counter].add(m, n, ok)
        series["clerk"][clerk or None].add(m, n, ok)
    report = ratings.report(rows, month)
    report["trend"] = office.trend(month)
    report.update(office.growth(report["satisfied_pct"], month))
    for key, field in GROUPS:
        for g in report[key]:
            past = series[field].get(g[field]) or _Months()
            g["met"] = g["satisfied_pct"] is not None and g["satisfied_pct"] >= report["target_pct"]
            g.update(past.growth(g["satisfied_pct"], month))
            g["trend"] = past.trend(month)
    # ratings.report lists the rows with a comment, in order: the same rows give each its clerk.
    for c, r in zip(report["comments"], (r for r in rows if r["comment"]), strict=True):
        c["clerk"] = r.get("clerk") or None
        c["comment"] = masked(c["comment"])
    return report


GROWTH = ["met", "mom_pts", "mom_growth_pct", "yoy_pts", "yoy_growth_pct"]
SUMMARY = ["group", "id", "ratings", "satisfied", "satisfied_pct", "score_4", "score_3", "score_2", "score_1",
           *GROWTH]
TREND = ["month", "ratings", "satisfied_pct", "mom_pts", "mom_growth_pct"]


def table(report: dict[str, Any]) -> list[tuple[str, list[str], list[list[Any]]]]:
    def row(group: str, key: str | None, s: dict[str, Any]) -> list[Any]:
        return [group, key, s["ratings"], s["satisfied"], s["satisfied_pct"],
                *(s["by_score"][str(k)] for k in (4, 3, 2, 1)),
                "yes" if s["met"] else "no" if s["satisfied_pct"] is not None else None,
                s["mom"]["pts"], s["mom"]["growth_pct"], s["yoy"]["pts"], s["yoy"]["growth_pct"]]

    def months(series: list[dict[str, Any]]) -> list[list[Any]]:
        return [[t["month"], t["ratings"], t["satisfied_pct"], t["mom"]["pts"], t["mom"]["growth_pct"]]
                for t in series]

    summary = [row("office", None, report)]
    by_group = []
    for key, field in GROUPS:
        for g in report[key]:
            summary.append(row(field, g[field], g))
            by_group += [[field, g[field], *m] for m in months(g["trend"])]
    comments = [[c["at"], c["counter"], c["score"], c["comment"], c["clerk"]] for c in report["comments"]]
    return [("satisfaction", SUMMARY, summary),
            ("trend", TREND, months(report["trend"])),
            ("comments", ["at", "counter", "score", "comment", "clerk"], comments),
            ("trend_by_group", ["group", "id", *TREND], by_group)]
