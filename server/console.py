"""Staff pages: login, logout and the counter console. Everything a clerk does is recorded against
the clerk (`user:NAME`) and the counter chosen at login: monthly appraisals are built from it."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Blueprint, Flask, Response, abort, jsonify, make_response, redirect, render_template, request, session
from flask_limiter import RequestLimit

from .context import current_hub
from .engine.errors import Forbidden, JiaohaoError, Malformed, Unauthorized
from .hub import Hub
from .limits import address, limit_view

console = Blueprint("console", __name__)

SESSION_HOURS = 12  # a working day; then the clerk logs in again
LOGIN_TRIES, LOGIN_WINDOW_S = 5, 300
ADDRESS_TRIES = 20  # an office's clerks share few addresses; 20 failures in 5 minutes is no typo


def init_console(app: Flask, hub: Hub) -> None:
    app.secret_key = hub.secret("secret_key")
    app.config.update(
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # Behind TLS (office file `[web] secure_cookies = true`) the login cookie never travels in clear.
        SESSION_COOKIE_SECURE=hub.office.secure_cookies,
    )
    app.register_blueprint(console)
    app.after_request(_not_framed)
    # Failed logins only: per name and address (someone guessing one clerk's password), and per
    # address (someone trying many names). The right password is refused too once a limit is hit.
    limit_view(app, "console.login", [(f"{LOGIN_TRIES} per {LOGIN_WINDOW_S} seconds", _name_and_address),
                                      (f"{ADDRESS_TRIES} per {LOGIN_WINDOW_S} seconds", address)],
               counts=lambda resp: resp.status_code == 401, on_breach=_too_many)


@console.before_app_request
def _live_session() -> None:
    """Every staff page and action checks the login against the hub's sessions: a cookie copied before
    logout, or one of an account disabled since, logs nobody in (the cookie alone is not enough)."""
    if session.get("user") and current_hub().staff_session(session.get("sid")) is None:
        session.clear()


# Staff pages (login, console, reports, the floor) act with the clerk's session: no other page may
# frame them (clickjacking).
STAFF_BLUEPRINTS = ("console", "report_pages", "admin")


def _not_framed(resp: Response) -> Response:
    if request.blueprint in STAFF_BLUEPRINTS:
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    return resp


def _name_and_address() -> str:
    return f"{request.form.get('name', '').strip().lower()}|{address()}"


def _too_many(limit: RequestLimit) -> Response:
    resp = make_response(_login_again(("登入失敗次數過多，請 5 分鐘後再試。",
                                       "Too many failed logins; try again in 5 minutes.")))
    resp.status_code = 429
    return resp


def _login_again(error: tuple[str, str]) -> str:
    h = current_hub()
    return render_template("login.html", office=h.office, counters=h.office.counters, csrf=_csrf_token(),
                           error=error, name=request.form.get("name", "").strip(),
                           counter=request.form.get("counter", ""), next=_next_page(request.form.get("next")))


# Supervisors and admins may log in without a counter: to the reports and the floor, not the console.
DESK_ROLES = ("supervisor", "admin")


def _next_page(target: str | None) -> str:
    """Where to go after login: a page of this hub only (never another site: //host or a scheme)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return ""


def _csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return str(session["csrf"])


def _check_csrf(sent: str | None) -> None:
    if not sent or not secrets.compare_digest(sent, session.get("csrf", "")):
        raise Forbidden("The form has expired; reload the page. 表單已過期，請重新整理頁面。", code="csrf_failed")


@console.get("/login")
def login_page() -> str:
    h = current_hub()
    return render_template("login.html", office=h.office, counters=h.office.counters, csrf=_csrf_token(), error=None,
                           next=_next_page(request.args.get("next")))


@console.post("/login")
def login() -> Any:
    h = current_hub()
    _check_csrf(request.form.get("csrf"))
    name, password = request.form.get("name", "").strip(), request.form.get("password", "")
    counter = request.form.get("counter", "")
    if counter and h.office.counter(counter) is None:
        return _login_again(("請選擇櫃台。", "Choose your counter.")), 400
    user = h.authenticate(name, password)
    if user is None:
        return _login_again(("帳號或密碼錯誤。", "Wrong name or password.")), 401
    if not counter and user.role not in DESK_ROLES:
        return _login_again(("請選擇櫃台。", "Choose your counter.")), 400
    try:
        if counter:
            h.note(counter, "login", f"user:{user.name}")
        sid = h.open_session(user, counter or None, SESSION_HOURS)
    except JiaohaoError as e:  # the clock is behind, or the disk cannot be written: say so on the page
        return _login_again((e.message, "")), e.status
    session.clear()
    session.permanent = True
    session.update(sid=sid, user=user.name, role=user.role, counter=counter or None, csrf=secrets.token_urlsafe(24))
    return redirect(_next_page(request.form.get("next")) or ("/console" if counter else "/supervisor"))


@console.post("/logout")
def logout() -> Any:
    _check_csrf(request.form.get("csrf") or request.headers.get("X-CSRF-Token"))
    h = current_hub()
    h.close_session(session.get("sid"))  # first: the session ends even if the log cannot be written
    if session.get("user") and session.get("counter"):
        try:
            h.note(session["counter"], "logout", f"user:{session['user']}")
        except JiaohaoError:
            pass
    session.clear()
    return redirect("/login")


@console.get("/console")
def console_page() -> Any:
    if not session.get("user"):
        return redirect("/login")
    h = current_hub()
    if not session.get("counter") and session.get("role") in DESK_ROLES:
        return redirect("/supervisor")  # logged in without a counter: the floor, not a console
    counter = h.office.counter(session.get("counter") or "")
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
    if not session.get("counter"):
        raise Forbidden("Log in at a counter to use the console. 請選擇櫃台登入後再使用。", code="no_counter")
    return str(session["counter"]), f"user:{session['user']}"


@console.get("/console/api/state")
def console_state() -> Response:
    cid, _ = _staff()
    h = current_hub()
    return jsonify({**h.console_state(cid), "appointments": h.next_appointments(cid), "user": session["user"],
                    "alerts": h.floor_alerts()})


@console.get("/console/api/alerts")
def console_alerts() -> Response:
    """The floor's alerts (issue #10): the console reads them every 30 s beside its own events."""
    _staff()
    return jsonify({"alerts": current_hub().floor_alerts()})


ACTIONS = ("next", "recall", "start", "finish", "no-show", "transfer", "walk-in", "open", "close")


@console.post("/console/api/<action>")
def console_action(action: str) -> Response:
    if action not in ACTIONS:
        abort(404)
    cid, actor = _staff()
    h = current_hub()
    data = request.get_json(silent=True) or {}
    if not isinstance(data, dict):
        raise Malformed("The body must be a JSON object. 內容必須是 JSON 物件。", code="invalid_json")
    ops: dict[str, Callable[[], dict[str, Any] | None]] = {
        "next": lambda: h.call_next(cid, actor),
        "recall": lambda: h.recall(cid, actor),
        "start": lambda: h.start(cid, actor),
        "finish": lambda: h.finish(cid, actor),
        "no-show": lambda: h.no_show(cid, actor),
        "transfer": lambda: h.transfer(cid, str(data.get("service", "")), actor),
        "walk-in": lambda: h.walk_in(cid, str(data.get("service", "")), str(data.get("lane") or "normal"), actor),
    }
    if action in ("open", "close"):
        return jsonify({"ticket": None, "counter": h.set_open(cid, action == "open", actor)})
    ticket = ops[action]()
    return jsonify({"ticket": ticket, "counter": h.counter(cid)})
