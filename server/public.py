"""What citizens see on their phones: /status, /s/<ticket id> (the QR code on the ticket), and the
cacheable JSON those pages and an office website poll. No token, no names, no other tickets' ids."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, render_template, request

from .context import current_hub
from .engine.errors import Gone, NotFound
from .hub import Hub

public = Blueprint("public", __name__)

# Phones poll; this keeps a thousand of them from costing the hub more than one answer each 5 s.
MAX_AGE_S = 5


def cached_json(payload: dict[str, Any]) -> Response:
    """JSON with an ETag; a matching If-None-Match gets 304 and no body."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    etag = hashlib.sha256(body.encode()).hexdigest()[:20]
    resp = Response(body, mimetype="application/json")
    resp.set_etag(etag)
    resp.headers["Cache-Control"] = f"public, max-age={MAX_AGE_S}"
    resp.headers["Access-Control-Allow-Origin"] = "*"  # office websites embed the feed
    return resp.make_conditional(request)


def public_status(h: Hub) -> dict[str, Any]:
    state = h.state()
    now_called: dict[str, str | None] = {s.id: None for s in h.office.services}
    # The newest call per service: the tickets at the counters, then the recent calls oldest first
    # (only the last few calls are kept, so a quiet service's number lives on at its counter).
    called = [(t["called_at"], t) for c in state["counters"] if (t := c["ticket"]) and t["called_at"]]
    called += [(call["at"], call["ticket"]) for call in reversed(state["recent_calls"])]
    for _, t in sorted(called, key=lambda pair: datetime.fromisoformat(pair[0])):
        if not t.get("walk_in"):
            now_called[t["service"]] = t["number"]
    services = [
        {
            "id": s["id"], "name": s["name"], "now_calling": now_called.get(s["id"]), "waiting": s["waiting"],
            "estimated_wait_s": s["estimated_wait_s"], "estimated_wait_range_s": s["estimated_wait_range_s"],
            "open": s["open"],
        }
        for s in state["services"]
    ]
    return {"office": state["office"]["name"], "business_date": state["business_date"], "services": services}


def public_ticket(h: Hub, tid: str) -> dict[str, Any]:
    t = h.public_ticket(tid)
    counter = h.office.counter(t["counter"]) if t["counter"] else None
    return {
        "ticket": {
            "number": t["number"], "service_name": t["service_name"], "lane_name": t["lane_name"],
            "priority": t["priority"], "status": t["status"], "ahead": t["ahead"],
            "estimated_wait_s": t["estimated_wait_s"], "estimated_wait_range_s": t["estimated_wait_range_s"],
            "issued_at": t["issued_at"], "called_at": t["called_at"],
            "counter": {"id": counter.id, "name": counter.name.as_json()} if counter else None,
            "business_date": t["business_date"],
            # Appointments called (or due) before this ticket although checked in after it: the page
            # says why (「預約民眾優先」); never which booking.
            "appointments_ahead": h.appointments_went_ahead(tid) if t["status"] == "waiting" else 0,
            "by_appointment": t["by_appointment"],
        },
        "office": h.office.name.as_json(),
    }


@public.get("/api/v1/public/tickets/<tid>")
def ticket_feed(tid: str) -> Response:
    return cached_json(public_ticket(current_hub(), tid))


@public.get("/status")
def status_page() -> str:
    return render_template("public.html", office=current_hub().office.name, tz=current_hub().office.timezone,
                           ticket_id=None)


@public.get("/s/<tid>")
def ticket_page(tid: str) -> tuple[str, int]:
    h = current_hub()
    try:
        h.public_ticket(tid)
    except NotFound:
        return render_template("public.html", office=h.office.name, tz=h.office.timezone, ticket_id=None,
                               missing=True), 404
    except Gone:
        return render_template("public.html", office=h.office.name, tz=h.office.timezone, ticket_id=None,
                               expired=True), 410
    return render_template("public.html", office=h.office.name, tz=h.office.timezone, ticket_id=tid), 200
