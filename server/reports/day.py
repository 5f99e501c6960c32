"""The day's visits per counter, for the secretary's review (業務督導表: 由秘書針對各櫃台承辦登記案件進行審核)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..engine.office import Office
from .clerks import attribute, handling_s

OUTCOMES = {"finished": "done", "no_show": "no_show", "transferred": "transferred"}


def day_report(rows: list[dict[str, Any]], office: Office, day: str) -> dict[str, Any]:
    """From History.visit_events of the one day: every visit that ended at a counter, by counter."""
    tz = ZoneInfo(office.timezone)

    def local(ts: str | None) -> str | None:
        return datetime.fromisoformat(ts).astimezone(tz).strftime("%H:%M:%S") if ts else None

    counters: dict[str, list[dict[str, Any]]] = {}
    for e, clerk in attribute(rows):
        if e["kind"] not in OUTCOMES:
            continue  # a walk-in's start; its end is a "finished" row
        seconds = handling_s(e) if e["kind"] == "finished" else None
        counters.setdefault(e["counter"] or "", []).append({
            "number": e["number"] or None, "walk_in": bool(e["walk_in"]), "service": e["service"],
            "lane": e["lane"], "clerk": clerk or None, "outcome": OUTCOMES[e["kind"]],
            "issued_at": local(e["issued_at"]), "ended_at": local(e["at"]),
            "handling_s": round(seconds) if seconds is not None else None,
        })
    order = {c.id: i for i, c in enumerate(office.counters)}
    out = []
    for cid in sorted(counters, key=lambda c: (order.get(c, 999), c)):
        visits = counters[cid]
        counter = office.counter(cid)
        out.append({"counter": cid, "name": counter.name.as_json() if counter else None, "visits": len(visits),
                    "finished": sum(v["outcome"] == "done" for v in visits),
                    "no_shows": sum(v["outcome"] == "no_show" for v in visits),
                    "transfers": sum(v["outcome"] == "transferred" for v in visits), "rows": visits})
    return {"date": day, "counters": out}


COLUMNS = ["counter", "number", "walk_in", "service", "lane", "clerk", "outcome", "issued_at", "ended_at",
           "handling_s"]


def table(report: dict[str, Any]) -> list[tuple[str, list[str], list[list[Any]]]]:
    rows = [[c["counter"], *(v[k] for k in COLUMNS[1:])] for c in report["counters"] for v in c["rows"]]
    return [("visits", COLUMNS, rows)]
