"""The day's appointments for the reports: the list, the no-shows and how late people came.

Read from the History (its own connection), never under the hub's lock. Lateness is check-in minus
slot (negative: early); `wait_s` is from check-in (or the slot, when checked in early) to the first
call, the promise of 「免等待」 measured.
"""

from __future__ import annotations

import statistics
from datetime import datetime
from typing import Any

from ..engine.office import Office
from ..store import History


def report(history: History, day: str, office: Office) -> dict[str, Any]:
    rows = history.appointment_day(day)
    out = []
    for r in rows:
        slot = datetime.fromisoformat(r["slot"])
        checked = datetime.fromisoformat(r["checked_in_at"]) if r["checked_in_at"] else None
        called = datetime.fromisoformat(r["called_at"]) if r["called_at"] else None
        wait = None
        if checked and called:
            wait = max(0, int((called - max(checked, slot)).total_seconds()))
        out.append({
            "code": r["code"], "service": r["service"],
            "slot": slot.astimezone(office.tz).isoformat(timespec="seconds"),
            "status": r["status"], "ticket": r["ticket"], "number": r["number"],
            "checked_in_at": checked.astimezone(office.tz).isoformat(timespec="seconds") if checked else None,
            "late_s": int((checked - slot).total_seconds()) if checked else None,
            "wait_s": wait, "counter": r["counter"], "source": r["source"],
        })
    statuses = ("booked", "checked_in", "lapsed", "no_show", "served")
    counts = {s: sum(1 for a in out if a["status"] == s) for s in statuses}
    lateness = [a["late_s"] for a in out if a["late_s"] is not None]
    waits = [a["wait_s"] for a in out if a["wait_s"] is not None and a["status"] != "lapsed"]
    return {
        "date": day,
        "booked": len(out),
        **{f"{k}_count": v for k, v in counts.items()},
        "no_shows": [a for a in out if a["status"] == "no_show"],
        "late": [a for a in out if a["late_s"] is not None and a["late_s"] > 0],
        "median_late_s": int(statistics.median(lateness)) if lateness else None,
        "median_wait_s": int(statistics.median(waits)) if waits else None,
        "appointments": out,
    }
