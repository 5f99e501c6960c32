"""滿意度: a citizen rates the visit that just ended, on a tablet at the counter or a hardware keypad.

A rating belongs to the counter's latest finished visit, for RATE_WINDOW_S after it ended, once.
It is stored against the visit, the counter and the clerk, so that the monthly report can say how
satisfied citizens were with each (the office's target is 90 %).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, current_app, jsonify, render_template, request

from .engine.errors import Invalid, Malformed, WrongState
from .engine.model import Event
from .hub import Hub

SCORES = {
    4: ("很滿意", "Very satisfied"),
    3: ("滿意", "Satisfied"),
    2: ("普通", "Neutral"),
    1: ("不滿意", "Dissatisfied"),
}
SATISFIED = 3  # 很滿意 and 滿意 count as satisfied
TARGET_PCT = 90
RATE_WINDOW_S = 10 * 60
MAX_COMMENT = 500

satisfaction = Blueprint("satisfaction", __name__)


def _hub() -> Hub:
    return current_app.extensions["jiaohao"]  # type: ignore[no-any-return]


def pending_visit(h: Hub, cid: str, now: datetime) -> dict[str, Any] | None:
    """The visit a citizen at this counter may rate now, or None."""
    visit = h.store.last_visit_at(cid, h.engine.business_date(now))
    if visit is None or visit["rated"]:
        return None
    if now - datetime.fromisoformat(visit["at"]) > timedelta(seconds=RATE_WINDOW_S):
        return None
    return visit


def rate(h: Hub, cid: str, score: Any, comment: Any, source: str) -> dict[str, Any]:
    if not isinstance(score, int) or isinstance(score, bool) or score not in SCORES:
        raise Invalid("score must be 4 (很滿意), 3 (滿意), 2 (普通) or 1 (不滿意). 評分須為 1 到 4。",
                      code="invalid_score")
    if comment is not None and (not isinstance(comment, str) or len(comment) > MAX_COMMENT):
        raise Malformed(f"comment must be text of at most {MAX_COMMENT} characters. 意見最多 {MAX_COMMENT} 字。",
                        code="invalid_field")
    with h.lock:
        now = h.clock()
        visit = pending_visit(h, cid, now)
        if visit is None:
            raise WrongState("There is no finished visit at this counter to rate now. 目前沒有可評分的服務。",
                             code="nothing_to_rate")
        ticket = h.engine.ticket(visit["ticket"]) or h.store.ticket(visit["ticket"])
        day = h.engine.business_date(now)
        row = {"ticket": visit["ticket"], "at": now.isoformat(timespec="milliseconds"), "business_date": day,
               "counter": cid, "clerk": visit["actor"], "service": visit["service"] or "", "score": score,
               "comment": (comment or "").strip() or None, "source": source}
        event = Event(kind="rated", at=now, business_date=day, ticket=visit["ticket"], actor=source, counter=cid,
                      service=visit["service"], lane=ticket.lane if ticket else None,
                      open_counters=sum(1 for c in h.engine.state.counters.values() if c.open),
                      outcome=str(score), detail={"clerk": visit["actor"]})
        h.store.add_rating(row, event)
    return {"ticket_number": ticket.number if ticket else None, "counter": cid, "score": score,
            "label": {"zh-TW": SCORES[score][0], "en": SCORES[score][1]}, "at": row["at"]}


def report(h: Hub, month: str) -> dict[str, Any]:
    with h.lock:
        rows = h.store.ratings(month)

    def summary(group: list[dict[str, Any]]) -> dict[str, Any]:
        n = len(group)
        ok = sum(1 for r in group if r["score"] >= SATISFIED)
        return {"ratings": n, "satisfied": ok, "satisfied_pct": round(100 * ok / n, 1) if n else None,
                "by_score": {str(s): sum(1 for r in group if r["score"] == s) for s in sorted(SCORES, reverse=True)}}

    def by(key: str) -> list[dict[str, Any]]:
        keys = sorted({r[key] or "" for r in rows})
        return [{key: k or None, **summary([r for r in rows if (r[key] or "") == k])} for k in keys]

    total = summary(rows)
    return {"month": month, "target_pct": TARGET_PCT,
            "met": total["satisfied_pct"] is not None and total["satisfied_pct"] >= TARGET_PCT, **total,
            "by_counter": by("counter"), "by_clerk": by("clerk"),
            "comments": [{"at": r["at"], "counter": r["counter"], "score": r["score"], "comment": r["comment"]}
                         for r in rows if r["comment"]]}


@satisfaction.get("/rate/<cid>")
def rate_page(cid: str) -> Any:
    h = _hub()
    counter = h.office.counter(cid)
    if counter is None:
        return jsonify({"error": {"code": "unknown_counter", "message": f"No counter '{cid}'. 沒有這個櫃台。"}}), 404
    return render_template("rate.html", office=h.office, counter=counter, scores=SCORES)


def month_arg() -> str:
    month = request.args.get("month", "")
    try:
        datetime.strptime(month, "%Y-%m")
    except ValueError:
        raise Malformed("Give ?month=YYYY-MM, e.g. 2026-11. 請以 ?month=YYYY-MM 指定月份。",
                        code="invalid_month") from None
    return month
