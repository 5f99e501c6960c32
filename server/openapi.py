"""The OpenAPI 3.1 document served at /api/v1/openapi.json; tests check it against the routes."""

from __future__ import annotations

from typing import Any

from . import __version__
from .engine.office import ROLES

_TEXT = {
    "type": "object",
    "properties": {"zh-TW": {"type": "string"}, "en": {"type": "string"}},
    "required": ["zh-TW", "en"],
}
_NULLABLE_STR = {"type": ["string", "null"]}
_RANGE = {"type": ["array", "null"], "items": {"type": "integer"}, "minItems": 2, "maxItems": 2}

TICKET = {
    "type": "object",
    "required": ["id", "number", "service", "lane", "status", "issued_at", "called_at", "counter",
                 "ahead", "estimated_wait_s"],
    "properties": {
        "id": {"type": "string", "description": "Opaque and unguessable; the key of the ticket's QR code."},
        "number": {"type": "string", "description": "As shown, e.g. A023; empty for a walk-in."},
        "service": {"type": "string"},
        "lane": {"type": "string"},
        "status": {"enum": ["waiting", "called", "serving", "done", "no_show", "cancelled"]},
        "issued_at": {"type": "string", "format": "date-time"},
        "called_at": {"type": ["string", "null"], "format": "date-time"},
        "counter": _NULLABLE_STR,
        "ahead": {"type": ["integer", "null"], "minimum": 0},
        "estimated_wait_s": {"type": ["integer", "null"], "minimum": 0},
        "estimated_wait_range_s": _RANGE,
        "service_name": {"oneOf": [_TEXT, {"type": "null"}]},
        "lane_name": {"oneOf": [_TEXT, {"type": "null"}]},
        "priority": {"type": "boolean"},
        "private": {"type": "boolean"},
        "walk_in": {"type": "boolean"},
        "business_date": {"type": "string", "format": "date"},
        "finished_at": {"type": ["string", "null"], "format": "date-time"},
        "outcome": _NULLABLE_STR,
        "by_appointment": {"type": "boolean", "description": "Checked in for a booking (預約); boards mark it."},
        "appointment": {"type": "object", "required": ["code", "slot"],
                        "description": "Only an appointment ticket, only to the device that asked: never broadcast.",
                        "properties": {"code": {"type": "string"}, "slot": {"type": "string", "format": "date-time"}}},
    },
}
APPOINTMENT = {
    "type": "object",
    "required": ["code", "service", "slot", "status", "ticket"],
    "properties": {
        "code": {"type": "string"},
        "service": {"type": "string"},
        "slot": {"type": "string", "format": "date-time"},
        "status": {"enum": ["booked", "checked_in", "lapsed", "no_show", "served"]},
        "ticket": _NULLABLE_STR,
        "checked_in_at": {"type": ["string", "null"], "format": "date-time"},
    },
}
SERVICE = {
    "type": "object",
    "required": ["id", "name", "waiting", "estimated_wait_s", "open"],
    "properties": {
        "id": {"type": "string"},
        "name": _TEXT,
        "waiting": {"type": "integer", "minimum": 0},
        "estimated_wait_s": {"type": ["integer", "null"], "minimum": 0},
        "open": {"type": "boolean"},
        "estimated_wait_range_s": _RANGE,
        "prefix": {"type": "string"},
        "appointments_only": {"type": "boolean",
                              "description": "Only booked appointments now: walk-up tickets are refused (409)."},
    },
}
COUNTER = {
    "type": "object",
    "required": ["id", "name", "open", "ticket"],
    "properties": {
        "id": {"type": "string"},
        "name": _TEXT,
        "open": {"type": "boolean"},
        "ticket": {"oneOf": [{"$ref": "#/components/schemas/Ticket"}, {"type": "null"}]},
        "services": {"type": "array", "items": {"type": "string"}},
    },
}
CALL = {
    "type": "object",
    "required": ["seq", "counter", "ticket", "recall", "at"],
    "properties": {
        "seq": {"type": "integer"},
        "counter": {"type": "object", "required": ["id", "name"],
                    "properties": {"id": {"type": "string"}, "name": _TEXT}},
        "ticket": {"$ref": "#/components/schemas/Ticket"},
        "recall": {"type": "boolean"},
        "at": {"type": "string", "format": "date-time"},
    },
}
_DEVICE = {
    "type": "object",
    "required": ["id", "state", "code", "at"],
    "properties": {"id": {"type": "string"}, "state": {"enum": ["ok", "warn", "error"]}, "code": {"type": "string"},
                   "message": {"type": "object"}, "at": {"type": "string"}},
}
ANNOUNCEMENT = {
    "type": "object",
    "required": ["id", "text", "starts_at", "ends_at", "active"],
    "properties": {"id": {"type": "string"}, "text": _TEXT,
                   "starts_at": {"type": ["string", "null"], "format": "date-time"},
                   "ends_at": {"type": ["string", "null"], "format": "date-time"}, "active": {"type": "boolean"}},
}
_DEVICE_ENTRY = {
    "type": "object",
    "required": ["id", "role", "counter", "source", "last_seen"],
    "properties": {"id": {"type": "string"}, "role": {"enum": list(ROLES)},
                   "counter": _NULLABLE_STR, "source": {"enum": ["office_file", "api"]},
                   "last_seen": _NULLABLE_STR, "state": {"enum": ["ok", "warn", "error", None]},
                   "code": _NULLABLE_STR, "message": {"type": ["object", "null"]}, "at": _NULLABLE_STR},
}
_MEDIA = {
    "type": "object",
    "required": ["id", "kind", "type", "size", "name", "uploaded_at", "url"],
    "properties": {"id": {"type": "string"}, "kind": {"enum": ["image", "video"]}, "type": {"type": "string"},
                   "size": {"type": "integer"}, "name": {"type": "string"}, "uploaded_at": {"type": "string"},
                   "url": {"type": "string"}},
}
ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"}, "message": {"type": "string"}},
        }
    },
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {400: "Malformed request", 401: "Missing or unknown token", 403: "The token may not do this",
            404: "Unknown id", 409: "Wrong state", 410: "Expired", 413: "Body over 16 KiB",
            422: "Well-formed but invalid", 429: "Rate limit",
            503: "Refused for now: clock_behind or storage_unavailable"}
    return {str(c): {"$ref": f"#/components/responses/E{c}"} for c in codes if c in text}


def _op(summary: str, responses: dict[str, Any], *, auth: bool = True, body: dict[str, Any] | None = None,
        params: list[dict[str, Any]] | None = None, tag: str = "hub") -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": responses}
    if not auth:
        op["security"] = []
    if body is not None:
        op["requestBody"] = {"required": False, "content": {"application/json": {"schema": body}}}
    if params:
        op["parameters"] = params
    return op


_ID_PARAM = {"in": "path", "required": True, "schema": {"type": "string"}}
_COUNTER_ERRORS = (400, 401, 403, 404, 409, 413)
_TICKET_OUT = {"type": "object", "required": ["ticket"], "properties": {"ticket": _ref("Ticket")}}
_COUNTER_OUT = {"type": "object", "required": ["counter"], "properties": {"counter": _ref("Counter")}}
_CHECK_IN_OUT = {"type": "object", "required": ["ticket", "appointment"],
                 "properties": {"ticket": _ref("Ticket"), "appointment": _ref("Appointment")}}
_ANNOUNCEMENT_OUT = {"type": "object", "required": ["announcement"],
                     "properties": {"announcement": _ref("Announcement")}}
_ANNOUNCEMENT_BODY = {"type": "object", "required": ["text"], "properties": {
    "text": _TEXT, "starts_at": {"type": ["string", "null"], "format": "date-time"},
    "ends_at": {"type": ["string", "null"], "format": "date-time"}}}


def _counter_path(summary: str, out: dict[str, Any], body: dict[str, Any] | None = None,
                  errors: tuple[int, ...] = _COUNTER_ERRORS) -> dict[str, Any]:
    return {
        "parameters": [{"name": "id", **_ID_PARAM}],
        "post": _op(summary, {"200": _json(out, "Done"), **_errors(*errors)}, body=body, tag="counters"),
    }


_MONTH_Q = {"name": "month", "in": "query", "required": True,
            "schema": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"}}
_FORMAT_Q = {"name": "format", "in": "query", "required": False,
             "schema": {"enum": ["json", "csv", "xlsx"], "default": "json"},
             "description": "csv: UTF-8 with a BOM; xlsx: the table on the first sheet"}
_NUM = {"type": ["number", "null"]}
_INT = {"type": ["integer", "null"]}


def _day_q(name: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": True, "schema": {"type": "string", "format": "date"}}


def _report(summary: str, params: list[dict[str, Any]], schema: dict[str, Any]) -> dict[str, Any]:
    ok = {"description": "The report; as a download with format=csv or xlsx (Content-Disposition names the period "
                         "in the ROC calendar, e.g. 115年11月)",
          "content": {"application/json": {"schema": schema},
                      "text/csv": {"schema": {"type": "string"}},
                      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
                          {"schema": {"type": "string", "format": "binary"}}}}
    return {"get": {**_op(summary, {"200": ok, **_errors(400, 401, 403, 422)}, tag="reports"),
                    "parameters": [*params, _FORMAT_Q]}}


def _report_paths() -> dict[str, Any]:
    by_service = {"type": "object", "required": ["service", "finished", "points"],
                  "properties": {"service": {"type": "string"}, "finished": {"type": "integer"}, "points": _NUM}}
    clerk = {"type": "object",
             "required": ["clerk", "finished", "points", "rank", "walk_ins", "no_shows", "transfers",
                          "median_handling_s", "p90_handling_s", "by_service"],
             "properties": {"clerk": _NULLABLE_STR, "finished": {"type": "integer"}, "points": {"type": "number"},
                            "rank": {"type": "integer", "minimum": 1}, "top_three": {"type": "boolean"},
                            "walk_ins": {"type": "integer"}, "no_shows": {"type": "integer"},
                            "transfers": {"type": "integer"}, "median_handling_s": _INT, "p90_handling_s": _INT,
                            "counters": {"type": "array", "items": {"type": "string"}},
                            "by_service": {"type": "array", "items": by_service}}}
    wait_row = {"type": "object",
                "required": ["service", "lane", "issued", "served", "no_shows", "median_wait_s", "p90_wait_s",
                             "median_handling_s"],
                "properties": {"service": {"type": "string"}, "lane": {"type": "string"},
                               "issued": {"type": "integer"}, "served": {"type": "integer"},
                               "no_shows": {"type": "integer"}, "cancelled": {"type": "integer"},
                               "transfers": {"type": "integer"}, "median_wait_s": _INT, "p90_wait_s": _INT,
                               "called_within_15_min_pct": _NUM, "no_show_pct": _NUM, "transfer_pct": _NUM,
                               "median_handling_s": _INT}}
    growth = {"type": "object", "properties": {"pts": _NUM, "growth_pct": _NUM}}

    def group(key: str) -> dict[str, Any]:
        """A counter's or clerk's row of the satisfaction report: the month, and its own trend and growth."""
        return {"type": "object", "required": [key, "ratings", "satisfied_pct", "met", "mom", "yoy", "trend"],
                "properties": {key: {"type": ["string", "null"]}, "ratings": {"type": "integer"},
                               "satisfied_pct": _NUM, "met": {"type": "boolean"}, "mom": growth, "yoy": growth,
                               "trend": {"type": "array", "items": {"type": "object"}}}}
    return {
        "/reports/clerks": _report(
            "The month's ranking of clerks by points (計點), with handling times", [_MONTH_Q],
            {"type": "object", "required": ["month", "clerks"],
             "properties": {"month": {"type": "string"}, "clerks": {"type": "array", "items": clerk}}}),
        "/reports/waits": _report(
            "Waits per service and lane, by hour, and arrivals by weekday and hour", [_day_q("from"), _day_q("to")],
            {"type": "object", "required": ["from", "to", "services", "by_hour"],
             "properties": {"from": {"type": "string"}, "to": {"type": "string"},
                            "services": {"type": "array", "items": wait_row}, "all": {"type": "object"},
                            "by_hour": {"type": "array", "items": {
                                "type": "object", "required": ["hour", "issued"],
                                "properties": {"hour": {"type": "integer"}, "issued": {"type": "integer"},
                                               "median_wait_s": _INT}}},
                            "heatmap": {"type": "array", "items": {"type": "object"}}}}),
        "/reports/satisfaction": _report(
            "The month's satisfaction by counter and clerk (target 90 %), trend and growth", [_MONTH_Q],
            {"type": "object", "required": ["month", "ratings", "satisfied_pct", "target_pct"],
             "properties": {"month": {"type": "string"}, "ratings": {"type": "integer"},
                            "satisfied_pct": _NUM, "target_pct": {"type": "integer"},
                            "trend": {"type": "array", "items": {"type": "object"}}, "mom": growth, "yoy": growth,
                            "by_counter": {"type": "array", "items": group("counter")},
                            "by_clerk": {"type": "array", "items": group("clerk")},
                            "comments": {"type": "array", "items": {"type": "object"}}}}),
        "/reports/day": _report(
            "The day's visits per counter, for the secretary's review (業務督導表)", [_day_q("date")],
            {"type": "object", "required": ["date", "counters"],
             "properties": {"date": {"type": "string"}, "counters": {"type": "array", "items": {"type": "object"}}}}),
    }


def openapi_document() -> dict[str, Any]:
    service_body = {"type": "object", "properties": {"service": {"type": "string"}}, "required": ["service"]}
    issue_body = {"type": "object", "properties": {"service": {"type": "string"}, "lane": {"type": "string"}},
                  "required": ["service"]}
    # The hub's time for kiosks and boards to show (a Pi's own clock may be off); null while its clock is behind.
    server_time = {"type": ["string", "null"], "format": "date-time",
                   "description": "The hub's time, to the millisecond, with the office's offset; null while "
                                  "the hub's clock is behind (clock_behind). Kiosks and boards show this time "
                                  "plus the monotonic time since it arrived, never their own clock."}
    hub_status = {"type": "object", "required": ["status", "message"], "properties": {
        "status": {"enum": ["ok", "clock_behind", "storage_unavailable"]},
        "message": {"oneOf": [_TEXT, {"type": "null"}]}}}
    services_out = {"type": "object", "required": ["services"],
                    "properties": {"services": {"type": "array", "items": _ref("Service")},
                                   "hub": hub_status, "server_time": server_time}}
    state_out = {
        "type": "object",
        "required": ["seq", "counters", "recent_calls", "services"],
        "properties": {
            "seq": {"type": "integer"},
            "counters": {"type": "array", "items": _ref("Counter")},
            "recent_calls": {"type": "array", "items": _ref("Call")},
            "services": {"type": "array", "items": _ref("Service")},
            "hub": hub_status,
            "server_time": server_time,
        },
    }
    public_out = {
        "type": "object",
        "required": ["services"],
        "properties": {"services": {"type": "array", "items": {
            "type": "object", "required": ["id", "name", "now_calling", "waiting"],
            "properties": {"id": {"type": "string"}, "name": _TEXT, "now_calling": _NULLABLE_STR,
                           "waiting": {"type": "integer"}, "estimated_wait_s": {"type": ["integer", "null"]},
                           "open": {"type": "boolean"}}}}},
    }
    public_ticket_out = {
        "type": "object",
        "required": ["ticket", "office"],
        "properties": {
            "office": _TEXT,
            "ticket": {
                "type": "object",
                "required": ["number", "status", "ahead", "estimated_wait_s", "issued_at", "called_at", "counter"],
                "properties": {
                    "number": {"type": "string"},
                    "service_name": {"oneOf": [_TEXT, {"type": "null"}]},
                    "lane_name": {"oneOf": [_TEXT, {"type": "null"}]},
                    "priority": {"type": "boolean"},
                    "status": TICKET["properties"]["status"],
                    "ahead": {"type": ["integer", "null"], "minimum": 0},
                    "estimated_wait_s": {"type": ["integer", "null"], "minimum": 0},
                    "estimated_wait_range_s": _RANGE,
                    "issued_at": {"type": "string", "format": "date-time"},
                    "called_at": {"type": ["string", "null"], "format": "date-time"},
                    "counter": {"oneOf": [{"type": "null"}, {
                        "type": "object", "required": ["id", "name"],
                        "properties": {"id": {"type": "string"}, "name": _TEXT}}]},
                    "business_date": {"type": "string", "format": "date"},
                    "appointments_ahead": {"type": "integer", "minimum": 0},
                    "by_appointment": {"type": "boolean"},
                },
            },
        },
    }
    date_param = [{"name": "date", "in": "query", "required": False,
                   "schema": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}}]
    appointments_body = {
        "type": "object", "required": ["appointments"],
        "description": "Or a CSV file (Content-Type: text/csv) with the header code,service,slot; see docs/api.md.",
        "properties": {"appointments": {"type": "array", "items": {
            "type": "object", "required": ["code", "service", "slot"],
            "properties": {"code": {"type": "string"}, "service": {"type": "string"},
                           "slot": {"type": "string", "description": "YYYY-MM-DD HH:MM, office-local"}}}}},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "jiaohao hub API",
            "version": __version__,
            "description": "Queue-number hub for kiosks, counters and displays. See docs/api.md.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/health": {"get": _op("Liveness", {"200": _json(
                {"type": "object", "required": ["status", "version"],
                 "properties": {"status": {"const": "ok"}, "version": {"type": "string"}}}, "Alive")}, auth=False)},
            "/openapi.json": {"get": _op("This document (OpenAPI 3.1)", {"200": _json(
                {"type": "object", "required": ["openapi", "info", "paths"]}, "The document")}, auth=False)},
            "/public/tickets/{id}": {
                "parameters": [{"name": "id", **_ID_PARAM}],
                "get": _op("One ticket as its holder's phone may see it (no ids)",
                           {"200": _json(public_ticket_out, "The ticket"),
                            "304": {"description": "Not modified since the ETag in If-None-Match"},
                            **_errors(404, 410, 429)}, auth=False, tag="public"),
            },
            "/users/{id}/disable": {
                "parameters": [{"name": "id", **_ID_PARAM}],
                "post": _op("Disable a staff account: its sessions end at once", {"200": _json(
                    {"type": "object", "required": ["user"], "properties": {"user": {
                        "type": "object", "properties": {"name": {"type": "string"}, "role": {"type": "string"},
                                                         "active": {"type": "boolean"}}}}}, "Disabled"),
                    **_errors(401, 403, 404, 503)}, tag="staff"),
            },
            "/services": {"get": _op("Services with waiting counts and estimates",
                                     {"200": _json(services_out, "Services"), **_errors(401)})},
            "/state": {"get": _op("The board's snapshot", {"200": _json(state_out, "State"), **_errors(401)})},
            "/public/status": {"get": _op("What a citizen's phone may see",
                                          {"200": _json(public_out, "Status"), **_errors(429)},
                                          auth=False, tag="public")},
            "/tickets": {"post": {
                **_op("Issue a ticket", {"201": _json(_TICKET_OUT, "Issued"),
                                         "200": _json(_TICKET_OUT, "Same Idempotency-Key again today"),
                                         **_errors(400, 401, 403, 409, 413, 422)},
                      body=issue_body, tag="tickets"),
                "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                                "schema": {"type": "string", "minLength": 1, "maxLength": 200}}],
            }},
            "/tickets/{id}": {
                "parameters": [{"name": "id", **_ID_PARAM}],
                "get": _op("One ticket", {"200": _json(_TICKET_OUT, "The ticket"), **_errors(401, 404)},
                           tag="tickets"),
            },
            "/tickets/{id}/cancel": {
                "parameters": [{"name": "id", **_ID_PARAM}],
                "post": _op("Cancel a waiting ticket", {"200": _json(_TICKET_OUT, "Cancelled"),
                                                       **_errors(401, 403, 404, 409)}, tag="tickets"),
            },
            "/counters/{id}": {
                "parameters": [{"name": "id", **_ID_PARAM}],
                "get": _op("One counter", {"200": _json(_COUNTER_OUT, "The counter"), **_errors(401, 404)},
                           tag="counters"),
                "put": _op("Change what a counter is called, serves and takes, from its next call on",
                           {"200": _json(_COUNTER_OUT, "Changed"), **_errors(400, 401, 403, 404, 413, 422)},
                           body={"type": "object", "properties": {
                               "name": _TEXT, "services": {"type": "array", "items": {"type": "string"}},
                               "lanes": {"type": "array", "items": {"type": "string"}}}}, tag="counters"),
            },
            "/counters/{id}/next": _counter_path(
                "Finish the current ticket and call the next",
                {"type": "object", "required": ["ticket"],
                 "properties": {"ticket": {"oneOf": [_ref("Ticket"), {"type": "null"}]}}}),
            "/counters/{id}/recall": _counter_path("Announce the called ticket again", _TICKET_OUT),
            "/counters/{id}/start": _counter_path("Start serving the called ticket", _TICKET_OUT),
            "/counters/{id}/finish": _counter_path("Finish the current ticket", _TICKET_OUT),
            "/counters/{id}/no-show": _counter_path("The called citizen did not come", _TICKET_OUT),
            "/counters/{id}/transfer": _counter_path(
                "Send the current ticket to another service, keeping its place", _TICKET_OUT, service_body,
                _COUNTER_ERRORS + (422,)),
            "/counters/{id}/walk-in": _counter_path(
                "Serve a citizen without a ticket", _TICKET_OUT, issue_body, _COUNTER_ERRORS + (422,)),
            "/counters/{id}/rating": {
                "parameters": [{"name": "id", **_ID_PARAM}],
                "get": _op("The visit a citizen may rate now (滿意度)", {"200": _json(
                    {"type": "object", "required": ["visit"], "properties": {"visit": {"oneOf": [
                        {"type": "null"},
                        {"type": "object", "properties": {"number": _NULLABLE_STR, "finished_at": {"type": "string"}}},
                    ]}}}, "The visit or null"), **_errors(401, 403, 404)}, tag="satisfaction"),
                "post": _op("Rate the visit that just ended: 4 很滿意, 3 滿意, 2 普通, 1 不滿意", {
                    "201": _json({"type": "object", "required": ["rating"], "properties": {"rating": {
                        "type": "object", "required": ["counter", "score"],
                        "properties": {"ticket_number": _NULLABLE_STR, "counter": {"type": "string"},
                                       "score": {"type": "integer"}, "label": _TEXT, "at": {"type": "string"}}}}},
                                 "Stored"),
                    **_errors(400, 401, 403, 404, 409, 413, 422)},
                    body={"type": "object", "required": ["score"],
                          "properties": {"score": {"type": "integer", "minimum": 1, "maximum": 4},
                                         "comment": {"type": "string", "maxLength": 500}}},
                    tag="satisfaction"),
            },
            **_report_paths(),
            "/devices/self/status": {"post": _op(
                "A device reports its own health (a kiosk: paper near end, printer offline)",
                {"200": _json({"type": "object", "required": ["device"], "properties": {"device": _DEVICE}},
                              "Kept and shown to staff"), **_errors(400, 401, 413, 422)},
                body={"type": "object", "required": ["state", "code"],
                      "properties": {"state": {"enum": ["ok", "warn", "error"]}, "code": {"type": "string"},
                                     "message": _TEXT}}, tag="devices")},
            "/appointments": {
                "get": {**_op("A day's bookings and what became of them", {
                    "200": _json({"type": "object", "required": ["appointments"],
                                  "properties": {"date": {"type": "string"},
                                                 "appointments": {"type": "array", "items": _ref("Appointment")}}},
                                 "The bookings"), **_errors(400, 401, 403)}, tag="appointments"),
                        "parameters": date_param},
                "post": _op("Import bookings, all or none (JSON, or CSV as text/csv)", {
                    "201": _json({"type": "object", "required": ["imported"],
                                  "properties": {"imported": {"type": "integer"}}}, "Imported"),
                    **_errors(400, 401, 403, 413, 422)}, body=appointments_body, tag="appointments"),
            },
            "/appointments/{id}/check-in": {
                "parameters": [{"name": "id", **_ID_PARAM}],
                "post": _op("Check a booking in at the kiosk", {
                    "201": _json(_CHECK_IN_OUT, "Checked in (an appointment ticket), or lapsed (an ordinary one)"),
                    "200": _json(_CHECK_IN_OUT, "Checked in before: the same ticket"),
                    **_errors(401, 403, 404, 409, 422)}, tag="appointments"),
            },
            "/reports/appointments": {"get": {
                **_op("The day's appointments: the list, no-shows, lateness", {
                    "200": _json({"type": "object", "required": ["date", "appointments"],
                                  "properties": {"date": {"type": "string"},
                                                 "appointments": {"type": "array", "items": {"type": "object"}}}},
                                 "The report"),
                    **_errors(400, 401, 403)}, tag="reports"),
                "parameters": date_param,
            }},
            "/devices": {
                "get": _op("Every device: where it comes from, when last seen, its last health report", {"200": _json(
                    {"type": "object", "required": ["devices"],
                     "properties": {"devices": {"type": "array", "items": _DEVICE_ENTRY}}}, "Devices"),
                    **_errors(401, 403)}, tag="devices"),
                "post": _op("Issue a device and its token (shown this once)", {"201": _json(
                    {"type": "object", "required": ["device", "token"],
                     "properties": {"device": _DEVICE_ENTRY, "token": {"type": "string"}}}, "Issued"),
                    **_errors(400, 401, 403, 409, 413, 422)},
                    body={"type": "object", "required": ["id", "role"],
                          "properties": {"id": {"type": "string"},
                                         "role": {"enum": list(ROLES)},
                                         "counter": {"type": "string"}}}, tag="devices"),
            },
            "/devices/{id}": {
                "parameters": [{"name": "id", **_ID_PARAM}],
                "delete": _op("Revoke a device: its token is refused, its sockets closed", {"200": _json(
                    {"type": "object", "required": ["revoked"], "properties": {"revoked": {"type": "string"}}},
                    "Revoked"), **_errors(401, 403, 404, 413)}, tag="devices"),
            },
            "/office": {"get": _op("The office as the hub runs it now (no tokens), and what admins changed", {
                "200": _json({"type": "object", "required": ["office", "services", "lanes", "policy", "counters",
                                                             "devices", "announcements", "overridden"]}, "The office"),
                **_errors(401, 403)}, tag="office")},
            "/announcements": {
                "get": _op("Every announcement, active or not", {"200": _json(
                    {"type": "object", "required": ["announcements"],
                     "properties": {"announcements": {"type": "array", "items": _ref("Announcement")}}},
                    "Announcements"), **_errors(401)}, tag="office"),
                "post": _op("Add a marquee line", {"201": _json(_ANNOUNCEMENT_OUT, "Added"),
                                                   **_errors(400, 401, 403, 413, 422)},
                            body=_ANNOUNCEMENT_BODY, tag="office"),
            },
            "/announcements/{id}": {
                "parameters": [{"name": "id", **_ID_PARAM}],
                "put": _op("Change a marquee line", {"200": _json(_ANNOUNCEMENT_OUT, "Changed"),
                                                     **_errors(400, 401, 403, 404, 413, 422)},
                           body=_ANNOUNCEMENT_BODY, tag="office"),
                "delete": _op("Remove a marquee line", {"200": _json(
                    {"type": "object", "required": ["deleted"], "properties": {"deleted": {"type": "string"}}},
                    "Removed"), **_errors(401, 403, 404, 413)}, tag="office"),
            },
            "/media": {
                "get": _op("Images and videos uploaded for the boards", {"200": _json(
                    {"type": "object", "required": ["media"],
                     "properties": {"media": {"type": "array", "items": _MEDIA}}}, "Media"),
                    **_errors(401)}, tag="media"),
                "post": {**_op("Upload an image or a short video (checked by its bytes, size-limited)", {
                    "201": _json({"type": "object", "required": ["media"], "properties": {"media": _MEDIA}},
                                 "Stored"),
                    **_errors(400, 401, 403, 409, 413, 422)}, tag="media"),
                    "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                        "type": "object", "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}, "name": {"type": "string"}}}}}}},
            },
            "/media/{id}": {
                "parameters": [{"name": "id", **_ID_PARAM}],
                "get": _op("The file itself, with its own type", {
                    "200": {"description": "The file", "content": {"image/*": {}, "video/*": {}}},
                    "304": {"description": "Not modified"}, **_errors(401, 404)}, tag="media"),
                "delete": _op("Delete a file", {"200": _json(
                    {"type": "object", "required": ["deleted"], "properties": {"deleted": {"type": "string"}}},
                    "Deleted"), **_errors(401, 403, 404, 413)}, tag="media"),
            },
            "/users": {"post": _op("Add a staff account", {"201": _json(
                {"type": "object", "required": ["user"], "properties": {"user": {
                    "type": "object", "required": ["name", "role", "active"],
                    "properties": {"name": {"type": "string"}, "role": {"enum": ["clerk", "supervisor", "admin"]},
                                   "active": {"type": "boolean"}}}}}, "Added"),
                **_errors(400, 401, 403, 409, 413, 422)},
                body={"type": "object", "required": ["name", "role", "password"],
                      "properties": {"name": {"type": "string"}, "role": {"enum": ["clerk", "supervisor", "admin"]},
                                     "password": {"type": "string", "minLength": 10}}}, tag="office")},
            "/counters/{id}/open": _counter_path("Open the counter", _COUNTER_OUT),
            "/counters/{id}/close": _counter_path("Close the counter", _COUNTER_OUT),
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Ticket": TICKET, "Service": SERVICE, "Counter": COUNTER, "Call": CALL, "Error": ERROR,
                        "Appointment": APPOINTMENT, "Announcement": ANNOUNCEMENT},
            "responses": {
                f"E{c}": _json(_ref("Error"), d)
                for c, d in {400: "Malformed request", 401: "Missing or unknown token",
                             403: "The token may not do this", 404: "Unknown id", 409: "Wrong state",
                             410: "Expired", 413: "Body over 16 KiB", 422: "Well-formed but invalid",
                             429: "Rate limit", 503: "Refused for now: clock_behind or storage_unavailable"}.items()
            },
        },
    }
