"""The supervisor's floor (走動式服務): queues, counters, alerts and Erlang C advice, right now.

Pure: the hub hands over one snapshot read under its lock (server/hub/floor.py, `floor`), and this
module builds the view from it, outside the lock. Alerts (thresholds in the office file's
[alerts]): somebody has waited longer than `wait_minutes`; an open counter has called nobody for
`idle_minutes` while tickets it could serve came in; a device reports an error (a kiosk out of
paper, its printer offline).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..engine.model import AT_COUNTER, CounterState, Status, Ticket
from ..engine.office import Office
from .erlang import advise

ARRIVAL_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class Snapshot:
    now: datetime
    business_date: str
    tickets: list[Ticket]  # today's, as the engine holds them (frozen objects)
    counters: dict[str, CounterState]
    handling_s: dict[str, float]  # per service, the engine's running mean
    devices: list[dict[str, Any]] = field(default_factory=list)


def _text(zh: str, en: str) -> dict[str, str]:
    return {"zh-TW": zh, "en": en}


def floor(s: Snapshot, office: Office) -> dict[str, Any]:
    now, alerts_cfg = s.now, office.alerts
    waiting = [t for t in s.tickets if t.status == Status.WAITING]
    recent = [t for t in s.tickets if not t.walk_in and now - t.issued_at <= ARRIVAL_WINDOW
              and t.issued_at <= now]
    alerts: list[dict[str, Any]] = []

    services = []
    for svc in office.services:
        mine = [t for t in waiting if t.service == svc.id]
        longest = max((int((now - t.issued_at).total_seconds()) for t in mine), default=None)
        serving = [c for c in office.counters if svc.id in c.services]
        open_now = sum(1 for c in serving if s.counters.get(c.id) and s.counters[c.id].open)
        arrivals = sum(1 for t in recent if (t.transferred_from or t.service) == svc.id)
        handling = s.handling_s.get(svc.id, svc.default_minutes * 60)
        advice = advise(arrivals, handling, alerts_cfg.target_wait_minutes * 60, alerts_cfg.service_level_pct)
        name = svc.name.as_json()
        services.append({"id": svc.id, "name": name, "waiting": len(mine), "longest_wait_s": longest,
                         "arrivals_last_hour": arrivals, "handling_s": round(handling),
                         "counters": len(serving), "open": open_now, "advice": advice})
        if longest is not None and longest > alerts_cfg.wait_minutes * 60:
            alerts.append({"kind": "long_wait", "level": "warn", "service": svc.id, "message": _text(
                f"{name['zh-TW']}：已有民眾等候 {longest // 60} 分鐘（超過 {alerts_cfg.wait_minutes} 分鐘）",
                f"{name['en']}: somebody has waited {longest // 60} min (over {alerts_cfg.wait_minutes})")})
        if advice["counters"] and advice["counters"] > open_now:
            # Advice, not control (domain.md §4.3): also when more are advised than the office has.
            alerts.append({"kind": "advice", "level": "info", "service": svc.id, "message": _text(
                f"{name['zh-TW']}：建議開 {advice['counters']} 個櫃台（目前 {open_now} 個）",
                f"{name['en']}: open {advice['counters']} counters (now {open_now})")})

    last_end: dict[str, datetime] = {}  # when each counter last ended a visit: idle since then
    for t in s.tickets:
        if t.counter and t.finished_at and (t.counter not in last_end or t.finished_at > last_end[t.counter]):
            last_end[t.counter] = t.finished_at
    by_id = {t.id: t for t in s.tickets}
    counters = []
    for c in office.counters:
        st = s.counters.get(c.id)
        ticket = by_id.get(st.ticket) if st and st.ticket else None
        ticket = ticket if ticket and ticket.status in AT_COUNTER else None
        state = "away" if not st or not st.open else ("serving" if ticket else "idle")
        since = last_end.get(c.id)
        entry: dict[str, Any] = {"id": c.id, "name": c.name.as_json(), "state": state,
                                 "number": ticket.number if ticket else None,
                                 "idle_since": since.isoformat() if state == "idle" and since else None}
        counters.append(entry)
        if state != "idle":
            continue
        queue = [t for t in waiting if t.service in c.services and t.lane in c.lanes]
        grew = [t for t in queue if since is None or t.issued_at > since]
        start = since or min((t.issued_at for t in grew), default=now)
        if grew and now - start >= timedelta(minutes=alerts_cfg.idle_minutes):
            minutes = int((now - start).total_seconds()) // 60
            alerts.append({"kind": "idle_counter", "level": "warn", "counter": c.id, "message": _text(
                f"{c.name.zh}閒置 {minutes} 分鐘，仍有 {len(queue)} 人等候",
                f"{c.name.en} idle {minutes} min while {len(queue)} wait")})

    for d in s.devices:
        if d.get("state") == "error":
            msg = d.get("message") or {}
            alerts.append({"kind": "device", "level": "error", "device": d["id"], "code": d.get("code"),
                           "message": _text(f"{d['id']}：{msg.get('zh-TW') or d.get('code')}",
                                            f"{d['id']}: {msg.get('en') or d.get('code')}")})
    rank = {"error": 0, "warn": 1, "info": 2}
    alerts.sort(key=lambda a: rank[a["level"]])
    return {"at": now.isoformat(), "local_time": now.astimezone(office.tz).strftime("%H:%M"),
            "business_date": s.business_date, "services": services, "counters": counters,
            "alerts": alerts}
