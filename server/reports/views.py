"""What a report page shows beside its tables: the charts and the heatmap's grid. Pure, no Flask."""

from __future__ import annotations

from typing import Any

from ..engine.office import Office
from . import charts
from .periods import WEEKDAYS, add_months, roc_month

# Grayscale steps, each with a text colour that keeps 4.5:1 contrast (WCAG 1.4.3) and prints.
SHADES = [("#ffffff", "#000000"), ("#e0e0e0", "#000000"), ("#bdbdbd", "#000000"), ("#9e9e9e", "#000000"),
          ("#424242", "#ffffff")]


def clerk_label(clerk: str | None) -> str:
    return (clerk or "—").removeprefix("user:")


def extras(name: str, report: dict[str, Any], office: Office) -> dict[str, Any]:
    if name == "clerks":
        rows = report["clerks"][:20]
        return {"charts": {"ranking": charts.ranking(
            f"積點排名 Points ranking {roc_month(report['month'])}", [clerk_label(c["clerk"]) for c in rows],
            [float(c["points"]) for c in rows], [c["top_three"] for c in rows], " 點")}}
    if name == "waits":
        hours = report["by_hour"]
        labels = [f"{h['hour']}時" for h in hours]
        waits = [None if h["median_wait_s"] is None else round(h["median_wait_s"] / 60, 1) for h in hours]
        return {"charts": {
            "arrivals": charts.bars("各時段取號數 Tickets issued by hour", labels, [h["issued"] for h in hours], " 張"),
            "waits": charts.bars("各時段等候中位數（分） Median wait by hour (min)", labels, waits, " 分"),
        }, "heat": heat_grid(report["heatmap"])}
    if name == "satisfaction":
        return satisfaction_charts(report, office)
    return {"charts": {}}


def satisfaction_charts(report: dict[str, Any], office: Office) -> dict[str, Any]:
    """The office's trend, and a small line per counter and clerk on one shared scale (small multiples)."""
    trend = report["trend"]
    labels = [f"{int(t['month'][5:])}月" for t in trend]
    values = [t["satisfied_pct"] for t in trend]
    span = f"{roc_month(add_months(report['month'], -11))}–{roc_month(report['month'])}"
    target = report["target_pct"]

    def floor_of(vs: list[float | None]) -> float:
        return max(0, (int(min([v for v in vs if v is not None] + [target])) // 10) * 10 - 10)

    # The office's chart on its own scale (as before); every small line on one scale of them all.
    low = floor_of(values)
    small = floor_of([t["satisfied_pct"] for key in ("by_counter", "by_clerk") for g in report[key]
                      for t in g["trend"]])

    def name(key: str, g: dict[str, Any]) -> str:
        if key == "by_clerk":
            return f"承辦員 {clerk_label(g['clerk'])} Clerk {clerk_label(g['clerk'])}"
        counter = office.counter(g["counter"]) if g["counter"] else None
        return f"{counter.name.zh} {counter.name.en}" if counter else f"櫃台 Counter {g['counter'] or '—'}"

    sparks = {key: [charts.spark(f"{name(key, g)}：滿意比率 Satisfied, {span}", labels,
                                 [t["satisfied_pct"] for t in g["trend"]], target, low=small)
                    for g in report[key]] for key in ("by_counter", "by_clerk")}
    return {"charts": {"trend": charts.trend(f"滿意比率趨勢 Satisfied, {span}", labels, values, target, low=low,
                                             high=100)},
            "sparks": sparks}


def heat_grid(cells: list[dict[str, Any]]) -> dict[str, Any]:
    if not cells:
        return {"hours": [], "rows": []}
    hours = list(range(min(c["hour"] for c in cells), max(c["hour"] for c in cells) + 1))
    peak = max(c["per_day"] for c in cells) or 1
    at = {(c["weekday"], c["hour"]): c["per_day"] for c in cells}
    rows = []
    for wd in sorted({c["weekday"] for c in cells}):
        row = []
        for h in hours:
            v = at.get((wd, h))
            step = 0 if not v else min(len(SHADES) - 1, 1 + int((len(SHADES) - 2) * v / peak))
            row.append((v, SHADES[step]))
        rows.append((f"星期{WEEKDAYS[wd][0]} {WEEKDAYS[wd][1]}", row))
    return {"hours": hours, "rows": rows}
