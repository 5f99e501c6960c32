"""Staff pages: login, logout and the counter console. Everything a clerk does is recorded against
the clerk (`user:NAME`) and the counter chosen at login: monthly appraisals are built from it."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, jsonify, redirect, render_template, request, session

from . import users
from .engine.errors import Forbidden, Malformed, Unauthorized
from .hub import Hub

console = Blueprint("console", __name__)

SESSION_HOURS = 12  # a working day; then the clerk logs in again
LOGIN_TRIES, LOGIN_WINDOW_S = 5, 300


def init_console(app: Flask, hub: Hub) -> None:
    with hub.lock:
        key = hub.store.meta("secret_key")
        if not key:
            key = secrets.token_hex(32)
            hub.store.set_meta("secret_key", key)
    app.secret_key = key
    app.config.update(
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    app.extensions["jiaohao_logins"] = _LoginLimiter()
    app.register_blueprint(console)


class _LoginLimiter:
    """At most LOGIN_TRIES failed logins per name and address in LOGIN_WINDOW_S."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.lock = threading.Lock()
        self.failures: dict[tuple[str, str], list[float]] = {}

    def blocked(self, key: tuple[str, str]) -> bool:
        now = self.clock()
        with self.lock:
            recent = [t for t in self.failures.get(key, []) if now - t < LOGIN_WINDOW_S]
            self.failures[key] = recent
            return len(recent) >= LOGIN_TRIES

    def failed(self, key: tuple[str, str]) -> None:
        with self.lock:
            self.failures.setdefault(key, []).append(self.clock())


def _hub() -> Hub:
    return current_app.extensions["jiaohao"]  # type: ignore[no-any-return]


def _csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return str(session["csrf"])


def _check_csrf(sent: str | None) -> None:
    if not sent or not secrets.compare_digest(sent, session.get("csrf", "")):
        raise Forbidden("The form has expired; reload the page. 表單已過期，請重新整理頁面。", code="csrf_failed")


@console.get("/login")
def login_page() -> str:
    h = _hub()
    return render_template("login.html", office=h.office, counters=h.office.counters, csrf=_csrf_token(), error=None)


@console.post("/login")
def login() -> Any:
    h = _hub()
    _check_csrf(request.form.get("csrf"))
    name, password = request.form.get("name", "").strip(), request.form.get("password", "")
    counter = request.form.get("counter", "")
    limiter: _LoginLimiter = current_app.extensions["jiaohao_logins"]
    key = (name.lower(), request.remote_addr or "?")

    def again(error: tuple[str, str], status: int) -> tuple[str, int]:
        return render_template("login.html", office=h.office, counters=h.office.counters, csrf=_csrf_token(),
                               error=error, name=name, counter=counter), status

    if limiter.blocked(key):
        return again(("登入失敗次數過多，請 5 分鐘後再試。", "Too many failed logins; try again in 5 minutes."), 429)
    if h.office.counter(counter) is None:
        return again(("請選擇櫃台。", "Choose your counter."), 400)
    with h.lock:
        row = users.fetch(h.store, name)
    user = users.verify(row, password)
    if user is None:
        limiter.failed(key)
        return again(("帳號或密碼錯誤。", "Wrong name or password."), 401)
    session.clear()
    session.permanent = True
    session.update(user=user.name, role=user.role, counter=counter, csrf=secrets.token_urlsafe(24))
    h.run(lambda now: h.engine.note(counter, "login", now, f"user:{user.name}"))
    return redirect("/console")


@console.post("/logout")
def logout() -> Any:
    _check_csrf(request.form.get("csrf") or request.headers.get("X-CSRF-Token"))
    h = _hub()
    if session.get("user") and session.get("counter"):
        h.run(lambda now: h.engine.note(session["counter"], "logout", now, f"user:{session['user']}"))
    session.clear()
    return redirect("/login")


@console.get("/console")
def console_page() -> Any:
    if not session.get("user"):
        return redirect("/login")
    h = _hub()
    counter = h.office.counter(session["counter"])
    if counter is None:
        session.clear()
        return redirect("/login")
    services = list(h.office.services)
    return render_template("console.html", office=h.office, counter=counter, user=session["user"],
                           csrf=_csrf_token(), services=services, lanes=h.office.lanes)


def _staff() -> tuple[str, str]:
    if not session.get("user"):
        raise Unauthorized("Log in first. 請先登入。", code="not_logged_in")
    if request.method == "POST":
        _check_csrf(request.headers.get("X-CSRF-Token"))
    return str(session["counter"]), f"user:{session['user']}"


@console.get("/console/api/state")
def console_state() -> Response:
    cid, _ = _staff()
    h = _hub()
    with h.lock:
        return jsonify({"counter": h.counter_json(cid), "services": h.services_json(), "user": session["user"],
                        "seq": h.seq, "devices": [dict(d) for d in h.devices.values()]})


ACTIONS = {"next": "call_next", "recall": "recall", "start": "start", "finish": "finish", "no-show": "no_show",
           "close": "close", "open": "open", "transfer": "transfer", "walk-in": "walk_in"}


@console.post("/console/api/<action>")
def console_action(action: str) -> Response:
    if action not in ACTIONS:
        abort(404)
    cid, actor = _staff()
    h = _hub()
    data = request.get_json(silent=True) or {}
    if not isinstance(data, dict):
        raise Malformed("The body must be a JSON object. 內容必須是 JSON 物件。", code="invalid_json")
    e = h.engine
    ops: dict[str, Callable[[Any], Any]] = {
        "next": lambda now: e.call_next(cid, now, actor),
        "recall": lambda now: e.recall(cid, now, actor),
        "start": lambda now: e.start(cid, now, actor),
        "finish": lambda now: e.finish(cid, now, actor),
        "no-show": lambda now: e.no_show(cid, now, actor),
        "close": lambda now: e.set_open(cid, False, now, actor),
        "open": lambda now: e.set_open(cid, True, now, actor),
        "transfer": lambda now: e.transfer(cid, str(data.get("service", "")), now, actor),
        "walk-in": lambda now: e.walk_in(cid, str(data.get("service", "")), str(data.get("lane") or "normal"),
                                         now, actor),
    }
    change = h.run(ops[action])
    with h.lock:
        ticket = h.ticket_view(change.ticket) if change.ticket else None
        return jsonify({"ticket": ticket, "counter": h.counter_json(cid)})
