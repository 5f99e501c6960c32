"""HTTP API of CONTRACT.md: parse, check who may do it, one hub call, serialise."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from . import __version__, ratings
from .context import current_hub
from .engine.errors import Forbidden, Invalid, Malformed, NotFound, TooLarge, Unauthorized
from .engine.office import Device
from .openapi import openapi_document

api = Blueprint("api", __name__)

# Roles that `device()` without roles ("any token") lets in: a satisfaction tablet may only rate (CONTRACT.md).
ANY_TOKEN = ("kiosk", "display", "counter", "admin")


def device(*roles: str) -> Device:
    """The device behind the bearer token; 401 without a valid one, 403 when its role may not."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send 'Authorization: Bearer TOKEN'. 缺少存取權杖。", code="missing_token")
    dev = current_hub().device_for_token(token.strip())
    if dev is None:
        raise Unauthorized("This token is not known to the hub. 存取權杖無效。", code="invalid_token")
    allowed = roles or ANY_TOKEN
    if dev.role not in allowed:
        raise Forbidden(
            f"A {dev.role} token may not do this (needs {' or '.join(allowed)}). 此裝置沒有這個權限。",
            code="role_not_allowed",
        )
    return dev


def counter_device(cid: str, *roles: str) -> Device:
    """Permission before existence: counter 3's token acting for counter 5 (or 99) is a 403."""
    dev = device(*(roles or ("counter", "admin")))
    if dev.role != "admin" and dev.counter != cid:
        raise Forbidden(
            f"This token belongs to counter {dev.counter}, not counter {cid}. 此裝置不屬於這個櫃台。",
            code="wrong_counter",
        )
    if current_hub().office.counter(cid) is None:
        raise NotFound(f"No counter '{cid}' in this office. 沒有這個櫃台。", code="unknown_counter")
    return dev


def _raw_body() -> bytes:
    if request.content_length is None and "wsgi.input" in request.environ:
        # A chunked body has no length to refuse up front, and Werkzeug would cut it at the limit
        # and hand over the broken start: read one byte past the limit to tell.
        limit = int(current_app.config.get("MAX_CONTENT_LENGTH") or 16 * 1024)
        cached = request.environ.get("jiaohao.body")
        if cached is None:
            try:
                cached = request.environ["wsgi.input"].read(limit + 1) or b""
            except OSError:  # a broken chunked encoding (pywsgi's _InvalidClientInput)
                request.environ["jiaohao.close"] = True  # the rest of the stream is no next request
                raise Malformed("The chunked body could not be read. 請求內容格式錯誤。",
                                code="malformed_request") from None
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
    value = data.get(name)
    if value is None:  # absent or null: an optional field takes its default ("lane": null is the normal lane)
        value = default
    if value is None:
        raise Malformed(f"'{name}' is required. 缺少欄位 {name}。", code="missing_field")
    if not isinstance(value, str) or not value:
        raise Malformed(f"'{name}' must be a non-empty string. 欄位 {name} 必須是文字。", code="invalid_field")
    return value


# -- anyone -----------------------------------------------------------------------------------

@api.get("/health")
def health() -> Any:
    return jsonify({"status": "ok", "version": __version__})


@api.get("/openapi.json")
def openapi() -> Any:
    return jsonify(openapi_document())


@api.get("/public/status")
def public_status() -> Any:
    from .public import cached_json, public_status

    return cached_json(public_status(current_hub()))


# -- any token --------------------------------------------------------------------------------

@api.get("/services")
def services() -> Any:
    device()
    return jsonify(current_hub().services_answer())


@api.get("/state")
def state() -> Any:
    device()
    return jsonify(current_hub().state())


@api.get("/tickets/<tid>")
def get_ticket(tid: str) -> Any:
    dev = device()
    ticket = current_hub().ticket(tid)
    if dev.role not in ("kiosk", "counter", "admin"):
        ticket.pop("appointment", None)  # a booking code never reaches a board
    return jsonify({"ticket": ticket})


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
    ticket, created = current_hub().issue(service, lane, dev.id, key)
    return jsonify({"ticket": ticket}), 201 if created else 200


@api.post("/tickets/<tid>/cancel")
def cancel(tid: str) -> Any:
    dev = device("kiosk", "admin")
    return jsonify({"ticket": current_hub().cancel(tid, dev.id)})


# -- counters ---------------------------------------------------------------------------------

@api.post("/counters/<cid>/next")
def call_next(cid: str) -> Any:
    dev = counter_device(cid)
    return jsonify({"ticket": current_hub().call_next(cid, dev.id)})


def _ticket_op(name: str) -> Callable[[str], Any]:
    """recall, start, finish, no-show: the counter's ticket, acted on and answered."""

    def view(cid: str) -> Any:
        dev = counter_device(cid)
        return jsonify({"ticket": getattr(current_hub(), name)(cid, dev.id)})

    view.__name__ = f"counter_{name}"
    return view


api.add_url_rule("/counters/<cid>/recall", view_func=_ticket_op("recall"), methods=["POST"])
api.add_url_rule("/counters/<cid>/start", view_func=_ticket_op("start"), methods=["POST"])
api.add_url_rule("/counters/<cid>/finish", view_func=_ticket_op("finish"), methods=["POST"])
api.add_url_rule("/counters/<cid>/no-show", view_func=_ticket_op("no_show"), methods=["POST"])


@api.post("/counters/<cid>/transfer")
def transfer(cid: str) -> Any:
    dev = counter_device(cid)
    service = field(body(), "service")
    return jsonify({"ticket": current_hub().transfer(cid, service, dev.id)})


@api.post("/counters/<cid>/walk-in")
def walk_in(cid: str) -> Any:
    dev = counter_device(cid)
    data = body()
    service, lane = field(data, "service"), field(data, "lane", "normal")
    return jsonify({"ticket": current_hub().walk_in(cid, service, lane, dev.id)})


def _open_close(is_open: bool) -> Callable[[str], Any]:
    def view(cid: str) -> Any:
        dev = counter_device(cid)
        return jsonify({"counter": current_hub().set_open(cid, is_open, dev.id)})

    view.__name__ = "counter_open" if is_open else "counter_close"
    return view


api.add_url_rule("/counters/<cid>/open", view_func=_open_close(True), methods=["POST"])
api.add_url_rule("/counters/<cid>/close", view_func=_open_close(False), methods=["POST"])


@api.get("/counters/<cid>")
def get_counter(cid: str) -> Any:
    device()
    if current_hub().office.counter(cid) is None:
        raise NotFound(f"No counter '{cid}' in this office. 沒有這個櫃台。", code="unknown_counter")
    return jsonify({"counter": current_hub().counter(cid)})


# -- satisfaction (滿意度) -----------------------------------------------------------------------

@api.get("/counters/<cid>/rating")
def pending_rating(cid: str) -> Any:
    counter_device(cid, "counter", "tablet", "admin")
    return jsonify({"visit": current_hub().rating_visit(cid)})


@api.post("/counters/<cid>/rating")
def post_rating(cid: str) -> Any:
    dev = counter_device(cid, "counter", "tablet", "admin")
    data = body()
    if "score" not in data:
        raise Malformed("'score' is required (1 to 4). 缺少評分。", code="missing_field")
    score, comment = ratings.checked(data["score"], data.get("comment"))
    rating = current_hub().rate(cid, score, comment, dev.id)
    return jsonify({"rating": {**rating, "label": ratings.label(score)}}), 201


def _report(name: str) -> Callable[[], Any]:
    """GET /reports/NAME?...&format=json|csv|xlsx: admin only; 400 bad period, 422 unknown format."""

    def view() -> Any:
        from .report_export import answer

        device("admin")
        return answer(current_hub(), name, request.args)

    view.__name__ = f"report_{name}"
    return view


for _name in ("clerks", "waits", "satisfaction", "day"):
    api.add_url_rule(f"/reports/{_name}", view_func=_report(_name), methods=["GET"])


# -- staff accounts ----------------------------------------------------------------------------

@api.post("/users/<name>/disable")
def disable_user(name: str) -> Any:
    """Disable a staff account: its sessions end at once and it cannot log in again."""
    dev = device("admin")
    return jsonify({"user": current_hub().disable_user(name, dev.id)})


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
    return jsonify({"device": current_hub().report_device(dev.id, state, code, text)})


@api.get("/devices")
def devices() -> Any:
    device("admin", "counter", "display")
    return jsonify({"devices": current_hub().devices()})


# -- appointments (網路預約報到, CONTRACT.md "Appointments") ----------------------------------------

CSV_TYPES = ("text/csv", "application/csv", "text/plain")


@api.post("/appointments")
def import_appointments() -> Any:
    from .appointments_import import decode, from_csv, from_json

    dev = device("admin")
    office = current_hub().office
    if request.mimetype in CSV_TYPES:
        entries, unread = from_csv(decode(_raw_body()), office)
    else:
        entries, unread = from_json(body(), office)
    return jsonify({"imported": current_hub().import_appointments(entries, dev.id, unread)}), 201


@api.get("/appointments")
def list_appointments() -> Any:
    device("admin", "counter")
    day, found = current_hub().appointments(_date_arg())
    return jsonify({"date": day, "appointments": found})


@api.post("/appointments/<code>/check-in")
def check_in(code: str) -> Any:
    from .appointments_import import normalise_code, valid_code

    dev = device("kiosk", "admin")
    code = normalise_code(code)
    if not valid_code(code):  # a scanner's garbage or a partial read: the same answer as any unknown code
        raise NotFound("No booking has this code. 查無此預約。", code="unknown_appointment")
    ticket, booking, created = current_hub().check_in(code, dev.id)
    return jsonify({"ticket": ticket, "appointment": booking}), 201 if created else 200


@api.get("/reports/appointments")
def appointments_report() -> Any:
    from .reports.appointments import report

    device("admin")
    day = _date_arg()
    if day is None:
        day, _ = current_hub().appointments(None)
    return jsonify(current_hub().read_history(lambda history, office: report(history, day, office)))


def _date_arg() -> str | None:
    value = request.args.get("date")
    if value is None:
        return None
    try:
        return date.fromisoformat(value).isoformat() if len(value) == 10 else _bad_date(value)
    except ValueError:
        return _bad_date(value)


def _bad_date(value: str) -> str:
    raise Malformed(f"date must be YYYY-MM-DD (got {value[:20]!r}). 日期格式錯誤。", code="invalid_date")
# -- the office at run time (CONTRACT.md) ---------------------------------------------------------

@api.get("/office")
def get_office() -> Any:
    device("admin")
    return jsonify(current_hub().office_json())


@api.put("/counters/<cid>")
def put_counter(cid: str) -> Any:
    dev = device("admin")
    return jsonify({"counter": current_hub().configure_counter(cid, body(), dev.id)})


@api.get("/announcements")
def get_announcements() -> Any:
    device()
    return jsonify({"announcements": current_hub().announcements()})


@api.post("/announcements")
def post_announcement() -> Any:
    dev = device("admin")
    announcement, _ = current_hub().put_announcement(None, body(), dev.id)
    return jsonify({"announcement": announcement}), 201


@api.put("/announcements/<aid>")
def put_announcement(aid: str) -> Any:
    dev = device("admin")
    announcement, _ = current_hub().put_announcement(aid, body(), dev.id)
    return jsonify({"announcement": announcement})


@api.delete("/announcements/<aid>")
def delete_announcement(aid: str) -> Any:
    dev = device("admin")
    current_hub().delete_announcement(aid, dev.id)
    return jsonify({"deleted": aid})


@api.post("/devices")
def post_device() -> Any:
    dev = device("admin")
    data = body()
    counter = data.get("counter")
    if counter is not None and not isinstance(counter, str):
        raise Malformed("'counter' must be a string. 欄位 counter 必須是文字。", code="invalid_field")
    made, token = current_hub().issue_device(field(data, "id"), field(data, "role"), counter, dev.id)
    return jsonify({"device": made, "token": token}), 201


@api.delete("/devices/<did>")
def delete_device(did: str) -> Any:
    dev = device("admin")
    current_hub().revoke_device(did, dev.id)
    return jsonify({"revoked": did})


@api.post("/users")
def post_user() -> Any:
    dev = device("admin")
    data = body()
    user = current_hub().add_user(field(data, "name"), field(data, "role"), field(data, "password"), dev.id)
    return jsonify({"user": user}), 201


# -- media for the boards (多媒體輪播) ----------------------------------------------------------------

@api.post("/media")
def post_media() -> Any:
    from .media import MAX_UPLOAD

    dev = device("admin")
    request.max_content_length = MAX_UPLOAD  # this route only: every other body stays under 16 KiB
    upload = request.files.get("file")
    if upload is None:
        raise Invalid("Send the file as multipart/form-data in the field 'file'. 請以 file 欄位上傳檔案。",
                      code="missing_file")
    data = upload.read(MAX_UPLOAD + 1)
    name = request.form.get("name") or upload.filename or ""
    return jsonify({"media": current_hub().add_media(name, data, dev.id)}), 201


@api.get("/media")
def list_media() -> Any:
    device()
    return jsonify({"media": current_hub().media()})


@api.get("/media/<mid>")
def get_media(mid: str) -> Any:
    from flask import send_file

    device()
    path, mime = current_hub().media_file(mid)
    resp = send_file(path, mimetype=mime, conditional=True, max_age=3600)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return resp


@api.delete("/media/<mid>")
def delete_media(mid: str) -> Any:
    dev = device("admin")
    current_hub().delete_media(mid, dev.id)
    return jsonify({"deleted": mid})
