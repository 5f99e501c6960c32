"""Monthly per-clerk statistics (承辦員績效), answered from the event log.

Counted per clerk (`user:NAME`, or the device when nobody was logged in): visits finished (walk-ins
among them), no-shows, transfers, and the handling time of finished visits (median and 90th
percentile, so that rushing is not the only thing rewarded), per service too.
"""

from __future__ import annotations

import statistics
from datetime import datetime
from typing import Any

from .store import History


def clerk_report(history: History, month: str) -> dict[str, Any]:
    events = history.visit_events(month)
    clerks: dict[str, dict[str, Any]] = {}
    for e in events:
        c = clerks.setdefault(e["actor"] or "", {"clerk": e["actor"], "finished": 0, "walk_ins": 0, "no_shows": 0,
                                                  "transfers": 0, "counters": set(), "times": [], "services": {}})
        c["counters"].add(e["counter"])
        if e["kind"] == "finished":
            c["finished"] += 1
            svc = c["services"].setdefault(e["service"], {"finished": 0, "times": []})
            svc["finished"] += 1
            if e["started_at"] and e["finished_at"]:
                seconds = (datetime.fromisoformat(e["finished_at"]) - datetime.fromisoformat(e["started_at"]))
                c["times"].append(seconds.total_seconds())
                svc["times"].append(seconds.total_seconds())
        elif e["kind"] == "walk_in":
            c["walk_ins"] += 1
        elif e["kind"] == "no_show":
            c["no_shows"] += 1
        else:
            c["transfers"] += 1
    out = []
    for c in sorted(clerks.values(), key=lambda c: (-c["finished"], c["clerk"] or "")):
        out.append({
            "clerk": c["clerk"], "finished": c["finished"], "walk_ins": c["walk_ins"], "no_shows": c["no_shows"],
            "transfers": c["transfers"], "counters": sorted(x for x in c["counters"] if x),
            **_times(c["times"]),
            "by_service": [{"service": sid, "finished": v["finished"], **_times(v["times"])}
                           for sid, v in sorted(c["services"].items())],
        })
    return {"month": month, "clerks": out}


def _times(times: list[float]) -> dict[str, int | None]:
    if not times:
        return {"median_handling_s": None, "p90_handling_s": None}
    ordered = sorted(times)
    p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
    return {"median_handling_s": round(statistics.median(ordered)), "p90_handling_s": round(p90)}
