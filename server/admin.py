"""The admin pages (`/admin`): the office at run time for people, on the API's hub methods.

Staff log in with their account (the same session as the counter console, without a counter).
Role admin may do everything; role supervisor what a floor manager does during the day: open and
close counters, change what a counter serves, the announcements. Every form carries the session's
CSRF token, and everything done here is logged as `user:NAME`.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

import qrcode
import qrcode.image.svg
from flask import Blueprint, Flask, Response, redirect, render_template, request, session

from .console import LOGIN_TRIES, LOGIN_WINDOW_S, SESSION_HOURS, _check_csrf, _csrf_token, _name_and_address
from .context import current_hub
from .engine.errors import InvalidRows, JiaohaoError
from .engine.office import COUNTER_ROLES
from .limits import address, limit_view

admin = Blueprint("admin", __name__)

ADMIN_ROLES = ("supervisor", "admin")
# What each page needs: supervisors run the floor, admins run the office.
PAGES = {"office": "supervisor", "counters": "supervisor", "announcements": "supervisor",
         "appointments": "admin", "media": "admin", "devices": "admin", "staff": "admin"}
TITLES = {"office": ("辦公室設定", "Office"), "counters": ("櫃台", "Counters"),
          "announcements": ("跑馬燈公告", "Announcements"), "appointments": ("網路預約", "Appointments"),
          "media": ("多媒體", "Media"),
          "devices": ("裝置", "Devices"), "staff": ("人員帳號", "Staff")}


def init_admin(app: Flask) -> None:
    app.register_blueprint(admin)
    limit_view(app, "admin.login", [(f"{LOGIN_TRIES} per {LOGIN_WINDOW_S} seconds", _name_and_address),
                                    (f"{4 * LOGIN_TRIES} per {LOGIN_WINDOW_S} seconds", address)],
               counts=lambda resp: resp.status_code == 401, on_breach=_too_many)


def _too_many(limit: Any) -> Response:
    error = ("登入失敗次數過多，請 5 分鐘後再試。", "Too many failed logins; try again in 5 minutes.")
    return Response(_login_page(error), status=429)


def _login_page(error: tuple[str, str] | None = None) -> str:
    return render_template("admin_login.html", office=current_hub().office, csrf=_csrf_token(), error=error,
                           name=request.form.get("name", "").strip())


@admin.get("/admin/login")
def login_page() -> str:
    return _login_page()


@admin.post("/admin/login")
def login() -> Any:
    h = current_hub()
    _check_csrf(request.form.get("csrf"))
    user = h.authenticate(request.form.get("name", "").strip(), request.form.get("password", ""))
    if user is None:
        return _login_page(("帳號或密碼錯誤。", "Wrong name or password.")), 401
    if user.role not in ADMIN_ROLES:
        return _login_page(("此帳號不是主管或管理員。", "This account is not a supervisor or admin.")), 403
    try:
        # A session the hub keeps, as the console's: logout and disabling the account end it at once.
        sid = h.open_session(user, None, SESSION_HOURS)
    except JiaohaoError as e:  # the clock is behind, or the disk cannot be written: say so on the page
        return _login_page((e.message, "")), e.status
    session.clear()
    session.permanent = True
    session.update(sid=sid, user=user.name, role=user.role, counter=None, csrf=secrets.token_urlsafe(24))
    return redirect("/admin")


def _rank(role: str | None) -> int:
    return {"supervisor": 1, "admin": 2}.get(role or "", 0)


def _page(name: str, status: int = 200, **extra: Any) -> Any:
    h = current_hub()
    role = session.get("role")
    office = h.office_json()
    resp = Response(render_template(
        "admin.html", page=name, title=TITLES[name], pages=[(p, TITLES[p]) for p in PAGES if _rank(role) >= _rank(
            PAGES[p])], office=office, office_obj=h.office, user=session.get("user"), role=role,
        csrf=_csrf_token(), is_admin=role == "admin", users=h.users() if name == "staff" else [],
        media=h.media() if name == "media" else [],
        bookings=h.appointments(None)[1] if name == "appointments" else [],
        message=session.pop("admin_message", None), **extra), status=status)
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _guard(name: str) -> Any | None:
    """A redirect to the login, a 403 page, or None when this person may see the page."""
    if not session.get("user"):
        return redirect("/admin/login")
    if _rank(session.get("role")) < _rank(PAGES[name]):
        resp = Response(render_template("admin_denied.html", office=current_hub().office), status=403)
        return resp
    return None


@admin.get("/admin")
@admin.get("/admin/<name>")
def page(name: str = "office") -> Any:
    if name not in PAGES:
        return Response(render_template("admin_denied.html", office=current_hub().office, missing=True), status=404)
    return _guard(name) or _page(name)


def _act(name: str, action: Callable[[str], tuple[str, str] | Any], *, need: str | None = None) -> Any:
    """One form's action: logged in, allowed, CSRF checked; then back to the page with what happened."""
    denied = _guard(name)
    if denied is not None:
        return denied
    if need and _rank(session.get("role")) < _rank(need):
        return Response(render_template("admin_denied.html", office=current_hub().office), status=403)
    try:
        _check_csrf(request.form.get("csrf"))
        out = action(f"user:{session['user']}")
    except JiaohaoError as e:
        return _page(name, status=e.status, error=e.message)
    if isinstance(out, tuple):
        session["admin_message"] = list(out)
        return redirect(f"/admin/{name}")
    return out


def _form_text(prefix: str) -> dict[str, str]:
    return {"zh-TW": request.form.get(f"{prefix}_zh", "").strip(), "en": request.form.get(f"{prefix}_en", "").strip()}


def _local(value: str) -> str | None:
    """An <input type=datetime-local> value is office-local time without an offset: the hub reads it so."""
    return value.strip() or None


@admin.post("/admin/counters/<cid>")
def counter_action(cid: str) -> Any:
    h = current_hub()
    what = request.form.get("action", "")

    def act(actor: str) -> tuple[str, str]:
        if what in ("open", "close"):
            if h.office.counter(cid) is None:
                return ("沒有這個櫃台。", "No such counter.")
            h.set_open(cid, what == "open", actor)
            return (f"{cid} 號櫃台已{'開啟' if what == 'open' else '關閉'}。",
                    f"Counter {cid} is {'open' if what == 'open' else 'closed'}.")
        data: dict[str, Any] = {"services": request.form.getlist("services"), "lanes": request.form.getlist("lanes")}
        if session.get("role") == "admin" and request.form.get("name_zh") is not None:
            data["name"] = _form_text("name")
        h.configure_counter(cid, data, actor)
        return (f"{cid} 號櫃台已更新，下次叫號起生效。", f"Counter {cid} is changed from its next call on.")

    return _act("counters", act)


@admin.post("/admin/announcements")
def announcement_action() -> Any:
    h = current_hub()
    what, aid = request.form.get("action", "add"), request.form.get("id") or None

    def act(actor: str) -> tuple[str, str]:
        if what == "delete" and aid:
            h.delete_announcement(aid, actor)
            return ("公告已刪除。", "The announcement is deleted.")
        data = {"text": _form_text("text"), "starts_at": _local(request.form.get("starts_at", "")),
                "ends_at": _local(request.form.get("ends_at", ""))}
        h.put_announcement(aid if what == "save" else None, data, actor)
        return ("公告已儲存，看板即時更新。", "The announcement is saved; the boards show it now.")

    return _act("announcements", act)


@admin.post("/admin/devices")
def device_action() -> Any:
    h = current_hub()
    what = request.form.get("action", "add")

    def act(actor: str) -> Any:
        did = request.form.get("id", "").strip()
        if what == "revoke":
            h.revoke_device(did, actor)
            return (f"裝置 {did} 已撤銷。", f"Device {did} is revoked.")
        role = request.form.get("role", "")
        counter = request.form.get("counter") or None
        device, token = h.issue_device(did, role, counter if role in COUNTER_ROLES else None, actor)
        command = setup_command(request.host_url.rstrip("/"), device["role"], token)
        return _page("devices", status=201, issued={"device": device, "token": token, "command": command,
                                                     "qr": qr_svg(command)})

    return _act("devices", act, need="admin")


@admin.post("/admin/appointments")
def appointments_action() -> Any:
    """A booking export (CSV, either source's columns: server/appointments_import.py) or one booking typed in.

    All or nothing, as the API: a file with one bad row imports nothing, and the page names every bad row.
    """
    from .appointments_import import MAX_IMPORT, decode, from_csv, from_json

    h = current_hub()
    request.max_content_length = MAX_IMPORT

    def act(actor: str) -> Any:
        upload = request.files.get("file")
        if upload is not None and upload.filename:
            entries, unread = from_csv(decode(upload.read(MAX_IMPORT + 1)), h.office)
        else:
            one = {k: request.form.get(k, "").strip() for k in ("code", "service", "slot")}
            entries, unread = from_json({"appointments": [one]}, h.office)
        try:
            n = h.import_appointments(entries, actor, unread)
        except InvalidRows as e:
            return _page("appointments", status=e.status, error=e.message, bad_rows=e.rows)
        return (f"已匯入 {n} 筆預約。", f"{n} bookings imported.")

    return _act("appointments", act, need="admin")


@admin.post("/admin/media")
def media_action() -> Any:
    from .media import MAX_UPLOAD

    h = current_hub()
    request.max_content_length = MAX_UPLOAD  # the form carries the file: over the 16 KiB of every other body

    def act(actor: str) -> tuple[str, str]:
        if request.form.get("action") == "delete":
            h.delete_media(request.form.get("id", ""), actor)
            return ("檔案已刪除。", "The file is deleted.")
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            return ("請選擇檔案。", "Choose a file.")
        h.add_media(request.form.get("name") or upload.filename, upload.read(MAX_UPLOAD + 1), actor)
        return ("檔案已上傳。", "The file is uploaded.")

    return _act("media", act, need="admin")


@admin.post("/admin/staff")
def staff_action() -> Any:
    h = current_hub()
    what, name = request.form.get("action", "add"), request.form.get("name", "").strip()

    def act(actor: str) -> tuple[str, str]:
        if what == "add":
            h.add_user(name, request.form.get("role", ""), request.form.get("password", ""), actor)
            return (f"已新增帳號 {name}。", f"Account {name} is added.")
        if what == "reset":
            h.set_user(name, actor, password=request.form.get("password", ""))
            return (f"{name} 的密碼已重設。", f"The password of {name} is reset.")
        h.set_user(name, actor, active=what == "enable")
        return (f"{name} 已{'啟用' if what == 'enable' else '停用'}。",
                f"{name} is {'enabled' if what == 'enable' else 'disabled'}.")

    return _act("staff", act, need="admin")


def setup_command(server: str, role: str, token: str) -> str:
    """The one line that sets up a device of this role against this hub."""
    if role == "kiosk":
        return f"jiaohao kiosk --config /etc/jiaohao/kiosk.toml --server {server} --token {token}"
    if role == "display":
        return f"jiaohao display --server {server} --token {token}"
    return f"curl -H 'Authorization: Bearer {token}' {server}/api/v1/state"


def qr_svg(text: str) -> str:
    """An inline SVG QR code of the setup line, for the phone or scanner of whoever installs the device."""
    img = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    out = io.BytesIO()
    img.save(out)
    svg = out.getvalue().decode("utf-8")
    return svg[svg.index("<svg"):]


def _when(value: str | None) -> str:
    """An ISO time as the datetime-local input shows it (office-local, to the minute)."""
    if not value:
        return ""
    d = datetime.fromisoformat(value).astimezone(current_hub().office.tz)
    return d.strftime("%Y-%m-%dT%H:%M")


admin.add_app_template_filter(_when, "local_minute")
