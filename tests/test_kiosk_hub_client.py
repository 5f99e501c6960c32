"""The hub client against a hub that misbehaves on purpose: errors, silence, refusals."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kiosk.hub_client import HubClient, HubRefused, HubUnreachable

TICKET = {"id": "t1", "number": "A001", "service": "general", "lane": "normal"}


class Script:
    """Answers for POST /api/v1/tickets, one per request, then the last one again."""

    def __init__(self, answers: list[tuple[int, object]]) -> None:
        self.answers = answers
        self.requests: list[dict[str, object]] = []
        self.lock = threading.Lock()

    def next(self, headers: dict[str, str], body: bytes) -> tuple[int, object]:
        with self.lock:
            self.requests.append({"headers": headers, "body": json.loads(body or b"{}")})
            i = min(len(self.requests) - 1, len(self.answers) - 1)
            return self.answers[i]


@pytest.fixture
def fake_hub() -> Iterator[tuple[str, list[Script]]]:
    holder: list[Script] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a: object) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, payload = holder[0].next(dict(self.headers), body)
            raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", holder
    server.shutdown()
    server.server_close()


class FakeTime:
    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.t += s


def test_retries_with_backoff_and_the_same_idempotency_key(fake_hub) -> None:
    url, holder = fake_hub
    busy = {"error": {"code": "x", "message": "busy"}}
    holder.append(Script([(503, busy), (502, b"<html>"), (200, {"ticket": TICKET})]))
    clock = FakeTime()
    c = HubClient(url, "tok", sleep=clock.sleep, monotonic=clock.monotonic)
    ticket, created = c.issue("general", "normal", "press-1")
    assert ticket == TICKET and created is False
    reqs = holder[0].requests
    assert len(reqs) == 3
    assert {r["headers"]["Idempotency-Key"] for r in reqs} == {"press-1"}
    assert all(r["headers"]["Authorization"] == "Bearer tok" for r in reqs)
    assert all(r["body"] == {"service": "general", "lane": "normal"} for r in reqs)
    assert clock.sleeps == [0.25, 0.5]  # growing waits between attempts


def test_gives_up_at_the_deadline(fake_hub) -> None:
    url, holder = fake_hub
    holder.append(Script([(503, {"error": {"code": "x", "message": "busy"}})]))
    clock = FakeTime()
    c = HubClient(url, "tok", sleep=clock.sleep, monotonic=clock.monotonic)
    with pytest.raises(HubUnreachable, match="gave up"):
        c.issue("general", "normal", "k", deadline_s=5.0)
    assert clock.t <= 5.0
    assert sum(clock.sleeps) <= 5.0 and len(holder[0].requests) >= 3


def test_refusals_are_not_retried(fake_hub) -> None:
    url, holder = fake_hub
    holder.append(Script([(422, {"error": {"code": "unknown_service", "message": "Unknown service 'x'."}})]))
    clock = FakeTime()
    c = HubClient(url, "tok", sleep=clock.sleep, monotonic=clock.monotonic)
    with pytest.raises(HubRefused) as e:
        c.issue("x", "normal", "k")
    assert e.value.status == 422 and e.value.code == "unknown_service"
    assert len(holder[0].requests) == 1 and clock.sleeps == []


def test_nothing_listening_is_unreachable() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    clock = FakeTime()
    c = HubClient(f"http://127.0.0.1:{port}", "tok", sleep=clock.sleep, monotonic=clock.monotonic)
    with pytest.raises(HubUnreachable):
        c.issue("general", "normal", "k", deadline_s=2.0)
    assert clock.sleeps  # it did retry before giving up


def test_created_flag_follows_201(fake_hub) -> None:
    url, holder = fake_hub
    holder.append(Script([(201, {"ticket": TICKET})]))
    ticket, created = HubClient(url, "tok").issue("general", "normal", "k")
    assert created is True and ticket["number"] == "A001"
