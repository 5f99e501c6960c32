"""`jiaohao serve`: the hub in one process, on gevent's WSGI server.

Why gevent: one greenlet per connection holds hundreds of boards cheaply, and it fans a call out
to 200 boards about twice as fast as threads (shared/reference/fanout.md). Why one process and no
gunicorn master: SIGKILL of the process we started stops everything at once (no orphaned worker
still holding the port), and Socket.IO needs a single worker anyway.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import http.client  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import resource  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import sqlite3  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402
import gevent.event  # noqa: E402
import gevent.threadpool  # noqa: E402
from gevent.pywsgi import WSGIHandler, WSGIServer  # noqa: E402

from .wire.sdnotify import notifier  # noqa: E402

TICK_S = 5.0
WARM_AFTER_S = 20.0  # then the reports' thread reads the settled days a year's report needs (hub/reports.py)
log = logging.getLogger("jiaohao.http")

# What pywsgi refuses before the application sees the request, in the API's own error shape.
_SERVER_ERRORS = {
    400: ("Bad Request", "malformed_request", "The request could not be read. 請求格式錯誤。"),
    414: ("URI Too Long", "uri_too_long", "The address is over 8 KiB; send data in the body. 網址過長。"),
    431: ("Request Header Fields Too Large", "headers_too_large",
          "A header is over 64 KiB, or there are over 100 headers. 請求標頭過大或過多。"),
    500: ("Internal Server Error", "internal_error",
          "The hub failed on this request; it is logged. 系統錯誤，已記錄。"),
}


def _error_body(status: int) -> tuple[str, list[tuple[str, str]], bytes]:
    reason, code, message = _SERVER_ERRORS[status]
    body = json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body))), ("Connection", "close")]
    return f"{status} {reason}", headers, body


def _error_response(status: int) -> tuple[str, bytes]:
    line, headers, body = _error_body(status)
    head = f"HTTP/1.1 {line}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return str(status), head.encode("latin-1") + body


class _Handler(WSGIHandler):
    """pywsgi's handler, with three fixes for an office's traffic.

    TCP_NODELAY: pywsgi writes headers and body separately, and with Nagle's algorithm the body
    waited for the client's delayed ACK: 40 ms on every request that followed another at once.
    And the TCP connection is closed once a WebSocket has ended; otherwise pywsgi reads the
    client's close frame as a next HTTP request, logs "Invalid HTTP method", and the client waits
    seconds for its close. And what pywsgi refuses itself (a 9 KB URL, a 70,000-character header,
    2,000 headers, a broken chunked body) is answered in the API's JSON error shape, not with an empty
    body, and logged in one line instead of a traceback.
    """

    def handle(self) -> None:
        try:
            self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass  # not TCP (a unix socket): nothing to tune
        super().handle()

    def handle_one_request(self):  # type: ignore[no-untyped-def]
        result = super().handle_one_request()
        if isinstance(result, tuple) and result[0] == "414":
            return _error_response(414)
        return result

    def _handle_client_error(self, ex: BaseException):  # type: ignore[no-untyped-def]
        log.info("refused a request from %s: %s", self.client_address, str(ex)[:200] or type(ex).__name__)
        text = str(ex).lower()
        # pywsgi reports headers it would not read as "Invalid headers status: 'Line too long'" (or too many).
        too_big = (isinstance(ex, http.client.LineTooLong) or ("more than" in text and "headers" in text)
                   or ("headers status" in text and "too long" in text))
        return _error_response(431 if too_big else 400)

    def _send_error_response_if_possible(self, error_code: int) -> None:
        if self.response_length:
            self.close_connection = True
            return
        status, headers, body = _error_body(error_code if error_code in _SERVER_ERRORS else 500)
        try:
            self.start_response(status, headers)
            self.write(body)
        except OSError:
            self.close_connection = True

    def handle_one_response(self) -> None:
        try:
            super().handle_one_response()
        finally:
            if (self.environ or {}).get("HTTP_UPGRADE", "").lower() == "websocket":
                self.close_connection = True


def _raise_fd_limit() -> None:
    # Every board is a socket; the usual soft limit of 1024 is too close for comfort.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096 <= hard or (soft < hard and hard < 4096):
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))


def serve(config: str | None, db: str, host: str, port: int) -> int:
    from .app import create_app
    from .config import load_office
    from .hub import Hub
    from .store import StorageUnavailable, Store, storage_message

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    office = load_office(config)
    store = None
    try:
        store = Store(db)  # StoreLocked: a FixableError, one line and exit 1 from `jiaohao`'s main
        store.check_writable()
        # Group commit: changes decided while the disk syncs the last commit share the next fsync, which
        # runs in gevent's thread pool so that the hub keeps answering meanwhile.
        # Password hashes get a pool of their own: a storm of logins queues there, never in front of a commit,
        # and takes at most one of the two cores of a Raspberry Pi.
        logins = gevent.threadpool.ThreadPool(1)
        # Reports read months of the log on a thread of their own, one at a time: the loop goes on answering.
        reports = gevent.threadpool.ThreadPool(1)
        hub = Hub(office, store, group_commit=True, offload=gevent.get_hub().threadpool.apply,
                  hash_offload=logins.apply, report_offload=reports.apply)
        app = create_app(office, hub=hub, async_mode="gevent")
    except (sqlite3.Error, StorageUnavailable, OSError) as e:
        # One line, not a traceback: a corrupt file, a read-only file, a full disk (CONTRACT.md).
        reason = e.message if isinstance(e, StorageUnavailable) else storage_message(e)
        print(f"jiaohao: cannot use the database {db}: {reason.split(';')[0]}", file=sys.stderr)
        if store is not None:
            try:
                store.close()
            except sqlite3.Error:
                pass
        return 1
    _raise_fd_limit()
    try:
        server = WSGIServer((host, port), app, log=None, error_log=logging.getLogger("jiaohao.http"),
                            handler_class=_Handler)
        server.start()
    except OSError as e:
        print(f"jiaohao: cannot listen on {host}:{port}: {e.strerror}", file=sys.stderr)
        return 1

    notify = notifier()

    def ticker() -> None:
        # The watchdog ping comes from this loop, the one that closes the day: if it hangs (a lock never
        # released, the event loop blocked), the pings stop and systemd restarts the hub.
        step = min(TICK_S, notify.ping_every_s or TICK_S)
        last_tick = time.monotonic()
        while True:
            gevent.sleep(step)
            if time.monotonic() - last_tick >= TICK_S:
                last_tick = time.monotonic()
                try:
                    hub.tick()
                except Exception:
                    logging.getLogger("jiaohao.hub").exception("tick failed")
            notify.ping()

    gevent.spawn(ticker)

    def warm_reports() -> None:
        try:
            kept = hub.warm_reports()
            logging.getLogger("jiaohao.reports").info("kept %d settled days for the reports", kept)
        except Exception:
            logging.getLogger("jiaohao.reports").exception("could not read the settled days ahead")

    # Once boards and kiosks have reconnected, not while they do: off the loop, on the reports' thread.
    gevent.spawn_later(WARM_AFTER_S, warm_reports)
    base = f"http://{host}:{port}"
    print(f"jiaohao hub ready: {office.name.zh} / {office.name.en}")
    print(f"  API:            {base}/api/v1  (OpenAPI: {base}/api/v1/openapi.json)")
    print(f"  Socket.IO:      {base}/socket.io/")
    print(f"  public status:  {base}/api/v1/public/status")
    print(f"  database:       {db}")
    if office.demo:
        print("  DEMO OFFICE: these tokens are public, for trying jiaohao only:")
        for d in office.devices:
            if d.role not in ("counter", "tablet") or d.counter in ("3", "15"):
                print(f"    {d.role:8} {d.id:14} {d.token}")
        print("    (every counter N has the token demo-counter-N-token, its rating tablet demo-tablet-N-token)")
    sys.stdout.flush()
    notify.ready(f"serving {office.name.en} on {host}:{port}")

    stop = gevent.event.Event()
    gevent.signal_handler(signal.SIGTERM, stop.set)
    gevent.signal_handler(signal.SIGINT, stop.set)
    stop.wait()
    notify.stopping()
    server.stop(timeout=2)
    hub.store_seen(everything=True)  # the last minute of devices' last_seen too, on a clean stop
    store.close()
    return 0
