"""The month's ranking of clerks (承辦員績效, 計點), answered from the event log.

Counted per clerk: visits finished (walk-ins among them), their points (each service's `points`
in the office file, default 1), no-shows, transfers, and the handling time of finished visits
(median and 90th percentile beside the count, so that rushing is not the only thing rewarded),
per service too. Ranked by points: 1 is the most, equal points share a rank (1, 1, 3).

A visit's clerk is the staff account logged in at its counter when it was finished (`user:NAME`):
the actor itself when a clerk pressed finish in the console, or, when the counter's own device
did (a keypad), whoever logged in there last that business day and has not logged out. Without
one, the counter's device id.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from ..engine.office import Office
from .stats import median, p90

TOP = 3


def attribute(rows: Iterable[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], str]]:
    """Each visit row of History.visit_events with its clerk; login and logout rows are consumed.

    A login holds for its business day only: sessions last a working day, and a clerk who never
    logged out yesterday is not serving at the counter today.
    """
    logged_in: dict[str, tuple[str, str]] = {}  # counter -> (business_date, user:NAME)
    for r in rows:
        counter = r["counter"] or ""
        if r["kind"] == "login":
            logged_in[counter] = (r["business_date"], r["actor"])
            continue
        if r["kind"] == "logout":
            logged_in.pop(counter, None)
            continue
        actor = r["actor"] or ""
        if not actor.startswith("user:"):
            day, user = logged_in.get(counter, ("", ""))
            if day == r["business_date"] and user:
                actor = user
        yield r, actor


def handling_s(r: dict[str, Any]) -> float | None:
    """Seconds from start to finish: the History computes it (`handling_s`), else from the two times."""
    if r.get("handling_s") is not None:
        return float(r["handling_s"])
    if r.get("started_at") and r.get("finished_at"):
        return (datetime.fromisoformat(r["finished_at"]) - datetime.fromisoformat(r["started_at"])).total_seconds()
    return None


def clerk_report(rows: list[dict[str, Any]], office: Office, month: str) -> dict[str, Any]:
    """The ranking from History.visit_events of the month."""
    clerks: dict[str, dict[str, Any]] = {}
    for e, clerk in attribute(rows):
        c = clerks.setdefault(clerk, {"clerk": clerk or None, "finished": 0, "points": 0.0, "walk_ins": 0,
                                      "no_shows": 0, "transfers": 0, "counters": set(), "times": [],
                                      "services": {}})
        c["counters"].add(e["counter"])
        if e["kind"] == "finished":
            service = office.service(e["service"] or "")
            points = service.points if service else 1.0
            c["finished"] += 1
            c["points"] += points
            svc = c["services"].setdefault(e["service"], {"finished": 0, "points": 0.0, "times": []})
            svc["finished"] += 1
            svc["points"] += points
            seconds = handling_s(e)
            if seconds is not None:
                c["times"].append(seconds)
                svc["times"].append(seconds)
        elif e["kind"] == "walk_in":
            c["walk_ins"] += 1
        elif e["kind"] == "no_show":
            c["no_shows"] += 1
        else:
            c["transfers"] += 1
    ordered = sorted(clerks.values(), key=lambda c: (-round(c["points"], 2), -c["finished"], c["clerk"] or ""))
    out: list[dict[str, Any]] = []
    for i, c in enumerate(ordered):
        points = _points(c["points"])
        rank = out[-1]["rank"] if out and out[-1]["points"] == points else i + 1
        out.append({
            "clerk": c["clerk"], "finished": c["finished"], "points": points, "rank": rank,
            "top_three": rank <= TOP and points > 0,
            "walk_ins": c["walk_ins"], "no_shows": c["no_shows"], "transfers": c["transfers"],
            "counters": sorted(x for x in c["counters"] if x),
            "median_handling_s": median(c["times"]), "p90_handling_s": p90(c["times"]),
            "by_service": [{"service": sid, "finished": v["finished"], "points": _points(v["points"]),
                            "median_handling_s": median(v["times"]), "p90_handling_s": p90(v["times"])}
                           for sid, v in sorted(c["services"].items())],
        })
    return {"month": month, "clerks": out}


def _points(value: float) -> float | int:
    """Points as people write them: 12 rather than 12.0, 4.5, never 4.499999."""
    value = round(value, 2)
    return int(value) if value == int(value) else value


def table(report: dict[str, Any]) -> list[tuple[str, list[str], list[list[Any]]]]:
    """The sheets of the export: the ranking first, then each clerk's services."""
    main = ["rank", "clerk", "finished", "points", "walk_ins", "no_shows", "transfers", "median_handling_s",
            "p90_handling_s", "counters"]
    rows = [[c["rank"], c["clerk"], c["finished"], c["points"], c["walk_ins"], c["no_shows"], c["transfers"],
             c["median_handling_s"], c["p90_handling_s"], " ".join(c["counters"])] for c in report["clerks"]]
    services = ["clerk", "service", "finished", "points", "median_handling_s", "p90_handling_s"]
    srows = [[c["clerk"], s["service"], s["finished"], s["points"], s["median_handling_s"], s["p90_handling_s"]]
             for c in report["clerks"] for s in c["by_service"]]
    return [("clerks", main, rows), ("by_service", services, srows)]
