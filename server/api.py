"""HTTP API of CONTRACT.md: parse, check who may do it, one hub call, serialise."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from . import __version__
from .engine.errors import Forbidden, Invalid, Malformed, NotFound, TooLarge, Unauthorized
from .engine.model import Change
from .engine.office import Device
from .hub import Hub
from .openapi import openapi_document

api = Blueprint("api", __name__)

# Per client address, on public endpoints. Phones on the office's guest Wi-Fi share one address:
# 50 of them polling a ticket page (2 requests every 4 s) make 25 requests a second.
PUBLIC_RATE = 30.0
PUBLIC_BURST = 100.0


def hub() -> Hub:
    return current_app.extensions["jiaohao"]  # type: ignore[no-any-return]


def device(*roles: str) -> Device:
    """The device behind the bearer token; 401 without a valid one, 403 when its role may not."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send 'Authorization: Bearer TOKEN'. 缺少存取權杖。", code="missing_token")
    dev = hub().office.device_for_token(token.strip())
    if dev is None:
        raise Unauthorized("This token is not known to the hub. 存取權杖無效。", code="invalid_token")
    if roles and dev.role not in roles:
        raise Forbidden(
            f"A {dev.role} token may not do this (needs {' or '.join(roles)}). 此裝置沒有這個權限。",
            code="role_not_allowed",
        )
    return dev


def counter_device(cid: str) -> Device:
    """Permission before existence: counter 3's token acting for counter 5 (or 99) is a 403."""
    dev = device("counter", "admin")
    if dev.role == "counter" and dev.counter != cid:
        raise Forbidden(
            f"This token belongs to counter {dev.counter}, not counter {cid}. 此裝置不屬於這個櫃台。",
            code="wrong_counter",
        )
    if hub().office.counter(cid) is None:
        raise NotFound(f"No counter '{cid}' in this office. 沒有這個櫃台。", code="unknown_counter")
    return dev


def _raw_body() -> bytes:
    if request.content_length is None and "wsgi.input" in request.environ:
        # A chunked body has no length to refuse up front, and Werkzeug would cut it at the limit
        # and hand over the broken start: read one byte past the limit to tell.
        limit = int(current_app.config.get("MAX_CONTENT_LENGTH") or 16 * 1024)
        cached = request.environ.get("jiaohao.body")
        if cached is None:
            cached = request.environ["wsgi.input"].read(limit + 1) or b""
            request.environ["jiaohao.body"] = cached
        if len(cached) > limit:
            raise TooLarge("The request body is over 16 KiB. 請求內容過大。")
        return bytes(cached)
    return request.get_data(cache=True)


def _check_text(value: Any) -> None:
    """Every string must be real Unicode text: a lone surrogate from a JSON escape cannot be stored."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise Malformed("The body has text that is not valid Unicode. 內容含有無效的字元。",
                            code="invalid_json") from None
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_text(k)
            _check_text(v)
    elif isinstance(value, list):
        for v in value:
            _check_text(v)


def body() -> dict[str, Any]:
    raw = _raw_body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the decoder goes
        raise Malformed("The body is not valid JSON. 內容不是有效的 JSON。", code="invalid_json") from None
    if not isinstance(data, dict):
        raise Malformed("The body must be a JSON object. 內容必須是 JSON 物件。", code="invalid_json")
    _check_text(data)
    return data


def field(data: dict[str, Any], name: str, default: str | None = None) -> str:
    value = data.get(name, default)
    if value is None:
        raise Malformed(f"'{name}' is required. 缺少欄位 {name}。", code="missing_field")
    if not isinstance(value, str) or not value:
        raise Malformed(f"'{name}' must be a non-empty string. 欄位 {name} 必須是文字。", code="invalid_field")
    return value


class _Buckets:
    """A token bucket per client address for the public endpoints."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.lock = threading.Lock()
        self.buckets: dict[str, tuple[float, float]] = {}

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self.lock:
            tokens, last = self.buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if len(self.buckets) > 10000:
                self.buckets.clear()
            if tokens < 1:
                self.buckets[key] = (tokens, now)
                return False
            self.buckets[key] = (tokens - 1, now)
            return True


def _public() -> _Buckets:
    """One set of buckets per application, so that two hubs in one process never share a limit."""
    buckets = current_app.extensions.get("jiaohao_public_rate")
    if buckets is None:
        buckets = current_app.extensions["jiaohao_public_rate"] = _Buckets(PUBLIC_RATE, PUBLIC_BURST)
    return buckets  # type: ignore[no-any-return]


def ticket_response(tid: str, status: int = 200) -> tuple[Response, int]:
    return jsonify({"ticket": hub().ticket_view(tid)}), status


# -- anyone -----------------------------------------------------------------------------------

@api.get("/health")
def health() -> Any:
    return jsonify({"status": "ok", "version": __version__})


@api.get("/openapi.json")
def openapi() -> Any:
    return jsonify(openapi_document())


@api.get("/public/status")
def public_status() -> Any:
    from .public import cached_json, public_status, rate_limit

    rate_limit()
    return cached_json(public_status(hub()))


# -- any token --------------------------------------------------------------------------------

@api.get("/services")
def services() -> Any:
    device()
    return jsonify({"services": hub().services_json()})


@api.get("/state")
def state() -> Any:
    device()
    return jsonify(hub().state_json())


@api.get("/tickets/<tid>")
def get_ticket(tid: str) -> Any:
    device()
    return ticket_response(tid)


# -- kiosks -----------------------------------------------------------------------------------

@api.post("/tickets")
def issue() -> Any:
    dev = device("kiosk", "admin")
    data = body()
    service = field(data, "service")
    lane = field(data, "lane", "normal")
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (0 < len(key) <= 200):
        raise Malformed("Idempotency-Key must be 1 to 200 characters. Idempotency-Key 長度錯誤。",
                        code="invalid_idempotency_key")
    ticket, created = hub().issue(service, lane, dev.id, key)
    return jsonify({"ticket": ticket}), 201 if created else 200


@api.post("/tickets/<tid>/cancel")
def cancel(tid: str) -> Any:
    dev = device("kiosk", "admin")
    h = hub()
    h.run(lambda now: h.engine.cancel(tid, now, dev.id))
    return ticket_response(tid)


# -- counters ---------------------------------------------------------------------------------

def _counter_op(cid: str, op: Callable[[Hub, datetime, str], Change]) -> Any:
    dev = counter_device(cid)
    h = hub()
    change = h.run(lambda now: op(h, now, dev.id))
    return change


@api.post("/counters/<cid>/next")
def call_next(cid: str) -> Any:
    change = _counter_op(cid, lambda h, now, actor: h.engine.call_next(cid, now, actor))
    if change.ticket is None:
        return jsonify({"ticket": None})
    return ticket_response(change.ticket)


def _simple(name: str) -> Callable[[str], Any]:
    def view(cid: str) -> Any:
        change = _counter_op(cid, lambda h, now, actor: getattr(h.engine, name)(cid, now, actor))
        assert change.ticket
        return ticket_response(change.ticket)

    view.__name__ = f"counter_{name}"
    return view


api.add_url_rule("/counters/<cid>/recall", view_func=_simple("recall"), methods=["POST"])
api.add_url_rule("/counters/<cid>/start", view_func=_simple("start"), methods=["POST"])
api.add_url_rule("/counters/<cid>/finish", view_func=_simple("finish"), methods=["POST"])
api.add_url_rule("/counters/<cid>/no-show", view_func=_simple("no_show"), methods=["POST"])


@api.post("/counters/<cid>/transfer")
def transfer(cid: str) -> Any:
    counter_device(cid)
    service = field(body(), "service")
    change = _counter_op(cid, lambda h, now, actor: h.engine.transfer(cid, service, now, actor))
    assert change.ticket
    return ticket_response(change.ticket)


@api.post("/counters/<cid>/walk-in")
def walk_in(cid: str) -> Any:
    counter_device(cid)
    data = body()
    service, lane = field(data, "service"), field(data, "lane", "normal")
    change = _counter_op(cid, lambda h, now, actor: h.engine.walk_in(cid, service, lane, now, actor))
    assert change.ticket
    return ticket_response(change.ticket)


def _open_close(is_open: bool) -> Callable[[str], Any]:
    def view(cid: str) -> Any:
        _counter_op(cid, lambda h, now, actor: h.engine.set_open(cid, is_open, now, actor))
        with hub().lock:
            return jsonify({"counter": hub().counter_json(cid)})

    view.__name__ = "counter_open" if is_open else "counter_close"
    return view


api.add_url_rule("/counters/<cid>/open", view_func=_open_close(True), methods=["POST"])
api.add_url_rule("/counters/<cid>/close", view_func=_open_close(False), methods=["POST"])


@api.get("/counters/<cid>")
def get_counter(cid: str) -> Any:
    device()
    if hub().office.counter(cid) is None:
        raise NotFound(f"No counter '{cid}' in this office. 沒有這個櫃台。", code="unknown_counter")
    with hub().lock:
        return jsonify({"counter": hub().counter_json(cid)})


# -- satisfaction (滿意度) -----------------------------------------------------------------------

@api.get("/counters/<cid>/rating")
def pending_rating(cid: str) -> Any:
    from .satisfaction import pending_visit

    counter_device(cid)
    h = hub()
    with h.lock:
        visit = pending_visit(h, cid, h.clock())
        if visit is None:
            return jsonify({"visit": None})
        t = h.engine.ticket(visit["ticket"]) or h.store.ticket(visit["ticket"])
        return jsonify({"visit": {"number": t.number if t else None, "finished_at": visit["at"]}})


@api.post("/counters/<cid>/rating")
def post_rating(cid: str) -> Any:
    from .satisfaction import rate

    dev = counter_device(cid)
    data = body()
    if "score" not in data:
        raise Malformed("'score' is required (1 to 4). 缺少評分。", code="missing_field")
    return jsonify({"rating": rate(hub(), cid, data["score"], data.get("comment"), dev.id)}), 201


@api.get("/reports/satisfaction")
def satisfaction_report() -> Any:
    from .satisfaction import month_arg, report

    device("admin")
    return jsonify(report(hub(), month_arg()))


@api.get("/reports/clerks")
def clerks_report() -> Any:
    from .reports import clerk_report
    from .satisfaction import month_arg

    device("admin")
    return jsonify(clerk_report(hub(), month_arg()))


# -- device health -------------------------------------------------------------------------------

DEVICE_STATES = ("ok", "warn", "error")


@api.post("/devices/self/status")
def device_status() -> Any:
    dev = device()
    data = body()
    state = field(data, "state")
    if state not in DEVICE_STATES:
        raise Invalid(f"state must be one of {', '.join(DEVICE_STATES)}. 狀態值錯誤。", code="invalid_state")
    code = field(data, "code")
    if len(code) > 40 or not code.replace("_", "").isalnum():
        raise Malformed("code must be a short snake_case word. 代碼格式錯誤。", code="invalid_field")
    message = data.get("message") or {}
    if not (isinstance(message, dict) and all(isinstance(message.get(k, ""), str) for k in ("zh-TW", "en"))):
        raise Malformed("message must be {\"zh-TW\": ..., \"en\": ...}. 訊息格式錯誤。", code="invalid_field")
    text = {"zh-TW": str(message.get("zh-TW", ""))[:200], "en": str(message.get("en", ""))[:200]}
    return jsonify({"device": hub().report_device(dev.id, state, code, text)})


@api.get("/devices")
def devices() -> Any:
    device("admin", "counter", "display")
    with hub().lock:
        return jsonify({"devices": [dict(d) for d in hub().devices.values()]})
