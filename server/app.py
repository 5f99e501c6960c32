"""The Flask application: create_app wires the hub, the API, the error shape and Socket.IO."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from . import __version__
from .engine.errors import InvalidRows, JiaohaoError
from .engine.office import Office
from .hub import Hub, utcnow
from .store import DatabaseError, StorageUnavailable, Store, is_disk_error, storage_message

log = logging.getLogger("jiaohao.app")
MAX_BODY = 16 * 1024

_HTTP_CODES = {
    400: ("malformed_request", "The request could not be read. 請求格式錯誤。"),
    404: ("not_found", "There is nothing at this address. 找不到這個網址。"),
    405: ("method_not_allowed", "This address does not take that method. 此網址不接受這個方法。"),
    413: ("body_too_large", "The request body is over 16 KiB. 請求內容過大。"),
    415: ("unsupported_media_type", "Send the body as JSON. 請以 JSON 傳送。"),
    429: ("rate_limited", "Too many requests; wait a moment and try again. 請求過於頻繁，請稍候再試。"),
}


def error_response(status: int, code: str, message: str, extra: dict[str, Any] | None = None) -> Response:
    """The one error shape; `extra` only where CONTRACT.md adds a key (an import's bad `rows`)."""
    resp = jsonify({"error": {"code": code, "message": message, **(extra or {})}})
    resp.status_code = status
    return resp


def create_app(
    office: Office,
    db_path: str | Path = ":memory:",
    *,
    clock: Callable[[], datetime] = utcnow,
    async_mode: str = "threading",
    hub: Hub | None = None,
) -> Flask:
    """The hub's web application. The Socket.IO server is at `app.extensions["socketio"]`."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    if hub is None:
        hub = Hub(office, Store(db_path), clock=clock)
    app.extensions["jiaohao"] = hub

    @app.errorhandler(JiaohaoError)
    def _jiaohao_error(e: JiaohaoError) -> Response:
        resp = error_response(e.status, e.code, e.message, e.extra() if isinstance(e, InvalidRows) else None)
        if request.environ.get("jiaohao.close"):
            resp.headers["Connection"] = "close"  # a body that could not be read: the rest is no next request
        return resp

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException) -> Response:
        if e.response is not None:
            return e.response  # type: ignore[return-value]  # a page of our own made it (the login page's 429)
        status = e.code or 500
        code, message = _HTTP_CODES.get(status, ("http_error", e.description or "HTTP error"))
        resp = error_response(status, code, message)
        if status == 405 and hasattr(e, "valid_methods") and e.valid_methods:
            resp.headers["Allow"] = ", ".join(e.valid_methods)
        return resp

    @app.errorhandler(DatabaseError)
    def _unreadable(e: DatabaseError) -> Response:
        # A read that the disk failed (writes are turned into StorageUnavailable where they happen): the same
        # 503 and words as a refused change, not a 500, and nothing was changed by a read anyway. Only the
        # disk's and file's errors: an IntegrityError or a misused cursor is our bug, and stays a 500.
        if not is_disk_error(e):
            return _unexpected(e)
        log.error("the database failed on %s %s: %s", request.method, request.path, e)
        return _jiaohao_error(StorageUnavailable(storage_message(e)))

    @app.errorhandler(Exception)
    def _unexpected(e: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "The hub failed on this request; it is logged. 系統錯誤，已記錄。")

    from .limits import init_limits, limit_public

    init_limits(app)

    from .api import api

    app.register_blueprint(api, url_prefix="/api/v1")

    from .public import public

    app.register_blueprint(public)
    limit_public(app)

    from .satisfaction import satisfaction

    app.register_blueprint(satisfaction)

    from .board import board

    app.register_blueprint(board)

    from .console import init_console

    init_console(app, hub)

    from .report_pages import init_report_pages

    init_report_pages(app)
    from .admin import init_admin

    init_admin(app)

    from .realtime import init_realtime

    init_realtime(app, hub, async_mode)

    @app.get("/")
    def _index() -> Any:
        return jsonify({
            "name": "jiaohao", "version": __version__, "office": office.name.as_json(),
            "api": "/api/v1", "openapi": "/api/v1/openapi.json", "public_status": "/api/v1/public/status",
        })

    return app
