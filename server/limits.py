"""Rate limits, through Flask-Limiter with in-memory storage: one Limiter per application.

Only public endpoints and failed logins are limited; a kiosk, counter or admin token never is
(CONTRACT.md: never below 50 requests a second). Each application gets a Limiter of its own, so two
hubs in one process (tests) never share a limit. Limits are moving windows whose entries expire by
time, so no number of addresses seen ever empties the others' limits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Response, request
from flask_limiter import Limiter, RequestLimit

from .engine.errors import RateLimited

# Per client address, on public endpoints. Phones on the office's guest Wi-Fi share one address:
# 50 of them polling a ticket page (2 requests every 4 s) make 25 requests a second, in clumps.
PUBLIC_LIMIT = "150 per 5 seconds"
PUBLIC_ENDPOINTS = ("api.public_status", "public.ticket_feed")


def address() -> str:
    return request.remote_addr or "?"


def init_limits(app: Flask) -> Limiter:
    limiter = Limiter(address, app=app, storage_uri="memory://", strategy="moving-window", headers_enabled=False)
    app.extensions["jiaohao_limiter"] = limiter
    return limiter


def _public_breach(limit: RequestLimit) -> Response:
    raise RateLimited("Too many requests from this address; poll at most every few seconds. 請稍候再查詢。")


def limit_public(app: Flask) -> None:
    """Wrap the public endpoints (registered already) in the per-address limit."""
    limiter: Limiter = app.extensions["jiaohao_limiter"]
    for endpoint in PUBLIC_ENDPOINTS:
        view = app.view_functions[endpoint]
        app.view_functions[endpoint] = limiter.limit(PUBLIC_LIMIT, on_breach=_public_breach)(view)


def limit_view(app: Flask, endpoint: str, limits: list[tuple[str, Callable[[], str]]],
               counts: Callable[[Response], bool], on_breach: Callable[[RequestLimit], Any]) -> None:
    """Wrap one view in several limits, each with its own key; only responses that `counts` are counted."""
    limiter: Limiter = app.extensions["jiaohao_limiter"]
    view = app.view_functions[endpoint]
    for value, key in limits:
        view = limiter.limit(value, key_func=key, deduct_when=counts, on_breach=on_breach)(view)
    app.view_functions[endpoint] = view
