"""`jiaohao kiosk check-in CODE` against a stand-in hub on 127.0.0.1 that answers as CONTRACT.md "Appointments" says.

The hub's own check-in route is built on another branch; this stand-in speaks the contract, so that the
kiosk's HTTP, exit codes and printed bytes are tested end to end.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from test_kiosk_cli import EXAMPLE, closed_port, jiaohao

from kiosk.escpos_decode import decode

TICKET = {"id": "t1", "number": "R001", "service": "appointment", "lane": "normal", "status": "waiting",
          "issued_at": "2026-11-22T09:20:00+08:00", "ahead": 0, "priority": False,
          "service_name": {"zh-TW": "網路預約報到", "en": "Online appointment check-in"}}


@pytest.fixture
def hub() -> Iterator[tuple[str, list[tuple[str, str | None]]]]:
    calls: list[tuple[str, str | None]] = []
    checked: set[str] = set()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a: object) -> None:
            pass

        def _send(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            services = [{"id": "appointment", "open": True}, {"id": "general", "open": True}]
            if self.path == "/api/v1/state":
                self._send(200, {"office": {"name": {"zh-TW": "測試戶政事務所", "en": "Test Office"}},
                                 "services": services})
            else:
                self._send(200, {"services": services})

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            calls.append((self.path, self.headers.get("Idempotency-Key")))
            parts = self.path.split("/")
            if not self.path.startswith("/api/v1/appointments/"):
                self._send(200, {})
                return
            code = parts[4]
            if code == "R1234":
                status = 200 if code in checked else 201
                checked.add(code)
                self._send(status, {"ticket": {**TICKET, "appointment": {"code": code, "slot": "2026-11-22 09:30"}},
                                    "appointment": {"code": code, "service": "appointment",
                                                    "slot": "2026-11-22 09:30", "status": "checked_in"}})
            elif code == "EARLY1":
                self._send(409, {"error": {"code": "too_early", "message": "check-in opens at 10:30"}})
            elif code == "TMRW1":
                self._send(409, {"error": {"code": "not_today", "message": "the booking is for 2026-11-23"}})
            else:
                self._send(404, {"error": {"code": "unknown_appointment", "message": "no such booking"}})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", calls
    server.shutdown()
    server.server_close()


def check_in(url: str, code: str, out: Path):
    return jiaohao("kiosk", "check-in", code, "--config", EXAMPLE, "--server", url, "--token", "t",
                   "--printer", f"file:{out}")


def test_check_in_prints_and_exits_0(hub, tmp_path: Path) -> None:
    url, calls = hub
    out = tmp_path / "t.bin"
    r = check_in(url, "R1234", out)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("printed R001 (booking R1234)")
    d = decode(out.read_bytes())
    assert len(d.tickets) == 1 and d.tickets[0].cut
    posts = [c for c in calls if "check-in" in c[0]]
    assert posts[0][0] == "/api/v1/appointments/R1234/check-in" and posts[0][1]
    r = check_in(url, "R1234", tmp_path / "again.bin")  # the same code again: 200, the same ticket
    assert r.returncode == 0 and "R001" in r.stdout


@pytest.mark.parametrize(("code", "words"), [
    ("NOPE99", "查無此預約"), ("NOPE99", "Booking not found"), ("EARLY1", "10:30"), ("TMRW1", "not for today"),
    ("x" * 200, "Booking not found"),
])
def test_no_ticket_is_one_line_and_exit_1(hub, tmp_path: Path, code: str, words: str) -> None:
    url, _ = hub
    out = tmp_path / "t.bin"
    r = check_in(url, code, out)
    assert r.returncode == 1 and words in r.stderr, r.stderr
    last = r.stderr.strip().splitlines()
    assert len([x for x in last if x.startswith("jiaohao kiosk: no ticket")]) == 1
    assert not out.exists() or decode(out.read_bytes()).tickets == []


def test_hub_gone_is_exit_1(tmp_path: Path) -> None:
    out = tmp_path / "t.bin"
    r = check_in(f"http://127.0.0.1:{closed_port()}", "R1234", out)
    assert r.returncode == 1 and "cannot be reached" in r.stderr.strip().splitlines()[-1]
